"""Synthetic model outputs with known answers for the decoder tests.

The renderers follow the model-output contract: Gaussian heatmaps centred on the keypoints,
unit-vector PAFs on the cells within ``width`` cells of every limb (averaged where limbs overlap),
and offsets (dx, dy) from each cell centre to the nearest true keypoint, in cells.
"""


import numpy as np

from mapose.core import Skeleton
from mapose.decode.geometry import pixel_to_cell


def render(animals, skeleton, stride, shape, sigma=1.0, width=1.0):
    """Return heatmap (K,h,w), paf (2E,h,w), offset (2K,h,w) for ``animals`` (n, K, 2) pixels."""
    animals = np.asarray(animals, dtype=float)
    h, w = shape
    k = skeleton.n_keypoints
    rr, cc = np.mgrid[0:h, 0:w].astype(float)
    hm = np.zeros((k, h, w))
    off = np.zeros((2 * k, h, w))
    best = np.full((k, h, w), np.inf)
    for a in animals:
        for j in range(k):
            if not np.isfinite(a[j]).all():
                continue
            cx, cy = pixel_to_cell(a[j, 0], stride), pixel_to_cell(a[j, 1], stride)
            d2 = (cc - cx) ** 2 + (rr - cy) ** 2
            hm[j] = np.maximum(hm[j], np.exp(-d2 / (2 * sigma**2)))
            closer = d2 < best[j]
            best[j] = np.where(closer, d2, best[j])
            off[2 * j] = np.where(closer, cx - cc, off[2 * j])
            off[2 * j + 1] = np.where(closer, cy - rr, off[2 * j + 1])
    e = skeleton.n_edges
    paf = np.zeros((2 * e, h, w))
    cnt = np.zeros((e, h, w))
    for a in animals:
        for i, (s, d) in enumerate(skeleton.edges):
            if not (np.isfinite(a[s]).all() and np.isfinite(a[d]).all()):
                continue
            p0 = np.array([pixel_to_cell(a[s, 0], stride), pixel_to_cell(a[s, 1], stride)])
            p1 = np.array([pixel_to_cell(a[d, 0], stride), pixel_to_cell(a[d, 1], stride)])
            v = p1 - p0
            length = np.hypot(*v)
            u = v / length
            px, py = cc - p0[0], rr - p0[1]
            along = px * u[0] + py * u[1]
            across = np.abs(px * u[1] - py * u[0])
            on = (along >= -width) & (along <= length + width) & (across <= width)
            paf[2 * i] += on * u[0]
            paf[2 * i + 1] += on * u[1]
            cnt[i] += on
    paf /= np.repeat(np.maximum(cnt, 1), 2, axis=0)
    return hm.astype(np.float32), paf.astype(np.float32), off.astype(np.float32)



def fly_skeleton():
    return Skeleton.from_names(
        ["head", "thorax", "abdomen", "wingL", "wingR"],
        edges=[("thorax", "head"), ("thorax", "abdomen"), ("thorax", "wingL"), ("thorax", "wingR")],
        symmetry=[("wingL", "wingR")],
    )


def fly(x, y, angle=0.0, size=12.0):
    """Keypoints (5, 2) of a fly whose thorax is at (x, y), heading ``angle`` (radians)."""
    local = np.array([[size, 0], [0, 0], [-size, 0], [-0.6 * size, 0.6 * size],
                      [-0.6 * size, -0.6 * size]])
    c, s = np.cos(angle), np.sin(angle)
    rot = local @ np.array([[c, s], [-s, c]])
    return rot + np.array([x, y])
