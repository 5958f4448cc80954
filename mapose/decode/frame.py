"""Frame-level decoding API: model outputs -> instances -> :class:`~mapose.core.Detections`."""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np

from mapose.core.detections import Detections
from mapose.core.skeleton import Skeleton
from mapose.decode.assembly import assemble
from mapose.decode.geometry import cell_to_pixel
from mapose.decode.paf import EDGE_LENGTH_SLACK
from mapose.decode.peaks import detect_peaks
from mapose.decode.sides import BodySides
from mapose.errors import ValidationError

#: One decoded frame: keypoints (n, K, 2) model-input pixels (NaN = missing), keypoint scores
#: (n, K) (NaN = missing) and instance scores (n,).
FrameResult = tuple[np.ndarray, np.ndarray, np.ndarray]


def decode_frame(
    heatmap: np.ndarray,
    paf: np.ndarray | None,
    offset: np.ndarray | None,
    skeleton: Skeleton,
    stride: float,
    *,
    peak_threshold: float = 0.1,
    max_animals: int | None = None,
    nms_radius: int = 1,
    max_peaks: int | None = 32,
    keep_singletons: bool = True,
    merge_radius: float | None = None,
    n_samples: int = 10,
    min_sample_score: float = 0.05,
    min_fraction: float = 0.8,
    max_length: float | None = None,
    edge_limits: np.ndarray | None = None,
    attach_score: float | None = 0.3,
    single_animal: bool = False,
    peak_weight: float = 1.0,
    coincident_radius: float | None = 1.0,
    body_sides: BodySides | None = None,
    max_extent: float | np.ndarray | None = None,
    min_keypoint_score: float = 0.0,
) -> FrameResult:
    """Decode one frame's model outputs into animal instances.

    Parameters
    ----------
    heatmap
        ``(K, h, w)`` keypoint probabilities in ``[0, 1]``.
    paf
        ``(2E, h, w)`` part-affinity fields of ``skeleton.edges``, or ``None``.
    offset
        ``(2K, h, w)`` sub-cell offsets (dx, dy per keypoint) in output cells, or ``None``
        (quadratic refinement on the heatmap instead).
    skeleton
        Keypoints and edges of the model.
    stride
        Output stride (model-input pixels per output cell).
    peak_threshold
        Minimum heatmap value of a keypoint candidate.
    max_animals
        Keep at most this many assembled animals per frame (the best instance scores).
    nms_radius, max_peaks
        Non-maximum-suppression window half-size (cells) and the cap on candidates per keypoint.
    keep_singletons
        Return unassembled candidates as one-keypoint, low-score instances (see
        :mod:`mapose.decode.assembly`); drop them later with :func:`filter_instances`.
    merge_radius
        Merge distance (output cells) of fragments of disconnected skeleton components.
    n_samples, min_sample_score, min_fraction, max_length, edge_limits
        PAF scoring options (:func:`mapose.decode.paf.score_connections`).
    attach_score
        PAF score that attaches a leftover fragment to a larger instance
        (:func:`mapose.decode.assembly.assemble`); ``None``: off.
    peak_weight, coincident_radius
        How heatmap peaks weigh in the ranking of connections, and the distance (output cells)
        under which two parts of one animal count as one spot to be separated
        (:func:`mapose.decode.assembly.assemble`).
    body_sides
        Which side of the body axis each left/right part is labelled on (the model's
        ``body_sides``, learned from its training labels): two parts of a pair left on one spot
        (both wing tips on one wing) may then separate onto a candidate of either one's channel on
        the other side (:func:`mapose.decode.assembly.assemble`, step 5).
    single_animal
        One animal per frame: every keypoint at its highest candidate, no assembly (``paf``,
        ``max_animals``, ``keep_singletons`` and the PAF options are not used).  The instance score
        is the sum of its keypoint scores / K, as for assembled animals.
    max_extent
        With ``single_animal``: how far apart two body parts of one animal may lie (output cells;
        :func:`animal_extent_limit`), one number for every two or a ``(K, K)`` array; no two parts
        are taken farther apart (:func:`_best_per_keypoint`); ``None``: no limit.
    min_keypoint_score
        Keypoints scored below this are reported missing, after assembly (candidates down to
        ``peak_threshold`` still link an animal's parts); animals left with none are dropped.
        0 (default): every keypoint assembled is reported (:func:`mask_low_scores`).

    Returns
    -------
    keypoints, keypoint_scores, instance_scores
        ``(n, K, 2)`` float64 x, y in model-input pixels (NaN = missing); ``(n, K)`` heatmap values
        (NaN = missing); ``(n,)`` instance scores.  Animals come first by decreasing score, then
        singletons.
    """
    hm = np.asarray(heatmap)
    k = skeleton.n_keypoints
    if hm.ndim != 3 or hm.shape[0] != k:
        raise ValidationError(
            f"heatmap has shape {hm.shape}; expected ({k} keypoints of the skeleton, h, w)"
        )
    if paf is not None and np.asarray(paf).shape[0] != 2 * skeleton.n_edges:
        raise ValidationError(
            f"paf has {np.asarray(paf).shape[0]} channels; expected 2 x {skeleton.n_edges} edges"
        )
    peaks = detect_peaks(hm, offset, threshold=peak_threshold, nms_radius=nms_radius,
                         max_peaks=max_peaks)
    if single_animal:
        return mask_low_scores(_best_per_keypoint(peaks, k, stride, max_extent), min_keypoint_score)
    asm = assemble(
        peaks, paf, skeleton.edges, k, max_animals=max_animals, keep_singletons=keep_singletons,
        merge_radius=merge_radius, n_samples=n_samples, min_sample_score=min_sample_score,
        min_fraction=min_fraction, max_length=max_length, edge_limits=edge_limits,
        attach_score=attach_score,
        peak_weight=peak_weight, coincident_radius=coincident_radius,
        sides=body_sides,
    )
    n = len(asm.members)
    has = asm.members >= 0
    idx = np.where(has, asm.members, 0)
    p = asm.peaks
    kp = np.full((n, k, 2), np.nan)
    kp[..., 0] = np.where(has, cell_to_pixel(p.col[idx], stride), np.nan)
    kp[..., 1] = np.where(has, cell_to_pixel(p.row[idx], stride), np.nan)
    ks = np.where(has, p.score[idx], np.nan)
    return mask_low_scores((kp, ks, asm.instance_scores.astype(np.float64)), min_keypoint_score)


