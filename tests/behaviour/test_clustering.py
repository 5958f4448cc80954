"""Tests of mapose.behaviour.clustering: synthetic behaviours with known structure.

One mouse alternates two movement regimes (running straight / sitting and turning); a pair
alternates contact (nose to nose) and far apart.  The pipeline must separate them, reproduce them
with the same seed, and give the same labels after saving and loading.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mapose.behaviour.clustering import (
    BehaviourClusterer,
    ClusterConfig,
    cluster_profiles,
    dyad_events,
    mirror_clusters,
    mirror_events,
    cluster_statistics,
    labels_for_tracks,
    load_model,
    save_model,
    transition_graph,
    transition_matrix,
    typical_bouts,
)
from mapose.core import make_tracks
from mapose.errors import ConfigError, FormatError, SkeletonError, ValidationError

KP = ["nose", "neck", "tail_base"]
FAST = dict(max_fit_frames=1500, umap_neighbors=15, classifier_iterations=30, windows=(5, 15))


def _body(cx, cy, theta, length=20.0):
    """(T, 2, 3) nose/neck/tail base of a straight body centred at (cx, cy) heading theta."""
    d = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    offs = np.array([0.5, 0.2, -0.5]) * length
    return (np.stack([cx, cy], axis=1)[:, :, None] + d[:, :, None] * offs[None, None, :])


def one_mouse(n_frames: int, seed: int, bout: int = 120):
    """Regime 0: runs forward at ~8 px/frame; regime 1: sits still and turns slowly."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(rng.permutation(np.arange(n_frames // bout + 1) % 2), bout)[:n_frames]
    theta = np.zeros(n_frames)
    pos = np.zeros((n_frames, 2))
    for t in range(1, n_frames):
        if truth[t] == 0:
            theta[t] = theta[t - 1] + rng.normal(0, 0.02)
            step = 8.0 + rng.normal(0, 0.5)
        else:
            theta[t] = theta[t - 1] + 0.08 + rng.normal(0, 0.02)
            step = abs(rng.normal(0, 0.2))
        pos[t] = pos[t - 1] + step * np.array([np.cos(theta[t]), np.sin(theta[t])])
    body = _body(pos[:, 0], pos[:, 1], theta) + rng.normal(0, 0.3, (n_frames, 2, 3))
    ds = make_tracks(body[..., None], keypoints=KP, individuals=["mouse"], fps=30.0)
    return ds, truth


