"""DeepLabCut files: checked against cell values looked up independently (csv module / pandas)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from mapose.core import get_skeleton, make_tracks
from mapose.core.skeleton import Skeleton
from mapose.errors import ConfigError, FormatError, MaposeError
from mapose.io import detect_format, dlc, read_labels, read_tracks, write_labels, write_tracks
from tests.conftest import DATA_DIR, shared_files

MIRROR = DATA_DIR / "mouse_mirror_lp" / "CollectedData.csv"


# ------------------------------------------------------------------ independent readers
def raw_csv(path: Path):
    """Header rows and data rows of a DLC CSV straight from the csv module."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    n_head = next(i for i, r in enumerate(rows) if r[0] == "coords") + 1
    return rows[:n_head], rows[n_head:]


def cell(v: str) -> float:
    return float(v) if v.strip() != "" else np.nan


def assert_close_nan(a, b, atol=1e-4):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], atol=atol, rtol=0)


# ------------------------------------------------------------------ copied sample (mirror mouse)
def test_mirror_mouse_labels_match_raw_cells():
    head, rows = raw_csv(MIRROR)
    labels = read_labels(MIRROR)
    assert detect_format(MIRROR) == "dlc"
    bodyparts = list(dict.fromkeys(head[1][1:]))
    assert list(labels.skeleton.keypoints) == bodyparts
    assert len(bodyparts) == 17 and bodyparts[0] == "paw1LH_top"
    assert labels.individuals == ()
    assert [r.image for r in labels.images] == [r[0] for r in rows]
    assert len(labels.images) == 90
    assert Path(labels.root) == MIRROR.parent.resolve()
    assert labels.resolve(labels.images[0].image).is_file()  # img01.png is bundled
    # every image with a labelled point has exactly one instance, at the raw cell values
    for r_i, row in enumerate(rows):
        vals = np.array([cell(v) for v in row[1:]]).reshape(17, 2)
        kp, _ = labels.frame_instances(r_i)
        if np.all(np.isnan(vals)):
            assert len(kp) == 0
            continue
        assert len(kp) == 1
        assert_close_nan(kp[0], vals)
    # some points are missing (empty cells) and read as NaN
    first = np.array([cell(v) for v in rows[0][1:]]).reshape(17, 2)
    assert np.isnan(first[4]).all()  # tailBase_top of img01 is empty in the file
    np.testing.assert_allclose(first[1], [253.5, 101.900392541708], atol=1e-9)


def test_mirror_mouse_as_tracks_uses_image_numbers_as_frames():
    _, rows = raw_csv(MIRROR)
    ds = read_tracks(MIRROR, fps=250)
    frames = [int(r[0].split("img")[1].split(".")[0]) for r in rows]
    assert list(ds["frame"].values) == sorted(frames)
    assert ds.attrs["fps"] == 250.0 and ds.attrs["dlc_coords"] == "xy"
    assert np.isnan(ds["confidence"].values).all()
    row = rows[frames.index(sorted(frames)[0])]
    vals = np.array([cell(v) for v in row[1:]]).reshape(17, 2)
    assert_close_nan(ds["position"].isel(time=0, individuals=0).transpose("keypoints", "space"), vals)


@pytest.mark.parametrize("suffix", [".csv", ".h5"])
def test_mirror_mouse_labels_round_trip(tmp_path, suffix):
    labels = read_labels(MIRROR)
    out = tmp_path / f"CollectedData_rick{suffix}"
    write_labels(labels, out, scorer="rick")
    back = read_labels(out)
    assert back.images == labels.images
    assert back.skeleton.keypoints == labels.skeleton.keypoints
    np.testing.assert_array_equal(back.instances.frame, labels.instances.frame)
    assert np.array_equal(back.instances.keypoints, labels.instances.keypoints, equal_nan=True)
    if suffix == ".csv":  # the CSV is the same table, cell for cell
        h0, r0 = raw_csv(MIRROR)
        h1, r1 = raw_csv(out)
        assert h1 == h0
        assert [r[0] for r in r1] == [r[0] for r in r0]
        assert_close_nan([[cell(v) for v in r[1:]] for r in r1],
                         [[cell(v) for v in r[1:]] for r in r0], atol=0)


def test_lightning_pose_config_is_not_a_dlc_config():
    with pytest.raises(ConfigError, match="bodyparts"):
        dlc.read_project_config(DATA_DIR / "mouse_mirror_lp" / "config_mirror-mouse-example.yaml")


