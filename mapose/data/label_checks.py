"""Likely labelling mistakes in person-placed keypoints, found before they cost accuracy.

A handful of wrong labels set the error of a model trained on 50-200 frames (and the error it is
scored with).  :func:`check_labels` looks at every labelled animal and reports:

- ``left_right_swap``: a symmetric pair (``wingL``/``wingR``) sits much closer to the animals'
  typical posture when swapped.  Each animal is rotated onto a median posture (Procrustes, no
  mirroring); the pair is flagged when swapping it more than halves its distance to the posture
  and gains more than twice that pair's usual distance (and a tenth of a typical animal's radius).
- ``wrong_side``: a left/right pair lies on the two sides of the body axis the other way round
  from how nearly all labelled animals have it (:func:`mapose.decode.sides.learn_body_sides`: the
  axis through the two unpaired parts farthest apart, a rule kept by at least 90 % of the animals
  whose pair lies apart).  It finds swaps that the posture check above misses: a pair whose usual
  places nearly coincide (a fly's folded wing tips) fits the median posture about as badly either
  way round when the animal holds it apart (spread wings).
- ``limb_length``: an edge of the skeleton far longer or shorter than in the other animals
  (robust z-score: distance from the median in units of 1.4826 x MAD, the MAD floored at a tenth
  of the median so rigid limbs do not flag sub-pixel noise).
- ``duplicate_instance``: two animals in one frame placed on top of each other (mean keypoint
  distance under 5 % of a typical animal's radius): an instance added twice.
- ``stacked_keypoints``: two body parts at the same pixel (under 1 px apart) that are usually
  more than 10 px apart: a part left where the labelling tool put it.
- ``outside_image``: a keypoint off the image (when the image size is known).

Nothing is changed: the report names video, frame, animal and body parts, for a person to look at.
Training can leave the flagged body parts out (``data: {suspect_labels: leave_out}``,
:func:`suspect_keypoint_mask`); by default it trains on the labels as they are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
import warnings
from typing import Mapping, Optional

import numpy as np

from mapose.core.labels import Labels

KINDS = ("left_right_swap", "wrong_side", "limb_length", "duplicate_instance", "stacked_keypoints",
         "outside_image")


@dataclass(frozen=True)
class LabelIssue:
    """One likely mistake: ``instance`` indexes ``labels.instances``; ``animal`` is its position
    among the frame's labelled animals; ``score`` orders issues of a kind (larger = surer)."""

    kind: str
    video: str
    frame: int
    image: int
    instance: int
    animal: int
    keypoints: tuple[str, ...]
    score: float
    message: str

    def to_dict(self) -> dict:
        d = asdict(self)
        d["keypoints"] = list(self.keypoints)
        return d


def summary(issues: list[LabelIssue]) -> str:
    """Issues counted by kind, e.g. ``3 left right swap, 5 limb length`` (``none`` if empty)."""
    from collections import Counter

    counts = Counter(s.kind for s in issues)
    return ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items()) or "none"


