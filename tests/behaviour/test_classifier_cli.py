"""``mapose classify train`` / ``predict`` end to end on small synthetic sessions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mapose.cli import main
from mapose.core import make_tracks
from mapose.io import write_tracks

from tests.behaviour.test_classifier import KPS, _mouse_session


def _write_session(tmp_path, i, names=KPS, px_per_cm=10.0, seed=None):
    ds, ann = _mouse_session(n=500, seed=i if seed is None else seed, px_per_cm=px_per_cm)
    if list(names) != KPS:
        ds = make_tracks(ds["position"].values, ds["confidence"].values, keypoints=names,
                         individuals=["mouse"], fps=30.0)
    pose = tmp_path / f"s{i}.nc"
    write_tracks(ds, pose, format="netcdf")
    a = tmp_path / f"s{i}_labels.csv"
    ann[["frame", "freeze"]].to_csv(a, index=False)
    return pose, a, ann


@pytest.mark.slow
def test_classify_train_and_predict_cli(tmp_path, capsys):
    pytest.importorskip("mapose.io.netcdf")
    sessions = [_write_session(tmp_path, i) for i in range(3)]
    model = tmp_path / "model"
    rc = main(["classify", "train", "--pose", *[str(s[0]) for s in sessions],
               "--annotations", *[str(s[1]) for s in sessions], "--out", str(model),
               "--px-per-cm", "10", "--windows", "5", "15", "--min-bout", "10",
               "--max-iter", "30", "--n-splits", "3", "--threads", "1", "--no-importance"])
    assert rc == 0
    assert (model / "manifest.json").exists() and (model / "estimators.skops").exists()
    val = pd.read_csv(model / "validation.csv")
    assert val.loc[0, "behaviour"] == "freeze" and val.loc[0, "f1"] > 0.85
    assert (model / "pr_curves.png").stat().st_size > 0

    # a new mouse at another scale with other names
    names = ["Snout", "EarL", "EarR", "TailBase"]
    pose, _, ann = _write_session(tmp_path, 9, names=names, px_per_cm=23.0, seed=9)
    out = tmp_path / "pred"
    rc = main(["classify", "predict", "--model", str(model), "--pose", str(pose), "--out", str(out),
               "--px-per-cm", "23", "--threads", "1"])
    assert rc == 2
    assert "Snout" in capsys.readouterr().err
    rc = main(["classify", "predict", "--model", str(model), "--pose", str(pose), "--out", str(out),
               "--px-per-cm", "23", "--threads", "1",
               "--rename", "Snout=nose", "EarL=ear_left", "EarR=ear_right", "TailBase=tail_base"])
    assert rc == 0
    pred = pd.read_csv(out / "s9.csv")
    assert list(pred.columns) == ["frame", "subject", "freeze_prob", "freeze"]
    assert len(pred) == 500
    tp = np.sum((pred["freeze"] == 1) & (ann["freeze"] == 1))
    assert 2 * tp / (pred["freeze"].sum() + ann["freeze"].sum()) > 0.85
    bouts = pd.read_csv(out / "s9_bouts.csv")
    assert (bouts["length"] >= 10).all()
    assert (out / "s9_ethogram.png").stat().st_size > 0


def test_classify_train_mismatched_files(tmp_path, capsys):
    rc = main(["classify", "train", "--pose", "a.h5", "b.h5", "--annotations", "a.csv",
               "--out", str(tmp_path / "m")])
    assert rc == 2
    assert "2 pose files but 1 annotation files" in capsys.readouterr().err


def test_classify_with_regions_drawn_per_video(tmp_path, capsys):
    pytest.importorskip("mapose.io.netcdf")
    from mapose.io import write_regions

    from tests.behaviour.test_classifier import _zone_session

    files = []
    for i in range(4):
        ds, ann, port = _zone_session(i, n=400)
        pose, labels, regions = tmp_path / f"z{i}.nc", tmp_path / f"z{i}_labels.csv", tmp_path / f"z{i}.regions.yaml"
        write_tracks(ds, pose, format="netcdf")
        ann[["frame", "visit"]].to_csv(labels, index=False)
        write_regions([port], regions)
        files.append((pose, labels, regions, ann))
    train, new = files[:3], files[3]
    model = tmp_path / "model"
    rc = main(["classify", "train", "--pose", *[str(f[0]) for f in train], "--annotations", *[str(f[1]) for f in train],
               "--regions", *[str(f[2]) for f in train], "--out", str(model), "--windows", "5",
               "--max-iter", "30", "--n-splits", "3", "--threads", "1", "--no-importance"])
    assert rc == 0
    assert pd.read_csv(model / "validation.csv").loc[0, "f1"] > 0.9
    out = tmp_path / "pred"
    base = ["classify", "predict", "--model", str(model), "--pose", str(new[0]), "--out", str(out), "--threads", "1"]
    assert main(base) == 2
    assert "uses the regions port but no regions were given" in capsys.readouterr().err
    assert main(base + ["--regions", str(new[2])]) == 0
    pred = pd.read_csv(out / "z3.csv")
    truth = new[3]["visit"].to_numpy()
    tp = np.sum((pred["visit"] == 1) & (truth == 1))
    assert 2 * tp / (pred["visit"].sum() + truth.sum()) > 0.9
    # where the behaviour happens: a visit is the centroid inside the port, so nearly all of it is there
    from mapose.io import read_regions, read_tracks
    from mapose.kinematics import region_occupancy

    where = pd.read_csv(out / "z3_regions.csv")
    assert where[["behaviour", "region"]].values.tolist() == [["visit", "port"]]
    inside = region_occupancy(read_tracks(new[0]), read_regions(new[2])).values[:, 0, 0]
    scored = pred["visit"].to_numpy() == 1
    assert where.loc[0, "frames"] == np.sum(scored & np.isfinite(inside))
    assert where.loc[0, "frames_inside"] == np.nansum(inside[scored])
    assert where.loc[0, "fraction_inside"] > 0.9 and where.loc[0, "enrichment"] > 1.5
    assert where.loc[0, "enrichment"] == pytest.approx(where.loc[0, "fraction_inside"] / np.nanmean(inside), rel=1e-5)
    assert main(base + ["--regions", str(new[2]), "--keypoint", "tail"]) == 2
    assert "--keypoint" in capsys.readouterr().err
    assert main(base + ["--regions", str(new[2]), str(new[2])]) == 2
    assert "one regions file for all 1 pose files or one per file" in capsys.readouterr().err
