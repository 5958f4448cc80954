"""movement netCDF files: mapose <-> movement hand-off."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import xarray as xr

from mapose.core import get_skeleton, make_tracks
from mapose.core.skeleton import Skeleton
from mapose.errors import FormatError
from mapose.io import detect_format, dlc, netcdf, read_tracks, write_tracks
from tests.conftest import DATA_DIR, shared_files


def example(fps=50.0):
    rng = np.random.default_rng(2)
    pos = rng.uniform(0, 400, (5, 2, 3, 2))
    pos[1, :, 2, 1] = np.nan
    conf = rng.uniform(0, 1, (5, 3, 2))
    conf[1, 2, 1] = np.nan
    sk = Skeleton.from_names(["head", "wingL", "wingR"], [("head", "wingL")], [("wingL", "wingR")])
    return make_tracks(pos, conf, skeleton=sk, individuals=["F", "M"], fps=fps,
                       frames=[3, 4, 8, 9, 30], video_path="clip.mp4",
                       attrs={"provenance": json.dumps({"tracker": "kalman"}), "n_ids": 2})


@pytest.mark.parametrize("fps", [50.0, None])
def test_round_trip_keeps_everything(tmp_path, fps):
    ds = example(fps)
    out = tmp_path / "tracks.nc"
    write_tracks(ds, out)
    assert netcdf.sniff(out) and not dlc.sniff(out)
    assert detect_format(out) == "netcdf"
    back = read_tracks(out)
    xr.testing.assert_identical(back.drop_attrs(), ds.drop_attrs())
    assert get_skeleton(back) == get_skeleton(ds)
    for key in ("fps", "time_unit", "video_path", "provenance", "n_ids", "source_software"):
        assert back.attrs[key] == ds.attrs[key], key
    assert back.attrs["source_file"] == str(out)


def test_plain_xarray_and_movement_see_the_same_arrays(tmp_path):
    from movement.kinematics import compute_velocity

    ds = example()
    out = tmp_path / "tracks.nc"
    write_tracks(ds, out)
    with xr.open_dataset(out) as raw:
        assert raw.attrs["fps"] == 50.0 and raw.attrs["ds_type"] == "poses"
        assert raw["position"].dims == ("time", "space", "keypoints", "individuals")
        assert np.array_equal(raw["position"].values, ds["position"].values, equal_nan=True)
        assert np.array_equal(raw["confidence"].values, ds["confidence"].values, equal_nan=True)
        np.testing.assert_array_equal(raw["time"].values, ds["time"].values)
        vel = compute_velocity(raw["position"])
    assert vel.shape == ds["position"].shape


def test_movement_file_without_frame_coordinate(tmp_path):
    ds = example(fps=25.0)
    mv = ds.drop_vars("frame")
    mv.attrs = {"fps": 25.0, "time_unit": "seconds", "source_software": "SLEAP", "ds_type": "poses"}
    path = tmp_path / "movement.nc"
    mv.to_netcdf(path)
    back = netcdf.read_tracks(path)
    assert list(back["frame"].values) == [3, 4, 8, 9, 30]
    assert back.attrs["source_software"] == "SLEAP" and back.attrs["fps"] == 25.0
    assert get_skeleton(back).symmetry_names == [("wingL", "wingR")]


def test_bad_netcdf(tmp_path):
    noise = tmp_path / "noise.nc"
    noise.write_bytes(b"CDF\x01" + np.random.default_rng(0).bytes(500))
    with pytest.raises(FormatError, match="noise.nc"):
        netcdf.read_tracks(noise)
    xyz = tmp_path / "xyz.nc"
    xr.Dataset({"position": (("time", "space", "keypoints", "individuals"), np.zeros((2, 3, 1, 1)))},
               coords={"space": ["x", "y", "z"]}).to_netcdf(xyz)
    with pytest.raises(FormatError, match="2-D"):
        netcdf.read_tracks(xyz)
    other = tmp_path / "other.nc"
    xr.Dataset({"temperature": ("t", np.zeros(3))}).to_netcdf(other)
    assert not netcdf.sniff(other)
    with pytest.raises(FormatError, match="position"):
        netcdf.read_tracks(other)


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def broken(self, path, *a, **kw):
        open(path, "wb").write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    with pytest.raises(OSError):
        netcdf.write_tracks(example(), tmp_path / "t.nc")
    assert os.listdir(tmp_path) == []


def test_bundled_dlc_sample_to_netcdf(tmp_path):
    ds = read_tracks(DATA_DIR / "mouse_mirror_lp" / "CollectedData.csv", fps=250)
    out = tmp_path / "mirror.nc"
    write_tracks(ds, out)
    back = read_tracks(out)
    assert np.array_equal(back["position"].values, ds["position"].values, equal_nan=True)
    np.testing.assert_array_equal(back["frame"].values, ds["frame"].values)


SHARED_NC = shared_files("**/*.nc")


@pytest.mark.shared
@pytest.mark.parametrize("path", SHARED_NC, ids=lambda p: p.name)
def test_shared_movement_file_matches_raw(path, shared_data):
    ds = read_tracks(path)
    assert detect_format(path) == "netcdf"
    with xr.open_dataset(path) as raw:
        assert list(ds["individuals"].values) == [str(v) for v in raw["individuals"].values]
        assert list(ds["keypoints"].values) == [str(v) for v in raw["keypoints"].values]
        fps = float(raw.attrs["fps"])
        assert ds.attrs["fps"] == fps
        np.testing.assert_array_equal(ds["frame"].values, np.rint(raw["time"].values * fps).astype(int))
        np.testing.assert_allclose(ds["time"].values, raw["time"].values, atol=1e-9)
        rp = raw["position"].transpose("time", "space", "keypoints", "individuals").values
        assert np.array_equal(ds["position"].values, rp, equal_nan=True)
        rc = raw["confidence"].transpose("time", "keypoints", "individuals").values
        assert np.array_equal(ds["confidence"].values, rc, equal_nan=True)
    assert ds.attrs["source_software"] == "DeepLabCut"


@pytest.mark.shared
def test_shared_netcdf_agrees_with_its_dlc_csv(shared_data):
    folder = shared_data / "mouse_vame_sample"
    nc = read_tracks(folder / "cropped_video.nc")
    csv_ds = read_tracks(folder / "cropped_video.csv", fps=30)
    assert list(nc["keypoints"].values) == list(csv_ds["keypoints"].values)
    np.testing.assert_allclose(nc["position"].values, csv_ds["position"].values, atol=1e-4)
    np.testing.assert_allclose(nc["confidence"].values, csv_ds["confidence"].values, atol=1e-6)
    np.testing.assert_array_equal(nc["frame"].values, csv_ds["frame"].values)
