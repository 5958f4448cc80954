"""NWB (ndx-pose): layout written, lossless round trip, the shared DeepLabCut-made NWB file."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
import pytest

from mapose.core import make_tracks, validate_tracks
from mapose.errors import FormatError
from mapose.io import detect_format, format_for_output, read_tracks, slp
from mapose.io import nwb

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
DREEM = REPO / "data" / "flies_dreem" / "two_flies.slp"
SHARED_NWB = sorted(SHARED.glob("**/*.nwb")) if SHARED.is_dir() else []

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def flies():
    return slp.read_tracks(DREEM)


def _same(a, b) -> None:
    for var in ("position", "confidence"):
        np.testing.assert_array_equal(a[var].values, b[var].values)
    for coord in ("individuals", "keypoints", "frame"):
        assert list(a[coord].values) == list(b[coord].values), coord
    np.testing.assert_allclose(a["time"].values, b["time"].values)
    for key in ("fps", "time_unit", "source_software", "skeleton", "video_path"):
        assert a.attrs.get(key) == b.attrs.get(key), key


def test_roundtrip_two_flies(tmp_path, flies):
    out = tmp_path / "flies.nwb"
    nwb.write_tracks(flies, out)
    assert detect_format(out) == "nwb"
    back = nwb.read_tracks(out)
    _same(flies, back)
    # an analysis's provenance (and any attribute ndx-pose has no field for) rides in the scratch entry
    flies = flies.assign_attrs(provenance='{"model_checksum": "abc"}', dlc_scorer="DLC_resnet50")
    nwb.write_tracks(flies, out)
    back = nwb.read_tracks(out)
    assert back.attrs["provenance"] == flies.attrs["provenance"] and back.attrs["dlc_scorer"] == "DLC_resnet50"


def test_layout_one_pose_estimation_per_individual(tmp_path, flies):
    out = tmp_path / "flies.nwb"
    start = datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)
    nwb.write_tracks(flies, out, session_description="two flies courting", identifier="exp-42",
                     session_start_time=start, experimenter=["Ada"])
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(out), "r") as io:
        f = io.read()
        assert f.session_description == "two flies courting" and f.identifier == "exp-42"
        assert f.session_start_time == start
        beh = f.processing["behavior"]
        assert set(beh.data_interfaces) == {"Skeletons", "PoseEstimation_F", "PoseEstimation_M"}
        pe = beh["PoseEstimation_M"]
        assert list(pe.pose_estimation_series) == sorted(flies["keypoints"].values.tolist()) or \
            set(pe.pose_estimation_series) == set(flies["keypoints"].values.tolist())
        assert pe.skeleton.name == "skeleton_M"
        assert list(pe.skeleton.nodes[:]) == flies["keypoints"].values.tolist()
        head = pe.pose_estimation_series["head"]
        assert head.rate == pytest.approx(25.0) and head.unit == "pixels"
        want = flies["position"].sel(individuals="M", keypoints="head").values
        np.testing.assert_array_equal(head.data[:], want)


def test_defaults_and_lossless_without_fps(tmp_path):
    rng = np.random.default_rng(1)
    pos = rng.normal(100, 30, (15, 2, 2, 1))
    pos[4:7, :, 0, 0] = np.nan
    ds = make_tracks(pos, None, keypoints=["snout", "tailbase"], individuals=["m1"],
                     frames=[0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610])
    out = tmp_path / "nofps.nwb"
    nwb.write_tracks(ds, out)
    back = nwb.read_tracks(out)
    _same(ds, back)
    assert back.attrs["fps"] is None
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(out), "r") as io:
        f = io.read()
        assert f.session_description == "mapose pose output"
        assert len(f.identifier) == 36  # a UUID
        assert "PoseEstimation" in f.processing["behavior"].data_interfaces


def test_movement_reads_our_single_animal_file(tmp_path, flies):
    from movement.io import load_poses

    one = flies.isel(individuals=[1])
    out = tmp_path / "one.nwb"
    nwb.write_tracks(one, out, identifier="M")
    mv = load_poses.from_nwb_file(out)
    mv = mv.sel(keypoints=one["keypoints"].values)
    np.testing.assert_array_equal(mv["position"].values, one["position"].values)
    np.testing.assert_array_equal(mv["confidence"].values, one["confidence"].values)
    assert list(mv["individuals"].values) == ["M"]


def test_not_nwb_and_failed_write(tmp_path, flies, monkeypatch):
    bad = tmp_path / "x.nwb"
    bad.write_bytes(b"\x89HDF\r\n" + bytes(200))
    with pytest.raises(FormatError, match=r"x\.nwb: not an NWB file"):
        nwb.read_tracks(bad)
    bad.unlink()
    import pynwb

    def boom(self, *a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pynwb.NWBHDF5IO, "write", boom)
    with pytest.raises(OSError, match="disk full"):
        nwb.write_tracks(flies, tmp_path / "y.nwb")
    assert list(tmp_path.iterdir()) == []


def test_extension_picks_nwb(tmp_path):
    assert format_for_output(tmp_path / "x.nwb") == "nwb"


@pytest.mark.shared
@pytest.mark.parametrize("path", SHARED_NWB, ids=lambda p: str(p.relative_to(SHARED)))
def test_shared_nwb_files_match_h5py(path, shared_data):
    ds = read_tracks(path)
    validate_tracks(ds)
    with h5py.File(path, "r") as f:
        groups = []
        for mod in f["processing"].values():
            for name, g in mod.items():
                kind = g.attrs.get("neurodata_type")
                kind = kind.decode() if isinstance(kind, bytes) else kind
                if kind == "PoseEstimation":
                    groups.append(g)
        assert len(groups) == ds.sizes["individuals"]
        g = groups[0]
        series = [k for k, v in g.items() if isinstance(v, h5py.Group) and "data" in v]
        assert sorted(series) == sorted(ds["keypoints"].values.tolist())
        ind = ds["individuals"].values[0]
        for kp in series:
            data = g[kp]["data"][:]
            np.testing.assert_allclose(
                ds["position"].sel(keypoints=kp, individuals=ind).values, data, atol=1e-4,
                equal_nan=True)
            if "confidence" in g[kp]:
                np.testing.assert_allclose(
                    ds["confidence"].sel(keypoints=kp, individuals=ind).values, g[kp]["confidence"][:])
            ts = g[kp]["timestamps"][:]
            np.testing.assert_allclose(ds["time"].values, ts)
