"""Supervised behaviour classifiers: known feature rules, grouped validation, safe save/load."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from mapose.behaviour.classifier import (
    BehaviourClassifier,
    bout_table,
    load_classifier,
    parse_rename,
    save_classifier,
    train_classifier,
)
from mapose.behaviour.validation import (
    best_threshold,
    bout_metrics,
    frame_metrics,
    grouped_folds,
)
from mapose.core import make_tracks
from mapose.errors import ConfigError, FormatError, MissingFileError, SkeletonError, ValidationError

FAST = dict(max_iter=30, n_threads=1, n_splits=3)


# ----------------------------------------------------------------------------- fixtures
def _rule_table(n_sessions=4, n=400, seed=0):
    """Sessions whose behaviour ``b`` is exactly ``f0 > 0.5`` and ``c`` is ``f1 < -0.8``."""
    rng = np.random.default_rng(seed)
    X, Y = [], []
    for s in range(n_sessions):
        f = np.cumsum(rng.normal(0, 0.15, size=(n, 4)), axis=0)
        f = (f - f.mean(0)) / f.std(0)
        X.append(pd.DataFrame({"session": f"s{s}", "frame": np.arange(n), "subject": "m",
                               **{f"f{j}": f[:, j] for j in range(4)}}))
        Y.append(pd.DataFrame({"b": (f[:, 0] > 0.5).astype(int), "c": (f[:, 1] < -0.8).astype(int)}))
    return pd.concat(X, ignore_index=True), pd.concat(Y, ignore_index=True)


KPS = ["nose", "ear_left", "ear_right", "tail_base"]


def _mouse_session(n=600, seed=0, fps=30.0, px_per_cm=10.0):
    """One mouse walking, with still bouts (the 'freeze' label) at known frames.

    Positions are in pixels (``px_per_cm`` pixels per cm); the body is 8 cm long.
    """
    rng = np.random.default_rng(seed)
    freeze = np.zeros(n, int)
    t = 20
    while t < n - 40:
        length = int(rng.integers(30, 80))
        freeze[t:t + length] = 1
        t += length + int(rng.integers(40, 120))
    speed = np.where(freeze == 1, 0.0, 12.0 + rng.normal(0, 2, n))  # cm/s
    angle = np.cumsum(rng.normal(0, 0.05, n) * (1 - freeze))
    step = speed / fps
    xy = np.cumsum(np.stack([step * np.cos(angle), step * np.sin(angle)], 1), axis=0)
    body = np.array([[4.0, 0.0], [2.5, 1.0], [2.5, -1.0], [-4.0, 0.0]])  # cm, egocentric
    c, s = np.cos(angle), np.sin(angle)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)  # (T, 2, 2)
    pts = xy[:, None, :] + np.einsum("tij,kj->tki", rot, body)  # (T, K, 2) cm
    pts = pts + rng.normal(0, 0.03, pts.shape)  # tracking jitter, cm
    pos = np.transpose(pts * px_per_cm, (0, 2, 1))[..., None]  # (T, 2, K, 1) pixels
    ds = make_tracks(pos + 300, np.ones((n, 4, 1)), keypoints=KPS, individuals=["mouse"], fps=fps)
    ann = pd.DataFrame({"frame": np.arange(n), "subject": "", "freeze": freeze})
    return ds, ann


# ----------------------------------------------------------------------------- validation
def test_grouped_folds_never_mix_sessions():
    groups = np.repeat(["a", "b", "c", "d", "e", "f", "g"], [50, 10, 80, 30, 30, 5, 60])
    units, folds = grouped_folds(groups, 3)
    seen = np.zeros(groups.size, int)
    for tr, te in folds:
        assert not set(groups[tr]) & set(groups[te])
        assert len(np.intersect1d(tr, te)) == 0
        seen[te] += 1
    assert (seen == 1).all()


def test_grouped_folds_use_contiguous_blocks_with_one_session():
    frames = np.random.default_rng(0).permutation(100)
    units, folds = grouped_folds(np.zeros(100), 5, order=frames)
    for _, te in folds:
        f = np.sort(frames[te])
        assert f.size == 20 and np.all(np.diff(f) == 1)  # one block of consecutive frames


def test_frame_and_bout_metrics_closed_form():
    y = np.array([0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0])
    p = np.array([0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1])
    m = frame_metrics(y, p)
    assert m["precision"] == pytest.approx(4 / 5) and m["recall"] == pytest.approx(4 / 7)
    b = bout_metrics(y, p, min_overlap=0.5)
    # true bouts [1,5) covered 3/4, [7,9) 0/2, [10,11) 1/1 -> 2 of 3 detected
    assert b["n_true_bouts"] == 3 and b["bout_recall"] == pytest.approx(2 / 3)
    # predicted bouts [2,5) 3/3 and [10,12) 1/2 -> both correct
    assert b["n_pred_bouts"] == 2 and b["bout_precision"] == 1.0
    assert b["mean_abs_onset_error"] == pytest.approx(0.5)  # onsets 1->2 and 10->10


def test_best_threshold_finds_separating_value():
    y = np.array([0] * 50 + [1] * 50)
    proba = np.concatenate([np.linspace(0, 0.3, 50), np.linspace(0.35, 1, 50)])
    thr, f1 = best_threshold(y, proba)
    assert 0.3 < thr <= 0.35 and f1 == 1.0


# ----------------------------------------------------------------------------- table classifier
def test_classifier_learns_known_feature_rule():
    X, Y = _rule_table()
    clf = BehaviourClassifier(**FAST).fit(X, Y)
    assert clf.behaviours_ == ["b", "c"]
    assert clf.feature_names_ == ["f0", "f1", "f2", "f3"]
    assert clf.cv_["fold_unit"] == "session"
    for b in ("b", "c"):
        assert clf.cv_["metrics"][b]["f1"] > 0.9, clf.cv_["metrics"][b]
        assert 0 < clf.thresholds_[b] < 1
    Xn, Yn = _rule_table(n_sessions=1, seed=5)
    pred = clf.predict(Xn)
    assert frame_metrics(Yn["b"].to_numpy(), pred["b"].to_numpy())["f1"] > 0.9
    imp = clf.permutation_importance(Xn, Yn, n_repeats=2)
    top = imp.groupby("behaviour").head(1).set_index("behaviour")["feature"]
    assert top["b"] == "f0" and top["c"] == "f1"


def test_min_bout_smoothing_and_errors():
    X, Y = _rule_table(n_sessions=3)
    clf = BehaviourClassifier(min_bout=15, **FAST).fit(X, Y)
    pred = clf.predict(X)
    for sess in X["session"].unique():
        runs = np.diff(np.flatnonzero(np.diff(np.r_[-1, pred["b"][X["session"] == sess], -1])))
        assert runs.min() >= 15
    with pytest.raises(ValidationError, match="'never' never occurs"):
        BehaviourClassifier(**FAST).fit(X, Y.assign(never=0))
    with pytest.raises(ConfigError, match="unknown estimator 'svm'"):
        BehaviourClassifier(estimator="svm").fit(X, Y)
    with pytest.raises(ValidationError, match="missing: f3"):
        clf.predict_proba(X.drop(columns="f3"))
    # settings out of range or of the wrong kind are named before any training (not by scikit-learn)
    for bad, message in ((dict(max_iter=0), "max_iter must be >= 1; got 0"),
                         (dict(learning_rate="0.1"), "learning_rate must be a number; got '0.1'"),
                         (dict(min_samples_leaf=2.5), "min_samples_leaf must be a whole number; got 2.5"),
                         (dict(max_leaf_nodes=1), "max_leaf_nodes must be >= 2"),
                         (dict(n_threads=0), "n_threads must be >= 1"),
                         (dict(cv_max_rows=-5), "cv_max_rows must be >= 2"),
                         (dict(exclude=5), "exclude must be a list of names; got '5'")):
        with pytest.raises(ConfigError, match=message):
            BehaviourClassifier(**{**FAST, **bad}).fit(X, Y)
    # one name where a list is expected is that one name (not its letters)
    one = BehaviourClassifier(behaviours="b", include="f*", exclude="f3", **FAST).fit(X, Y)
    assert one.behaviours_ == ["b"] and one.feature_names_ == ["f0", "f1", "f2"]


def test_random_forest_with_missing_features():
    X, Y = _rule_table(n_sessions=3)
    X.loc[::7, "f2"] = np.nan
    clf = BehaviourClassifier(estimator="random_forest", n_estimators=30, **FAST).fit(X, Y)
    assert clf.cv_["metrics"]["b"]["f1"] > 0.85


# ----------------------------------------------------------------------------- pose pipeline
@pytest.fixture(scope="module")
def trained():
    sessions = [_mouse_session(seed=s) for s in range(3)]
    model = train_classifier([s[0] for s in sessions], [s[1] for s in sessions],
                             px_per_cm=10.0, windows=(5, 15), min_bout=10, **FAST)
    return model, sessions


def test_annotation_tables_that_cannot_train_are_named():
    """Slips in annotation tables are named instead of a pandas KeyError/MergeError or a silent 0."""
    from mapose.behaviour.classifier import training_table

    feat = pd.DataFrame({"frame": np.arange(100), "subject": "mouse", "speed": np.linspace(0, 1, 100)})
    good = pd.DataFrame({"frame": np.arange(100), "subject": "mouse", "freeze": np.r_[np.zeros(50), np.ones(50)]})
    X, y = training_table([feat], [good])
    assert len(X) == 100 and int(y["freeze"].sum()) == 50
    # no subject column: one animal, so its only subject
    X, y = training_table([feat], [good.drop(columns="subject")])
    assert int(y["freeze"].sum()) == 50
    for ann, words in (
        (good.drop(columns="frame"), "has no 'frame' column"),
        (pd.concat([good, good.iloc[:1]]), "repeat frame 0 of 'mouse'"),
        (good.assign(freeze=np.where(good["frame"] == 7, "yes", "0")), "values other than 0 and 1 ('0', 'yes'"),
        (good.assign(freeze=np.where(good["frame"] == 7, np.nan, 0.0)),
         "values other than 0 and 1 (nan, first at frame 7"),
        (good.assign(frame=good["frame"] + 1000),
         "no annotated frame is among the pose frames (annotations 1000..1099"),
        (good["freeze"].to_numpy(), "the annotations are a ndarray; expected a table"),
    ):
        with pytest.raises(ValidationError, match=re.escape(words)):
            training_table([feat], [ann], sessions=["s1"])


def test_pose_classifier_detects_still_bouts(trained):
    model, _ = trained
    assert model.behaviours == ["freeze"]
    assert model.spec.space_unit == "cm" and model.spec.keypoints == tuple(KPS)
    assert model.classifier.cv_["metrics"]["freeze"]["f1"] > 0.9
    ds, ann = _mouse_session(seed=11)
    pred = model.predict_tracks(ds, px_per_cm=10.0)
    assert list(pred.columns) == ["frame", "subject", "freeze_prob", "freeze"]
    assert frame_metrics(ann["freeze"].to_numpy(), pred["freeze"].to_numpy())["f1"] > 0.9
    bouts = bout_table(pred, ["freeze"], fps=30)
    assert (bouts["length"] >= 10).all() and set(bouts["behaviour"]) == {"freeze"}
    with pytest.raises(ValidationError, match="a DataFrame; expected Tracks"):
        model.predict_tracks(ann)  # the annotation table passed by mistake


def test_frames_where_the_animal_is_not_seen_get_no_behaviour(trained):
    """An animal out of sight for 200 frames: no probability and no behaviour claimed there, and
    such frames are not used for training (their features say nothing)."""
    from mapose.behaviour.classifier import training_table

    model, _ = trained
    ds, ann = _mouse_session(seed=13)
    gone = np.zeros(600, bool)
    gone[200:400] = True
    ds["position"][{"time": np.flatnonzero(gone)}] = np.nan
    pred = model.predict_tracks(ds, px_per_cm=10.0)
    assert pred["frame"].tolist() == list(range(600))
    assert pred["freeze_prob"].isna().to_numpy().tolist() == gone.tolist()
    assert (pred.loc[gone, "freeze"] == 0).all()
    assert frame_metrics(ann["freeze"].to_numpy()[~gone], pred["freeze"].to_numpy()[~gone])["f1"] > 0.85
    X, y = training_table([model.features(ds, px_per_cm=10.0)], [ann])
    assert len(X) == len(y) == 400 and not X["frame"].between(200, 399).any()


def test_other_scale_names_and_frame_rate(trained):
    """Same behaviour filmed at another scale and fps, with other body-part names."""
    model, _ = trained
    ds, ann = _mouse_session(seed=12, fps=60.0, n=1200, px_per_cm=23.0)
    other = make_tracks(ds["position"].values, ds["confidence"].values,
                        keypoints=["Snout", "EarL", "EarR", "TailBase"], individuals=["m"], fps=60.0)
    with pytest.raises(SkeletonError, match=r"nose, ear_left, ear_right, tail_base needed.*Snout"):
        model.predict_tracks(other, px_per_cm=23.0)
    with pytest.raises(ConfigError, match="px"):
        model.predict_tracks(ds)
    ren = parse_rename(["Snout=nose", "EarL=ear_left", "EarR=ear_right", "TailBase=tail_base"])
    pred = model.predict_tracks(other, rename=ren, px_per_cm=23.0)
    assert frame_metrics(ann["freeze"].to_numpy(), pred["freeze"].to_numpy())["f1"] > 0.85
    assert model.min_bout_for(60.0) == 20


def test_save_load_round_trip_identical(trained, tmp_path):
    model, sessions = trained
    save_classifier(model, tmp_path / "model")
    man = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert man["features"]["keypoints"] == KPS and man["features"]["windows"] == [5, 15]
    assert "scikit-learn" in man["versions"] and man["thresholds"]["freeze"] > 0
    assert man["feature_names"] == model.classifier.feature_names_
    loaded = load_classifier(tmp_path / "model")
    ds, _ = _mouse_session(seed=21)
    a = model.predict_tracks(ds, px_per_cm=10.0)
    b = loaded.predict_tracks(ds, px_per_cm=10.0)
    pd.testing.assert_frame_equal(a, b)


def test_load_refuses_unexpected_types(trained, tmp_path):
    import functools

    import skops.io as sio

    model, _ = trained
    folder = save_classifier(model, tmp_path / "m")
    sio.dump({"freeze": functools.partial(print, "x")}, folder / "estimators.skops")
    with pytest.raises(FormatError, match="refusing to load"):
        load_classifier(folder)
    with pytest.raises(MissingFileError, match="nothing: not found; expected a behaviour classifier folder"):
        load_classifier(tmp_path / "nothing")
    # a manifest cut short or edited: named, not a KeyError
    import json

    folder = save_classifier(model, tmp_path / "m2")
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["features"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FormatError, match="manifest.json: the classifier manifest is damaged or incomplete "
                                          r"\(no 'features' entry\)"):
        load_classifier(folder)
    (folder / "manifest.json").write_text("[1, 2]")
    with pytest.raises(FormatError, match="holds list, not a mapping"):
        load_classifier(folder)


def test_tables_of_the_wrong_kind_are_named():
    """Found by a sweep of the Python API: Tracks, arrays or tables without their columns where a
    feature, label or prediction table is wanted."""
    from mapose.behaviour.classifier import bout_table, training_table
    from mapose.kinematics import unseen_rows

    ds, ann = _mouse_session(n=50, seed=0)
    X, Y = _rule_table(n_sessions=2)
    with pytest.raises(ValidationError, match="X \\(the features\\) is a ndarray; expected a table"):
        BehaviourClassifier(**FAST).fit(X.to_numpy(), Y)
    with pytest.raises(ValidationError, match="y \\(the 0/1 behaviour labels\\) is a Series"):
        BehaviourClassifier(**FAST).fit(X, Y.iloc[:, 0])
    with pytest.raises(ValidationError, match="session 'session0': the feature table is a Dataset"):
        training_table([ds], [ann])
    with pytest.raises(ValidationError, match="the feature table has no 'frame' column"):
        training_table(pd.DataFrame({"subject": ["m"], "speed": [1.0]}), ann)
    with pytest.raises(ValidationError, match="the prediction table is a Dataset"):
        bout_table(ds, ["b"])
    with pytest.raises(ValidationError, match="the feature table is a Dataset"):
        unseen_rows(ds)


def test_parse_rename_errors():
    assert parse_rename(["a=b", " c = d "]) == {"a": "b", "c": "d"}
    with pytest.raises(ConfigError, match="'ab' is not of the form OLD=NEW"):
        parse_rename(["ab"])


# ----------------------------------------------------------------------------- regions of interest
def _zone_session(seed: int, n: int = 600):
    """A walking mouse and a 'visit' label: its centroid inside a disc (the 'port') placed where the
    mouse goes in this session, so the port sits elsewhere in every video."""
    from mapose.core.regions import Region
    from mapose.kinematics.regions import reference_points

    ds, _ = _mouse_session(n=n, seed=seed)
    c = reference_points(ds)[:, 0]  # (T, 2) centroid, pixels
    centre = c[n // 3]
    r = float(np.quantile(np.hypot(*(c - centre).T), 0.3))  # about 30 % of the frames inside
    port = Region.circle("port", *centre, r)
    visit = (np.hypot(*(c - centre).T) <= r).astype(int)
    return ds, pd.DataFrame({"frame": np.arange(n), "subject": "", "visit": visit}), port


def test_classifier_uses_per_video_regions():
    from mapose.core.regions import Region

    sessions = [_zone_session(s) for s in range(4)]
    tracks, anns, ports = zip(*sessions)
    with_regions = train_classifier(tracks, anns, regions=[[p] for p in ports], windows=(5,), **FAST)
    assert with_regions.spec.regions == ("port",)
    assert with_regions.classifier.cv_["metrics"]["visit"]["f1"] > 0.9
    without = train_classifier(tracks, anns, windows=(5,), **FAST)
    assert without.classifier.cv_["metrics"]["visit"]["f1"] < 0.7  # where the port is differs per video
    ds, ann, port = _zone_session(21)
    pred = with_regions.predict_tracks(ds, regions=[port, Region.circle("other", 0, 0, 5)])
    assert frame_metrics(ann["visit"].to_numpy(), pred["visit"].to_numpy())["f1"] > 0.9
    with pytest.raises(ConfigError, match="uses the regions port but no regions were given"):
        with_regions.predict_tracks(ds)
    with pytest.raises(ConfigError, match="the regions given are other"):
        with_regions.predict_tracks(ds, regions=[Region.circle("other", 0, 0, 5)])
    with pytest.raises(ConfigError, match="regions of the same names"):
        train_classifier(tracks, anns, regions=[[ports[0]], [ports[1]], [ports[2]],
                                                [Region.circle("nest", 0, 0, 5)]], **FAST)
