"""Bad inputs of ``mapose cluster`` and ``mapose classify``: one clear error naming the file or
option, exit code 2, no output left behind, and never an input overwritten."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mapose.behaviour.clustering import ClusterConfig, session_features, typical_bouts
from mapose.cli import main
from mapose.core import make_tracks
from mapose.errors import ConfigError, ValidationError
from mapose.io import available_formats, write_tracks

from tests.behaviour.test_classifier import KPS, _mouse_session

DATA = Path(__file__).resolve().parents[2] / "data"

pytestmark = pytest.mark.skipif("dlc" not in available_formats(), reason="DLC format module absent")


def _pose(folder, name="mouse", n=300, seed=0, names=KPS):
    """A one-mouse DLC csv and its 0/1 'freeze' annotation csv."""
    ds, ann = _mouse_session(n=n, seed=seed)
    if list(names) != KPS:
        ds = make_tracks(ds["position"].values, ds["confidence"].values, keypoints=names,
                         individuals=["mouse"], fps=30.0)
    folder.mkdir(parents=True, exist_ok=True)
    pose = folder / f"{name}.csv"
    write_tracks(ds, pose, format="dlc")
    labels = folder / f"{name}_labels.csv"
    ann[["frame", "freeze"]].to_csv(labels, index=False)
    return pose, labels


def _header_only(folder):
    pose, _ = _pose(folder, "full", n=20)
    path = folder / "header_only.csv"
    path.write_text("".join(ln for ln in pose.read_text().splitlines(keepends=True) if not ln[:1].isdigit()))
    return path


def _all_nan(folder):
    ds = make_tracks(np.full((300, 2, len(KPS), 1), np.nan), keypoints=KPS, individuals=["mouse"], fps=30.0)
    path = folder / "nan.csv"
    write_tracks(ds, path, format="dlc")
    return path


def _err(capsys):
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err  # one line, no traceback
    return err


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A small classifier trained by ``mapose classify train`` on two synthetic sessions."""
    folder = tmp_path_factory.mktemp("train")
    (p0, a0), (p1, a1) = _pose(folder, "s0", seed=0), _pose(folder, "s1", seed=1)
    out = folder / "model"
    assert main(["classify", "train", "--pose", str(p0), str(p1), "--annotations", str(a0), str(a1),
                 "--out", str(out), "--windows", "5", "--max-iter", "10", "--n-splits", "2",
                 "--threads", "1", "--no-importance"]) == 0
    return out


# --------------------------------------------------------------------------------- library
def test_library_checks():
    ds, _ = _mouse_session(n=50)
    with pytest.raises(ValidationError, match="pair features need at least 2 animals; the file has 1"):
        session_features([ds], mode="pair", sessions=["one"])
    with pytest.raises(ConfigError, match="seed must be >= 0"):
        ClusterConfig(seed=-1)
    import pandas as pd

    labels = pd.DataFrame({"session": "s", "frame": np.arange(6), "subject": "m", "cluster": [0] * 6})
    with pytest.raises(ConfigError, match="typical bouts per cluster"):
        typical_bouts(labels, np.zeros((6, 2)), np.zeros((1, 2)), [0], n=-1)


# --------------------------------------------------------------------------------- cluster
def test_cluster_refuses_empty_nan_and_one_animal_pair(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["cluster", str(_header_only(tmp_path)), "--out", str(out), "--fps", "30"]) == 2
    assert "header_only.csv holds no frames" in _err(capsys)
    assert main(["cluster", str(_all_nan(tmp_path)), "--out", str(out)]) == 2
    assert "nan.csv: no body part has a finite position in any frame" in _err(capsys)
    pose, _ = _pose(tmp_path)
    assert main(["cluster", str(pose), "--out", str(out), "--mode", "pair"]) == 2
    assert "mouse.csv: pair features need at least 2 animals; the file has 1" in _err(capsys)
    assert not out.exists()


def test_cluster_numeric_options(tmp_path, capsys):
    pose, _ = _pose(tmp_path)
    out = tmp_path / "out"
    for opts, msg in ((["--typical", "-1"], "--typical must be >= 1"),
                      (["--typical", "0"], "--typical must be >= 1"),
                      (["--seed", "-3"], "--seed must be >= 0"),
                      (["--fps", "-3"], "--fps: fps must be a positive number"),
                      (["--keypoint", "nose"], "--keypoint says which point places each cluster in a region; "
                                               "it needs --regions")):
        assert main(["cluster", str(pose), "--out", str(out), *opts]) == 2
        assert msg in _err(capsys)
    assert main(["cluster", str(pose), "--out", str(pose)]) == 2
    assert f"--out {pose} is a file; expected a folder" in _err(capsys)
    assert not out.exists()