def mask_low_scores(result: FrameResult, min_keypoint_score: float) -> FrameResult:
    """Report keypoints scored below ``min_keypoint_score`` as missing (NaN position and score) and
    drop the animals left with none; instance scores are kept as assembled."""
    if not min_keypoint_score > 0:
        return result
    kp, ks, ins = result
    low = ~(ks >= min_keypoint_score)
    kp = np.where(low[..., None], np.nan, kp)
    ks = np.where(low, np.nan, ks)
    keep = ~low.all(axis=1)
    return kp[keep], ks[keep], ins[keep]


def use_single_animal(model_single_animal: bool, max_animals: int | None,
                      requested: bool | None = None) -> bool:
    """Whether to decode one animal per frame: ``requested`` when given, else when the model is a
    single-animal model (``inference.single_animal``) and at most one animal is asked for."""
    if requested is not None:
        return bool(requested)
    return bool(model_single_animal) and (max_animals is None or max_animals <= 1)


def edge_length_limits(model, scale: float = 1.0):
    """Longest connection of each edge (output cells; ``edge_limits`` of
    :func:`mapose.decode.paf.score_connections`): the longest labelled length of the edge that the
    model recorded at training (``model.edge_max_length_px``, pixels of the labelled frames) times
    :data:`EDGE_LENGTH_SLACK`; ``scale``: the resize applied to frames before ``model.predict``.
    ``None`` for models trained before the lengths were recorded (no limit)."""
    lengths = getattr(model, "edge_max_length_px", None)
    if lengths is None:
        return None
    return EDGE_LENGTH_SLACK * np.asarray(lengths, dtype=np.float64) * float(scale) / float(model.stride)


def model_min_keypoint_score(model, requested: float | None = None) -> float:
    """``requested`` when given, else the model's ``inference.min_keypoint_score`` (0 for models
    that do not set it): keypoints scored lower are reported missing (:func:`mask_low_scores`)."""
    if requested is None:
        inference = getattr(getattr(model, "config", None), "inference", None)
        requested = getattr(inference, "min_keypoint_score", 0.0)
    value = float(requested)
    if not 0.0 <= value < 1.0:
        raise ValidationError(f"min_keypoint_score must be at least 0 and below 1, got {value:g}")
    return value


