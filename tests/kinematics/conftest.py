"""Fixtures of the kinematics tests: synthetic scenes with closed-form answers, shared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mapose.core import make_tracks

SHARED = Path(__file__).resolve().parents[2] / "../shared/data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared/data not present (fresh clone)")
    return SHARED.resolve()


def circle_tracks(radius=50.0, omega=0.5, fps=30.0, n=300, body=10.0, centre=(200.0, 150.0)):
    """One animal on a circle of ``radius`` px at ``omega`` rad/s, body along the tangent.

    Keypoints: nose (body/2 ahead along the tangent), tailbase (body/2 behind); the centroid is
    on the circle.
    """
    t = np.arange(n) / fps
    phi = omega * t
    on = np.stack([centre[0] + radius * np.cos(phi), centre[1] + radius * np.sin(phi)], 1)
    tang = np.stack([-np.sin(phi), np.cos(phi)], 1)
    pos = np.zeros((n, 2, 2, 1))
    pos[:, :, 0, 0] = on + body / 2 * tang
    pos[:, :, 1, 0] = on - body / 2 * tang
    return make_tracks(pos, keypoints=["nose", "tailbase"], individuals=["mouse"], fps=fps)


def head_on_tracks(d0=300.0, va=20.0, vb=10.0, fps=25.0, n=100, body=20.0):
    """Two animals on y = 100 walking straight at each other at ``va`` and ``vb`` px/s.

    A starts at x = 0 facing +x, B at x = d0 facing -x.  Keypoints nose, body (centre), tail base.
    """
    t = np.arange(n) / fps
    xa = 0.0 + va * t
    xb = d0 - vb * t
    pos = np.zeros((n, 2, 3, 2))
    pos[:, 1] = 100.0
    for i, (x, sgn) in enumerate(((xa, 1.0), (xb, -1.0))):
        pos[:, 0, 0, i] = x + sgn * body / 2
        pos[:, 0, 1, i] = x
        pos[:, 0, 2, i] = x - sgn * body / 2
    return make_tracks(pos, keypoints=["nose", "body", "tail_base"], individuals=["A", "B"], fps=fps)
