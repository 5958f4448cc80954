"""JABS pose files: small files with known content written here, and the shared samples checked
against their raw HDF5 datasets.

The JABS sample files are not bundled in ``data/``: the JABS repository they come from carries a
non-commercial licence, so they are read from ``../shared/data`` only (tests marked ``shared``).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from mapose.errors import FormatError
from mapose.io import detect_format, dlc, jabs, netcdf, read_tracks
from tests.conftest import shared_files


def write_v2(path: Path, t: int = 4) -> tuple[np.ndarray, np.ndarray]:
    pts = np.zeros((t, 12, 2), np.uint16)
    conf = np.zeros((t, 12), np.float32)
    for f in range(t):
        for k in range(12):
            pts[f, k] = (100 + 10 * f + k, 200 + k)  # (y, x)
            conf[f, k] = 0.5 + 0.01 * k
    conf[2, 3] = 0.0  # BASE_NECK missing in frame 2
    pts[2, 3] = 0
    with h5py.File(path, "w") as h5:
        h5.create_dataset("poseest/points", data=pts)
        h5.create_dataset("poseest/confidence", data=conf)
    return pts, conf


def write_multi(path: Path, with_embed: bool, fps: float | None = None):
    """3 frames, 3 instance slots; instance_count 2, 2, 1; tracks 7/9; identities 2/1 (+ one
    unassigned instance with embed id 5 > 2 clusters)."""
    t, s = 3, 3
    pts = np.zeros((t, s, 12, 2), np.uint16)
    conf = np.zeros((t, s, 12), np.float32)
    count = np.array([2, 2, 1], np.uint8)
    track = np.zeros((t, s), np.uint32)
    embed = np.zeros((t, s), np.uint32)
    for f in range(t):
        for i in range(count[f]):
            pts[f, i, :, 0] = 50 + f + 100 * i          # y
            pts[f, i, :, 1] = 300 + np.arange(12) + i   # x
            conf[f, i] = 0.9
    track[0, :2] = (7, 9)
    track[1, :2] = (9, 7)   # slots swap order in frame 1
    track[2, 0] = 7
    embed[0, :2] = (2, 1)
    embed[1, :2] = (1, 2)
    embed[2, 0] = 5         # valid instance without a long-term identity
    conf[0, 1, 11] = 0.0    # TIP_TAIL of slot 1 missing in frame 0
    pts[:, 2] = 0
    with h5py.File(path, "w") as h5:
        g = h5.create_group("poseest")
        g.attrs["version"] = np.array([4 if with_embed else 3, 0], np.uint16)
        if fps is not None:
            g.attrs["fps"] = fps
        g.attrs["cm_per_pixel"] = np.float32(0.05)
        g.create_dataset("points", data=pts)
        g.create_dataset("confidence", data=conf)
        g.create_dataset("instance_count", data=count)
        g.create_dataset("instance_track_id", data=track)
        if with_embed:
            g.create_dataset("instance_embed_id", data=embed)
            g.create_dataset("id_mask", data=~((embed >= 1) & (embed <= 2)))
            g.create_dataset("instance_id_center", data=np.zeros((2, 16)))
    return pts, conf


def test_v2_single_mouse_swaps_yx(tmp_path):
    path = tmp_path / "a_pose_est_v2.h5"
    pts, conf = write_v2(path)
    assert jabs.sniff(path) and not dlc.sniff(path) and not netcdf.sniff(path)
    assert detect_format(path) == "jabs"
    ds = read_tracks(path)
    assert list(ds["keypoints"].values) == list(jabs.KEYPOINTS)
    assert list(ds["individuals"].values) == ["individual_0"]
    assert ds.attrs["fps"] == 30.0 and ds.attrs["jabs_version"] == 2
    pos = ds["position"].values  # (t, space, k, i)
    assert pos[1, 0, 5, 0] == 200 + 5 and pos[1, 1, 5, 0] == 110 + 5  # x from column 1, y from 0
    assert np.isnan(pos[2, :, 3, 0]).all() and np.isnan(ds["confidence"].values[2, 3, 0])
    np.testing.assert_allclose(ds["confidence"].values[0, :, 0], conf[0], rtol=0, atol=1e-7)
    sk = jabs.skeleton()
    assert ("LEFT_EAR", "RIGHT_EAR") in sk.symmetry_names and ("NOSE", "BASE_NECK") in sk.edge_names


def test_v3_uses_tracklets(tmp_path):
    path = tmp_path / "b_pose_est_v3.h5"
    pts, conf = write_multi(path, with_embed=False)
    ds = jabs.read_tracks(path, fps=15)
    assert list(ds["individuals"].values) == ["track_7", "track_9"]
    assert ds.attrs["fps"] == 15.0 and ds.attrs["jabs_identity"] == "track"
    assert ds.attrs["cm_per_pixel"] == pytest.approx(0.05)
    pos = ds["position"].sel(space="x").values  # (t, k, i)
    # frame 1: slot 0 is track 9, slot 1 is track 7
    assert pos[1, 0, 1] == pts[1, 0, 0, 1] and pos[1, 0, 0] == pts[1, 1, 0, 1]
    assert np.isnan(ds["position"].values[2, :, :, 1]).all()  # track 9 absent in frame 2
    assert np.isnan(ds["position"].values[0, :, 11, 1]).all()  # missing tip of tail


def test_v4_uses_long_term_identities(tmp_path):
    path = tmp_path / "c_pose_est_v4.h5"
    pts, _ = write_multi(path, with_embed=True, fps=25.0)
    ds = jabs.read_tracks(path)
    assert list(ds["individuals"].values) == ["identity_1", "identity_2"]
    assert ds.attrs["fps"] == 25.0 and ds.attrs["jabs_unassigned_instances"] == 1
    y = ds["position"].sel(space="y").values
    assert y[0, 0, 1] == pts[0, 0, 0, 0] and y[0, 0, 0] == pts[0, 1, 0, 0]  # embed 2 in slot 0
    assert np.isnan(y[2]).all()  # the only instance of frame 2 has no identity
    tracks = jabs.read_tracks(path, identity="track")
    assert list(tracks["individuals"].values) == ["track_7", "track_9"]


def test_bad_jabs_files(tmp_path):
    path = tmp_path / "d_pose_est_v3.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("poseest/points", data=np.zeros((2, 2, 11, 2), np.uint16))
        h5.create_dataset("poseest/confidence", data=np.zeros((2, 2, 11), np.float32))
    with pytest.raises(FormatError, match="expected"):
        jabs.read_tracks(path)
    other = tmp_path / "e.h5"
    with h5py.File(other, "w") as h5:
        h5.create_dataset("tracks", data=np.zeros(3))
    assert not jabs.sniff(other)
    with pytest.raises(FormatError, match="poseest/points"):
        jabs.read_tracks(other)
    v3 = tmp_path / "g_pose_est_v3.h5"
    write_multi(v3, with_embed=False)
    with pytest.raises(FormatError, match="instance_embed_id"):
        jabs.read_tracks(v3, identity="embed")


SHARED_JABS = shared_files("formats_jabs/*.h5")


@pytest.mark.shared
@pytest.mark.parametrize("path", SHARED_JABS, ids=lambda p: p.name)
def test_shared_jabs_matches_raw_datasets(path, shared_data):
    ds = read_tracks(path)
    assert detect_format(path) == "jabs"
    with h5py.File(path, "r") as h5:
        g = h5["poseest"]
        pts = g["points"][()]
        conf = g["confidence"][()]
        count = g["instance_count"][()] if "instance_count" in g else None
        embed = g["instance_embed_id"][()] if "instance_embed_id" in g else None
        track = g["instance_track_id"][()] if "instance_track_id" in g else None
        n_ids = g["instance_id_center"].shape[0] if "instance_id_center" in g else None
    assert list(ds["keypoints"].values) == list(jabs.KEYPOINTS)
    assert list(ds["frame"].values) == list(range(pts.shape[0]))
    assert ds.attrs["fps"] == 30.0
    if pts.ndim == 3:
        pts, conf = pts[:, None], conf[:, None]
        names = np.array(["individual_0"])
        ident = np.zeros(pts.shape[:2], int)
        valid = np.ones(pts.shape[:2], bool)
    else:
        valid = np.arange(pts.shape[1])[None] < count[:, None]
        if embed is not None:
            names = np.array([f"identity_{i}" for i in range(1, n_ids + 1)])
            valid &= (embed >= 1) & (embed <= n_ids)
            ident = embed.astype(int) - 1
        else:
            ids = np.unique(track[valid])
            names = np.array([f"track_{i}" for i in ids])
            ident = np.searchsorted(ids, track)
    assert list(ds["individuals"].values) == list(names)
    position = ds["position"].values
    confidence = ds["confidence"].values
    rng = np.random.default_rng(0)
    f_idx, s_idx = np.nonzero(valid)
    for j in rng.choice(len(f_idx), size=min(300, len(f_idx)), replace=False):
        f, s = f_idx[j], s_idx[j]
        i = ident[f, s]
        for k in range(12):
            if conf[f, s, k] > 0:
                assert position[f, 0, k, i] == pts[f, s, k, 1]  # x is stored second
                assert position[f, 1, k, i] == pts[f, s, k, 0]
                assert abs(confidence[f, k, i] - conf[f, s, k]) < 1e-6
            else:
                assert np.isnan(position[f, :, k, i]).all() and np.isnan(confidence[f, k, i])
    # every valid point of the file is in the Tracks exactly once; nothing else is
    n_points = int((conf[valid] > 0).sum())
    assert int(np.isfinite(position[:, 0]).sum()) == n_points


@pytest.mark.shared
def test_shared_jabs_v5_identities(shared_data):
    ds = read_tracks(shared_data / "formats_jabs" / "sample_pose_est_v5.h5")
    assert list(ds["individuals"].values) == ["identity_1", "identity_2", "identity_3"]
    assert ds.attrs["cm_per_pixel"] == pytest.approx(0.0733418, abs=1e-6)
    with h5py.File(shared_data / "formats_jabs" / "sample_pose_est_v5.h5", "r") as h5:
        g = h5["poseest"]
        valid = np.arange(g["points"].shape[1])[None] < g["instance_count"][()][:, None]
        embed = g["instance_embed_id"][()]
    assert ds.attrs["jabs_unassigned_instances"] == int((valid & (embed > 3)).sum())