# ------------------------------------------------------------------ a multi-animal project
CONFIG = """\
Task: mice
scorer: alice
multianimalproject: true
individuals:
- mus1
- mus2
bodyparts: MULTI!
multianimalbodyparts:
- snout
- leftear
- rightear
- tailbase
uniquebodyparts:
- arena_corner
skeleton:
- [snout, leftear]
- [snout, rightear]
- [leftear, tailbase]
"""


def make_ma_project(root: Path, index_style: str = "multi") -> Path:
    """A DeepLabCut 2.2 multi-animal project with a unique body part, written cell by cell."""
    (root / "config.yaml").write_text(CONFIG)
    folder = root / "labeled-data" / "session1"
    folder.mkdir(parents=True)
    n_idx = 3 if index_style == "multi" else 1
    pad = [""] * (n_idx - 1)
    inds = ["mus1"] * 8 + ["mus2"] * 8 + ["single"] * 2
    bps = [b for b in ("snout", "leftear", "rightear", "tailbase") for _ in (0, 1)] * 2 + ["arena_corner"] * 2
    rows = [
        ["scorer"] + pad + ["alice"] * 18,
        ["individuals"] + pad + inds,
        ["bodyparts"] + pad + bps,
        ["coords"] + pad + ["x", "y"] * 9,
    ]
    rng = np.random.default_rng(0)
    for i, name in enumerate(["img003.png", "img017.png", "img042.png"]):
        vals = np.round(rng.uniform(5, 500, 18), 3).astype(str).tolist()
        if i == 1:
            vals[8:16] = [""] * 8  # mus2 not labelled on this image
            vals[2:4] = ["", ""]   # mus1's left ear missing
        if i == 2:
            vals[16:18] = ["", ""]  # the corner is not labelled
        index = ["labeled-data", "session1", name] if n_idx == 3 else [f"labeled-data/session1/{name}"]
        rows.append(index + vals)
    path = folder / "CollectedData_alice.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


@pytest.mark.parametrize("index_style", ["multi", "path"])
def test_multi_animal_labels_with_unique_bodypart(tmp_path, index_style):
    path = make_ma_project(tmp_path, index_style)
    head, rows = raw_csv(path)
    labels = read_labels(path)
    assert labels.individuals == ("mus1", "mus2", "single")
    assert labels.skeleton.keypoints == ("snout", "leftear", "rightear", "tailbase", "arena_corner")
    assert labels.skeleton.edge_names == [("snout", "leftear"), ("snout", "rightear"), ("leftear", "tailbase")]
    assert ("leftear", "rightear") in labels.skeleton.symmetry_names
    assert Path(labels.root) == tmp_path.resolve()
    assert labels.images[0].image == "labeled-data/session1/img003.png"
    # instances: image 0: 3 (mus1, mus2, single); image 1: 2 (mus1, single); image 2: 2 (mus1, mus2)
    assert list(labels.instances.frame) == [0, 0, 0, 1, 1, 2, 2]
    assert list(labels.instances.track_id) == [0, 1, 2, 0, 2, 0, 1]
    off = 1 if index_style == "path" else 3
    vals = np.array([cell(v) for v in rows[1][off:]])
    kp, tid = labels.frame_instances(1)
    assert_close_nan(kp[0, :4].reshape(-1), vals[:8])   # mus1 with NaN left ear
    assert np.isnan(kp[0, 4]).all()                    # mus1 has no arena_corner column
    assert_close_nan(kp[1, 4], vals[16:18])            # single: only the corner
    assert np.isnan(kp[1, :4]).all()
    # as Tracks: 'single' is its own individual; frames from the image numbers
    ds = read_tracks(path)
    assert list(ds["individuals"].values) == ["mus1", "mus2", "single"]
    assert list(ds["frame"].values) == [3, 17, 42]
    assert json.loads(ds.attrs["dlc_unique_bodyparts"]) == ["arena_corner"]
    assert get_skeleton(ds).edge_names == labels.skeleton.edge_names


@pytest.mark.parametrize("suffix", [".csv", ".h5"])
def test_multi_animal_labels_round_trip_is_lossless(tmp_path, suffix):
    path = make_ma_project(tmp_path)
    labels = read_labels(path)
    out = tmp_path / "labeled-data" / "session1" / f"CollectedData_copy{suffix}"
    write_labels(labels, out, scorer="alice")
    back = read_labels(out)
    assert back.individuals == labels.individuals
    assert back.images == labels.images
    assert back.skeleton == labels.skeleton
    assert np.array_equal(back.instances.keypoints, labels.instances.keypoints, equal_nan=True)
    np.testing.assert_array_equal(back.instances.track_id, labels.instances.track_id)
    # the written table has the same columns (unique body part only for 'single') and cells
    df0 = dlc._read_frame(path)[0]
    df1 = dlc._read_frame(out)[0]
    assert list(df1.columns) == list(df0.columns)
    assert list(df1.index) == list(df0.index)
    assert np.array_equal(df1.to_numpy(), df0.to_numpy(), equal_nan=True)


