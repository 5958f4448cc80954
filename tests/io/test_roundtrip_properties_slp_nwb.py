"""Property tests: random Tracks survive .slp, NWB and SLEAP-analysis round trips unchanged.

Random animals and keypoint names (spaces, dots, slashes, non-ASCII), NaN patterns (missing points, missing
animals, missing confidence with known position and the reverse), offset and gapped frame indices,
with and without fps.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mapose.core import Skeleton, make_tracks, validate_tracks
from mapose.io import nwb, sleap_analysis, slp

NAME_CHARS = "abcXYZ019 _-./éµ"
names = st.text(alphabet=NAME_CHARS, min_size=1, max_size=6).filter(lambda s: s.strip() == s)


@st.composite
def random_tracks(draw):
    t = draw(st.integers(1, 10))
    k = draw(st.integers(1, 4))
    n = draw(st.integers(1, 3))
    kps = draw(st.lists(names, min_size=k, max_size=k, unique=True))
    inds = draw(st.lists(names, min_size=n, max_size=n, unique=True))
    coords = st.floats(-5000, 5000, allow_nan=False, allow_infinity=False, width=64)
    pos = draw(arrays(np.float64, (t, 2, k, n), elements=coords))
    point_missing = draw(arrays(np.bool_, (t, k, n)))
    pos[np.broadcast_to(point_missing[:, None], pos.shape)] = np.nan
    animal_missing = draw(arrays(np.bool_, (t, n)))
    pos[np.broadcast_to(animal_missing[:, None, None, :], pos.shape)] = np.nan
    conf = draw(arrays(np.float64, (t, k, n), elements=st.floats(0, 1, width=64)))
    conf_missing = draw(arrays(np.bool_, (t, k, n)))
    conf[conf_missing] = np.nan
    steps = draw(st.lists(st.integers(1, 4), min_size=t, max_size=t))
    frames = draw(st.integers(0, 50)) + np.cumsum(steps) - steps[0]
    fps = draw(st.sampled_from([None, 25.0, 29.97, 30.0, 200.0]))
    edges = [(kps[i], kps[i + 1]) for i in range(k - 1)] if draw(st.booleans()) else []
    skeleton = Skeleton.from_names(kps, edges, name=draw(st.sampled_from(["", "fly"])))
    video = draw(st.sampled_from(["", "/data/videos/session 1.mp4"]))
    return make_tracks(pos, conf, skeleton=skeleton, individuals=inds, fps=fps, frames=frames,
                       video_path=video, source_software=draw(st.sampled_from(["mapose", "DLC"])))


def assert_same_tracks(a, b) -> None:
    validate_tracks(b)
    for var in ("position", "confidence"):
        np.testing.assert_array_equal(b[var].values, a[var].values, err_msg=var)
    for coord in ("individuals", "keypoints", "frame"):
        assert [str(v) for v in b[coord].values] == [str(v) for v in a[coord].values], coord
    np.testing.assert_allclose(b["time"].values, a["time"].values, rtol=1e-12)
    for key in ("fps", "time_unit", "source_software", "skeleton", "video_path"):
        assert b.attrs.get(key) == a.attrs.get(key), key


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@settings(max_examples=25, **SETTINGS)
@given(ds=random_tracks())
def test_tracks_slp_tracks_is_lossless(ds):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "t.slp"
        slp.write_tracks(ds, out)
        assert_same_tracks(ds, slp.read_tracks(out))


@settings(max_examples=25, **SETTINGS)
@given(ds=random_tracks())
def test_tracks_analysis_h5_tracks_is_lossless(ds):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "t.analysis.h5"
        sleap_analysis.write_tracks(ds, out)
        back = sleap_analysis.read_tracks(out)
        assert_same_tracks(ds, back.drop_vars("instance_score"))


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=10, **SETTINGS)
@given(ds=random_tracks())
def test_tracks_nwb_tracks_is_lossless(ds):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "t.nwb"
        nwb.write_tracks(ds, out)
        assert_same_tracks(ds, nwb.read_tracks(out))


@settings(max_examples=15, **SETTINGS)
@given(ds=random_tracks())
def test_slp_tracks_slp_keeps_every_instance(ds):
    """.slp -> Tracks -> .slp: the second file holds the same instances as the first."""
    with tempfile.TemporaryDirectory() as tmp:
        first, second = Path(tmp) / "a.slp", Path(tmp) / "b.slp"
        slp.write_tracks(ds, first)
        slp.write_tracks(slp.read_tracks(first), second)
        a, b = slp.read_labels(first), slp.read_labels(second)
        assert [r.frame for r in a.images] == [r.frame for r in b.images]
        assert a.individuals == b.individuals and a.skeleton == b.skeleton
        for field in ("frame", "keypoints", "keypoint_scores", "instance_scores", "track_id"):
            np.testing.assert_array_equal(getattr(a.instances, field), getattr(b.instances, field))
