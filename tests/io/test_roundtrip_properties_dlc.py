"""Hypothesis round trips: Tracks -> DLC (.h5, .csv) -> Tracks and DLC -> Tracks -> DLC are lossless."""

from __future__ import annotations

import json
import string
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapose.core import get_skeleton, make_tracks
from mapose.core.skeleton import Skeleton
from mapose.io import dlc

# Names: letters (some non-ASCII), digits, spaces and punctuation DeepLabCut users put in body part
# names; no control characters or line breaks (a CSV header cell cannot hold them portably).
NAME = st.text(alphabet=string.ascii_letters + string.digits + " _-.()/éμ", min_size=1, max_size=12)
SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _values(draw, shape, lo, hi, nan_p):
    vals = draw(st.lists(st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64),
                         min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    arr = np.asarray(vals, dtype=np.float64).reshape(shape)
    mask = np.asarray(draw(st.lists(st.booleans(), min_size=arr.size, max_size=arr.size))).reshape(shape)
    if nan_p:
        arr[mask] = np.nan
    return arr


@st.composite
def random_tracks(draw):
    t = draw(st.integers(1, 6))
    k = draw(st.integers(1, 4))
    n = draw(st.integers(1, 3))
    kps = draw(st.lists(NAME, min_size=k, max_size=k, unique=True))
    inds = draw(st.lists(NAME, min_size=n, max_size=n, unique=True))
    pos = _values(draw, (t, 2, k, n), -1e4, 1e4, draw(st.booleans()))
    conf = _values(draw, (t, k, n), 0.0, 1.0, draw(st.booleans()))
    if draw(st.booleans()):
        conf[:] = np.nan
    frames = np.cumsum(draw(st.lists(st.integers(1, 50), min_size=t, max_size=t))) - 1
    fps = draw(st.one_of(st.none(), st.floats(1, 1000, allow_nan=False)))
    pairs = [(a, b) for a in range(k) for b in range(k) if a < b]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs))) if pairs else []
    sk = Skeleton(tuple(kps), tuple(edges))
    return make_tracks(pos, conf, skeleton=sk, individuals=inds, fps=fps, frames=frames,
                       attrs={"provenance": json.dumps({"seed": draw(st.integers(0, 99))})})


def _same_tracks(a, b, attrs: bool):
    assert list(b["keypoints"].values) == list(a["keypoints"].values)
    assert list(b["individuals"].values) == list(a["individuals"].values)
    np.testing.assert_array_equal(b["frame"].values, a["frame"].values)
    assert np.array_equal(b["position"].values, a["position"].values, equal_nan=True)
    assert np.array_equal(b["confidence"].values, a["confidence"].values, equal_nan=True)
    if attrs:
        assert get_skeleton(b) == get_skeleton(a)
        assert b.attrs["fps"] == a.attrs["fps"]
        assert b.attrs["provenance"] == a.attrs["provenance"]
        np.testing.assert_array_equal(b["time"].values, a["time"].values)


@SETTINGS
@given(ds=random_tracks())
def test_tracks_dlc_h5_tracks(ds):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pred.h5"
        dlc.write_tracks(ds, out)
        _same_tracks(ds, dlc.read_tracks(out), attrs=True)


@SETTINGS
@given(ds=random_tracks())
def test_tracks_dlc_csv_tracks(ds):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pred.csv"
        dlc.write_tracks(ds, out)
        back = dlc.read_tracks(out, fps=ds.attrs["fps"])
        _same_tracks(ds, back, attrs=False)
        assert back.attrs["fps"] == ds.attrs["fps"]


@st.composite
def random_dlc_frame(draw):
    """A DeepLabCut table as DeepLabCut writes it (3 or 4 levels, with or without likelihood,
    optionally a 'single' individual with unique body parts)."""
    multi = draw(st.booleans())
    k = draw(st.integers(1, 4))
    bps = draw(st.lists(NAME, min_size=k + 2, max_size=k + 2, unique=True))
    ma_bps, uniq = bps[:k], bps[k:]
    with_lk = draw(st.booleans())
    coords = ["x", "y", "likelihood"] if with_lk else ["x", "y"]
    scorer = draw(NAME)
    if multi:
        inds = draw(st.lists(NAME.filter(lambda s: s != "single"), min_size=1, max_size=3, unique=True))
        cols = [(scorer, i, b, c) for i in inds for b in ma_bps for c in coords]
        if draw(st.booleans()):
            cols += [(scorer, "single", b, c) for b in uniq for c in coords]
        names = ["scorer", "individuals", "bodyparts", "coords"]
    else:
        cols = [(scorer, b, c) for b in ma_bps for c in coords]
        names = ["scorer", "bodyparts", "coords"]
    t = draw(st.integers(1, 5))
    vals = _values(draw, (t, len(cols)), -1e4, 1e4, True)
    if with_lk:
        lk_cols = [j for j, c in enumerate(cols) if c[-1] == "likelihood"]
        vals[:, lk_cols] = np.abs(vals[:, lk_cols]) / 1e4
    index = np.cumsum(draw(st.lists(st.integers(1, 30), min_size=t, max_size=t))) - 1
    return pd.DataFrame(vals, index=index, columns=pd.MultiIndex.from_tuples(cols, names=names))