def test_predictions_with_unique_bodypart_round_trip(tmp_path):
    path = make_ma_project(tmp_path)
    ds = read_tracks(path)
    out = tmp_path / "pred.h5"
    write_tracks(ds, out)
    df = pd.read_hdf(out, key="df_with_missing")
    assert df.columns.names == ["scorer", "individuals", "bodyparts", "coords"]
    cols = set(df.columns)
    assert ("alice", "single", "arena_corner", "x") in cols
    assert ("alice", "single", "snout", "x") not in cols
    assert ("alice", "mus1", "arena_corner", "x") not in cols
    back = read_tracks(out)
    assert np.array_equal(back["position"].values, ds["position"].values, equal_nan=True)
    assert list(back["frame"].values) == [3, 17, 42]


def test_project_config_and_skeleton(tmp_path):
    (tmp_path / "config.yaml").write_text(CONFIG)
    cfg = dlc.read_project_config(tmp_path / "config.yaml")
    assert cfg["multianimalproject"] is True
    assert cfg["bodyparts"] == ["snout", "leftear", "rightear", "tailbase", "arena_corner"]
    assert cfg["individuals"] == ["mus1", "mus2"] and cfg["scorer"] == "alice"
    sk = dlc.skeleton_from_config(cfg)
    assert sk.edge_names == [("snout", "leftear"), ("snout", "rightear"), ("leftear", "tailbase")]
    assert sk.symmetry_names == [("leftear", "rightear")]
    (tmp_path / "bad.yaml").write_text(CONFIG.replace("[leftear, tailbase]", "[leftear, tail]"))
    with pytest.raises(ConfigError, match="tail"):
        dlc.skeleton_from_config(dlc.read_project_config(tmp_path / "bad.yaml"))


# ------------------------------------------------------------------ predictions
def example_tracks(fps=30.0):
    rng = np.random.default_rng(1)
    pos = rng.uniform(0, 640, (6, 2, 3, 2))
    pos[2, :, 1, 0] = np.nan
    conf = rng.uniform(0, 1, (6, 3, 2))
    conf[2, 1, 0] = np.nan
    sk = Skeleton.from_names(["nose", "earL", "earR"], [("nose", "earL"), ("nose", "earR")],
                             [("earL", "earR")])
    return make_tracks(pos, conf, skeleton=sk, individuals=["m1", "m2"], fps=fps,
                       frames=[10, 11, 12, 20, 21, 40],
                       attrs={"provenance": json.dumps({"model": "x", "epoch": 3})})


def test_h5_keeps_attrs_and_writes_four_level_header(tmp_path):
    ds = example_tracks()
    out = tmp_path / "pred.h5"
    write_tracks(ds, out)
    assert detect_format(out) == "dlc"
    with pd.HDFStore(out, "r") as store:
        assert store.keys() == ["/df_with_missing"]
        df = store["df_with_missing"]
    assert df.columns.names == ["scorer", "individuals", "bodyparts", "coords"]
    assert list(df.index) == [10, 11, 12, 20, 21, 40]
    assert df[("mapose", "m2", "earR", "likelihood")].iloc[3] == ds["confidence"].values[3, 2, 1]
    back = read_tracks(out)
    assert get_skeleton(back) == get_skeleton(ds)
    assert back.attrs["fps"] == 30.0 and back.attrs["provenance"] == ds.attrs["provenance"]
    np.testing.assert_array_equal(back["time"].values, ds["time"].values)
    assert np.array_equal(back["position"].values, ds["position"].values, equal_nan=True)
    assert np.array_equal(back["confidence"].values, ds["confidence"].values, equal_nan=True)


