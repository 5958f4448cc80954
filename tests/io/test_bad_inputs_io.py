"""Bad and unusual inputs of the format modules: ``fps=`` for every tracks format, empty and very
wide DeepLabCut ``.h5`` files, truncated DeepLabCut CSVs and ``.slp`` files whose index tables point
past their data.  Every file is written here, in ``tmp_path``."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from mapose.core import make_tracks
from mapose.errors import ConfigError, FormatError
from mapose.io import dlc, read_labels, read_tracks, write_labels, write_tracks
from mapose.io.slp import read_detections
from tests.io.test_jabs import write_v2

FRAMES = [3, 4, 5, 8, 9]


def small_tracks(fps=30.0, t=len(FRAMES), n_ind=2, n_kp=3, frames=FRAMES, seed=0):
    """Tracks with known values: ``t`` frames, ``n_ind`` animals, ``n_kp`` keypoints."""
    rng = np.random.default_rng(seed)
    pos = np.round(rng.uniform(0, 200, (t, 2, n_kp, n_ind)), 3)
    conf = np.round(rng.uniform(0, 1, (t, n_kp, n_ind)), 3)
    if t:
        pos[1, :, 0, 0] = np.nan
        conf[1, 0, 0] = np.nan
    return make_tracks(
        pos, conf,
        keypoints=[f"kp{k}" for k in range(n_kp)],
        individuals=[f"mouse{i}" for i in range(n_ind)],
        fps=fps, frames=None if frames is None else frames[:t],
    )


def same_values(a, b) -> bool:
    return all(np.array_equal(a[v].values, b[v].values, equal_nan=True) for v in ("position", "confidence"))


def write_quietly(ds, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pynwb / hdmf version chatter
        write_tracks(ds, path)


TRACK_SUFFIXES = [".slp", ".nwb", ".analysis.h5", ".nc", ".h5", ".csv"]


# ------------------------------------------------------------------ 1. fps= for every format
@pytest.mark.parametrize("suffix", TRACK_SUFFIXES)
def test_fps_argument_overrides_the_rate_of_every_format(tmp_path, suffix):
    ds = small_tracks(fps=30.0)
    path = tmp_path / f"pred{suffix}"
    write_quietly(ds, path)
    kept = read_tracks(path)
    assert kept.attrs["fps"] == (None if suffix == ".csv" else 30.0)
    back = read_tracks(path, fps=25)
    assert back.attrs["fps"] == 25.0 and back.attrs["time_unit"] == "seconds"
    np.testing.assert_array_equal(back["frame"].values, FRAMES)  # frames come from the file
    np.testing.assert_allclose(back["time"].values, np.asarray(FRAMES) / 25.0)
    assert same_values(back, ds)


@pytest.mark.parametrize("suffix", TRACK_SUFFIXES)
@pytest.mark.parametrize("bad", [0, -25, float("nan"), float("inf"), "fast"])
def test_bad_fps_is_a_clear_error_for_every_format(tmp_path, suffix, bad):
    path = tmp_path / f"pred{suffix}"
    write_quietly(small_tracks(), path)
    with pytest.raises(ConfigError, match=r"fps must be a positive number") as info:
        read_tracks(path, fps=bad)
    assert str(path) in str(info.value)


def test_jabs_fps_argument_and_bad_fps(tmp_path):
    path = tmp_path / "mouse_pose_est_v2.h5"
    write_v2(path)
    ds = read_tracks(path, fps=12.5)
    assert ds.attrs["fps"] == 12.5
    np.testing.assert_allclose(ds["time"].values, np.arange(4) / 12.5)
    with pytest.raises(ConfigError, match="mouse_pose_est_v2.h5: fps must be"):
        read_tracks(path, fps=-1)


# ------------------------------------------------------------------ 2. empty DeepLabCut .h5
def test_empty_tracks_round_trip_through_dlc_h5_like_csv(tmp_path):
    ds = small_tracks(t=0)
    h5, csv_path = tmp_path / "empty.h5", tmp_path / "empty.csv"
    write_tracks(ds, h5)
    write_tracks(ds, csv_path)
    back, back_csv = read_tracks(h5), read_tracks(csv_path)
    assert dict(back.sizes) == dict(back_csv.sizes) == {"time": 0, "space": 2, "keypoints": 3,
                                                         "individuals": 2}
    assert list(back["keypoints"].values) == ["kp0", "kp1", "kp2"]
    assert list(back["individuals"].values) == ["mouse0", "mouse1"]
    assert back.attrs["fps"] == 30.0
    df = pd.read_hdf(h5, "df_with_missing")  # what DeepLabCut calls
    assert df.shape == (0, 2 * 3 * 3)
    assert df.columns.names == ["scorer", "individuals", "bodyparts", "coords"]
    assert sorted(os.listdir(tmp_path)) == ["empty.csv", "empty.h5"]


# ------------------------------------------------------------------ 3. wide DeepLabCut .h5
def test_wide_tracks_round_trip_through_dlc_h5(tmp_path):
    # 96 animals x 24 keypoints x 3 coords = 6,912 columns: their names overflow the 64 kB HDF5
    # attribute of pandas' "table" format, so the file is written in the "fixed" format.
    ds = small_tracks(n_ind=96, n_kp=24, seed=1)
    out = tmp_path / "many.h5"
    write_tracks(ds, out)
    back = read_tracks(out)
    assert same_values(back, ds)
    np.testing.assert_array_equal(back["frame"].values, FRAMES)
    assert list(back["individuals"].values) == list(ds["individuals"].values)
    assert list(back["keypoints"].values) == list(ds["keypoints"].values)
    assert back.attrs["fps"] == 30.0
    df = pd.read_hdf(out, "df_with_missing")
    assert df.shape == (len(FRAMES), 96 * 24 * 3)
    assert list(df.index) == FRAMES
    assert df[("mapose", "mouse95", "kp23", "y")].tolist() == ds["position"].values[:, 1, 23, 95].tolist()
    assert df[("mapose", "mouse7", "kp2", "likelihood")].tolist() == \
        ds["confidence"].values[:, 2, 7].tolist()
    assert os.listdir(tmp_path) == ["many.h5"]


def test_narrow_dlc_h5_keeps_the_table_format(tmp_path):
    out = tmp_path / "pred.h5"
    write_tracks(small_tracks(), out)
    with pd.HDFStore(out, "r") as store:
        assert store.get_storer("df_with_missing").is_table


# ------------------------------------------------------------------ 4a. truncated DeepLabCut CSV
@pytest.mark.parametrize("where", ["after_index", "middle", "last_comma"])
def test_csv_cut_in_the_middle_of_the_last_row(tmp_path, where):
    good = tmp_path / "pred.csv"
    write_tracks(small_tracks(), good)
    raw = good.read_bytes()
    start = raw.rstrip(b"\n").rindex(b"\n") + 1  # first byte of the last row
    cut = {"after_index": raw.index(b",", start) + 1, "middle": (start + len(raw)) // 2,
           "last_comma": raw.rindex(b",")}[where]
    bad = tmp_path / "cut.csv"
    bad.write_bytes(raw[:cut])
    with pytest.raises(FormatError, match=r"the last data row \(5 of 5\) has \d+ of 19 columns") as info:
        read_tracks(bad)
    assert str(bad) in str(info.value) and "incomplete" in str(info.value)
    assert len(read_tracks(good)["time"]) == 5


def test_csv_with_a_short_row_inside(tmp_path):
    good = tmp_path / "pred.csv"
    write_tracks(small_tracks(), good)
    lines = good.read_text().splitlines()
    lines[5] = ",".join(lines[5].split(",")[:7])  # data row 2 (after 4 header rows)
    bad = tmp_path / "short.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match=r"short\.csv: data row \(2 of 5\) has 7 of 19 columns"):
        dlc.read_tracks(bad)


def test_csv_ending_without_newline_is_fine(tmp_path):
    good = tmp_path / "pred.csv"
    write_tracks(small_tracks(), good)
    good.write_bytes(good.read_bytes().rstrip(b"\n"))
    assert same_values(read_tracks(good), small_tracks())


# ------------------------------------------------------------------ 4b. damaged .slp index tables
def _damage(path: Path, table: str, field: str, row: int, delta: int) -> None:
    """Add ``delta`` to ``field`` of row ``row`` of the SLEAP table ``table``."""
    with h5py.File(path, "r+") as f:
        rows = f[table][()]
        rows[field][row] = int(rows[field][row]) + delta
        f[table][...] = rows


@pytest.mark.parametrize("table, field, row, delta, message", [
    # the last frame's instances run past the end of the instances table
    ("frames", "instance_id_end", -1, 1, r"row 4 of 'frames' points to rows 8\.\.11 of 'instances'"),
    # the second frame starts inside the first one: each range fits, together they do not
    ("frames", "instance_id_start", 1, -1, r"the rows of 'frames' point to 11 rows of 'instances'"),
    # the last instance's points run past the end of the predicted points table
    ("instances", "point_id_end", -1, 3, r"row 9 of 'instances' points to rows 27\.\.33 of 'pred_points'"),
])
def test_slp_with_ranges_past_its_tables(tmp_path, table, field, row, delta, message):
    path = tmp_path / "pred.slp"
    write_tracks(small_tracks(), path)
    assert len(read_detections(path)) == 2 * len(FRAMES)  # 2 animals in each frame, 3 points each
    _damage(path, table, field, row, delta)
    for reader in (read_tracks, read_labels, read_detections):
        with pytest.raises(FormatError, match=message) as info:
            reader(path)
        assert str(path) in str(info.value) and "damaged SLEAP file" in str(info.value)


def test_slp_user_instances_checked_against_points(tmp_path):
    path = tmp_path / "labels.slp"
    ds = small_tracks()
    write_tracks(ds, path)
    labels = read_labels(path)
    user = type(labels)(
        skeleton=labels.skeleton, images=labels.images, instances=labels.instances,
        individuals=labels.individuals, is_user=np.ones(len(labels.instances), bool),
        root=labels.root, source=labels.source,
    )
    out = tmp_path / "user.slp"
    write_labels(user, out)
    assert read_labels(out).is_user.all()
    _damage(out, "instances", "point_id_end", -1, 2)
    with pytest.raises(FormatError, match=r"of 'instances' points to rows \d+\.\.\d+ of 'points'"):
        read_labels(out)


# ------------------------------------------------------------------ truncated HDF5 files
@pytest.mark.parametrize("keep", [1000, 0.5])
@pytest.mark.parametrize("suffix", [".analysis.h5", ".slp", ".nwb", ".nc", ".h5", "_pose_est_v2.h5"])
def test_truncated_hdf5_files_are_named_not_a_traceback(tmp_path, keep, suffix):
    """A file cut short (a copy interrupted, a full disk) is called truncated in every HDF5 format,
    not "not a <format> file"."""
    good = tmp_path / f"pred{suffix}"
    if suffix.startswith("_pose_est"):
        write_v2(good)
    else:
        write_tracks(small_tracks(), good)
    raw = good.read_bytes()
    bad = tmp_path / f"cut{suffix}"
    bad.write_bytes(raw[: keep if isinstance(keep, int) else int(len(raw) * keep)])
    with pytest.raises(FormatError, match="may be truncated or damaged") as info:
        read_tracks(bad)
    assert str(bad) in str(info.value) and "\n" not in str(info.value)