def _rotate_onto(x: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Each ``(K, 2)`` instance of ``x`` (``(N, K, 2)``, NaN = missing) translated and rotated (no
    mirroring) onto ``template`` over the keypoints both have; NaN where the instance has fewer than
    two such keypoints."""
    m = np.isfinite(x).all(-1) & np.isfinite(template).all(-1)[None]  # (N, K)
    cnt = m.sum(1)
    w = m[..., None]
    xs = np.where(w, x, 0.0)
    ts = np.where(w, template[None], 0.0)
    cx = xs.sum(1) / np.maximum(cnt, 1)[:, None]
    ct = ts.sum(1) / np.maximum(cnt, 1)[:, None]
    a = np.where(w, x - cx[:, None], 0.0)
    b = np.where(w, template[None] - ct[:, None], 0.0)
    dot = (a * b).sum((1, 2))
    cross = (a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]).sum(1)
    th = np.arctan2(cross, dot)
    c, s = np.cos(th)[:, None], np.sin(th)[:, None]
    xc = x - cx[:, None]
    out = np.stack([c * xc[..., 0] - s * xc[..., 1], s * xc[..., 0] + c * xc[..., 1]], -1) + ct[:, None]
    out[cnt < 2] = np.nan
    return out


def median_posture(x: np.ndarray, iterations: int = 5) -> np.ndarray:
    """``(K, 2)`` median posture of the instances ``x`` (``(N, K, 2)``), each rotated onto it."""
    with np.errstate(invalid="ignore"):
        template = x[int(np.argmax(np.isfinite(x).all(-1).sum(1)))].copy()
        template -= np.nanmean(template, axis=0)
        for _ in range(iterations):
            aligned = _rotate_onto(x, template)
            if np.isnan(aligned).all():
                break
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # body parts never labelled
                new = np.nanmedian(aligned, axis=0)
            template = np.where(np.isfinite(new), new, template)
            template -= np.nanmean(template, axis=0)
    return template


def check_labels(
    labels: Labels,
    z: float = 6.0,
    image_sizes: Optional[Mapping[str, tuple[int, int]]] = None,
) -> list[LabelIssue]:
    """Likely mistakes among the person-placed instances of ``labels`` (see the module text).

    ``z``: robust z-score from which a limb length is flagged.  ``image_sizes``: ``{video or image
    path: (height, width)}`` for the off-image check (paths as in ``labels.images``).
    Returns issues grouped by kind (order of :data:`KINDS`), surest first.
    """
    from mapose.core.skeleton import Skeleton, tree_edges

    sk = labels.skeleton
    names = sk.keypoints
    inst = labels.instances
    user = np.flatnonzero(np.asarray(labels.is_user, bool)) if labels.is_user is not None \
        else np.arange(len(inst.frame))
    x = np.asarray(inst.keypoints, np.float64)[user]
    frames = np.asarray(inst.frame)[user]
    keys = labels.frame_keys()
    animal = np.zeros(len(user), int)
    for f in np.unique(frames):
        idx = np.flatnonzero(frames == f)
        animal[idx] = np.arange(len(idx))
    issues: list[LabelIssue] = []

    def add(kind, j, kps, score, msg):
        v, fr = keys[int(frames[j])]
        issues.append(LabelIssue(kind, str(v), int(fr), int(frames[j]), int(user[j]), int(animal[j]),
                                 tuple(kps), float(score), msg))

    if len(x) == 0:
        return []
    finite = np.isfinite(x).all(-1)
    # as in training: left/right pairs guessed from the names, edges from the nearest body parts
    # when the label file names none
    symmetry = sk.symmetry or Skeleton.from_names(names, (), Skeleton.guess_symmetry(names)).symmetry
    edges = sk.edges or tuple(tree_edges([x], len(names)))
    radii = [np.sqrt(np.mean(((p - p.mean(0)) ** 2).sum(-1))) for p in (q[np.isfinite(q).all(-1)] for q in x)
             if len(p) >= 2]
    size = float(np.median(radii)) if radii else np.nan  # typical animal radius, px

    # left/right swaps against the median posture
    if len(x) >= 5 and symmetry and np.isfinite(size):
        template = median_posture(x)
        y = _rotate_onto(x, template)
        for a, b in symmetry:
            ok = finite[:, a] & finite[:, b] & np.isfinite(y[:, a]).all(-1)
            if ok.sum() < 5 or not np.isfinite(template[[a, b]]).all():
                continue
            e0 = np.linalg.norm(y[:, a] - template[a], axis=1) + np.linalg.norm(y[:, b] - template[b], axis=1)
            e1 = np.linalg.norm(y[:, b] - template[a], axis=1) + np.linalg.norm(y[:, a] - template[b], axis=1)
            usual = float(np.median(e0[ok]))
            gain = e0 - e1
            hit = ok & (e1 < 0.5 * e0) & (gain > max(2 * usual, 0.1 * size))
            for j in np.flatnonzero(hit):
                add("left_right_swap", j, (names[a], names[b]), gain[j],
                    f"{names[a]} and {names[b]} look swapped: swapping them brings the pair "
                    f"{gain[j]:.0f} px closer to the usual posture (usual distance {usual:.0f} px)")

    # left/right pairs on the sides of the body axis the other animals have them the other way round
    if symmetry:
        from mapose.decode.sides import learn_body_sides, side_of

        rule = learn_body_sides(x, Skeleton.from_names(names, (), [(names[a], names[b]) for a, b in symmetry]))
        if rule is not None:
            p, q = rule.axis
            swapped = {(i.instance, i.keypoints) for i in issues}
            for a, b in symmetry:
                if not rule.side[a]:
                    continue
                sa, sb = side_of(x[:, a], x[:, p], x[:, q]), side_of(x[:, b], x[:, p], x[:, q])
                agree = int(((sa == rule.side[a]) & (sb == rule.side[b])).sum())
                for j in np.flatnonzero((sa == -rule.side[a]) & (sb == -rule.side[b])):
                    if (int(user[j]), (names[a], names[b])) in swapped:
                        continue
                    off = np.linalg.norm(x[j, a] - x[j, b])
                    add("wrong_side", j, (names[a], names[b]), off,
                        f"{names[a]} and {names[b]} lie on the other sides of the {names[p]}-{names[q]} "
                        f"axis than in {agree} other labelled animals: swapped?")

    # limb lengths
    for a, b in edges:
        length = np.linalg.norm(x[:, a] - x[:, b], axis=1)
        ok = np.isfinite(length)
        if ok.sum() < 8:
            continue
        med = float(np.median(length[ok]))
        scale = max(1.4826 * float(np.median(np.abs(length[ok] - med))), 0.1 * med, 1e-6)
        zs = (length - med) / scale
        for j in np.flatnonzero(ok & (np.abs(np.nan_to_num(zs)) >= z)):
            word = "longer" if zs[j] > 0 else "shorter"
            add("limb_length", j, (names[a], names[b]), abs(zs[j]),
                f"{names[a]}-{names[b]} is {length[j]:.0f} px, {word} than usual "
                f"(median {med:.0f} px, robust z {zs[j]:+.1f})")

    # two animals on top of each other
    if np.isfinite(size):
        for f in np.unique(frames):
            idx = np.flatnonzero(frames == f)
            for i, p in enumerate(idx):
                for q in idx[i + 1:]:
                    d = np.linalg.norm(x[p] - x[q], axis=1)
                    if np.isfinite(d).sum() >= 2 and np.nanmean(d) < 0.05 * size:
                        add("duplicate_instance", q, (), 0.05 * size / max(np.nanmean(d), 1e-3),
                            f"animals {animal[p]} and {animal[q]} of this frame lie on top of each "
                            f"other (mean keypoint distance {np.nanmean(d):.1f} px): added twice?")

    # body parts stacked on one pixel that are usually apart
    if len(x) >= 5:
        d = np.linalg.norm(x[:, :, None] - x[:, None, :], axis=-1)  # (N, K, K)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # pairs never labelled together
            usual = np.nanmedian(d, axis=0)
        iu = np.triu_indices(len(names), 1)
        for a, b in zip(*iu):
            if not np.isfinite(usual[a, b]) or usual[a, b] <= 10:
                continue
            for j in np.flatnonzero(np.nan_to_num(d[:, a, b], nan=np.inf) < 1.0):
                add("stacked_keypoints", j, (names[a], names[b]), usual[a, b],
                    f"{names[a]} and {names[b]} are {d[j, a, b]:.1f} px apart, usually "
                    f"{usual[a, b]:.0f} px: one left where it was placed?")

    # off the image
    if image_sizes:
        for j in range(len(x)):
            ref = labels.images[int(frames[j])]
            hw = image_sizes.get(ref.video or ref.image)
            if hw is None:
                continue
            h, w = hw
            pts = x[j]
            out = finite[j] & ((pts[:, 0] < -0.5) | (pts[:, 1] < -0.5) | (pts[:, 0] > w - 0.5)
                               | (pts[:, 1] > h - 0.5))
            if out.any():
                bad = [names[k] for k in np.flatnonzero(out)]
                add("outside_image", j, bad, float(out.sum()),
                    f"{', '.join(bad)} outside the {w}x{h} image")

    order = {k: i for i, k in enumerate(KINDS)}
    issues.sort(key=lambda s: (order[s.kind], -s.score))
    return issues


def suspect_keypoint_mask(labels: Labels, issues: list[LabelIssue]) -> np.ndarray:
    """``(n_instances, K)`` bool: the labelled body parts that ``issues`` name, for training that
    leaves likely labelling mistakes out (``data.suspect_labels: leave_out``; training treats them
    as unknown -- left out of the loss around their animal -- rather than as out of view).

    Both parts of a flagged pair or limb are marked, since the check cannot tell which one is
    wrong; an instance placed twice (``duplicate_instance``) has all its parts marked.
    """
    kp = np.asarray(labels.instances.keypoints, dtype=np.float64)
    mask = np.zeros(kp.shape[:2], bool)
    index = {n: k for k, n in enumerate(labels.skeleton.keypoints)}
    for s in issues:
        parts = [index[n] for n in s.keypoints] if s.keypoints else list(range(kp.shape[1]))
        mask[s.instance, parts] = True
    return mask & np.isfinite(kp).all(axis=-1)