def _four_levels(df):
    if df.columns.nlevels == 4:
        return df
    cols = [(c[0], dlc.SINGLE_ANIMAL_NAME, c[1], c[2]) for c in df.columns]
    return pd.DataFrame(df.to_numpy(), index=df.index,
                        columns=pd.MultiIndex.from_tuples(cols, names=["scorer", "individuals", "bodyparts", "coords"]))


@SETTINGS
@given(df=random_dlc_frame(), src=st.sampled_from([".h5", ".csv"]), dst=st.sampled_from([".h5", ".csv"]))
def test_dlc_tracks_dlc(df, src, dst):
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / f"a{src}", Path(tmp) / f"b{dst}"
        if src == ".h5":
            df.to_hdf(a, key="df_with_missing", mode="w", format="table")
        else:
            df.to_csv(a)
        ds = dlc.read_tracks(a, zero_is_missing=False)
        dlc.write_tracks(ds, b)
        if dst == ".h5":
            back = pd.read_hdf(b, key="df_with_missing")
        else:
            back = dlc._read_frame(b)[0]
        want = _four_levels(df)
        assert [tuple(str(x) for x in c) for c in back.columns] == [tuple(str(x) for x in c) for c in want.columns]
        assert [int(i) for i in back.index] == [int(i) for i in want.index]
        assert np.array_equal(back.to_numpy(dtype=float), want.to_numpy(dtype=float), equal_nan=True)


@st.composite
def random_labels(draw):
    """Labels as a DeepLabCut project holds them: every point placed by a person (score 1),
    at least one point per instance, one instance per individual and image."""
    from mapose.core import Detections, ImageRef, Labels

    k = draw(st.integers(1, 4))
    kps = draw(st.lists(NAME, min_size=k, max_size=k, unique=True))
    n_ind = draw(st.integers(0, 3))
    inds = draw(st.lists(NAME, min_size=n_ind, max_size=n_ind, unique=True))
    n_img = draw(st.integers(1, 4))
    images = [ImageRef(image=f"labeled-data/{draw(st.sampled_from(['v1', 'v 2']))}/img{i:03d}.png")
              for i in range(n_img)]
    frames, tids, pts = [], [], []
    for f in range(n_img):
        slots = draw(st.lists(st.sampled_from(range(n_ind)), unique=True)) if n_ind else (
            [-1] if draw(st.booleans()) else [])
        for s in sorted(slots):
            xy = _values(draw, (k, 2), -500, 2000, True)
            xy[draw(st.integers(0, k - 1))] = draw(st.tuples(st.floats(0, 100), st.floats(0, 100)))
            frames.append(f)
            tids.append(s)
            pts.append(xy)
    kp = np.asarray(pts, dtype=float).reshape(-1, k, 2)
    scores = np.where(np.isfinite(kp).all(axis=-1), 1.0, np.nan)
    sk = Skeleton(tuple(kps))
    det = Detections(frame=frames, keypoints=kp, keypoint_scores=scores,
                     instance_scores=np.ones(len(frames)), skeleton=sk, n_frames=n_img,
                     track_id=np.asarray(tids, dtype=np.int64) if n_ind else None,
                     track_names=tuple(inds))
    return Labels(sk, tuple(images), det, individuals=tuple(inds))


@SETTINGS
@given(labels=random_labels(), suffix=st.sampled_from([".h5", ".csv"]))
def test_labels_dlc_labels(labels, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "labeled-data" / "v1" / f"CollectedData_me{suffix}"
        dlc.write_labels(labels, out, scorer="me")
        back = dlc.read_labels(out)
        assert back.skeleton.keypoints == labels.skeleton.keypoints
        assert back.individuals == labels.individuals
        assert back.images == labels.images
        a, b = back.instances, labels.instances
        np.testing.assert_array_equal(a.frame, b.frame)
        assert np.array_equal(a.keypoints, b.keypoints, equal_nan=True)
        assert np.array_equal(a.keypoint_scores, b.keypoint_scores, equal_nan=True)
        if b.track_id is None:
            assert a.track_id is None
        else:
            np.testing.assert_array_equal(a.track_id, b.track_id)
