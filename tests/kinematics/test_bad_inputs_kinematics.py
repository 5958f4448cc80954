"""Bad inputs of ``mapose features`` and :func:`mapose.kinematics.check_feature_input`: one clear
error naming the file, exit code 2, and no output file left behind."""

from __future__ import annotations

import numpy as np
import pytest

from mapose.cli import main
from mapose.core import make_tracks
from mapose.errors import ValidationError
from mapose.io import available_formats, write_tracks
from mapose.kinematics import check_feature_input

from .conftest import circle_tracks, head_on_tracks

needs_dlc = pytest.mark.skipif("dlc" not in available_formats(), reason="DLC format module absent")


def _header_only(tmp_path):
    """A DLC csv with its header rows (scorer ... coords) and no frame."""
    full = tmp_path / "full.csv"
    write_tracks(circle_tracks(n=20), full, format="dlc")
    lines = full.read_text().splitlines(keepends=True)
    path = tmp_path / "header_only.csv"
    path.write_text("".join(ln for ln in lines if not ln[:1].isdigit()))
    full.unlink()
    return path


def _all_nan(tmp_path):
    ds = make_tracks(np.full((40, 2, 3, 1), np.nan), keypoints=["nose", "body", "tailbase"],
                     individuals=["mouse"], fps=30.0)
    path = tmp_path / "nan.csv"
    write_tracks(ds, path, format="dlc")
    return path


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------------------- check_feature_input
def test_check_feature_input_accepts_partly_missing_data():
    ds = circle_tracks(n=30)
    pos = ds["position"].values.copy()
    pos[:, :, 0, :] = np.nan  # one body part never seen: still usable
    ds = ds.assign(position=(ds["position"].dims, pos))
    assert check_feature_input(ds, "x.csv") is ds
    two = head_on_tracks(n=10)
    assert check_feature_input(two, "two.csv", mode="pair") is two


def test_check_feature_input_names_the_problem():
    empty = make_tracks(np.zeros((0, 2, 2, 1)), keypoints=["a", "b"])
    with pytest.raises(ValidationError, match=r"^e\.csv holds no frames$"):
        check_feature_input(empty, "e.csv")
    nan = make_tracks(np.full((5, 2, 2, 1), np.nan), keypoints=["a", "b"])
    with pytest.raises(ValidationError, match="n.csv: no body part has a finite position in any frame"):
        check_feature_input(nan, "n.csv")
    half = make_tracks(np.where(np.arange(2)[None, :, None, None] == 0, 1.0, np.nan) * np.ones((5, 2, 2, 1)),
                       keypoints=["a", "b"])  # x known, y never: no finite position
    with pytest.raises(ValidationError, match="no body part has a finite position"):
        check_feature_input(half, "h.csv")
    with pytest.raises(ValidationError, match="o.csv: pair features need at least 2 animals; the file has 1"):
        check_feature_input(circle_tracks(n=10), "o.csv", mode="pair")


# ------------------------------------------------------------------------------ mapose features
@needs_dlc
def test_features_refuses_a_file_without_frames(tmp_path, capsys):
    pose = _header_only(tmp_path)
    out = tmp_path / "out"
    assert main(["features", str(pose), "--out", str(out / "f.csv"), "--fps", "30"]) == 2
    err = capsys.readouterr().err
    assert "header_only.csv holds no frames" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@needs_dlc
def test_features_refuses_an_all_nan_file(tmp_path, capsys):
    pose = _all_nan(tmp_path)
    assert main(["features", str(pose), "--out", str(tmp_path / "f.csv"), "--fps", "30"]) == 2
    assert "nan.csv: no body part has a finite position in any frame" in capsys.readouterr().err
    assert _files(tmp_path) == ["nan.csv"]


@needs_dlc
def test_features_plots_must_be_a_folder_checked_before_writing(tmp_path, capsys):
    pose = tmp_path / "mouse.csv"
    write_tracks(circle_tracks(n=40), pose, format="dlc")
    video = tmp_path / "video.mp4"
    video.write_bytes(b"not a folder")
    out = tmp_path / "out" / "fs13.csv"
    assert main(["features", str(pose), "--out", str(out), "--plots", str(video)]) == 2
    assert f"--plots {video} is a file; expected a folder" in capsys.readouterr().err
    assert not out.parent.exists()
    assert _files(tmp_path) == ["mouse.csv", "video.mp4"]


