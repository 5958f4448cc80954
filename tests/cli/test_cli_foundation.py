"""The ``mapose`` command: help, info, convert, and one clear error line for bad input."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mapose import io

DATA = Path(__file__).resolve().parents[2] / "data"
SLP_TRACKS = DATA / "flies_dreem" / "two_flies.slp"
DLC_LABELS = DATA / "mouse_mirror_lp" / "CollectedData.csv"
VIDEO = DATA / "flies_dreem" / "two_flies.mp4"


def mapose(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mapose", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def assert_one_clear_error(res, *words):
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr  # one line, no traceback
    assert "Traceback" not in res.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_help_lists_every_command():
    res = mapose("--help")
    assert res.returncode == 0
    for cmd in ("convert", "info", "demo", "dashboard", "track"):
        assert cmd in res.stdout
    import mapose.cli as cli

    for name, mod in cli._command_modules():
        assert name in res.stdout
        assert mod.HELP and "unavailable" not in mod.HELP, f"{name}: {mod.HELP}"


def test_info_tracks_labels_video(tmp_path):
    res = mapose("info", SLP_TRACKS)
    assert res.returncode == 0, res.stderr
    assert "animals:    2" in res.stdout and "frames:     128" in res.stdout
    # the file names no left/right pairs; info shows the ones training guesses from the names
    assert "symmetric pairs: 0 in the file; 5 guessed from the names (wingL/wingR," in res.stdout
    assert "labelling:  128 labelled, 0 predicted, 0 unlabelled, 0 empty" in res.stdout  # a SLEAP project's progress
    res = mapose("info", DLC_LABELS)
    assert res.returncode == 0, res.stderr
    assert "labelled frames: 90" in res.stdout
    assert "symmetric pairs: 0\n" in res.stdout  # paw1LH_top ...: nothing to guess
    res = mapose("info", VIDEO)
    assert res.returncode == 0, res.stderr
    assert "video" in res.stdout
    # a folder of something else names what a folder can be
    (Path(tmp_path) / "notes").mkdir()
    assert_one_clear_error(mapose("info", Path(tmp_path) / "notes"), "a folder with no images",
                           "or a folder written by mapose train, cluster or classify train")
    # output piped into a reader that stops before it (mapose info F | head -1) ends quietly
    res = subprocess.run(f'set -o pipefail; "{sys.executable}" -m mapose info "{SLP_TRACKS}" | true', shell=True,
                         executable="/bin/bash", capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and res.stderr == "", res.stderr


@pytest.mark.parametrize("suffix", [".h5", ".csv", ".nwb", ".nc", ".slp", ".analysis.h5"])
def test_convert_tracks_roundtrip(tmp_path, suffix):
    out = tmp_path / f"flies{suffix}"
    res = mapose("convert", SLP_TRACKS, out)
    assert res.returncode == 0, res.stderr
    a, b = io.read_tracks(SLP_TRACKS), io.read_tracks(out)
    np.testing.assert_allclose(b["position"].values, a["position"].values, atol=1e-4)
    assert list(b["individuals"].values) == list(a["individuals"].values)
    assert list(b["keypoints"].values) == list(a["keypoints"].values)


def test_convert_labels_dlc_to_coco_and_back(tmp_path):
    res = mapose("convert", DLC_LABELS, tmp_path / "labels.json")
    assert res.returncode == 0, res.stderr
    back = io.read_labels(tmp_path / "labels.json")
    orig = io.read_labels(DLC_LABELS)
    np.testing.assert_allclose(back.instances.keypoints, orig.instances.keypoints, atol=1e-6)


def test_truncated_video_one_clear_error(tmp_path):
    bad = tmp_path / "truncated.mp4"
    data = VIDEO.read_bytes()
    bad.write_bytes(data[: len(data) // 3])
    res = mapose("info", bad)
    assert_one_clear_error(res, "truncated.mp4")


def test_random_bytes_slp_one_clear_error(tmp_path):
    bad = tmp_path / "random.slp"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    res = mapose("convert", bad, tmp_path / "out.h5")
    assert_one_clear_error(res, "random.slp")
    assert not (tmp_path / "out.h5").exists()


def test_h5_with_wrong_columns_one_clear_error(tmp_path):
    import pandas as pd

    bad = tmp_path / "wrong.h5"
    pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}).to_hdf(bad, key="df_with_missing")
    res = mapose("convert", bad, tmp_path / "out.slp")
    assert_one_clear_error(res, "wrong.h5")
    assert not (tmp_path / "out.slp").exists()


def test_csv_with_missing_bodypart_one_clear_error(tmp_path):
    good = tmp_path / "good.csv"
    io.write_tracks(io.read_tracks(SLP_TRACKS), good)
    lines = good.read_text().splitlines()
    # drop the three columns (x, y, likelihood) of the first body part of the second animal
    rows = [ln.split(",") for ln in lines]
    header_ind = rows[1]
    second = header_ind[1:].index(header_ind[-1]) + 1  # first column of the last individual
    keep = [j for j in range(len(rows[0])) if j not in (second, second + 1, second + 2)]
    bad = tmp_path / "missing_part.csv"
    bad.write_text("\n".join(",".join(r[j] for j in keep) for r in rows) + "\n")
    out = tmp_path / "out.nwb"
    res = mapose("convert", bad, out)
    assert_one_clear_error(res, "missing_part.csv", "body part")
    assert not out.exists()


def test_missing_file_and_unknown_extension(tmp_path):
    assert_one_clear_error(mapose("info", tmp_path / "nope.h5"), "nope.h5", "not found")
    assert_one_clear_error(mapose("convert", SLP_TRACKS, tmp_path / "x.unknown"), "x.unknown")
