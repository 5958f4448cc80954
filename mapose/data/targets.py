"""Target encoders: keypoints -> confidence maps, part-affinity fields, offset maps (numpy).

All encoders take keypoints in model-input pixels (pixel centres at integer coordinates) and
produce maps on the output grid of a given ``stride``; cell centres follow
:func:`mapose.decode.geometry.cell_to_pixel`, the convention the decoders use.  Missing
keypoints (NaN) are skipped.

Shapes (``K`` keypoints, ``E`` edges, ``n`` instances, ``h = ceil(H / stride)``,
``w = ceil(W / stride)``): heatmap ``(K, h, w)``, PAF ``(2E, h, w)`` (channel ``2e`` = x,
``2e + 1`` = y of the unit vector source -> destination), offsets ``(2K, h, w)`` (channel ``2k`` =
dx, ``2k + 1`` = dy, output cells) with a mask ``(K, h, w)``; loss weights for unknown body parts
heatmap ``(K, h, w)`` and PAF ``(E, h, w)`` (:func:`encode_unknown_weights`).
"""

from __future__ import annotations

import math

import numpy as np

from mapose.decode.geometry import cell_to_pixel, pixel_to_cell


def output_shape(height: int, width: int, stride: int) -> tuple[int, int]:
    """Output grid ``(h, w) = (ceil(H / stride), ceil(W / stride))`` for an ``H x W`` input."""
    return int(math.ceil(height / stride)), int(math.ceil(width / stride))


def _check_kps(keypoints: np.ndarray) -> np.ndarray:
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[-1] != 2:
        raise ValueError(f"keypoints must have shape (n_instances, K, 2); got {kp.shape}")
    return kp


def encode_heatmap(keypoints: np.ndarray, shape: tuple[int, int], stride: int, sigma: float) -> np.ndarray:
    """Gaussian confidence maps, the maximum over instances.

    Parameters
    ----------
    keypoints
        ``(n, K, 2)`` x, y in model-input pixels (NaN = missing).
    shape
        Output grid ``(h, w)``.
    stride
        Output stride (pixels per cell).
    sigma
        Gaussian standard deviation in model-input pixels.

    Returns
    -------
    ndarray
        ``(K, h, w)`` float32 in [0, 1]; 1 at a keypoint lying exactly on a cell centre.
    """
    kp = _check_kps(keypoints)
    h, w = shape
    n, k, _ = kp.shape
    xs = cell_to_pixel(np.arange(w), stride)
    ys = cell_to_pixel(np.arange(h), stride)
    out = np.zeros((k, h, w), np.float32)
    if n == 0:
        return out
    gx = np.exp(-((xs[None, None, :] - kp[..., 0:1]) ** 2) / (2 * sigma**2))  # (n,K,w)
    gy = np.exp(-((ys[None, None, :] - kp[..., 1:2]) ** 2) / (2 * sigma**2))  # (n,K,h)
    g = gy[..., :, None] * gx[..., None, :]  # (n,K,h,w)
    g = np.nan_to_num(g, nan=0.0)
    return g.max(axis=0).astype(np.float32)


def encode_paf(
    keypoints: np.ndarray,
    edges: np.ndarray,
    shape: tuple[int, int],
    stride: int,
    width: float,
) -> np.ndarray:
    """Part-affinity fields: unit vectors along each edge inside a band of half-width ``width``.

    Where the bands of several instances overlap, the vectors are averaged.

    Parameters
    ----------
    keypoints
        ``(n, K, 2)`` in model-input pixels.
    edges
        ``(E, 2)`` int (source, destination) keypoint indices.
    shape, stride
        Output grid and stride.
    width
        Half-width of the band around the segment, in model-input pixels.

    Returns
    -------
    ndarray
        ``(2E, h, w)`` float32.
    """
    kp = _check_kps(keypoints)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    h, w = shape
    e = len(edges)
    out = np.zeros((2 * e, h, w), np.float32)
    if e == 0 or len(kp) == 0:
        return out
    X = cell_to_pixel(np.arange(w), stride)[None, None, :]  # (1, 1, w) cell centres in pixels
    Y = cell_to_pixel(np.arange(h), stride)[None, :, None]  # (1, h, 1)
    acc = np.zeros((2, e, h, w), np.float64)
    cnt = np.zeros((e, h, w), np.float64)
    for inst in kp:  # every edge at once, one instance at a time (memory: E x h x w)
        pa, pb = inst[edges[:, 0]], inst[edges[:, 1]]  # (E, 2)
        v = pb - pa
        length = np.hypot(v[:, 0], v[:, 1])
        ok = np.isfinite(pa).all(1) & np.isfinite(pb).all(1) & (length >= 1e-6)
        if not ok.any():
            continue
        pa, length = pa[ok], length[ok]
        u = v[ok] / length[:, None]
        ux, uy = u[:, 0, None, None], u[:, 1, None, None]
        dx, dy = X - pa[:, 0, None, None], Y - pa[:, 1, None, None]  # (e, h, w)
        along = dx * ux + dy * uy
        across = np.abs(dx * uy - dy * ux)
        m = (along >= -width) & (along <= length[:, None, None] + width) & (across <= width)
        acc[0, ok] += m * ux
        acc[1, ok] += m * uy
        cnt[ok] += m
    nz = cnt > 0
    mean = np.divide(acc, cnt, out=np.zeros_like(acc), where=nz)  # averaged where bands overlap
    out[0::2] = mean[0]
    out[1::2] = mean[1]
    return out


