"""Synthetic detections with known identities for tracker tests (closed-form motions)."""

from __future__ import annotations

import numpy as np

from mapose.core import Detections, Skeleton

#: A rigid 5-keypoint body (pixels, along +x): nose, head, centre, hip, tail; length 40 px.
BODY = np.array([[20.0, 0.0], [10.0, 0.0], [0.0, 0.0], [-10.0, 3.0], [-20.0, 0.0]])
SKELETON = Skeleton.from_names(["nose", "head", "centre", "hip", "tail"],
                               edges=[("nose", "head"), ("head", "centre"), ("centre", "hip"),
                                      ("hip", "tail")])


def pose(centre: np.ndarray, heading: np.ndarray, body: np.ndarray = BODY) -> np.ndarray:
    """Keypoints ``(..., K, 2)`` of a body at ``centre (..., 2)`` facing ``heading (...)`` radians."""
    c, s = np.cos(heading)[..., None], np.sin(heading)[..., None]
    x = body[:, 0] * c - body[:, 1] * s
    y = body[:, 0] * s + body[:, 1] * c
    return np.stack([x, y], axis=-1) + centre[..., None, :]


def lanes(n_animals: int, n_frames: int, spacing: float = 120.0, speed: float = 2.0,
          amplitude: float = 60.0) -> np.ndarray:
    """Animals in parallel lanes ``spacing`` px apart, oscillating along x; ``(T, n, K, 2)``."""
    t = np.arange(n_frames)[:, None]
    i = np.arange(n_animals)[None, :]
    phase = 0.7 * i
    x = 200.0 + amplitude * np.sin(speed * t / amplitude + phase)
    y = 100.0 + spacing * i + 0.0 * t
    vx = speed * np.cos(speed * t / amplitude + phase)
    heading = np.where(vx >= 0, 0.0, np.pi)
    centre = np.stack([x, np.broadcast_to(y, x.shape)], axis=-1)
    return pose(centre, heading)


def grid_walk(n_animals: int, n_frames: int, seed: int = 0, spacing: float = 150.0,
              radius: float = 40.0) -> np.ndarray:
    """Animals on a grid, each circling its own cell (radius ``radius`` px) at its own speed."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_animals)))
    gx, gy = np.meshgrid(np.arange(side), np.arange(side))
    home = np.stack([gx.ravel(), gy.ravel()], axis=1)[:n_animals] * spacing + spacing
    omega = rng.uniform(0.03, 0.08, n_animals) * rng.choice([-1, 1], n_animals)
    phase = rng.uniform(0, 2 * np.pi, n_animals)
    ang = omega[None, :] * np.arange(n_frames)[:, None] + phase[None, :]
    centre = home[None] + radius * np.stack([np.cos(ang), np.sin(ang)], axis=-1)
    heading = ang + np.sign(omega)[None, :] * np.pi / 2
    return pose(centre, heading)


def crossing(n_frames: int = 100, cross_frame: int = 50, speed: float = 3.0) -> np.ndarray:
    """Two animals on straight lines that cross at ``cross_frame`` at (300, 300); ``(T, 2, K, 2)``.

    Animal 0 moves along +x+y, animal 1 along +x-y; at ``cross_frame`` their centres coincide.
    """
    t = np.arange(n_frames)[:, None] - cross_frame
    d = speed / np.sqrt(2)
    c0 = np.concatenate([300 + d * t, 300 + d * t], axis=1)
    c1 = np.concatenate([300 + d * t, 300 - d * t], axis=1)
    centre = np.stack([c0, c1], axis=1)
    heading = np.broadcast_to(np.array([np.pi / 4, -np.pi / 4]), (n_frames, 2))
    return pose(centre, heading)


def to_detections(poses: np.ndarray, keep: np.ndarray | None = None,
                  extra: np.ndarray | None = None, extra_frames: np.ndarray | None = None,
                  skeleton: Skeleton = SKELETON, shuffle_seed: int | None = None) -> Detections:
    """Flatten ``(T, n, K, 2)`` poses into Detections with ``track_id`` = animal index.

    ``keep (T, n)`` drops detections; ``extra (E, K, 2)`` at ``extra_frames (E,)`` are spurious
    detections (track_id -1); ``shuffle_seed`` permutes the order of instances within frames.
    """
    t_n, n = poses.shape[:2]
    if keep is None:
        keep = np.ones((t_n, n), bool)
    tt, ii = np.nonzero(keep)
    frame, kp, tid = tt, poses[tt, ii], ii
    if extra is not None and len(extra):
        frame = np.concatenate([frame, extra_frames])
        kp = np.concatenate([kp, extra])
        tid = np.concatenate([tid, np.full(len(extra), -1)])
    order = np.argsort(frame, kind="stable")
    if shuffle_seed is not None:
        rng = np.random.default_rng(shuffle_seed)
        order = np.lexsort((rng.random(len(frame)), frame))
    frame, kp, tid = frame[order], kp[order], tid[order]
    k = skeleton.n_keypoints
    return Detections(frame=frame, keypoints=kp[:, :k], keypoint_scores=np.ones((len(frame), k)),
                      instance_scores=np.ones(len(frame)), skeleton=skeleton, n_frames=t_n,
                      track_id=tid, fps=30.0)


def identity_map(det: Detections, ds) -> dict:
    """For each true animal, the set of output individuals its detections were given."""
    pos = ds["position"].transpose("time", "individuals", "keypoints", "space").values
    out: dict[int, set] = {}
    for f, kp, tid in zip(det.frame, det.keypoints, det.track_id):
        if tid < 0:
            continue
        diff = np.abs(pos[f] - kp[None])
        d = np.where(np.isfinite(diff), diff, np.inf).max(axis=(1, 2))
        hit = np.nonzero(d < 1e-9)[0]
        out.setdefault(int(tid), set()).update(int(h) for h in hit)
        if len(hit) == 0:
            out[int(tid)].add(-1)
    return out
