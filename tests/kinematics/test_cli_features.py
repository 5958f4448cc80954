"""``mapose features`` end to end on a small DLC file (and the plots)."""

from __future__ import annotations

import numpy as np
import pytest

from mapose.cli import main
from mapose.io import available_formats, write_tracks
from mapose.io.tables import read_feature_table

from .conftest import head_on_tracks

pytestmark = pytest.mark.skipif("dlc" not in available_formats(), reason="DLC format module absent")


@pytest.fixture
def pose_file(tmp_path):
    ds = head_on_tracks(n=60)
    path = tmp_path / "pair.csv"
    write_tracks(ds, path, format="dlc")
    return path


def test_features_all_modes_with_plots(tmp_path, pose_file, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("cleaning: {max_gap: 3}\nfeatures: {contact_distance: 5}\nwindows: [3, 9]\n")
    out = tmp_path / "out" / "feats.parquet"
    rc = main(["features", str(pose_file), "--out", str(out), "--config", str(cfg), "--fps", "25",
               "--plots", str(tmp_path / "plots")])
    assert rc == 0
    animal = read_feature_table(tmp_path / "out" / "feats_animal.parquet")
    pair = read_feature_table(tmp_path / "out" / "feats_pair.parquet")
    assert len(animal) == 120 and len(pair) == 120
    assert "speed_mean_9" in animal.columns and "centroid_dist_max_3" in pair.columns
    ab = pair[pair["subject"] == "A|B"]
    np.testing.assert_allclose(ab["approach_speed"], 30.0, rtol=1e-4)  # 20 + 10 px/s at 25 fps
    assert (tmp_path / "out" / "feats.config.yaml").exists()
    for name in ("trajectories.png", "speed.png", "pair_distance.png"):
        assert (tmp_path / "plots" / name).stat().st_size > 1000
    text = capsys.readouterr().out
    assert "interpolate_gaps: 0 of 360 points changed" in text


def test_features_csv_animal_and_errors(tmp_path, pose_file, capsys):
    out = tmp_path / "a.csv"
    assert main(["features", str(pose_file), "--out", str(out), "--mode", "animal"]) == 0
    df = read_feature_table(out)
    assert set(df["subject"]) == {"A", "B"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("features: {snout: x}\n")
    assert main(["features", str(pose_file), "--out", str(out), "--config", str(bad)]) == 2
    assert "allowed" in capsys.readouterr().err
    assert main(["features", str(pose_file), "--out", str(tmp_path / "x.txt")]) == 2