# --------------------------------------------------------------------------------- classify train
def test_classify_train_refuses_bad_pose_files(tmp_path, capsys):
    pose, ann = _pose(tmp_path)
    out = tmp_path / "model"
    base = ["classify", "train", "--annotations", str(ann), "--out", str(out), "--fps", "30"]
    assert main([*base, "--pose", str(_all_nan(tmp_path))]) == 2
    assert "nan.csv: no body part has a finite position in any frame" in _err(capsys)
    assert main([*base, "--pose", str(_header_only(tmp_path))]) == 2
    assert "header_only.csv holds no frames" in _err(capsys)
    assert main([*base, "--pose", str(pose), "--mode", "pair"]) == 2
    assert "mouse.csv: pair features need at least 2 animals; the file has 1" in _err(capsys)
    assert not out.exists()


def test_classify_train_numeric_options_and_out(tmp_path, capsys):
    pose, ann = _pose(tmp_path)
    out = tmp_path / "model"
    base = ["classify", "train", "--pose", str(pose), "--annotations", str(ann)]
    for opts, msg in ((["--n-splits", "1"], "--n-splits must be >= 2; got 1"),
                      (["--windows", "5", "0"], "--windows must be >= 1; got 0"),
                      (["--px-per-cm", "-2"], "--px-per-cm must be > 0; got -2"),
                      (["--min-bout", "0"], "--min-bout must be >= 1"),
                      (["--min-bout-s", "0"], "--min-bout-s must be > 0"),
                      (["--max-iter", "0"], "--max-iter must be >= 1"),
                      (["--threads", "0"], "--threads must be >= 1"),
                      (["--fps", "0"], "--fps must be > 0"),
                      (["--savgol-window", "4"], "--savgol-window 4: give an odd number of frames")):
        assert main([*base, "--out", str(out), *opts]) == 2
        assert msg in _err(capsys), opts
    assert not out.exists()
    before = ann.read_bytes()
    assert main([*base, "--out", str(ann)]) == 2
    assert "is the input file" in _err(capsys)
    assert ann.read_bytes() == before


def test_classify_train_names_a_non_binary_annotation_value(tmp_path, capsys):
    pose, _ = _pose(tmp_path)
    ann = tmp_path / "ann_str.csv"
    ann.write_text("frame,freeze\n" + "".join(f"{i},x\n" for i in range(300)))
    assert main(["classify", "train", "--pose", str(pose), "--annotations", str(ann),
                 "--out", str(tmp_path / "model")]) == 2
    err = _err(capsys)
    assert "ann_str.csv" in err and "'x'" in err and "expected 0 or 1" in err
    assert not (tmp_path / "model").exists()


# --------------------------------------------------------------------------------- classify predict
def test_classify_predict_never_overwrites_its_input(tmp_path, model, capsys):
    pose, _ = _pose(tmp_path / "dirp")
    before = pose.read_bytes()
    assert main(["classify", "predict", "--pose", str(pose), "--model", str(model),
                 "--out", str(tmp_path / "dirp")]) == 2
    assert f"output {pose} is the input file" in _err(capsys)
    assert pose.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "dirp").iterdir()) == ["mouse.csv", "mouse_labels.csv"]