def check_peak_threshold(value: float, what: str = "peak_threshold") -> float:
    """``value`` when it is a usable confidence-map threshold (at least 0, below 1: the maps are
    probabilities); raises :class:`ValidationError` naming ``what`` otherwise."""
    v = float(value)
    if not 0.0 <= v < 1.0:
        raise ValidationError(f"{what} must be at least 0 and below 1 (confidence maps are probabilities), got {v:g}")
    return v


#: A single animal's body parts may lie at most this many times farther apart than the farthest
#: two of any animal in the training labels (:func:`animal_extent_limit`).
EXTENT_SLACK = 1.5


def animal_extent_limit(model, scale: float = 1.0):
    """Farthest distance between two body parts of one animal (output cells; ``max_extent`` of
    :func:`decode_frame`): the labelled distances the model recorded at training, times
    :data:`EXTENT_SLACK`; ``scale``: the resize applied to frames before ``model.predict``.

    A ``(K, K)`` array, one limit per two body parts (``model.part_distance_px``; two parts never
    labelled together get the largest distance), or a number, the same limit for every two
    (``model.animal_extent_px``: models trained before the per-part distances were recorded), or
    ``None`` for models trained before either (no limit)."""
    extent = getattr(model, "animal_extent_px", None)
    if extent is None or not np.isfinite(extent) or extent <= 0:
        return None
    to_cells = EXTENT_SLACK * float(scale) / float(model.stride)
    pairs = getattr(model, "part_distance_px", None)
    if pairs is None:
        return float(extent) * to_cells
    return np.where(np.isfinite(pairs), pairs, float(extent)) * to_cells


def _best_per_keypoint(peaks, k: int, stride: float,
                       max_extent: float | np.ndarray | None = None) -> FrameResult:
    """One instance of each keypoint's highest candidate (none when there is no candidate).

    With ``max_extent`` (output cells; one number, or a ``(K, K)`` array of one limit per two body
    parts) no two body parts are taken farther apart than that, however high a candidate peaks (a
    bright corner of the arena that looks like a tail base; a hind paw's look-alike in the mirror
    view, too far from the other paws of its view).  Starting
    from each keypoint's best candidate in turn, candidates are added best first when their
    keypoint is still free and they lie within ``max_extent`` of every part taken; the start whose
    parts score highest in sum wins.  A spurious peak gathers only its own score, the animal all of
    its parts.
    """
    if len(peaks) == 0:
        return np.zeros((0, k, 2)), np.zeros((0, k)), np.zeros(0)
    if max_extent is not None and len(peaks) > 1:
        order = np.argsort(-peaks.score, kind="stable")
        p = peaks.take(order)
        limit = np.asarray(max_extent, dtype=np.float64)
        if limit.ndim == 2:  # one limit per two body parts
            limit = limit[p.keypoint[:, None], p.keypoint[None, :]]
        near = np.hypot(p.col[:, None] - p.col[None, :], p.row[:, None] - p.row[None, :]) <= limit
        _, starts = np.unique(p.keypoint, return_index=True)  # each keypoint's best candidate
        best, best_sum = None, -1.0
        for s0 in starts:
            allowed = near[s0] & (p.keypoint != p.keypoint[s0])
            taken = [s0]
            while True:
                cand = np.flatnonzero(allowed)
                if not len(cand):
                    break
                j = cand[0]  # the best allowed candidate (sorted by score)
                taken.append(j)
                allowed &= near[j] & (p.keypoint != p.keypoint[j])
            total = float(p.score[taken].sum())
            if total > best_sum:
                best, best_sum = taken, total
        peaks = p.take(np.array(best))
    order = np.lexsort((-peaks.score, peaks.keypoint))  # by keypoint, best first
    kp_sorted = peaks.keypoint[order]
    first = order[np.r_[True, kp_sorted[1:] != kp_sorted[:-1]]]
    kp = np.full((1, k, 2), np.nan)
    ks = np.full((1, k), np.nan)
    idx = peaks.keypoint[first]
    kp[0, idx, 0] = cell_to_pixel(peaks.col[first], stride)
    kp[0, idx, 1] = cell_to_pixel(peaks.row[first], stride)
    ks[0, idx] = peaks.score[first]
    return kp, ks, np.array([np.nansum(ks) / k])


