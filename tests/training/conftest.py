"""Tiny synthetic label set: grey images with two 3-keypoint 'animals' drawn as bright blobs."""

from __future__ import annotations

import os

# spinning OpenMP threads make torch crawl on a shared CPU; must be set before torch is imported
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import cv2
import numpy as np
import pytest

from mapose.core.detections import Detections
from mapose.core.labels import ImageRef, Labels
from mapose.core.skeleton import Skeleton

SKELETON = Skeleton.from_names(["head", "thorax", "tail"], [("head", "thorax"), ("thorax", "tail")])


def make_synthetic(folder, n_images: int = 6, size: int = 64, seed: int = 0, turn: float = 2 * np.pi,
                   length: float = 18.0):
    """Images + Labels with known keypoints (pixels); blobs of different size per keypoint; the
    animals, ``length`` pixels from head to tail, face directions drawn uniformly from an arc of
    ``turn`` radians."""
    margin = max(16.0, length / 2 + 4)
    rng = np.random.default_rng(seed)
    refs, frames, kps = [], [], []
    for i in range(n_images):
        img = np.full((size, size), 30, np.uint8)
        for a in range(2):
            c = rng.uniform(margin, size - margin, 2)
            ang = rng.uniform(0, turn)
            d = np.array([np.cos(ang), np.sin(ang)]) * length / 2
            pts = np.stack([c + d, c, c - d])
            for j, p in enumerate(pts):
                cv2.circle(img, (int(round(p[0])), int(round(p[1]))), 3 - j, 220, -1)
            kps.append(pts)
            frames.append(i)
        path = folder / f"img{i:02d}.png"
        cv2.imwrite(str(path), img)
        refs.append(ImageRef(image=str(path)))
    kp = np.array(kps)
    det = Detections(frame=np.array(frames), keypoints=kp, keypoint_scores=np.ones(kp.shape[:2]),
                     instance_scores=np.ones(len(kp)), skeleton=SKELETON, n_frames=n_images)
    return Labels(SKELETON, tuple(refs), det, root=str(folder), source=str(folder / "labels"))


@pytest.fixture
def synthetic_labels(tmp_path):
    return make_synthetic(tmp_path)
