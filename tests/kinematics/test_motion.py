"""Per-animal kinematics against closed-form answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mapose.kinematics as K
from mapose.core import make_tracks
from mapose.errors import SkeletonError

from .conftest import circle_tracks

R, W, FPS = 50.0, 0.5, 30.0
H = 1 / FPS


def test_circle_speed_closed_form():
    ds = circle_tracks(R, W, FPS)
    sp = K.speed(K.keypoint_position(ds, "centroid")).values[:, 0]
    # central differences of a circle: |p(t+h) - p(t-h)| / 2h = R sin(wh) / h; ends one-sided.
    np.testing.assert_allclose(sp[1:-1], R * np.sin(W * H) / H, rtol=1e-12)
    np.testing.assert_allclose(sp[[0, -1]], 2 * R * np.sin(W * H / 2) / H, rtol=1e-12)
    assert sp[5] == pytest.approx(R * W, rel=1e-4)  # and close to the continuous answer R*omega


def test_circle_heading_and_angular_speed():
    ds = circle_tracks(R, W, FPS)
    t = ds["time"].values
    hd = K.heading(ds, "tailbase", "nose").values[:, 0]
    expected = (W * t + np.pi / 2 + np.pi) % (2 * np.pi) - np.pi
    np.testing.assert_allclose(np.cos(hd - expected), 1.0, atol=1e-12)
    # 300 frames at 0.5 rad/s crosses ±pi: wrapping must not make a 2 pi jump
    av = K.angular_velocity(ds, "tailbase", "nose").values[:, 0]
    np.testing.assert_allclose(av, W, rtol=1e-10)
    np.testing.assert_allclose(K.angular_speed(ds, "tailbase", "nose").values[:, 0], W, rtol=1e-10)


def test_circle_frames_units_without_fps():
    ds = circle_tracks(R, W, FPS)
    ds_frames = make_tracks(ds["position"].values, keypoints=["nose", "tailbase"])
    av = K.angular_velocity(ds_frames, "tailbase", "nose").values[:, 0]
    np.testing.assert_allclose(av, W / FPS, rtol=1e-10)  # rad per frame


def test_circle_path_length_and_body_length():
    ds = circle_tracks(R, W, FPS, n=301)
    pl = float(K.path_length(ds, "centroid").values[0])
    assert pl == pytest.approx(300 * 2 * R * np.sin(W * H / 2), rel=1e-12)
    np.testing.assert_allclose(K.body_length(ds, "nose", "tailbase").values, 10.0, rtol=1e-12)
    per_kp = K.path_length(ds)
    assert per_kp.dims == ("keypoints", "individuals")


def test_velocity_acceleration_of_parabola():
    t = np.arange(20) / 10.0
    pos = np.zeros((20, 2, 1, 1))
    pos[:, 0, 0, 0] = 3 * t**2 + 2 * t  # x'' = 6, x' = 6t + 2
    ds = make_tracks(pos, keypoints=["a"], fps=10)
    v = K.velocity(ds).sel(space="x").values[:, 0, 0]
    np.testing.assert_allclose(v[1:-1], 6 * t[1:-1] + 2, rtol=1e-12)
    a = K.acceleration(ds).sel(space="x").values[:, 0, 0]
    np.testing.assert_allclose(a[2:-2], 6.0, rtol=1e-10)
    assert K.velocity(ds).dims == ds["position"].dims


def test_joint_angle_right_angle():
    pos = np.zeros((3, 2, 3, 1))
    pos[:, :, 0, 0] = [10, 0]
    pos[:, :, 2, 0] = [0, 5]
    ds = make_tracks(pos, keypoints=["a", "b", "c"])
    np.testing.assert_allclose(K.joint_angle(ds, "a", "b", "c").values, np.pi / 2)


def test_unknown_keypoint_lists_known():
    ds = circle_tracks()
    with pytest.raises(SkeletonError, match="known: nose, tailbase"):
        K.heading(ds, "tail", "nose")


def _rotate(pos, phi, shift):
    c, s = np.cos(phi), np.sin(phi)
    out = np.empty_like(pos)
    out[:, 0] = c * pos[:, 0] - s * pos[:, 1] + shift[0]
    out[:, 1] = s * pos[:, 0] + c * pos[:, 1] + shift[1]
    return out


def test_egocentric_heading_on_x_axis():
    ds = circle_tracks()
    ego = K.egocentric(ds, "centroid", "tailbase", "nose")["position"]
    np.testing.assert_allclose(ego.sel(keypoints="nose", space="x"), 5.0, atol=1e-9)
    np.testing.assert_allclose(ego.sel(keypoints="nose", space="y"), 0.0, atol=1e-9)
    np.testing.assert_allclose(ego.sel(keypoints="tailbase", space="x"), -5.0, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(phi=st.floats(-np.pi, np.pi), dx=st.floats(-500, 500), dy=st.floats(-500, 500),
       seed=st.integers(0, 10_000))
def test_egocentric_invariant_to_rotation_and_translation(phi, dx, dy, seed):
    rng = np.random.default_rng(seed)
    pos = rng.normal(scale=20, size=(15, 2, 5, 3)) + 100
    gone = rng.random((15, 1, 5, 3)) < 0.1
    gone[:, :, :2] = False  # some missing keypoints (not the heading ones)
    pos = np.where(gone, np.nan, pos)
    kps = ["nose", "tailbase", "ear", "paw", "hip"]
    a = make_tracks(pos, keypoints=kps)
    b = make_tracks(_rotate(pos, phi, (dx, dy)), keypoints=kps)
    for origin in ("centroid", "tailbase"):
        ea = K.egocentric(a, origin, "tailbase", "nose")["position"].values
        eb = K.egocentric(b, origin, "tailbase", "nose")["position"].values
        np.testing.assert_allclose(ea, eb, atol=1e-8)
        assert np.array_equal(np.isnan(ea), np.isnan(pos))


def test_egocentric_requires_heading():
    with pytest.raises(SkeletonError, match="heading_from"):
        K.egocentric(circle_tracks())


def test_kinematics_imports_without_torch():
    import subprocess
    import sys

    code = ("import sys, mapose.kinematics, mapose.io.tables, mapose.viz.kinematics; "
            "bad = [m for m in ('torch', 'lightning', 'matplotlib') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
