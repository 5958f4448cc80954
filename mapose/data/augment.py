"""Keypoint-respecting augmentation: one affine warp (rotation, scale, translation, flips) plus
photometric changes (brightness, contrast, blur, noise).  Pure functions of arrays; fast
(``cv2.warpAffine``).

Flips swap left/right keypoints with ``Skeleton.flip_permutation()`` so that a mirrored
``wingL`` is still labelled ``wingL``.
"""

from __future__ import annotations

import math
from typing import Optional

import cv2
import numpy as np


def affine_matrix(
    center: tuple[float, float],
    out_size: tuple[int, int],
    angle_deg: float = 0.0,
    scale: float = 1.0,
    flip: bool = False,
) -> np.ndarray:
    """2x3 matrix mapping source pixels to an ``out_size = (width, height)`` crop.

    The source point ``center`` lands on the crop centre ``((W - 1) / 2, (H - 1) / 2)``; the image is
    mirrored left/right (before rotation) when ``flip``, rotated by ``angle_deg`` (counter-clockwise
    on screen) and scaled by ``scale``.
    """
    cx, cy = center
    ow, oh = out_size
    a = math.radians(angle_deg)
    c, s = math.cos(a) * scale, math.sin(a) * scale
    f = -1.0 if flip else 1.0
    # rotation (y axis points down, so a screen-CCW rotation uses -angle in image coordinates)
    lin = np.array([[c * f, s], [-s * f, c]], dtype=np.float64)
    t = np.array([(ow - 1) / 2.0, (oh - 1) / 2.0]) - lin @ np.array([cx, cy], dtype=np.float64)
    return np.hstack([lin, t[:, None]])