def mouse_pair(n_frames: int, seed: int, bout: int = 100):
    """Regime 1: the two mice touch nose to nose; regime 0: they are far apart."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(rng.permutation(np.arange(n_frames // bout + 1) % 2), bout)[:n_frames]
    t = np.arange(n_frames)
    a_c = np.stack([100 + 5 * np.sin(t / 20), 100 + 5 * np.cos(t / 25)], axis=1)
    gap = np.where(truth == 1, 22.0, 200.0) + rng.normal(0, 1.0, n_frames)
    b_c = a_c + np.stack([gap, np.zeros(n_frames)], axis=1)
    a = _body(a_c[:, 0], a_c[:, 1], np.zeros(n_frames) + rng.normal(0, 0.05, n_frames))
    b = _body(b_c[:, 0], b_c[:, 1], np.pi + np.where(truth == 1, 0.0, 1.5)
              + rng.normal(0, 0.05, n_frames))
    pos = np.stack([a, b], axis=-1) + rng.normal(0, 0.3, (n_frames, 2, 3, 2))
    return make_tracks(pos, keypoints=KP, individuals=["A", "B"], fps=30.0), truth


def _ami(a, b):
    from sklearn.metrics import adjusted_mutual_info_score

    return adjusted_mutual_info_score(a, b)


def _pure_split(truth, labels):
    """Homogeneity (each cluster holds one regime) and completeness (regimes not shattered)."""
    from sklearn.metrics import completeness_score, homogeneity_score

    return homogeneity_score(truth, labels), completeness_score(truth, labels)


@pytest.fixture(scope="module")
def animal_fit():
    ds, truth = one_mouse(2400, seed=1)
    model = BehaviourClusterer(mode="animal", seed=3, **FAST).fit([ds], sessions=["s1"])
    return model, ds, truth


def test_two_movement_regimes_are_separated(animal_fit):
    model, ds, truth = animal_fit
    lab = model.labels_
    assert list(lab.columns) == ["session", "frame", "subject", "cluster"]
    assert len(lab) == 2400 and set(lab["subject"]) == {"mouse"}
    assert model.n_clusters_ >= 2
    assert _ami(truth, lab["cluster"].to_numpy()) > 0.7
    # allocentric features are not used
    assert "centroid_x" not in model.feature_names_ and "speed" in model.feature_names_
    # the label classifier agrees with a direct umap.transform + cluster assignment
    assert model.agreement_ > 0.8


def test_predict_new_session_and_save_load_identical(animal_fit, tmp_path):
    model, _, _ = animal_fit
    new, truth = one_mouse(900, seed=7)
    pred = model.predict([new], sessions=["new"])
    assert _ami(truth, pred["cluster"].to_numpy()) > 0.6
    direct = model.predict([new], sessions=["new"], method="transform")
    assert np.mean(direct["cluster"].to_numpy() == pred["cluster"].to_numpy()) > 0.8
    save_model(model, tmp_path / "m")
    assert {p.name for p in (tmp_path / "m").iterdir()} >= {"model.json", "arrays.npz",
                                                            "classifier.skops"}
    loaded = load_model(tmp_path / "m")
    again = loaded.predict([new], sessions=["new"])
    pd.testing.assert_frame_equal(again, pred)
    # the reduced matrix and the feature table the labels were made from, rows aligned
    labs, z, feats = loaded.predict([new], sessions=["new"], return_reduced=True, return_features=True)
    pd.testing.assert_frame_equal(labs, pred)
    assert len(z) == len(feats) == len(labs) and "speed" in feats.columns
    pd.testing.assert_frame_equal(feats[["session", "frame", "subject"]], labs[["session", "frame", "subject"]])
    assert loaded.predict([new], sessions=["new"], return_features=True)[1].equals(feats)
    with pytest.raises(ValidationError, match="UMAP"):
        loaded.predict([new], method="transform")
    # a skeleton without the trained keypoints is refused, naming them
    other = make_tracks(new["position"].values[:, :, :2], keypoints=["nose", "neck"], fps=30.0)
    with pytest.raises(SkeletonError, match="tail_base"):
        loaded.predict([other])


def test_same_seed_same_clusters():
    ds, _ = one_mouse(700, seed=5)
    kw = dict(FAST, max_fit_frames=500, classifier_iterations=10)
    first = BehaviourClusterer(mode="animal", seed=11, **kw).fit([ds], sessions=["s"])
    again = BehaviourClusterer(mode="animal", seed=11, **kw).fit([ds], sessions=["s"])
    np.testing.assert_array_equal(again.labels_["cluster"].to_numpy(),
                                  first.labels_["cluster"].to_numpy())
    np.testing.assert_array_equal(again.embedding_, first.embedding_)
    assert first.n_clusters_ >= 2


@pytest.mark.slow
def test_pair_mode_finds_contact():
    ds, truth = mouse_pair(1200, seed=2)
    model = BehaviourClusterer(mode="pair", seed=0, **FAST).fit([ds], sessions=["p"])
    lab = model.labels_
    assert set(lab["subject"]) == {"A|B", "B|A"}
    ab = lab[lab["subject"] == "A|B"].sort_values("frame")["cluster"].to_numpy()
    homogeneity, completeness = _pure_split(truth, ab)
    assert homogeneity > 0.7 and completeness > 0.4  # measured 0.79 with seed 0
    assert any(n.startswith("a_") for n in model.feature_names_)
    assert "nose_nose_dist" in model.feature_names_


def test_many_tiny_sessions_gmm_and_nan_columns():
    """Hundreds of 13-frame sessions: windows longer than a session, no crash, no crossing."""
    sessions, names = [], []
    for i in range(60):
        ds, _ = one_mouse(13, seed=100 + i, bout=13)
        sessions.append(ds)
        names.append(f"w{i}")
    model = BehaviourClusterer(mode="animal", seed=0, clusterer="gmm", n_clusters=3,
                               windows=(5, 45), max_fit_frames=600, umap_neighbors=10,
                               classifier_iterations=10, min_bout_frames=3)
    model.fit(sessions, sessions=names)
    lab = model.labels_
    assert len(lab) == 60 * 13
    assert lab.groupby("session").size().eq(13).all()
    assert np.all(np.isfinite(model.reduced_))
    assert set(lab["cluster"]) <= set(range(3))


def test_labels_for_tracks(animal_fit):
    model, ds, _ = animal_fit
    arr = labels_for_tracks(model.labels_, ds)
    assert arr.dims == ("time", "subject") and arr.shape == (2400, 1)
    np.testing.assert_array_equal(arr.values[:, 0], model.labels_["cluster"].to_numpy())
    later = ds.assign_coords(frame=("time", ds["frame"].values + 5000))  # another part of the video
    with pytest.raises(ValidationError, match=r"no labelled frame of session .* \(0\.\.2399\) is among the frames"):
        labels_for_tracks(model.labels_, later)


def _table(seq_by_subject, session="s"):
    rows = []
    for subject, seq in seq_by_subject.items():
        for f, c in enumerate(seq):
            rows.append((session, f, subject, c))
    return pd.DataFrame(rows, columns=["session", "frame", "subject", "cluster"])


def test_statistics_and_transitions_known_values():
    lab = _table({"m": [0, 0, 0, 1, 1, -1, 0, 0, 2, 2, 2, 2]})
    st = cluster_statistics(lab, fps=2.0)
    row = st[(st.subject == "m") & (st.cluster == 0)].iloc[0]
    assert row.frames == 5 and row.bouts == 2 and row.mean_bout_frames == 2.5
    assert row.mean_bout_s == 1.25 and abs(row.fraction - 5 / 12) < 1e-12
    tm = transition_matrix(lab, normalize=False)
    # bouts without noise: 0, 1, 0, 2  -> 0->1, 1->0, 0->2
    assert tm.loc[0, 1] == 1 and tm.loc[1, 0] == 1 and tm.loc[0, 2] == 1 and tm.values.sum() == 3
    p = transition_matrix(lab)
    assert p.loc[0, 1] == 0.5 and p.loc[0, 2] == 0.5 and p.loc[2].sum() == 0
    g = transition_graph(p, min_probability=0.1, stats=st)
    assert set(g.edges) == {(0, 1), (1, 0), (0, 2)}
    assert abs(g.nodes[0]["fraction"] - 5 / 12) < 1e-12
    # transitions never cross sessions or subjects
    two = pd.concat([_table({"m": [0, 0, 1, 1]}, "a"), _table({"m": [2, 2]}, "b")])
    assert transition_matrix(two, normalize=False).values.sum() == 1


def test_cluster_profiles_known_values(tmp_path):
    """Medians per cluster (shares for two-valued features), scored against all frames."""
    lab = _table({"m": [0, 0, 0, 0, 1, 1, 1, 1]})
    feats = lab[["session", "frame", "subject"]].copy()
    feats["speed"] = [1.0, 2.0, 3.0, 100.0, 10.0, 11.0, 12.0, 13.0]
    feats["contact"] = [0, 0, 0, 1, 1, 1, 1, 0]
    feats["speed_mean_5"] = 0.0  # rolling statistics are left out by default
    feats["ego_nose_x"] = 0.0
    prof = cluster_profiles(lab, feats)
    assert set(prof["feature"]) == {"speed", "contact"}
    speed = prof[prof.feature == "speed"].set_index("cluster")
    assert speed.loc[0, "value"] == 2.5 and speed.loc[1, "value"] == 11.5 and speed.loc[0, "frames"] == 4
    assert speed.loc[0, "overall"] == 10.5
    mad = 1.4826 * np.median(np.abs(feats["speed"] - 10.5))
    assert speed.loc[0, "score"] == pytest.approx((2.5 - 10.5) / mad)
    assert speed.loc[1, "score"] > 0 > speed.loc[0, "score"]
    contact = prof[prof.feature == "contact"].set_index("cluster")
    assert contact.loc[0, "value"] == 0.25 and contact.loc[1, "value"] == 0.75 and contact.loc[0, "overall"] == 0.5
    # chosen columns, and rows matched on session/frame/subject whatever their order
    shuffled = feats.sample(frac=1.0, random_state=0)
    again = cluster_profiles(lab, shuffled, columns=["speed"])
    assert list(again["feature"]) == ["speed", "speed"]
    np.testing.assert_array_equal(again["score"], speed["score"])
    with pytest.raises(ValidationError, match="not in the feature table"):
        cluster_profiles(lab, feats, columns=["speed", "rearing"])
    with pytest.raises(ValidationError, match="no labelled frame"):
        cluster_profiles(lab, feats.assign(session="other"))
    from mapose.viz.behaviour import plot_cluster_profiles

    png = plot_cluster_profiles(prof, tmp_path / "profiles.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_mirror_clusters_pair_each_cluster_with_its_partner_view(tmp_path):
    """A|B in cluster 0 while B|A is in cluster 1 (following / being followed); cluster 2 on both sides."""
    a_b = [0, 0, 0, 0, 2, 2, 2, 0, -1]
    b_a = [1, 1, 1, 2, 2, 2, 2, 1, 1]
    frames = list(range(len(a_b)))
    lab = pd.DataFrame({"session": "s", "frame": frames * 2, "subject": ["A|B"] * len(a_b) + ["B|A"] * len(b_a),
                        "cluster": a_b + b_a}).sample(frac=1.0, random_state=1)  # any row order
    m = mirror_clusters(lab).set_index("cluster")
    assert list(m.index) == [-1, 0, 1, 2]
    assert m.loc[0, "mirror"] == 1 and m.loc[0, "frames"] == 5 and m.loc[0, "share"] == pytest.approx(4 / 5)
    assert m.loc[1, "mirror"] == 0 and m.loc[1, "share"] == pytest.approx(4 / 5)  # the fifth is noise
    assert m.loc[2, "mirror"] == 2 and m.loc[2, "symmetric"] and m.loc[2, "share"] == pytest.approx(6 / 7)
    assert not m.loc[0, "symmetric"] and m.loc[-1, "mirror"] == 1
    # a frame without its mirror row counts for nothing; a label column of another name
    part = lab[~((lab.subject == "B|A") & (lab.frame == 0))].rename(columns={"cluster": "label"})
    assert mirror_clusters(part, column="label").set_index("label").loc[0, "frames"] == 4
    with pytest.raises(ValidationError, match="pair-mode label table"):
        mirror_clusters(_table({"m": [0, 1]}))
    with pytest.raises(ValidationError, match="mirror row"):
        mirror_clusters(lab[lab.subject == "A|B"])
    from mapose.viz.behaviour import plot_cluster_profiles

    prof = pd.DataFrame({"cluster": [0, 1, 2], "feature": "speed", "value": [1.0, 2.0, 3.0], "score": [0.0, 1, 2]})
    png = plot_cluster_profiles(prof, tmp_path / "p.png", mirrors=dict(zip(m.index, m["mirror"])))
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_typical_bouts_closest_to_centre():
    lab = _table({"m": [0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1]})
    reduced = np.zeros((11, 2))
    reduced[5:8] = [[3, 0]] * 3  # the second bout of cluster 0 lies far from its centre
    reduced[8:11] = [[0, 0.1]] * 3
    reduced[3:5] = [[0, 1]] * 2
    centers = np.array([[0.0, 0.0], [0.0, 0.0]])
    tb = typical_bouts(lab, reduced, centers, [0, 1], n=2, fps=10.0)
    c0 = tb[tb.cluster == 0]
    assert c0["start"].tolist() == [0, 5] and c0["rank"].tolist() == [1, 2]
    c1 = tb[tb.cluster == 1]
    assert c1.iloc[0]["start"] == 8 and c1.iloc[0]["stop"] == 11
    assert c1.iloc[0]["start_s"] == 0.8


def test_config_and_model_file_errors(tmp_path, animal_fit):
    with pytest.raises(ConfigError, match="mode"):
        ClusterConfig(mode="group")
    with pytest.raises(ConfigError, match="pca_components"):
        ClusterConfig(pca_components=2.5)
    with pytest.raises(ConfigError, match="allowed"):
        BehaviourClusterer().set_params(n_neighbours=3)
    with pytest.raises(ConfigError, match="event_min_share"):
        ClusterConfig(event_min_share=1.5)
    assert BehaviourClusterer(event_min_share=0.8).config.event_min_share == 0.8
    with pytest.raises(ValidationError, match="not fitted"):
        BehaviourClusterer().predict([pd.DataFrame({"frame": [0], "subject": ["m"], "x": [1.0]})])
    model, _, _ = animal_fit
    folder = save_model(model, tmp_path / "m")
    # a classifier file holding an unexpected type is refused before anything is loaded
    import skops.io as sio

    from mapose.behaviour.clustering import _ExactKnnIndex

    (folder / "classifier.skops").write_bytes(sio.dumps(_ExactKnnIndex(np.zeros((3, 2)))))
    with pytest.raises(FormatError, match="unexpected type"):
        load_model(folder)
    (folder / "model.json").write_text('{"format": "something-else"}')
    with pytest.raises(FormatError, match="format"):
        load_model(folder)


def test_feature_table_input_missing_columns(animal_fit):
    model, _, _ = animal_fit
    table = pd.DataFrame({"frame": np.arange(5), "subject": "m", "speed": np.ones(5)})
    with pytest.raises(ValidationError, match="lacks"):
        model.predict([table], sessions=["t"])


def test_behaviour_plots(tmp_path):
    import networkx as nx

    from mapose.viz.behaviour import plot_embedding, plot_ethogram, plot_transition_graph

    rng = np.random.default_rng(0)
    # binary behaviours (classifier output): one row per behaviour
    p = plot_ethogram({"freezing": rng.integers(0, 2, 300), "rearing": np.zeros(300, int)},
                      fps=30.0, path=tmp_path / "binary.png")
    assert p.read_bytes()[:4] == b"\x89PNG"
    p = plot_ethogram({"m": np.array([0, 0, 1, 1, -1, 2])}, names={0: "run"},
                      path=tmp_path / "e.svg")
    assert b"<svg" in p.read_bytes()[:400]
    # more than max_points are downsampled, not refused
    plot_embedding(rng.normal(size=(60_000, 2)), rng.integers(-1, 5, 60_000),
                   tmp_path / "emb.png", max_points=5000)
    assert (tmp_path / "emb.png").stat().st_size > 1000
    with pytest.raises(ValidationError, match="expected"):
        plot_embedding(np.zeros((5, 2)), np.zeros(4), tmp_path / "bad.png")
    g = nx.DiGraph()
    g.add_edge(0, 1, weight=0.7)
    g.add_edge(1, 0, weight=1.0)
    plot_transition_graph(g, tmp_path / "g.png")
    assert (tmp_path / "g.png").stat().st_size > 1000
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave no temporary files


def test_dyad_events_give_one_row_per_pair_with_its_actor():
    """0 ↔ 1 is one event (A|B in 0 means A is the actor, in 1 that B is); 2 is its own mirror; rows in
    different events, noise and a missing mirror row give no event."""
    a_b = [0, 0, 0, 0, 2, 2, 2, 0, -1, 1]
    b_a = [1, 1, 1, 2, 2, 2, 2, 1, 1, 0]
    n = len(a_b)
    lab = pd.DataFrame({"session": "s", "frame": list(range(n)) * 2, "subject": ["B|A"] * n + ["A|B"] * n,
                        "cluster": b_a + a_b})
    lab = pd.concat([lab, pd.DataFrame({"session": "s", "frame": [n], "subject": ["A|B"], "cluster": [0]})])
    ev = dyad_events(lab.sample(frac=1.0, random_state=2))  # frame 10 has no B|A row: no event there
    assert ev.attrs["events"]["name"].tolist() == ["0 ↔ 1", "2"]
    assert ev["subject"].unique().tolist() == ["A&B"] and ev["frame"].tolist() == list(range(n + 1))
    assert ev["event"].tolist() == [0, 0, 0, -1, 2, 2, 2, 0, -1, 0, -1]
    assert ev["actor"].tolist() == ["A", "A", "A", "", "", "", "", "A", "", "B", ""]
    assert ev["cluster_a"].tolist() == a_b + [0] and ev["cluster_b"].tolist() == b_a + [-1]
    # names in natural order, sessions in the order they come
    two = pd.DataFrame({"session": ["t", "t", "s", "s"], "frame": 0, "cluster": [0, 1, 0, 1],
                        "subject": ["ind_10|ind_2", "ind_2|ind_10", "ind_10|ind_2", "ind_2|ind_10"]})
    got = dyad_events(two, mirrors=mirror_clusters(lab))
    assert got["session"].tolist() == ["t", "s"] and got["subject"].tolist() == ["ind_2&ind_10"] * 2
    assert got["actor"].tolist() == ["ind_10", "ind_10"]
    # a weaker link is cut at min_share: 0 sees 1 on 5 of its 6 frames
    assert mirror_clusters(lab).set_index("cluster").loc[0, "share"] == pytest.approx(5 / 6)
    assert mirror_events(mirror_clusters(lab), min_share=0.9)["name"].tolist() == ["0", "1", "2"]
    with pytest.raises(ValidationError, match="min_share"):
        mirror_events(mirror_clusters(lab), min_share=2)
    with pytest.raises(ValidationError, match="pair-mode"):
        dyad_events(_table({"m": [0, 1]}))
    # a repeated (session, frame, subject) row is named, not left to pandas' merge validation
    twice = pd.concat([lab, lab.iloc[[3]]])
    for fn in (dyad_events, mirror_clusters):
        with pytest.raises(ValidationError, match="repeated row.*frame 3, subject 'B\\|A'"):
            fn(twice)


def test_frames_where_the_animal_is_not_seen_are_not_clustered(animal_fit):
    """An animal out of sight for 200 frames: those frames are labelled -1 by the fit and by predict,
    and they take no part in the fit (before, median-imputed features put them in a cluster)."""
    model, _, _ = animal_fit
    ds, truth = one_mouse(900, seed=8)
    gone = (ds["frame"].values >= 300) & (ds["frame"].values < 500)
    ds["position"][{"time": np.flatnonzero(gone)}] = np.nan
    pred = model.predict([ds], sessions=["gap"]).sort_values("frame")
    assert (pred["cluster"].to_numpy()[gone] == -1).all() and (pred["cluster"].to_numpy()[~gone] >= 0).all()
    assert _ami(truth[~gone], pred["cluster"].to_numpy()[~gone]) > 0.6
    fitted = BehaviourClusterer(mode="animal", seed=0, **FAST).fit([ds], sessions=["gap"])
    lab = fitted.labels_.sort_values("frame")["cluster"].to_numpy()
    assert (lab[gone] == -1).all() and (lab[~gone] >= 0).all() and fitted.n_clusters_ >= 2
    assert not np.isin(fitted.fit_rows_, np.flatnonzero(gone)).any()
    ds["position"][{"time": slice(10, None)}] = np.nan
    with pytest.raises(ValidationError, match=r"only 10 frames to cluster \(890 more where an animal is not seen"):
        BehaviourClusterer(mode="animal", seed=0, **FAST).fit([ds], sessions=["never"])