@needs_dlc
def test_features_pair_mode_one_animal_and_bad_options(tmp_path, capsys):
    pose = tmp_path / "mouse.csv"
    write_tracks(circle_tracks(n=40), pose, format="dlc")
    before = pose.read_bytes()
    out = str(tmp_path / "f.csv")
    assert main(["features", str(pose), "--out", out, "--mode", "pair"]) == 2
    assert "mouse.csv: pair features need at least 2 animals; the file has 1" in capsys.readouterr().err
    for fps in ("0", "-5", "nan"):
        assert main(["features", str(pose), "--out", out, "--fps", fps]) == 2
        assert "--fps: fps must be a positive number" in capsys.readouterr().err
    # --out the input itself (one table per mode: 'animal' writes exactly --out)
    assert main(["features", str(pose), "--out", str(pose), "--mode", "animal"]) == 2
    assert "is the input file" in capsys.readouterr().err
    assert pose.read_bytes() == before
    assert _files(tmp_path) == ["mouse.csv"]


# --------------------------------------------------------------------------------- Python API
def test_the_python_api_names_bad_tracks_configs_and_windows():
    """What the command checks, the library functions check too (found by a sweep of the API)."""
    import pandas as pd

    from mapose.errors import ConfigError
    from mapose.kinematics import CleaningConfig, clean, feature_table, feature_tables

    ds = circle_tracks(n=60)
    for bad, words in ((ds.isel(time=slice(0, 0)), "holds no frames"),
                       (ds.assign(position=ds["position"] * np.nan), "no body part has a finite position"),
                       (pd.DataFrame({"x": [1.0]}), "Tracks must be an xarray.Dataset")):
        for fn in (lambda d: feature_table(d), lambda d: feature_tables(d)):
            with pytest.raises(ValidationError, match=words):
                fn(bad)
    with pytest.raises(ValidationError, match="no frames: nothing to clean"):
        clean(ds.isel(time=slice(0, 0)), CleaningConfig(max_gap=5))
    # a config as a dict of its keys is read as that config; None means the defaults
    as_dict = clean(ds, {"max_gap": 10, "median_window": 5})
    np.testing.assert_array_equal(as_dict["position"].values,
                                  clean(ds, CleaningConfig(max_gap=10, median_window=5))["position"].values)
    assert clean(ds, None).sizes == ds.sizes
    with pytest.raises(ConfigError, match="unknown config key"):
        clean(ds, {"max_gaps": 10})
    with pytest.raises(ConfigError, match=r"must be a CleaningConfig or a dict of its keys; got '5' \(int\)"):
        clean(ds, 5)
    # windows are a list of frame counts
    with pytest.raises(ConfigError, match=r"windows is a list of window sizes in frames, e\.g\. \(5, 15, 45\); got 5"):
        feature_table(ds, windows=5)
    with pytest.raises(ConfigError, match="window sizes are positive integers"):
        feature_table(ds, windows=(2.5,))
    # numbers given as text are named, not handed on to numpy
    from mapose.kinematics import calibrate, contact, filter_by_confidence, outlier_mask, region_summary
    from mapose.core.regions import Region

    for call, words in ((lambda: filter_by_confidence(ds, "0.5"), "confidence threshold must be a number; got '0.5'"),
                        (lambda: outlier_mask(ds, "x"), "max_speed must be a number; got 'x'"),
                        (lambda: calibrate(ds, px_per_cm="10"), "px_per_cm must be a number; got '10'"),
                        (lambda: calibrate(ds, fps="25"), "fps must be a number; got '25'"),
                        (lambda: contact(ds, "5"), r"contact threshold \(a distance\) must be a number"),
                        (lambda: region_summary(ds, [Region.rectangle("r", 0, 0, 10, 10)], min_visit="0.2"),
                         "min_visit must be a number; got '0.2'")):
        with pytest.raises(ConfigError, match=words):
            call()