def encode_offsets(
    keypoints: np.ndarray, shape: tuple[int, int], stride: int, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sub-cell offsets from each cell near a keypoint to that keypoint (in output cells).

    Parameters
    ----------
    keypoints
        ``(n, K, 2)`` in model-input pixels.
    shape, stride
        Output grid and stride.
    radius
        Cells whose centre lies within ``radius`` cells of the keypoint are supervised; where two
        instances compete for a cell, the nearer keypoint wins.

    Returns
    -------
    offsets : ndarray
        ``(2K, h, w)`` float32: ``dx = u - col``, ``dy = v - row`` where ``(u, v)`` is the keypoint
        in cell coordinates, so that ``x = cell_to_pixel(col + dx)``.
    mask : ndarray
        ``(K, h, w)`` float32, 1 where supervised.
    """
    kp = _check_kps(keypoints)
    h, w = shape
    n, k, _ = kp.shape
    off = np.zeros((2 * k, h, w), np.float32)
    mask = np.zeros((k, h, w), np.float32)
    best = np.full((k, h, w), np.inf)
    cols, rows = np.arange(w)[None, None, :], np.arange(h)[None, :, None]
    for inst in kp:  # every keypoint at once, one instance at a time (memory: K x h x w)
        u, v = pixel_to_cell(inst[:, 0], stride), pixel_to_cell(inst[:, 1], stride)  # (K,)
        ok = np.isfinite(u) & np.isfinite(v)
        u = np.where(ok, u, 0.0)[:, None, None]
        v = np.where(ok, v, 0.0)[:, None, None]
        d2 = (cols - u) ** 2 + (rows - v) ** 2  # (K, h, w)
        m = ok[:, None, None] & (d2 <= radius**2) & (d2 < best)  # the nearer keypoint wins
        best[m] = d2[m]
        off[0::2][m] = np.broadcast_to(u - cols, m.shape)[m]
        off[1::2][m] = np.broadcast_to(v - rows, m.shape)[m]
        mask[m] = 1.0
    return off, mask


def encode_unknown_weights(
    keypoints: np.ndarray,
    unknown: np.ndarray,
    edges: np.ndarray,
    shape: tuple[int, int],
    stride: int,
    margin: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Loss weights that leave unknown body parts out of training around their animal.

    A part nobody labelled (``unknown``) may lie anywhere near its animal, so its confidence map --
    and the fields of the edges that touch it -- get weight 0 over the box of the animal's labelled
    keypoints grown by ``margin`` pixels on each side (the whole map for an animal without any), and
    1 elsewhere: away from the animal the map is still taught to stay empty.

    Parameters
    ----------
    keypoints
        ``(n, K, 2)`` in model-input pixels (NaN = missing).
    unknown
        ``(n, K)`` bool, True for the unknown parts.
    edges
        ``(E, 2)`` keypoint indices.
    shape, stride
        Output grid and stride.
    margin
        Pixels added around the labelled keypoints (about an animal's length).

    Returns
    -------
    heatmap_weight : ndarray
        ``(K, h, w)`` float32.
    paf_weight : ndarray
        ``(E, h, w)`` float32.
    """
    kp = _check_kps(keypoints)
    unknown = np.asarray(unknown, bool).reshape(kp.shape[:2])
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    h, w = shape
    hw = np.ones((kp.shape[1], h, w), np.float32)
    pw = np.ones((len(edges), h, w), np.float32)
    xs, ys = cell_to_pixel(np.arange(w), stride), cell_to_pixel(np.arange(h), stride)
    for inst, unk in zip(kp, unknown):
        if not unk.any():
            continue
        pts = inst[np.isfinite(inst).all(axis=1)]
        if len(pts):
            (x0, y0), (x1, y1) = pts.min(axis=0) - margin, pts.max(axis=0) + margin
            box = ((ys >= y0) & (ys <= y1))[:, None] & ((xs >= x0) & (xs <= x1))[None, :]
        else:
            box = np.ones((h, w), bool)
        hw[unk] *= ~box
        if len(edges):
            pw[unk[edges[:, 0]] | unk[edges[:, 1]]] *= ~box
    return hw, pw


def decode_targets_argmax(
    heatmap: np.ndarray, offsets: np.ndarray | None, stride: int
) -> np.ndarray:
    """Single-peak read-out of target maps: arg-max cell plus offset, in model-input pixels.

    Only meant to check encoders (and for single-animal sanity checks); multi-animal decoding
    lives in :mod:`mapose.decode`.

    Returns
    -------
    ndarray
        ``(K, 2)`` x, y in model-input pixels.
    """
    k, h, w = heatmap.shape
    flat = heatmap.reshape(k, -1).argmax(axis=1)
    r, c = np.divmod(flat, w)
    x, y = c.astype(np.float64), r.astype(np.float64)
    if offsets is not None:
        x = x + offsets[0::2][np.arange(k), r, c]
        y = y + offsets[1::2][np.arange(k), r, c]
    return np.stack([cell_to_pixel(x, stride), cell_to_pixel(y, stride)], axis=-1)