def test_csv_keeps_values_and_takes_fps(tmp_path):
    ds = example_tracks()
    out = tmp_path / "pred.csv"
    write_tracks(ds, out)
    head, rows = raw_csv(out)
    assert [h[0] for h in head] == ["scorer", "individuals", "bodyparts", "coords"]
    assert [int(r[0]) for r in rows] == [10, 11, 12, 20, 21, 40]
    back = read_tracks(out, fps=30)
    assert back.attrs["fps"] == 30.0
    np.testing.assert_allclose(back["time"].values, ds["time"].values)
    assert np.array_equal(back["position"].values, ds["position"].values, equal_nan=True)
    assert np.array_equal(back["confidence"].values, ds["confidence"].values, equal_nan=True)
    assert read_tracks(out).attrs["fps"] is None


@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_movement_loads_what_mapose_writes(tmp_path, suffix):
    from movement.io import load_poses

    ds = example_tracks(fps=None)
    out = tmp_path / f"pred{suffix}"
    write_tracks(ds, out)
    mv = load_poses.from_dlc_file(out, fps=25)
    assert list(mv["individuals"].values) == ["m1", "m2"]
    assert list(mv["keypoints"].values) == ["nose", "earL", "earR"]
    assert list(mv["space"].values) == ["x", "y"]
    assert np.array_equal(mv["position"].transpose(*ds["position"].dims).values,
                          ds["position"].values, equal_nan=True)
    assert np.array_equal(mv["confidence"].transpose(*ds["confidence"].dims).values,
                          ds["confidence"].values, equal_nan=True)


def test_xy_only_zero_pairs_are_missing(tmp_path):
    cols = pd.MultiIndex.from_product([["s"], ["a", "b"], ["nose", "tail"], ["x", "y"]],
                                      names=["scorer", "individuals", "bodyparts", "coords"])
    vals = np.arange(1, 25, dtype=np.int32).reshape(3, 8)
    vals[1, 2:4] = 0   # a/tail missing in frame 1
    vals[2, 4] = 0     # b/nose x == 0 but y != 0: a real point
    df = pd.DataFrame(vals, columns=cols)
    path = tmp_path / "mabe_like.h5"
    df.to_hdf(path, key="df_with_missing", mode="w")
    ds = read_tracks(path)
    assert ds.attrs["dlc_zero_is_missing"] == 1
    pos = ds["position"].values
    assert np.isnan(pos[1, :, 1, 0]).all()
    assert pos[2, 0, 0, 1] == 0 and pos[2, 1, 0, 1] == vals[2, 5]
    assert np.isnan(ds["confidence"].values).all()
    kept = read_tracks(path, zero_is_missing=False)
    assert (kept["position"].values[1, :, 1, 0] == 0).all()
    # written back without likelihood columns, like the source
    out = tmp_path / "back.h5"
    write_tracks(kept, out)
    back = pd.read_hdf(out)
    assert list(back.columns.get_level_values("coords").unique()) == ["x", "y"]
    np.testing.assert_array_equal(back.to_numpy(), vals)


# ------------------------------------------------------------------ bad input
def test_h5_with_wrong_columns(tmp_path):
    path = tmp_path / "wrong.h5"
    pd.DataFrame({"frame": [0, 1], "nose_x": [1.0, 2.0]}).to_hdf(path, key="df_with_missing", mode="w")
    assert detect_format(path) == "dlc"
    with pytest.raises(FormatError) as exc:
        read_tracks(path)
    msg = str(exc.value)
    assert str(path) in msg and "expected" in msg and "bodyparts" in msg
    assert "\n" not in msg


def test_h5_with_unknown_coordinate(tmp_path):
    cols = pd.MultiIndex.from_product([["s"], ["nose"], ["x", "y", "z"]],
                                      names=["scorer", "bodyparts", "coords"])
    path = tmp_path / "xyz.h5"
    pd.DataFrame(np.ones((2, 3)), columns=cols).to_hdf(path, key="df_with_missing", mode="w")
    with pytest.raises(FormatError, match="'z'.*expected one of x, y, likelihood"):
        read_tracks(path)


def test_csv_with_a_missing_bodypart(tmp_path):
    rows = [
        ["scorer"] + ["s"] * 9,
        ["individuals"] + ["m1"] * 6 + ["m2"] * 3,
        ["bodyparts"] + ["nose"] * 3 + ["tail"] * 3 + ["nose"] * 3,
        ["coords"] + ["x", "y", "likelihood"] * 3,
        ["0", "1", "2", "0.9", "3", "4", "0.8", "5", "6", "0.7"],
    ]
    path = tmp_path / "missing.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    with pytest.raises(FormatError) as exc:
        read_tracks(path)
    msg = str(exc.value)
    assert str(path) in msg and "'tail'" in msg and "'m2'" in msg


