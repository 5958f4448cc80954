"""A synthetic video with known animal positions and a tiny deterministic "pose model" for it.

Each animal is a red dot (head) and a green dot (tail) 10 px apart, on black; two animals move
along known straight lines.  :class:`DotModel` follows the ``PoseModel.predict`` contract: its
heatmap for keypoint ``k`` is the blurred, average-pooled colour channel ``k`` (no PAF head, so the
decoder assembles by proximity), which peaks on the dots.
"""

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from mapose.core import Skeleton

SKELETON = Skeleton.from_names(["head", "tail"], edges=[("head", "tail")])
W, H = 160, 120


def truth(n_frames):
    """(T, 2 animals, 2 keypoints, xy) positions in pixels."""
    t = np.arange(n_frames)[:, None]
    a = np.concatenate([20 + 1.0 * t, 30 + 0.3 * t], axis=1)
    b = np.concatenate([130 - 0.8 * t, 90 - 0.2 * t], axis=1)
    out = np.zeros((n_frames, 2, 2, 2))
    out[:, 0, 0], out[:, 0, 1] = a + [5, 0], a - [5, 0]
    out[:, 1, 0], out[:, 1, 1] = b + [0, 5], b - [0, 5]
    return out


def write_video(path: Path, n_frames: int = 60) -> np.ndarray:
    pos = truth(n_frames)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (W, H))
    for f in range(n_frames):
        img = np.zeros((H, W, 3), np.uint8)
        for a in range(2):
            for k, bgr in ((0, (0, 0, 255)), (1, (0, 255, 0))):
                x, y = pos[f, a, k]
                cv2.circle(img, (int(round(x)), int(round(y))), 3, bgr, -1, lineType=cv2.LINE_AA)
        vw.write(img)
    vw.release()
    return pos


class DotModel:
    """``predict(uint8 (B, H, W, 3) RGB) -> {"heatmap": (B, 2, ceil(H/s), ceil(W/s))}``."""

    def __init__(self, stride: int = 2):
        self.skeleton = SKELETON
        self.stride = stride
        self.checksum = "dot-model-v1"
        self.config = {"kind": "dot-model", "stride": stride}
        self.calls = 0

    def predict(self, images: torch.Tensor) -> dict:
        self.calls += 1
        x = images.permute(0, 3, 1, 2).float()[:, :2] / 255.0  # R -> head, G -> tail
        x = F.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=False)
        h, w = images.shape[1:3]
        x = F.pad(x, (0, (-w) % self.stride, 0, (-h) % self.stride))
        hm = F.avg_pool2d(x, self.stride)
        hm = hm / hm.amax(dim=(2, 3), keepdim=True).clamp_min(1e-6)
        return {"heatmap": hm}