def test_classify_predict_writes_nothing_when_a_file_fails(tmp_path, model, capsys):
    good, _ = _pose(tmp_path, "good")
    other, _ = _pose(tmp_path, "other", names=["Snout", "EarL", "EarR", "TailBase"])
    out = tmp_path / "pred"
    assert main(["classify", "predict", "--pose", str(good), str(other), "--model", str(model),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err  # the progress bar of the 2 files is on stderr too
    assert "other.csv: body part(s) nose" in err and "Snout" in err
    assert not out.exists()
    for bad, msg in ((_all_nan(tmp_path), "nan.csv: no body part has a finite position in any frame"),
                     (_header_only(tmp_path), "header_only.csv holds no frames")):
        assert main(["classify", "predict", "--pose", str(bad), "--model", str(model),
                     "--out", str(out)]) == 2
        assert msg in _err(capsys)
    assert main(["classify", "predict", "--pose", str(good), "--model", str(model),
                 "--out", str(out), "--px-per-cm", "0"]) == 2
    assert "--px-per-cm must be > 0" in _err(capsys)
    assert main(["classify", "predict", "--pose", str(good), "--model", str(model),
                 "--out", str(out), "--keypoint", "nose"]) == 2
    assert "--keypoint says which point places each behaviour in a region; it needs --regions" in _err(capsys)
    assert not out.exists()
    # and the good file alone still works
    assert main(["classify", "predict", "--pose", str(good), "--model", str(model),
                 "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["good.csv", "good_bouts.csv", "good_ethogram.png"]


def test_classify_train_names_an_annotation_row_without_its_animal(tmp_path, capsys):
    """Interval annotations of two animals whose last row lost its animal cell (a file cut short)."""
    rng = np.random.default_rng(0)
    pose = tmp_path / "two.csv"
    write_tracks(make_tracks(rng.uniform(50, 300, (200, 2, 3, 2)), keypoints=["nose", "body", "tail"],
                             individuals=["a", "b"], fps=30.0), pose)
    ann = tmp_path / "ann.csv"
    ann.write_text("behaviour,start,stop,animal\nwalk,0,50,a\nwalk,100,150,\n")
    assert main(["classify", "train", "--pose", str(pose), "--annotations", str(ann),
                 "--out", str(tmp_path / "model")]) == 2
    err = _err(capsys)
    assert "some annotation rows name no animal" in err and "a row cut short?" in err
    assert not (tmp_path / "model").exists()


# --------------------------------------------------------------------------------- --model folders
def test_a_folder_from_another_command_is_named_for_what_it_is(tmp_path, model, capsys):
    """``--model`` given the folder of another command says which command wrote it; the output
    folder of ``mapose cluster`` is accepted where its model is wanted."""
    pose, _ = _pose(tmp_path)
    clusters = tmp_path / "clusters"
    assert main(["cluster", str(pose), "--out", str(clusters), "--seed", "0"]) == 0
    capsys.readouterr()
    video = DATA / "flies_centered_pair" / "centered_pair_low_quality.mp4"
    text = tmp_path / "notes.txt"
    text.write_text("not a model\n")
    for args, words in (
        (["analyze", str(video), "--model", str(model), "--out", str(tmp_path / "a.h5")],
         ("is a behaviour classifier folder (from 'mapose classify train --out')", "expected a pose model")),
        (["evaluate", "--model", str(clusters), "--labels", str(pose), "--json", str(tmp_path / "e.json")],
         ("is a behaviour clusters output folder (from 'mapose cluster --out')", "expected a pose model")),
        (["cluster", str(pose), "--model", str(model), "--out", str(tmp_path / "c2")],
         ("is a behaviour classifier folder", "expected a behaviour clusters model")),
        (["cluster", str(pose), "--model", str(text), "--out", str(tmp_path / "c2")],
         ("notes.txt: is a file; expected a behaviour clusters model folder",)),
        (["classify", "predict", "--pose", str(pose), "--model", str(clusters / "model"),
          "--out", str(tmp_path / "p")],
         ("is a behaviour clusters model folder", "expected a behaviour classifier")),
        (["classify", "predict", "--pose", str(pose), "--model", str(tmp_path / "none"),
          "--out", str(tmp_path / "p")],
         ("none: not found; expected a behaviour classifier folder",)),
    ):
        assert main(args) == 2, args
        err = _err(capsys)
        assert all(w in err for w in words), (words, err)
    assert not any((tmp_path / n).exists() for n in ("a.h5", "e.json", "c2", "p"))
    # 'mapose info' names each folder and what it holds
    for folder, words in ((model, ("behaviour classifier folder", "behaviours: freeze", "freeze: cross-validated F1")),
                          (clusters, ("behaviour clusters output folder", "mode:       animal", "% assigned")),
                          (clusters / "model", ("behaviour clusters model folder", "fitted on:"))):
        assert main(["info", str(folder)]) == 0
        out = capsys.readouterr().out
        assert all(w in out for w in words), (words, out)
    # the output folder of 'mapose cluster' stands for the model inside it
    assert main(["cluster", str(pose), "--model", str(clusters), "--out", str(tmp_path / "c3")]) == 0
    assert f"loaded model {clusters}" in capsys.readouterr().out


def test_clustering_a_few_frames_says_the_agreement_is_not_measured(tmp_path, capsys):
    """With every frame in the UMAP fit no frame is left to measure the label classifier against the
    direct assignment: said in words, and written as JSON null (strict readers refuse NaN)."""
    import json

    pose, _ = _pose(tmp_path, n=60)  # under 200 rows all go into the fit
    out = tmp_path / "out"
    assert main(["cluster", str(pose), "--out", str(out), "--seed", "0"]) == 0
    assert "agreement not measured (every frame was in the UMAP fit)" in capsys.readouterr().out

    def no_nan(token):
        raise AssertionError(f"{token} in JSON")

    for path in (out / "summary.json", out / "model" / "model.json"):
        assert json.loads(path.read_text(), parse_constant=no_nan)["agreement_classifier_vs_transform"] is None
    assert main(["cluster", str(pose), "--model", str(out), "--out", str(tmp_path / "again")]) == 0
    assert "agreement not measured" in capsys.readouterr().out


# --------------------------------------------------------------------------------- Python API
def test_clustering_refuses_sessions_in_other_units_rates_or_skeletons():
    """Features are measured in the sessions' unit and windows count frames: a model fitted in
    pixels at 30 fps does not label centimetres or 60 fps, and one fit does not mix them."""
    from mapose.behaviour.clustering import BehaviourClusterer, cluster_statistics
    from mapose.behaviour.classifier import bout_table
    from mapose.errors import SkeletonError
    from mapose.kinematics import calibrate

    ds, _ = _mouse_session(n=300)
    other, _ = _mouse_session(n=300, seed=1)
    cm = calibrate(other, px_per_cm=10.0)
    fast = other.assign_attrs(fps=60.0)
    renamed = make_tracks(other["position"].values, other["confidence"].values,
                          keypoints=["snout", "earL", "earR", "tailbase"], individuals=["mouse"], fps=30.0)
    for pair, error, words in (([ds, cm], ConfigError, "are in px and cm"),
                               ([ds, fast], ConfigError, "run at 30 and 60 fps"),
                               ([ds, renamed], SkeletonError, "have different body parts")):
        with pytest.raises(error, match=words):
            BehaviourClusterer(n_clusters=3, clusterer="gmm", seed=0).fit(pair, sessions=["a", "b"])
    model = BehaviourClusterer(n_clusters=3, clusterer="gmm", seed=0).fit([ds], sessions=["a"])
    assert (model.space_unit_, model.fps_) == ("px", 30.0)
    for new, words in ((cm, "is in cm but the model was fitted in px"),
                       (fast, "runs at 60 fps but the model was fitted at 30 fps")):
        with pytest.raises(ConfigError, match=words):
            model.predict([new], sessions=["b"])
    labels = model.predict([other], sessions=["b"])
    assert (labels["cluster"] >= 0).all()
    # frame rates given to the summaries
    with pytest.raises(ConfigError, match="cluster_statistics: fps must be a positive number"):
        cluster_statistics(labels, fps=-25)
    assert cluster_statistics(labels, fps="30")["total_s"].notna().all()  # a number as text is read
    with pytest.raises(ConfigError, match="typical_bouts: fps must be a positive number"):
        typical_bouts(labels, model.reduced_, model.centers_, model.clusters_, fps=float("nan"))
    with pytest.raises(ValidationError, match="no column for behaviour\\(s\\) 'groom'"):
        bout_table(pd.DataFrame({"frame": [0, 1], "subject": "m", "walk": [0, 1]}), ["groom"])


def test_cluster_tables_of_the_wrong_kind_are_named():
    """Found by a sweep of the Python API: text cluster ids, a label table where the transition matrix
    is wanted, mirrors of the wrong table, centres that do not fit the clusters, a model saved onto a file."""
    from mapose.behaviour.clustering import dyad_events, transition_graph, transition_matrix

    frames = np.arange(20)
    labels = pd.DataFrame({"session": "s", "frame": np.r_[frames, frames], "subject": ["A|B"] * 20 + ["B|A"] * 20,
                           "cluster": np.r_[frames // 10, 1 - frames // 10]})
    with pytest.raises(ValidationError, match=r"'cluster' holds '0'; expected whole numbers"):
        transition_matrix(labels.assign(cluster=labels["cluster"].astype(str)))
    assert transition_matrix(labels.assign(cluster=labels["cluster"].astype(float))).shape == (2, 2)
    with pytest.raises(ValidationError, match="transition_graph takes the matrix of transition_matrix"):
        transition_graph(labels)
    assert sorted(transition_graph(transition_matrix(labels)).nodes) == [0, 1]
    with pytest.raises(ValidationError, match=r"mirrors table has no 'mirror', 'share' column \(from mirror_clusters"):
        dyad_events(labels, mirrors=labels)
    with pytest.raises(ValidationError, match="the label table has no 'label' column"):
        dyad_events(labels, column="label")
    reduced = np.zeros((40, 3))
    with pytest.raises(ValidationError, match=r"centers have shape \(1, 3\); expected one row per cluster id \(2\)"):
        typical_bouts(labels, reduced, np.zeros((1, 3)), np.array([0, 1]))
    with pytest.raises(ValidationError, match=r"centers have shape \(2, 2\)"):
        typical_bouts(labels, reduced, np.zeros((2, 2)), np.array([0, 1]))
    assert len(typical_bouts(labels, reduced, np.zeros((2, 3)), np.array([0, 1]), n=1)) == 2