def test_csv_with_text_in_a_value_cell(tmp_path):
    path = tmp_path / "text.csv"
    path.write_text("scorer,s,s\nbodyparts,nose,nose\ncoords,x,y\n0,1.5,abc\n")
    with pytest.raises(FormatError, match=r"nose/y holds 'abc'"):
        read_tracks(path)


@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_random_bytes(tmp_path, suffix):
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(np.random.default_rng(3).bytes(4096))
    assert not dlc.sniff(path)
    with pytest.raises(FormatError, match=str(path.name)):
        dlc.read_tracks(path)
    with pytest.raises(MaposeError):
        read_tracks(path)


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    ds = example_tracks()
    out = tmp_path / "pred.h5"

    def broken(self, path, *a, **kw):
        Path(path).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_hdf", broken)
    with pytest.raises(OSError):
        write_tracks(ds, out)
    assert os.listdir(tmp_path) == []
    with pytest.raises(FormatError, match=r"\.h5 or \.csv"):
        dlc.write_tracks(ds, tmp_path / "pred.txt")
    assert os.listdir(tmp_path) == []


def test_sniff_rejects_other_hdf5_formats(tmp_path):
    jabs_like = tmp_path / "x_pose_est_v2.h5"
    with h5py.File(jabs_like, "w") as h5:
        h5.create_dataset("poseest/points", data=np.zeros((2, 12, 2), np.uint16))
        h5.create_dataset("poseest/confidence", data=np.zeros((2, 12), np.float32))
    analysis = tmp_path / "x.analysis.h5"
    with h5py.File(analysis, "w") as h5:
        h5.create_dataset("tracks", data=np.zeros((1, 2, 3, 4)))
        h5.create_dataset("node_names", data=np.array([b"a", b"b", b"c"]))
    assert not dlc.sniff(jabs_like) and not dlc.sniff(analysis)


# ------------------------------------------------------------------ every DLC file in ../shared
def _shared_dlc_files():
    out = []
    for p in shared_files("**/*.h5") + shared_files("**/*.csv"):
        if dlc.sniff(p):
            out.append(p)
    return out


SHARED_DLC = _shared_dlc_files()


@pytest.mark.shared
def test_shared_dlc_files_found(shared_data):
    names = {p.name for p in SHARED_DLC}
    assert "EGS8X2MN4SSUGFWAV976.h5" in names and "CollectedData_Pranav.csv" in names
    assert len(SHARED_DLC) >= 10
    for p in shared_files("**/*.h5"):
        if "DLC" in p.name or p.parent.name == "mice_mabe22_triplet" or "CollectedData" in p.name:
            continue
        assert not dlc.sniff(p), p  # SLEAP analysis, JABS files
    for p in shared_files("**/*.nwb") + shared_files("**/*.nc"):
        assert not dlc.sniff(p), p


@pytest.mark.shared
@pytest.mark.parametrize("path", SHARED_DLC, ids=lambda p: p.parent.name + "/" + p.name)
def test_shared_dlc_file_matches_raw_cells(path, shared_data):
    ds = read_tracks(path)
    if path.suffix == ".csv":
        head, rows = raw_csv(path)
        levels = [h[0] for h in head]
        n_idx = 1 + next(i for i, c in enumerate(head[0][1:]) if c != "")
        col_keys = list(zip(*[h[n_idx:] for h in head]))
        index = ["/".join(r[:n_idx]) for r in rows]
        values = np.array([[cell(v) for v in r[n_idx:]] for r in rows])
    else:
        df = pd.read_hdf(path)
        levels = list(df.columns.names)
        col_keys = [tuple(str(x) for x in c) for c in df.columns]
        index = ["/".join(x) if isinstance(x, tuple) else str(x) for x in df.index]
        values = df.to_numpy(dtype=float)
    multi = "individuals" in levels
    inds = list(dict.fromkeys(k[1] for k in col_keys)) if multi else ["individual_0"]
    bps = list(dict.fromkeys(k[-2] for k in col_keys))
    assert list(ds["individuals"].values) == inds
    assert sorted(ds["keypoints"].values) == sorted(bps)
    if all(i.isdigit() for i in index):
        assert list(ds["frame"].values) == sorted(int(i) for i in index)
    assert ds.sizes["time"] == len(index)
    has_lk = any(k[-1] == "likelihood" for k in col_keys)
    zero_missing = bool(ds.attrs.get("dlc_zero_is_missing"))
    assert zero_missing == (not has_lk and path.parent.name == "mice_mabe22_triplet")
    frames = list(ds["frame"].values)
    rng = np.random.default_rng(0)
    for j in rng.choice(len(col_keys), size=min(40, len(col_keys)), replace=False):
        key = col_keys[j]
        ind = key[1] if multi else "individual_0"
        bp, coord = key[-2], key[-1]
        for r in rng.choice(len(index), size=min(25, len(index)), replace=False):
            t = frames.index(int(index[r])) if index[r].isdigit() else r
            if coord == "likelihood":
                got = ds["confidence"].sel(keypoints=bp, individuals=ind).values[t]
            else:
                got = ds["position"].sel(keypoints=bp, individuals=ind, space=coord).values[t]
                if zero_missing:
                    other = "y" if coord == "x" else "x"
                    jo = col_keys.index(tuple(list(key[:-1]) + [other]))
                    if values[r, j] == 0 and values[r, jo] == 0:
                        assert np.isnan(got)
                        continue
            want = values[r, j]
            if np.isnan(want):
                assert np.isnan(got), (path, key, r)
            else:
                assert abs(got - want) <= 1e-4, (path, key, r, got, want)
    # missing values: the NaN count of the file equals the one of the Tracks
    n_nan_file = int(np.isnan(values[:, [k[-1] == "x" for k in col_keys]]).sum())
    if not zero_missing and not multi:
        assert int(np.isnan(ds["position"].sel(space="x").values).sum()) == n_nan_file


