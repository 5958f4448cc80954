"""The feature table: layout, closed-form values, scale, NaN handling, role guessing, export."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mapose.kinematics as K
from mapose.config import from_dict
from mapose.core import make_tracks
from mapose.errors import ConfigError, SkeletonError, ValidationError
from mapose.io.tables import read_feature_table, save_feature_table
from mapose.kinematics.windows import rolling_stats

from .conftest import circle_tracks, head_on_tracks

R, W, FPS = 50.0, 0.5, 30.0


def _random_tracks(n_t=80, n_i=3, missing=0.0, seed=0):
    rng = np.random.default_rng(seed)
    pos = np.cumsum(rng.normal(size=(n_t, 2, 5, n_i)), axis=0) + rng.uniform(50, 400, size=(1, 2, 1, n_i))
    pos[:, :, 1] = pos[:, :, 0] + 15  # a body: tail base 15 px from the nose
    pos = np.where(rng.random((n_t, 1, 5, n_i)) < missing, np.nan, pos)
    return make_tracks(pos, keypoints=["snout", "tail_base", "ear L", "ear R", "back"],
                       individuals=[f"m{i}" for i in range(n_i)], fps=FPS)


def test_animal_layout():
    ds = _random_tracks()
    df = K.feature_table(ds, mode="animal", windows=(5, 15))
    assert list(df.columns[:2]) == ["frame", "subject"]
    assert df["frame"].dtype == np.int64
    assert pd.api.types.is_string_dtype(df["subject"])
    assert all(df[c].dtype == np.float32 for c in df.columns[2:])
    assert len(df) == 80 * 3
    assert df["subject"].tolist() == [s for s in ("m0", "m1", "m2") for _ in range(80)]
    assert df["frame"].tolist()[:80] == list(range(80))
    for col in ("speed", "speed_mean_15", "speed_std_5", "body_length_max_15", "ego_ear_L_x",
                "angular_velocity", "velocity_forward", "missing_fraction"):
        assert col in df.columns
    assert not df.columns.duplicated().any()
    # window columns are the rolling stats of the base column, per animal
    for name in ("m0", "m2"):
        sub = df[df["subject"] == name]
        ref = rolling_stats(sub[["speed"]].to_numpy(np.float64), (15,))[("mean", 15)][:, 0]
        np.testing.assert_allclose(sub["speed_mean_15"], ref, rtol=1e-5)


def test_animal_circle_closed_form():
    df = K.feature_table(circle_tracks(R, W, FPS), windows=(5,))
    h = 1 / FPS
    np.testing.assert_allclose(df["speed"].values[1:-1], R * np.sin(W * h) / h, rtol=1e-6)
    np.testing.assert_allclose(df["velocity_forward"].values[1:-1], R * np.sin(W * h) / h, rtol=1e-6)
    np.testing.assert_allclose(df["velocity_lateral"].values[1:-1], 0.0, atol=1e-4)
    np.testing.assert_allclose(df["angular_velocity"].values, W, rtol=1e-6)
    np.testing.assert_allclose(df["body_length"].values, 10.0, rtol=1e-6)
    np.testing.assert_allclose(df["body_angle"].values, np.pi, atol=1e-6)
    np.testing.assert_allclose(df["ego_nose_x"].values, 5.0, atol=1e-4)


def test_keypoint_dropout_does_not_fake_speed():
    ds = head_on_tracks(300.0, 20.0, 10.0, fps=25.0, n=50)
    pos = ds["position"].values.copy()
    pos[20:30, :, 0, 0] = np.nan  # A's nose drops out for 10 frames
    ds = ds.copy(data={"position": pos, "confidence": ds["confidence"].values})
    a = K.feature_table(ds, windows=()).query("subject == 'A'")
    np.testing.assert_allclose(a["speed"], 20.0, rtol=1e-5)  # the nanmean centroid jumps 5 px
    assert a["centroid_x"].iloc[20] != pytest.approx(20.0 * 20 / 25.0)


def test_pair_head_on_closed_form():
    d0, va, vb = 300.0, 20.0, 10.0
    ds = head_on_tracks(d0, va, vb, fps=25.0, n=200, body=20.0)
    df = K.feature_table(ds, mode="pair", windows=(5,))
    assert sorted(df["subject"].unique()) == ["A|B", "B|A"]
    ab = df[df["subject"] == "A|B"]
    t = ds["time"].values
    np.testing.assert_allclose(ab["centroid_dist"], d0 - (va + vb) * t, rtol=1e-6)
    np.testing.assert_allclose(ab["approach_speed"], va + vb, rtol=1e-5)
    np.testing.assert_allclose(ab["facing_angle_a"], 0.0, atol=1e-6)
    np.testing.assert_allclose(ab["facing_angle_b"], 0.0, atol=1e-6)
    np.testing.assert_allclose(ab["relative_heading"], np.pi, rtol=1e-6)
    np.testing.assert_allclose(ab["partner_x"], d0 - (va + vb) * t, rtol=1e-6)
    np.testing.assert_allclose(ab["partner_y"], 0.0, atol=1e-3)
    np.testing.assert_allclose(ab["a_speed"], va, rtol=1e-5)
    np.testing.assert_allclose(ab["b_speed"], vb, rtol=1e-5)
    np.testing.assert_allclose(ab["nose_nose_dist"], d0 - (va + vb) * t - 20, rtol=1e-6)
    # contact threshold defaults to 0.2 body lengths = 4 px: no contact while > 4 px apart
    assert df.attrs["contact_distance"] == pytest.approx(4.0)
    np.testing.assert_array_equal(ab["contact"], (ab["min_kp_dist"] < 4.0).astype(np.float32))
    ba = df[df["subject"] == "B|A"]
    np.testing.assert_allclose(ba["a_speed"], vb, rtol=1e-5)
    np.testing.assert_allclose(ba["nose_tail_base_dist"].values, ab["tail_base_nose_dist"].values)


def test_pair_rows_and_own_feature_options():
    ds = _random_tracks(n_i=4)
    df = K.feature_table(ds, mode="pair", windows=(5,))
    assert len(df) == 80 * 12 and df["subject"].nunique() == 12
    base = K.feature_table(ds, mode="pair", windows=(5,), config=K.FeatureConfig(pair_own_features="base"))
    assert "a_speed" in base.columns and "a_speed_mean_5" not in base.columns
    assert "a_speed_mean_5" in df.columns
    none = K.feature_table(ds, mode="pair", windows=(), config=K.FeatureConfig(pair_own_features="none"))
    assert not [c for c in none.columns if c.startswith(("a_", "b_"))]
    # one animal: asking for its pair table is an error; asking for both tables gives an empty pair table
    with pytest.raises(ValidationError, match="pair features need at least 2 animals; the file has 1"):
        K.feature_table(_random_tracks(n_i=1), mode="pair")
    single = K.feature_tables(_random_tracks(n_i=1))["pair"]
    assert len(single) == 0 and "centroid_dist" in single.columns
    with pytest.raises(ConfigError, match="allowed"):
        K.feature_table(ds, mode="triplet")


def test_permuting_individuals_does_not_change_features():
    ds = _random_tracks(missing=0.1)
    perm = ds.isel(individuals=[2, 0, 1])
    for mode in ("animal", "pair"):
        a = K.feature_table(ds, mode=mode).sort_values(["subject", "frame"]).reset_index(drop=True)
        b = K.feature_table(perm, mode=mode).sort_values(["subject", "frame"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-5)


def test_scale_aware_after_calibration():
    ds = _random_tracks()
    px = K.feature_table(ds, mode="pair", windows=(5,))
    cm = K.feature_table(K.calibrate(ds, px_per_cm=4.0), mode="pair", windows=(5,))
    assert list(px.columns) == list(cm.columns)
    for col in ("centroid_dist", "a_speed", "a_body_length_mean_5", "approach_speed", "a_ego_snout_x"):
        np.testing.assert_allclose(cm[col], px[col] / 4.0, rtol=1e-5, atol=1e-5)
    for col in ("facing_angle_a", "relative_heading", "contact", "a_angular_velocity"):
        np.testing.assert_allclose(cm[col], px[col], rtol=1e-5, atol=1e-5)


def test_nan_heavy_no_warnings_and_nan_features():
    ds = _random_tracks(missing=0.4, seed=3)
    pos = ds["position"].values.copy()
    pos[:, :, :, 1] = np.nan  # one animal never seen
    ds = ds.copy(data={"position": pos, "confidence": ds["confidence"].values})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        an = K.feature_table(ds, mode="animal")
        pr = K.feature_table(ds, mode="pair")
    unseen = an[an["subject"] == "m1"].drop(columns=["frame", "subject", "missing_fraction"])
    assert unseen.isna().all().all()
    assert (an.loc[an["subject"] == "m1", "missing_fraction"] == 1).all()
    seen = an[an["subject"] == "m0"]
    assert seen["speed"].notna().any() and seen["speed"].isna().any()
    assert np.isfinite(an.drop(columns=["frame", "subject"]).to_numpy()[~an.drop(columns=["frame", "subject"]).isna().to_numpy()]).all()
    assert pr.loc[pr["subject"] == "m0|m1", "centroid_dist"].isna().all()
    assert pr.loc[pr["subject"] == "m0|m2", "centroid_dist"].notna().any()


def test_role_guessing_and_errors():
    roles = K.resolve_roles(["Nose", "Forehand-Left", "Tailroot"])
    assert (roles.nose, roles.tail_base, roles.heading_from, roles.heading_to) == ("Nose", "Tailroot", "Tailroot", "Nose")
    assert K.resolve_roles(["head", "thorax", "abdomen"]).tail_base == "abdomen"
    assert K.resolve_roles(["nose", "tail base", "tail tip"]).tail_base == "tail base"
    with pytest.raises(SkeletonError, match=r"names \(p1, p2, p3\).*FeatureConfig nose, tail_base"):
        K.resolve_roles(["p1", "p2", "p3"])
    with pytest.raises(SkeletonError, match="FeatureConfig.heading_to = 'snoot'"):
        K.resolve_roles(["nose", "tailbase"], K.FeatureConfig(heading_to="snoot"))
    cfg = from_dict(K.FeatureConfig, {"nose": "p1", "tail_base": "p3", "joint_angles": [["p1", "p2", "p3"]],
                                      "contact_distance": 5})
    ds = make_tracks(np.random.default_rng(0).normal(size=(20, 2, 3, 2)), keypoints=["p1", "p2", "p3"])
    df = K.feature_table(ds, config=cfg, windows=())
    assert "angle_p1_p2_p3" in df.columns
    pcfg = K.FeatureConfig(nose="p1", tail_base="p3", pair_distances=(("p2", "centroid"),))
    pr = K.feature_table(ds, mode="pair", config=pcfg, windows=())
    ref = K.pairwise_distance(ds, "p2", "centroid").sel(subject="individual_0", partner="individual_1")
    np.testing.assert_allclose(pr.loc[pr["subject"] == "individual_0|individual_1", "dist_p2_centroid"], ref, rtol=1e-6)
    with pytest.raises(SkeletonError, match="pair_distances"):
        K.resolve_roles(["p1", "p2", "p3"], K.FeatureConfig(nose="p1", tail_base="p3", pair_distances=(("p9", "p1"),)))
    with pytest.raises(ConfigError, match="allowed"):
        from_dict(K.FeatureConfig, {"snout": "p1"})


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_save_and_read_table(tmp_path, suffix):
    df = K.feature_table(_random_tracks(n_t=30), mode="pair", windows=(5,))
    out = save_feature_table(df, tmp_path / f"feats{suffix}")
    back = read_feature_table(out)
    assert list(back.columns) == list(df.columns)
    assert back["subject"].tolist() == df["subject"].tolist()
    np.testing.assert_allclose(back["centroid_dist"].to_numpy(float), df["centroid_dist"].to_numpy(float), rtol=1e-6)
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_shared_mabe_nan_heavy(shared_data):
    from mapose.io import read_tracks

    ds = K.calibrate(read_tracks(shared_data / "mice_mabe22_triplet/EGS8X2MN4SSUGFWAV976.h5"), fps=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        an = K.feature_table(ds, mode="animal")
        pr = K.feature_table(ds, mode="pair")
    assert len(an) == 1800 * 3 and len(pr) == 1800 * 6
    # centroid speed equals movement-style speed of the NaN-aware centroid
    cen = K.keypoint_position(ds, "centroid")
    ref = K.speed(cen).values.T.reshape(-1)
    np.testing.assert_allclose(an["speed"].to_numpy(float), ref, rtol=1e-5, atol=1e-6, equal_nan=True)
    # mice in a 512 px arena: no (0, 0) artefacts leaking into positions or distances
    assert an["centroid_x"].min() > 0 and pr["centroid_dist"].max() < 512 * np.sqrt(2)
    assert 0 < an["missing_fraction"].mean() < 0.3
    assert an["body_length"].median() < 150


def test_colliding_keypoint_names_and_bad_individual_names():
    pos = np.random.default_rng(0).normal(size=(10, 2, 4, 2))
    ds = make_tracks(pos, keypoints=["nose", "ear L", "ear-L", "tailbase"], individuals=["a|1", "b"])
    df = K.feature_table(ds, windows=())
    assert {"ego_ear_L_x", "ego_ear_L_2_x"} <= set(df.columns)
    assert not df.columns.duplicated().any()
    with pytest.raises(ValidationError, match=r"a\|1"):
        K.feature_table(ds, mode="pair")
