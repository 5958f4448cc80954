"""``mapose filter`` on real SLEAP predictions: the file it writes holds what the cleaning steps
compute, filled points carry no score, a features config's cleaning gives the same file, and bad
options or outputs are refused in one line."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from mapose import io
from mapose.cli import main
from mapose.kinematics import CleaningConfig, clean

PRED = Path(__file__).resolve().parents[2] / "data" / "flies_tutorial_pair" / "predictions" / "predictions.analysis.h5"


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_filter_writes_the_cleaned_positions_and_leaves_filled_points_unscored(tmp_path, capsys):
    out = tmp_path / "filtered.csv"
    code, text, err = run(capsys, "filter", PRED, "--out", out, "--min-confidence", 0.8, "--max-gap", 10,
                          "--median", 5)
    assert code == 0, err
    original = io.read_tracks(PRED)
    dropped = int((original["confidence"] < 0.8).sum())
    assert f"filter_by_confidence: {dropped} of 8100 points changed" in text
    assert dropped > 100  # real low scores in this file

    written = io.read_tracks(out)
    expected = clean(original, CleaningConfig(confidence_threshold=0.8, max_gap=10, median_window=5))
    got = written["position"].transpose(*expected["position"].dims).values
    np.testing.assert_allclose(got, expected["position"].values, atol=1e-3, equal_nan=True)
    # a point dropped for its score and filled back by interpolation was not measured: no score
    low = (original["confidence"] < 0.8).values
    has_pos = np.isfinite(expected["position"].values).all(axis=expected["position"].get_axis_num("space"))
    filled = low & has_pos
    assert filled.sum() > 0
    conf = written["confidence"].transpose(*original["confidence"].dims).values
    assert np.isnan(conf[filled]).all()
    kept = ~low
    np.testing.assert_allclose(conf[kept], original["confidence"].values[kept], atol=1e-6)

    steps = yaml.safe_load((tmp_path / "filtered.filter.yaml").read_text())
    assert steps["confidence_threshold"] == 0.8 and steps["max_gap"] == 10 and steps["median_window"] == 5


def test_a_features_config_cleans_the_same_as_the_options(tmp_path, capsys):
    cfg = tmp_path / "features.yaml"
    cfg.write_text("cleaning: {confidence_threshold: 0.9, max_gap: 4, savgol_window: 7}\nwindows: [5]\n")
    assert run(capsys, "filter", PRED, "--out", tmp_path / "a.nc", "--config", cfg)[0] == 0
    assert run(capsys, "filter", PRED, "--out", tmp_path / "b.nc", "--min-confidence", 0.9,
               "--max-gap", 4, "--savgol", 7)[0] == 0
    a, b = io.read_tracks(tmp_path / "a.nc"), io.read_tracks(tmp_path / "b.nc")
    np.testing.assert_array_equal(a["position"].values, b["position"].values)
    assert np.isfinite(a["position"].values).mean() > 0.8
    # the option replaces the config's value
    assert run(capsys, "filter", PRED, "--out", tmp_path / "c.nc", "--config", cfg, "--max-gap", 0)[0] == 0
    c = io.read_tracks(tmp_path / "c.nc")
    assert np.isnan(c["position"].values).sum() > np.isnan(a["position"].values).sum()


@pytest.mark.parametrize("args, words", [
    ((), ["nothing to do"]),
    (("--median", 0), ["rolling median window", "0"]),
    (("--savgol", 3, "--polyorder", 3), ["Savitzky-Golay", "polyorder=3"]),
    (("--max-speed", -1), ["max_speed", "-1"]),
    (("--max-gap", 3, "--fps", 0), ["fps", "0"]),
    (("--median", 4), ["--median 4", "odd number of frames", "try 5"]),
    (("--savgol", 6), ["--savgol 6", "odd number of frames"]),
    (("--min-confidence", 2), ["leave no point", "threshold 2 is above every score", "nothing written"]),
])
def test_bad_options_are_named_in_one_line(tmp_path, capsys, args, words):
    out = tmp_path / "out.h5"
    code, _, err = run(capsys, "filter", PRED, "--out", out, *args)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not out.exists()


def test_filter_never_replaces_its_input_and_names_unknown_config_keys(tmp_path, capsys):
    copy = tmp_path / "predictions.analysis.h5"
    copy.write_bytes(PRED.read_bytes())
    code, _, err = run(capsys, "filter", copy, "--out", copy, "--median", 3)
    assert code == 2 and "input file" in err
    assert copy.read_bytes() == PRED.read_bytes()

    cfg = tmp_path / "bad.yaml"
    cfg.write_text("cleaning: {median: 5}\n")
    code, _, err = run(capsys, "filter", PRED, "--out", tmp_path / "x.h5", "--config", cfg)
    assert code == 2 and "median" in err and "median_window" in err


def test_a_median_with_min_periods_keeps_the_points_next_to_gaps(tmp_path, capsys):
    common = ["filter", PRED, "--min-confidence", 0.8, "--max-gap", 10, "--median", 5]
    assert run(capsys, *common, "--out", tmp_path / "strict.nc")[0] == 0
    assert run(capsys, *common, "--median-min-periods", 3, "--out", tmp_path / "kept.nc")[0] == 0
    gaps = clean(io.read_tracks(PRED), CleaningConfig(confidence_threshold=0.8, max_gap=10))
    missing_after_gaps = int(gaps["position"].isnull().any("space").sum())
    strict, kept = (io.read_tracks(tmp_path / f) for f in ("strict.nc", "kept.nc"))
    n_strict = int(strict["position"].isnull().any("space").sum())
    n_kept = int(kept["position"].isnull().any("space").sum())
    # the default (movement's) drops every point whose window touches a gap; 3 of 5 keeps them
    assert n_strict > missing_after_gaps >= n_kept
    assert yaml.safe_load((tmp_path / "kept.filter.yaml").read_text())["median_min_periods"] == 3
    code, _, err = run(capsys, *common, "--median-min-periods", 7, "--out", tmp_path / "bad.nc")
    assert code != 0 and "min_periods must be an integer from 1 to the window (5); got 7" in err
