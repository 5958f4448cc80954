"""SLEAP analysis HDF5: read against h5py directly, both axis orders, lossless round trip."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from mapose.core import make_tracks, validate_tracks
from mapose.errors import FormatError
from mapose.io import detect_format, format_for_output, slp
from mapose.io import sleap_analysis as sa

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
SAMPLE = REPO / "data" / "flies_tutorial_pair" / "predictions" / "predictions.analysis.h5"
SHARED_H5 = sorted(SHARED.glob("**/*.analysis.h5")) if SHARED.is_dir() else []


def check_against_h5py(ds, path: Path) -> None:
    """Compare with the file read by h5py, transposing SLEAP's (track, xy, node, frame) by hand."""
    validate_tracks(ds)
    with h5py.File(path, "r") as f:
        tracks = f["tracks"][:]  # (n_tracks, 2, n_nodes, n_frames)
        nodes = [n.decode() for n in f["node_names"][:]]
        names = [n.decode() for n in f["track_names"][:]]
        occ = f["track_occupancy"][:]  # (n_frames, n_tracks)
        scores = f["point_scores"][:] if "point_scores" in f else None  # (n_tracks, n_nodes, n_frames)
    n_tracks, _, n_nodes, n_frames = tracks.shape
    assert list(ds["keypoints"].values) == nodes
    assert list(ds["individuals"].values) == names
    assert ds.sizes["time"] == n_frames
    np.testing.assert_array_equal(ds["frame"].values, np.arange(n_frames))
    for i in range(n_tracks):
        for k in range(n_nodes):
            for c, axis in enumerate("xy"):
                got = ds["position"].sel(individuals=names[i], keypoints=nodes[k], space=axis).values
                want = np.where(occ[:, i] > 0, tracks[i, c, k, :], np.nan)
                np.testing.assert_allclose(got, want, atol=1e-4, equal_nan=True)
            conf = ds["confidence"].sel(individuals=names[i], keypoints=nodes[k]).values
            if scores is None:
                assert np.isnan(conf).all()
            else:
                np.testing.assert_allclose(conf, np.where(occ[:, i] > 0, scores[i, k], np.nan),
                                           equal_nan=True)


def test_read_bundled_sample_matches_h5py_and_slp():
    assert detect_format(SAMPLE) == "sleap_analysis"
    ds = sa.read_tracks(SAMPLE)
    check_against_h5py(ds, SAMPLE)
    # The same predictions as the .slp beside it.
    ref = slp.read_tracks(SAMPLE.with_name("predictions.slp"))
    np.testing.assert_allclose(ds["position"].values, ref["position"].values, equal_nan=True)
    np.testing.assert_allclose(ds["confidence"].values, ref["confidence"].values, equal_nan=True)


def test_extension_picks_analysis_writer(tmp_path):
    assert format_for_output(tmp_path / "x.analysis.h5") == "sleap_analysis"


def test_roundtrip_lossless_with_offset_frames(tmp_path):
    rng = np.random.default_rng(0)
    pos = rng.uniform(0, 1000, (20, 2, 4, 3))
    pos[3:6, :, :, 2] = np.nan
    pos[10, :, 1, 0] = np.nan
    conf = rng.uniform(0, 1, (20, 4, 3))
    conf[np.isnan(pos).any(axis=1)] = np.nan
    ds = make_tracks(pos, conf, keypoints=["head", "wingL", "wingR", "tail"],
                     individuals=["F", "M", "x"], fps=50.0, frames=np.arange(7, 27))
    out = tmp_path / "a.analysis.h5"
    sa.write_tracks(ds, out)
    with h5py.File(out, "r") as f:  # SLEAP's own layout on disk
        assert f["tracks"].shape == (3, 2, 4, 27)
        assert f["track_occupancy"].shape == (27, 3)
        assert f["point_scores"].shape == (3, 4, 27)
    back = sa.read_tracks(out)
    for var in ("position", "confidence"):
        np.testing.assert_array_equal(back[var].values, ds[var].values)
    np.testing.assert_array_equal(back["frame"].values, ds["frame"].values)
    assert back.attrs["fps"] == 50.0
    assert back.attrs["skeleton"] == ds.attrs["skeleton"]