@pytest.mark.shared
def test_shared_labelled_projects_attach_config(shared_data):
    reach = shared_data / "mouse_reaching_dlc" / "labeled-data" / "reachingvideo1"
    for name in ("CollectedData_Mackenzie.h5", "CollectedData_Mackenzie.csv"):
        labels = read_labels(reach / name)
        assert labels.skeleton.edge_names == [("Hand", "Finger1"), ("Joystick1", "Joystick2")]
        assert Path(labels.root) == (shared_data / "mouse_reaching_dlc").resolve()
        assert len(labels.images) == 55
        assert labels.resolve(labels.images[0].image).is_file()
    of = read_labels(shared_data / "mouse_openfield_dlc" / "labeled-data" / "m4s1" / "CollectedData_Pranav.h5")
    assert of.skeleton.keypoints == ("snout", "leftear", "rightear", "tailbase")
    assert of.skeleton.symmetry_names == [("leftear", "rightear")]
    assert len(of.images) == 116 and len(of.instances) == 116


def test_excel_bom_windows_paths_and_foreign_config(tmp_path):
    """A CSV saved by Excel (byte-order mark), labelled on Windows (backslash paths), in a folder
    whose config.yaml is not a DeepLabCut config: read, with the foreign config ignored."""
    folder = tmp_path / "labeled-data" / "v1"
    folder.mkdir(parents=True)
    (tmp_path / "config.yaml").write_text("data:\n  csv_file: CollectedData.csv\n")
    path = folder / "CollectedData_bob.csv"
    text = ("scorer,bob,bob\r\nbodyparts,nose,nose\r\ncoords,x,y\r\n"
            "labeled-data\\v1\\img007.png,1.25,2.5\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert dlc.sniff(path)
    labels = read_labels(path)
    assert labels.images[0].image == "labeled-data/v1/img007.png"
    np.testing.assert_array_equal(labels.instances.keypoints[0], [[1.25, 2.5]])
    assert list(read_tracks(path)["frame"].values) == [7]
    with pytest.raises(ConfigError):
        read_labels(path, config=tmp_path / "config.yaml")


def test_truncated_h5_gives_one_line(tmp_path):
    full = tmp_path / "full.h5"
    write_tracks(example_tracks(), full)
    cut = tmp_path / "cut.h5"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(FormatError) as exc:
        dlc.read_tracks(cut)
    msg = str(exc.value)
    assert str(cut) in msg and "truncated" in msg and "\n" not in msg


@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_a_tracks_file_read_as_labels_is_named_as_tracks(tmp_path, suffix):
    """A video's predictions (rows are frame numbers) opened where labelled frames are wanted (the
    Labelling page, `mapose train --labels`) say what they are and how to label that video."""
    out = tmp_path / f"pred{suffix}"
    write_tracks(example_tracks(), out)
    with pytest.raises(FormatError, match=r"holds pose tracks of a video \(its rows are frame numbers, not labelled "
                                          r"images\).*'mapose extract-frames VIDEO --tracks pred"):
        read_labels(out)
    assert read_tracks(out).sizes["time"] == 6