def transform_keypoints(keypoints: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine ``matrix`` to ``(..., 2)`` keypoints (NaN stays NaN)."""
    kp = np.asarray(keypoints, dtype=np.float64)
    return kp @ matrix[:, :2].T + matrix[:, 2]


def warp_image(image: np.ndarray, matrix: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """Warp ``image`` (H, W[, C]) uint8 with ``matrix`` into ``out_size = (width, height)``;
    outside pixels are black.  Channels are kept (a (H, W, 1) input stays 3-D)."""
    out = cv2.warpAffine(image, matrix, out_size, flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if image.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    return out


def photometric(
    image: np.ndarray,
    rng: np.random.Generator,
    brightness: float = 0.0,
    contrast: float = 0.0,
    blur_prob: float = 0.0,
    blur_sigma: float = 1.0,
    noise_std: float = 0.0,
) -> np.ndarray:
    """Random brightness (± fraction of 255), contrast (± fraction), Gaussian blur (with probability
    ``blur_prob``, sigma drawn in ``[0.3, blur_sigma]`` pixels) and additive Gaussian noise
    (``noise_std`` grey levels).  Returns uint8 of the same shape."""
    img = image.astype(np.float32)
    if contrast > 0:
        mean = float(img.mean())
        img = (img - mean) * rng.uniform(1 - contrast, 1 + contrast) + mean
    if brightness > 0:
        img = img + rng.uniform(-brightness, brightness) * 255.0
    if blur_prob > 0 and rng.random() < blur_prob:
        sig = rng.uniform(0.3, max(blur_sigma, 0.3))
        shape = img.shape
        img = cv2.GaussianBlur(img, (0, 0), sig).reshape(shape)
    if noise_std > 0:
        img = img + rng.normal(0.0, noise_std, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def erase_patch(image: np.ndarray, rng: np.random.Generator, max_area: float = 0.2) -> np.ndarray:
    """Random erasing (Zhong et al. 2017): one rectangle of ``image`` (covering 2 % to ``max_area``
    of it, aspect ratio 0.3-3.3) filled with random values, drawn for each pixel and channel (as in
    the paper; one value for all channels when the crop is grey).  Keypoints keep their labels, so
    the model learns to place body parts it cannot see from the rest of the animal.  Returns a copy
    (written with numpy: the crops are uint8 arrays, not the tensors torchvision's
    ``RandomErasing`` takes)."""
    h, w = image.shape[:2]
    area = rng.uniform(0.02, max(max_area, 0.02)) * h * w
    ratio = float(np.exp(rng.uniform(np.log(0.3), np.log(1 / 0.3))))
    eh = int(min(h, max(1, round(np.sqrt(area * ratio)))))
    ew = int(min(w, max(1, round(np.sqrt(area / ratio)))))
    y, x = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
    out = image.copy()
    shape = out[y:y + eh, x:x + ew].shape
    if out.ndim == 3 and out.shape[2] > 1 and (out == out[..., :1]).all():
        shape = shape[:2] + (1,)  # a grey video stored as colour: grey noise, not coloured specks
    out[y:y + eh, x:x + ew] = rng.integers(0, 256, shape, dtype=np.uint8)
    return out


def random_view(
    image: np.ndarray,
    keypoints: np.ndarray,
    out_size: tuple[int, int],
    rng: np.random.Generator,
    flip_permutation: np.ndarray,
    *,
    center: tuple[float, float],
    enabled: bool = True,
    rotation_deg: float = 180.0,
    scale: tuple[float, float] = (1.0, 1.0),
    translate_px: float = 0.0,
    hflip: float = 0.0,
    vflip: float = 0.0,
    brightness: float = 0.0,
    contrast: float = 0.0,
    blur_prob: float = 0.0,
    blur_sigma: float = 1.0,
    noise_std: float = 0.0,
    erase_prob: float = 0.0,
    erase_area: float = 0.2,
    unknown: Optional[np.ndarray] = None,
) -> tuple[np.ndarray, ...]:
    """One randomly augmented crop of ``image`` around ``center`` (pixels) and its keypoints.

    Parameters
    ----------
    image
        ``(H, W, C)`` uint8.
    keypoints
        ``(n, K, 2)`` in pixels of ``image`` (NaN = missing).
    out_size
        ``(width, height)`` of the crop.
    flip_permutation
        ``(K,)`` keypoint permutation applied by a mirror (``Skeleton.flip_permutation()``).
    unknown
        ``(n, K)`` bool body parts nobody labelled (:attr:`mapose.data.dataset.PoseSamples.unknown`),
        swapped with the keypoints by a mirror and returned third; ``None``: not returned.

    Returns
    -------
    image : ndarray
        ``(height, width, C)`` uint8.
    keypoints : ndarray
        ``(n, K, 2)`` in crop pixels, left/right swapped when mirrored.
    unknown : ndarray
        Only when ``unknown`` is given: ``(n, K)`` bool, left/right swapped when mirrored.
    """
    cx, cy = center
    angle, sc, flip = 0.0, 1.0, False
    if enabled:
        angle = rng.uniform(-rotation_deg, rotation_deg)
        sc = rng.uniform(*scale)
        cx += rng.uniform(-translate_px, translate_px)
        cy += rng.uniform(-translate_px, translate_px)
        flip = bool(rng.random() < hflip)
        if rng.random() < vflip:  # vertical mirror = horizontal mirror + 180 degree turn
            flip = not flip
            angle += 180.0
    m = affine_matrix((cx, cy), out_size, angle, sc, flip)
    img = warp_image(image, m, out_size)
    kp = transform_keypoints(keypoints, m)
    if flip:
        kp = kp[:, np.asarray(flip_permutation)]
        if unknown is not None:
            unknown = np.asarray(unknown)[:, np.asarray(flip_permutation)]
    if enabled:
        img = photometric(img, rng, brightness, contrast, blur_prob, blur_sigma, noise_std)
        if erase_prob > 0 and rng.random() < erase_prob:
            img = erase_patch(img, rng, erase_area)
    return (img, kp) if unknown is None else (img, kp, unknown)