def test_reads_frames_first_layout_with_dims(tmp_path):
    src = sa.read_tracks(SAMPLE)
    out = tmp_path / "std.analysis.h5"
    with h5py.File(SAMPLE, "r") as f, h5py.File(out, "w") as g:
        for name in ("node_names", "track_names"):
            g[name] = f[name][:]
        g["tracks"] = f["tracks"][:].transpose(3, 0, 2, 1)  # (frame, track, node, xy)
        g["tracks"].attrs["dims"] = json.dumps(["frame", "track", "node", "xy"])
        g["point_scores"] = f["point_scores"][:].transpose(2, 0, 1)
        g["point_scores"].attrs["dims"] = json.dumps(["frame", "track", "node"])
        g["track_occupancy"] = f["track_occupancy"][:]
    back = sa.read_tracks(out)
    np.testing.assert_array_equal(back["position"].values, src["position"].values)
    np.testing.assert_array_equal(back["confidence"].values, src["confidence"].values)


def test_wrong_shapes_and_missing_datasets(tmp_path):
    bad = tmp_path / "bad.analysis.h5"
    with h5py.File(bad, "w") as f:
        f["tracks"] = np.zeros((2, 2, 5, 10))
        f["node_names"] = np.array([b"a", b"b", b"c"])
        f["track_names"] = np.array([b"t0", b"t1"])
    with pytest.raises(FormatError, match=r"bad\.analysis\.h5: dataset 'tracks' has shape \(2, 2, 5, 10\)"):
        sa.read_tracks(bad)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["tracks"] = np.zeros(3)
    with pytest.raises(FormatError, match="missing datasets node_names, track_names"):
        sa.read_tracks(other)


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    ds = sa.read_tracks(SAMPLE)
    real = h5py.Group.create_dataset
    calls = []

    def fail_on_third(self, name, *a, **k):  # fails half-way through writing the file
        calls.append(name)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(self, name, *a, **k)

    monkeypatch.setattr(h5py.Group, "create_dataset", fail_on_third)
    out = tmp_path / "x.analysis.h5"
    with pytest.raises(OSError, match="disk full"):
        sa.write_tracks(ds, out)
    assert len(calls) == 3
    assert list(tmp_path.iterdir()) == []


@pytest.mark.shared
@pytest.mark.parametrize("path", SHARED_H5, ids=lambda p: str(p.relative_to(SHARED)))
def test_shared_analysis_files(path, shared_data):
    ds = sa.read_tracks(path)
    check_against_h5py(ds, path)
    twin = path.with_name(path.name.replace(".analysis.h5", ".slp"))
    if twin.exists():
        ref = slp.read_tracks(twin)
        n = ds.sizes["time"]
        np.testing.assert_allclose(ds["position"].values, ref["position"].values[:n], atol=1e-4,
                                   equal_nan=True)


@pytest.mark.parametrize("preset", ["matlab", "standard"])
def test_interop_with_sleap_io(tmp_path, preset):
    """Files sleap-io writes (both axis orders) read right, and sleap-io reads what we write."""
    import sleap_io as sio

    labels = sio.load_slp(str(SAMPLE.with_name("predictions.slp")), open_videos=False)
    theirs = tmp_path / f"{preset}.analysis.h5"
    sio.save_analysis_h5(labels, str(theirs), preset=preset)
    ds = sa.read_tracks(theirs)
    ref = slp.read_tracks(SAMPLE.with_name("predictions.slp"))
    np.testing.assert_array_equal(ds["position"].values, ref["position"].values)
    np.testing.assert_array_equal(ds["confidence"].values, ref["confidence"].values)
    ours = tmp_path / "ours.analysis.h5"
    sa.write_tracks(ref, ours)
    back = sio.load_analysis_h5(str(ours)).numpy()  # (frames, tracks, nodes, xy)
    want = ref["position"].transpose("time", "individuals", "keypoints", "space").values
    np.testing.assert_array_equal(back, want)
