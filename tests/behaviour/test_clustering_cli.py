"""End-to-end test of ``mapose cluster`` (fit, outputs, then labelling with the saved model)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mapose.cli import main
from mapose.io import write_tracks


def _load_synthetic():
    # the synthetic data of test_clustering.py, loaded by path (tests/behaviour is no package)
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "_mapose_test_clustering_data", Path(__file__).with_name("test_clustering.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.one_mouse


one_mouse = _load_synthetic()

CONFIG = """\
max_fit_frames: 800
umap_neighbors: 15
classifier_iterations: 20
windows: [5, 15]
min_bout_frames: 3
"""


@pytest.mark.slow
def test_cluster_cli_fit_then_label_with_model(tmp_path):
    files = []
    for i, n in enumerate((500, 400, 300)):
        ds, _ = one_mouse(n, seed=20 + i, bout=100)
        path = tmp_path / f"sess{i}.nc"
        write_tracks(ds, path)
        files.append(str(path))
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CONFIG)
    out = tmp_path / "out"
    assert main(["cluster", *files[:2], "--out", str(out), "--config", str(cfg),
                 "--seed", "4"]) == 0
    for name in ("labels.csv", "cluster_stats.csv", "transitions.csv", "transition_graph.json",
                 "typical_bouts.csv", "typical_bouts.json", "summary.json", "ethogram.png",
                 "transitions.png", "cluster_stats.png", "embedding.png", "config.yaml",
                 "cluster_profiles.csv", "cluster_profiles.png", "model/model.json", "model/arrays.npz"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    labels = pd.read_csv(out / "labels.csv")
    assert list(labels.columns) == ["session", "frame", "subject", "cluster"]
    assert labels.groupby("session").size().to_dict() == {"sess0": 500, "sess1": 400}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_clusters"] >= 2 and summary["seed"] == 4
    assert 0 < summary["fraction_assigned"] <= 1
    typ = pd.read_csv(out / "typical_bouts.csv")
    assert set(typ["cluster"]) == set(range(summary["n_clusters"]))
    assert (typ["stop"] > typ["start"]).all()
    assert (out / "ethogram.png").read_bytes()[:4] == b"\x89PNG"

    out2 = tmp_path / "out2"
    assert main(["cluster", files[2], "--model", str(out / "model"), "--out", str(out2)]) == 0
    new = pd.read_csv(out2 / "labels.csv")
    assert set(new["session"]) == {"sess2"} and len(new) == 300
    assert set(new["cluster"]) <= set(range(summary["n_clusters"])) | {-1}
    # labelling the training sessions with the saved model reproduces the fit's labels
    out3 = tmp_path / "out3"
    assert main(["cluster", files[0], "--model", str(out / "model"), "--out", str(out3)]) == 0
    again = pd.read_csv(out3 / "labels.csv")
    first = labels[labels["session"] == "sess0"].reset_index(drop=True)
    np.testing.assert_array_equal(again["cluster"].to_numpy(), first["cluster"].to_numpy())
    # ... and the same profile of those frames from the features it computes anew
    prof = pd.read_csv(out / "cluster_profiles.csv")
    assert {"speed", "angular_velocity"} <= set(prof["feature"]) and "centroid_x" not in set(prof["feature"])
    assert (pd.read_csv(out3 / "cluster_profiles.csv")["feature"].unique() == prof["feature"].unique()).all()
    # re-fitting in place from the result folder's own resolved config gives the same clusters
    assert main(["cluster", *files[:2], "--out", str(out), "--config", str(out / "config.yaml")]) == 0
    refit = pd.read_csv(out / "labels.csv")
    np.testing.assert_array_equal(refit["cluster"].to_numpy(), labels["cluster"].to_numpy())
    assert json.loads((out / "summary.json").read_text())["seed"] == 4


def test_cluster_cli_errors(tmp_path, capsys):
    ds, _ = one_mouse(50, seed=1)
    path = tmp_path / "a.nc"
    write_tracks(ds, path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("n_neighbours: 5\n")
    assert main(["cluster", str(path), "--out", str(tmp_path / "o"), "--config", str(bad)]) == 2
    assert "n_neighbours" in capsys.readouterr().err
    assert main(["cluster", str(path), "--out", str(tmp_path / "o"), "--model",
                 str(tmp_path / "nowhere")]) == 2
    assert "nowhere: not found; expected a behaviour clusters model folder" in capsys.readouterr().err
