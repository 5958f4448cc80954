"""How rare each labelled animal's posture is among the training labels, for balanced sampling.

A handful of labelled frames holds a few animals in unusual postures (a fly with a wing held out,
a mouse rearing) among many in the usual one. Drawn uniformly, those few are seen a few times per
epoch and the network learns them last, if at all. :func:`posture_rarity` scores each labelled
animal by how far its posture lies from its nearest labelled neighbours; training can then draw
animals with probability growing with that score (``data.balance_postures``).

A posture is described by the distances between every pair of body parts, divided by the
animal's size: the same for any position, heading, mirror image or distance from the camera, so
rotation/flip augmentation does not count as a new posture. Missing body parts leave their pairs
out of the comparison.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def posture_features(instances: np.ndarray) -> np.ndarray:
    """``(N, K, 2)`` keypoints (NaN = missing) -> ``(N, K*(K-1)/2)`` pairwise distances over size.

    The size is the root-mean-square distance of the visible parts from their mean. Pairs with a
    missing part, and animals with fewer than three visible parts, are NaN.
    """
    kp = np.asarray(instances, dtype=np.float64)
    n, k = kp.shape[:2]
    iu, ju = np.triu_indices(k, 1)
    d = np.hypot(kp[:, iu, 0] - kp[:, ju, 0], kp[:, iu, 1] - kp[:, ju, 1])
    vis = np.isfinite(kp).all(axis=2)
    count = np.maximum(vis.sum(axis=1), 1)
    centre = np.where(vis[..., None], kp, 0.0).sum(axis=1) / count[:, None]
    spread = np.where(vis, ((kp - centre[:, None]) ** 2).sum(axis=2), 0.0)
    size = np.sqrt(spread.sum(axis=1) / count)
    ok = (vis.sum(axis=1) >= 3) & (size > 0)
    out = np.full_like(d, np.nan)
    out[ok] = d[ok] / size[ok, None]
    return out


def _pair_distances(feat: np.ndarray, min_shared: int) -> np.ndarray:
    """RMS difference over the pairs two animals share (inf when they share fewer)."""
    n = len(feat)
    valid = np.isfinite(feat)
    f = np.where(valid, feat, 0.0)
    v = valid.astype(np.float64)
    # sum over shared pairs of (a - b)^2 = a^2.vb + b^2.va - 2 a.b, each restricted to shared pairs
    sq = f ** 2
    shared = v @ v.T
    ssd = sq @ v.T + v @ sq.T - 2.0 * (f @ f.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.sqrt(np.clip(ssd, 0, None) / shared)
    dist[shared < min_shared] = np.inf
    dist[np.arange(n), np.arange(n)] = np.inf
    return dist


def posture_rarity(keypoints: Sequence[np.ndarray], neighbours: int = 3,
                   max_animals: int = 4000) -> list[np.ndarray]:
    """Rarity of each labelled animal, per image: ``(n_i,)`` arrays, mean 1 over scored animals.

    ``keypoints``: ``(n_i, K, 2)`` per image (:attr:`PoseSamples.keypoints`). The score is the mean
    posture distance (:func:`posture_features`) to the ``neighbours`` most similar other animals,
    divided by its mean over all animals. Animals that cannot be compared (fewer than three visible
    parts, or too few pairs in common with the others) get 1. Above ``max_animals`` animals the
    neighbours are looked for among an evenly spaced subset of that many (memory and time stay
    bounded; a rare posture stays rare in a subset).
    """
    sizes = [len(k) for k in keypoints]
    if not sizes or sum(sizes) == 0:
        return [np.ones(s) for s in sizes]
    allkp = np.concatenate([np.asarray(k, dtype=np.float64).reshape(len(k), -1, 2)
                            for k in keypoints if len(k)])
    n, k = allkp.shape[:2]
    feat = posture_features(allkp)
    usable = np.isfinite(feat).sum(axis=1) >= 3
    score = np.full(n, np.nan)
    idx = np.nonzero(usable)[0]
    if len(idx) > neighbours:
        ref = idx if len(idx) <= max_animals else idx[np.linspace(0, len(idx) - 1, max_animals).round().astype(int)]
        min_shared = max(3, (k * (k - 1) // 2) // 4)
        for lo in range(0, len(idx), 1024):
            q = idx[lo:lo + 1024]
            both = np.concatenate([feat[q], feat[ref]])
            d = _pair_distances(both, min_shared)[: len(q), len(q):]
            # an animal in the reference subset is not its own neighbour
            d[np.equal.outer(q, ref)] = np.inf
            near = np.sort(d, axis=1)[:, :neighbours]
            ok = np.isfinite(near)
            count = ok.sum(axis=1)
            mean = np.where(ok, near, 0.0).sum(axis=1) / np.maximum(count, 1)
            score[q] = np.where(count > 0, mean, np.nan)  # no comparable neighbour: scored 1 below
    good = np.isfinite(score)
    out = np.ones(n)
    if good.any() and np.mean(score[good]) > 0:
        out[good] = score[good] / np.mean(score[good])
    return list(np.split(out, np.cumsum(sizes)[:-1]))


def sampling_weights(keypoints: Sequence[np.ndarray], strength: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """Probabilities for drawing training images and, within each, its animals.

    ``strength`` 0 gives the uniform draw (every image alike, then every animal of it alike);
    ``strength`` s > 0 multiplies each animal's share by ``rarity ** s`` (:func:`posture_rarity`),
    images without labelled animals keeping a factor of 1. Returns ``(image_p, animal_p)``: the
    image probabilities (sum 1) and, per image, its animals' probabilities given the image (sum 1,
    empty for an image without animals).
    """
    n_img = len(keypoints)
    present = [np.isfinite(np.asarray(k, dtype=np.float64)).all(axis=-1).any(axis=-1) if len(k)
               else np.zeros(0, bool) for k in keypoints]
    if strength <= 0:
        rar = [np.ones(len(k)) for k in keypoints]
    else:
        rar = [r ** float(strength) for r in posture_rarity(keypoints)]
    img_w = np.ones(n_img)
    animal_p = []
    for i in range(n_img):
        w = np.where(present[i], rar[i], 0.0)
        if w.sum() > 0:
            img_w[i] = w.sum() / present[i].sum()
            animal_p.append(w / w.sum())
        else:
            animal_p.append(np.zeros(len(w)))
    return img_w / img_w.sum(), animal_p