def decode_batch(
    outputs: Mapping[str, np.ndarray], skeleton: Skeleton, stride: float, **kwargs
) -> list[FrameResult]:
    """Decode a batch of model outputs (numpy arrays with a leading batch axis ``B``).

    Parameters
    ----------
    outputs
        ``{"heatmap": (B, K, h, w), "paf": (B, 2E, h, w) (optional), "offset": (B, 2K, h, w)
        (optional)}``.
    skeleton, stride, **kwargs
        As for :func:`decode_frame`.

    Returns
    -------
    list of FrameResult
        One ``(keypoints, keypoint_scores, instance_scores)`` per batch element.
    """
    if "heatmap" not in outputs:
        raise ValidationError(f"model outputs lack 'heatmap'; got {sorted(outputs)}")
    hm = np.asarray(outputs["heatmap"])
    paf = outputs.get("paf")
    off = outputs.get("offset")
    b = hm.shape[0]
    for name, arr in (("paf", paf), ("offset", off)):
        if arr is not None and np.asarray(arr).shape[0] != b:
            raise ValidationError(f"{name} has batch size {np.asarray(arr).shape[0]}; heatmap has {b}")
    return [
        decode_frame(hm[i], None if paf is None else paf[i], None if off is None else off[i],
                     skeleton, stride, **kwargs)
        for i in range(b)
    ]


def model_to_video(
    xy: np.ndarray, scale: float | Sequence[float] = 1.0, origin: Sequence[float] = (0.0, 0.0)
) -> np.ndarray:
    """Map model-input pixel coordinates back to the video's pixels.

    The model input is the video frame cropped at ``origin`` (x0, y0 in video pixels) then resized
    by ``scale`` (a number or ``(sx, sy)``) with OpenCV's pixel-centre convention
    (``x_model = (x_crop + 0.5) * s - 0.5``).  This inverts it:
    ``x_video = (x_model + 0.5) / s - 0.5 + x0``.

    Parameters
    ----------
    xy
        ``(..., 2)`` x, y in model-input pixels.
    """
    s = np.broadcast_to(np.asarray(scale, dtype=np.float64), (2,))
    if np.any(s <= 0):
        raise ValidationError(f"scale must be positive, got {scale}")
    o = np.asarray(origin, dtype=np.float64).reshape(2)
    return (np.asarray(xy, dtype=np.float64) + 0.5) / s - 0.5 + o


def to_detections(
    frames: Sequence[FrameResult],
    skeleton: Skeleton,
    frame_indices: Sequence[int],
    *,
    scale: float | Sequence[float] = 1.0,
    origin: Sequence[float] = (0.0, 0.0),
    n_frames: int = -1,
    fps: float | None = None,
    source: str = "",
) -> Detections:
    """Gather decoded frames into :class:`~mapose.core.Detections` in video pixels.

    Parameters
    ----------
    frames
        Results of :func:`decode_frame`, one per entry of ``frame_indices``.
    frame_indices
        Video frame index of each result.
    scale, origin
        How the model input was made from the video frame (see :func:`model_to_video`).
    n_frames, fps, source
        Passed to :class:`~mapose.core.Detections`.
    """
    if len(frames) != len(frame_indices):
        raise ValidationError(
            f"{len(frames)} decoded frames but {len(frame_indices)} frame indices"
        )
    k = skeleton.n_keypoints
    counts = [len(f[2]) for f in frames]
    frame = np.repeat(np.asarray(frame_indices, dtype=np.int64), counts)
    if sum(counts):
        kp = np.concatenate([f[0] for f in frames if len(f[2])])
        ks = np.concatenate([f[1] for f in frames if len(f[2])])
        inst = np.concatenate([f[2] for f in frames if len(f[2])])
    else:
        kp, ks, inst = np.zeros((0, k, 2)), np.zeros((0, k)), np.zeros(0)
    kp = model_to_video(kp, scale, origin)
    return Detections(frame=frame, keypoints=kp, keypoint_scores=ks, instance_scores=inst,
                      skeleton=skeleton, n_frames=n_frames, fps=fps, source=source)


def filter_instances(det: Detections, min_keypoints: int = 2, min_score: float = 0.0) -> Detections:
    """Drop instances with fewer than ``min_keypoints`` keypoints or a lower instance score.

    ``min_keypoints=2`` removes the singletons that :func:`decode_frame` keeps for unassembled
    keypoints (on a skeleton with more than one keypoint).
    """
    n_kp = np.isfinite(det.keypoints).all(-1).sum(-1)
    keep = (n_kp >= min(min_keypoints, det.n_keypoints)) & (det.instance_scores >= min_score)
    return replace(det.select(np.flatnonzero(keep)))


__all__ = ["FrameResult", "decode_batch", "decode_frame", "filter_instances", "mask_low_scores",
           "model_min_keypoint_score", "model_to_video", "to_detections"]
