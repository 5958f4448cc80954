"""The :class:`Tracker`: :class:`~mapose.core.Detections` in, ``Tracks`` with identities out."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import xarray as xr

from mapose.core import Detections, detections_to_tracks
from mapose.errors import ValidationError
from mapose.tracking.costs import body_sizes, centroids
from mapose.tracking.linking import LinkResult, link_frames
from mapose.tracking.stitching import (
    StitchResult,
    TrackletSummary,
    appearance_weight,
    candidate_links,
    link_costs,
    stitch_tracklets,
    summarise_tracklets,
)

SWAP_COLUMNS = ("frame", "animal_a", "animal_b", "reason", "confidence")


def _nearest_steps(frame: np.ndarray, cen: np.ndarray, max_pairs: int = 4000) -> np.ndarray:
    """Distance from each centroid to the nearest centroid of the next frame (pixels)."""
    ok = np.isfinite(cen).all(axis=1)
    frame, cen = frame[ok], cen[ok]
    if len(frame) < 2:
        return np.zeros(0)
    uniq = np.unique(frame)
    pairs = uniq[:-1][np.diff(uniq) == 1]
    if len(pairs) == 0:
        return np.zeros(0)
    if len(pairs) > max_pairs:
        pairs = pairs[np.linspace(0, len(pairs) - 1, max_pairs).round().astype(int)]
    lo = np.searchsorted(frame, pairs, side="left")
    mid = np.searchsorted(frame, pairs + 1, side="left")
    hi = np.searchsorted(frame, pairs + 1, side="right")
    dists = []
    for a, b, c in zip(lo, mid, hi):
        d = np.hypot(cen[a:b, None, 0] - cen[None, b:c, 0], cen[a:b, None, 1] - cen[None, b:c, 1])
        dists.append(d.min(axis=1))
    return np.concatenate(dists)


def _estimate_step(frame: np.ndarray, cen: np.ndarray) -> float:
    """Median distance from a centroid to the nearest centroid of the next frame (pixels)."""
    d = _nearest_steps(frame, cen)
    return float(np.median(d)) if len(d) else np.nan


def _estimate_spacing(frame: np.ndarray, cen: np.ndarray, max_frames: int = 4000) -> float:
    """Median distance between an animal and its nearest neighbour in the same frame (pixels)."""
    ok = np.isfinite(cen).all(axis=1)
    frame, cen = frame[ok], cen[ok]
    counts = np.bincount(frame) if len(frame) else np.zeros(0, int)
    multi = np.nonzero(counts >= 2)[0]
    if len(multi) == 0:
        return np.nan
    if len(multi) > max_frames:
        multi = multi[np.linspace(0, len(multi) - 1, max_frames).round().astype(int)]
    lo = np.searchsorted(frame, multi, side="left")
    hi = np.searchsorted(frame, multi, side="right")
    out = []
    for a, b in zip(lo, hi):
        c = cen[a:b]
        d = np.hypot(c[:, None, 0] - c[None, :, 0], c[:, None, 1] - c[None, :, 1])
        d[np.arange(b - a), np.arange(b - a)] = np.inf
        out.append(d.min(axis=1))
    return float(np.median(np.concatenate(out)))


def _tracklet_medians(tracklet: np.ndarray, values: np.ndarray, m: int) -> np.ndarray:
    """``(m,)`` median of ``values`` over each tracklet's detections (NaN counts as 1, as unknown
    scores do in stitching)."""
    use = np.nonzero(tracklet >= 0)[0]
    v = np.nan_to_num(np.asarray(values, float)[use], nan=1.0)
    order = np.lexsort((v, tracklet[use]))
    tr, v = tracklet[use][order], v[order]
    lo = np.searchsorted(tr, np.arange(m), side="left")
    hi = np.searchsorted(tr, np.arange(m), side="right")
    return 0.5 * (v[lo + (hi - lo - 1) // 2] + v[lo + (hi - lo) // 2])


def _from_frame(det: Detections, start: int) -> Detections:
    """``det`` with frames counted from ``start`` (the first frame of the part of a video it covers)."""
    start = int(start)
    if start == 0:
        return det
    if start < 0:
        raise ValidationError(f"start must be a frame number >= 0, got {start}")
    if len(det) and int(det.frame.min()) < start:
        raise ValidationError(f"a detection is in frame {int(det.frame.min())}, before the first frame {start} "
                              "of the part tracked")
    return replace(det, frame=det.frame - start, n_frames=max(int(det.n_frames) - start, 0))


class Tracker:
    """Multi-animal tracker: frame-to-frame Hungarian linking with a Kalman motion model, then
    global stitching of tracklets into ``n_animals`` identities (motion, body size, appearance).

    Parameters
    ----------
    n_animals
        Known number of animals.  When given, tracklets are stitched into exactly this many
        identities (min-cost flow over the whole video) and spurious tracklets are dropped.  When
        ``None`` the number varies (animals come and go): tracklets are joined across gaps where
        that costs less than ``new_identity_cost``, and parts of animals and background are left
        out (``min_track_keypoints``, ``min_track_score``); with all three 0 every tracklet is a
        track of its own.
    max_gap
        Frames a track may go undetected before the linker ends it.
    max_step
        Largest distance an animal may move per frame inside a tracklet, pixels/frame.  Learned
        by :meth:`fit` when ``None``: twice the ``step_quantile`` percentile of frame-to-frame
        nearest-detection distances (at least 4 typical steps, at most ``gate`` body sizes).
    step_quantile
        Percentile used to learn ``max_step``.
    gate
        Largest mean keypoint distance between a track's prediction and a detection, in body sizes.
    oks_weight
        Weight of ``1 - OKS`` in the linking cost (the rest is keypoint distance in body sizes).
    oks_kappa
        OKS tolerance, fraction of the body size.
    min_score
        Detections with a lower instance score are ignored.
    body_size
        Animal size in pixels (bounding-box diagonal of the keypoints).  Learned by :meth:`fit`
        when ``None`` (for single-keypoint skeletons: half the typical distance between animals).
    max_stitch_gap
        Largest gap, in frames, across which two tracklets may be joined.
    max_link_cost
        Joins costing more than this (dimensionless, see :func:`~mapose.tracking.stitching.link_costs`)
        are never made.
    cover_reward
        Reward per detection for keeping a tracklet in an identity (versus dropping it as spurious).
    appearance
        Use appearance descriptors when a video is given, in stitching: with ``n_animals``, and
        without it when tracklets are joined across gaps (``new_identity_cost`` or a floor set).
    appearance_frames
        Largest number of video frames read for appearance.
    confidence_scale
        Cost margin (dimensionless) at which identity confidence reaches ``1 - 1/e``.
    swap_threshold
        Identity confidence below which a likely swap event is listed in :attr:`swap_events_`.
    split_threshold
        With ``n_animals``: where a newly appeared detection would continue a track almost as well
        as the chosen one (identity confidence below this), the track is cut there and the global
        stitcher decides (0 = never cut).
    new_identity_cost
        Without ``n_animals``: the cost (in the units of ``max_link_cost``) of starting a new
        track rather than continuing an ended one; a tracklet that continues none is kept only when
        ``cover_reward`` times its score-weighted detections exceeds it (10: about 5 detections).
    min_track_score
        Without ``n_animals``: tracklets whose median instance score is lower are left out as
        background.  ``None``: half the 90th percentile of the video's instance scores (half of what
        its well-seen animals score); 0: none.
    min_track_keypoints
        Without ``n_animals``: detections with fewer body parts are left out as pieces of animals
        (a pair of legs the assembly left over).  ``None``: a quarter of the 90th percentile of
        body parts per detection; 0: none.

    Attributes
    ----------
    body_size_ : float
        Animal size used, pixels.
    step_ : float
        Typical per-frame displacement, pixels.
    max_step_ : float
        Frame-to-frame gate used, pixels/frame.
    tracklet_ : numpy.ndarray
        ``(N,)`` tracklet of each detection of the last :meth:`track` call (-1 = unlinked).
    identity_ : numpy.ndarray
        ``(n_tracklets_,)`` identity of each tracklet (-1 = dropped).
    n_tracklets_ : int
    swap_events_ : pandas.DataFrame
        Likely identity swaps: ``frame``, ``animal_a``, ``animal_b``, ``reason``, ``confidence``.
    appearance_weight_ : float
        Weight of appearance in stitching, learned per video (0 = the animals look alike or no
        video; see :func:`~mapose.tracking.stitching.appearance_weight`).
    identity_descriptors_ : numpy.ndarray or None
        ``(n_identities, D)`` mean appearance descriptor of each identity, learned from the video.
    min_track_score_, min_track_keypoints_ : float
        Without ``n_animals``: the floors used (see ``min_track_score``, ``min_track_keypoints``).

    Examples
    --------
    >>> tracks = Tracker(n_animals=2).fit_track(detections)  # doctest: +SKIP
    >>> tracks["identity_confidence"]                           # doctest: +SKIP
    """

    def __init__(
        self,
        n_animals: Optional[int] = None,
        *,
        max_gap: int = 5,
        gate: float = 1.0,
        max_step: Optional[float] = None,
        step_quantile: float = 99.0,
        oks_weight: float = 0.3,
        oks_kappa: float = 0.1,
        min_score: float = 0.0,
        body_size: Optional[float] = None,
        max_stitch_gap: int = 300,
        max_link_cost: float = 30.0,
        cover_reward: float = 2.0,
        appearance: bool = True,
        appearance_frames: int = 600,
        confidence_scale: float = 0.25,
        swap_threshold: float = 0.5,
        split_threshold: float = 0.5,
        new_identity_cost: float = 10.0,
        min_track_score: Optional[float] = None,
        min_track_keypoints: Optional[float] = None,
    ) -> None:
        self.n_animals = n_animals
        self.max_gap = max_gap
        self.gate = gate
        self.max_step = max_step
        self.step_quantile = step_quantile
        self.oks_weight = oks_weight
        self.oks_kappa = oks_kappa
        self.min_score = min_score
        self.body_size = body_size
        self.max_stitch_gap = max_stitch_gap
        self.max_link_cost = max_link_cost
        self.cover_reward = cover_reward
        self.appearance = appearance
        self.appearance_frames = appearance_frames
        self.confidence_scale = confidence_scale
        self.swap_threshold = swap_threshold
        self.split_threshold = split_threshold
        self.new_identity_cost = new_identity_cost
        self.min_track_score = min_track_score
        self.min_track_keypoints = min_track_keypoints

    def __repr__(self) -> str:
        def floor(name: str) -> str:  # the setting, and the value used once tracked
            used = getattr(self, name + "_", None)
            return f"{getattr(self, name)}" + ("" if used is None else f" ({used:.3g})")

        varying = "" if self.n_animals is not None else (
            f", new_identity_cost={self.new_identity_cost}, min_track_score={floor('min_track_score')}, "
            f"min_track_keypoints={floor('min_track_keypoints')}")
        return f"Tracker(n_animals={self.n_animals}, max_gap={self.max_gap}, gate={self.gate}{varying})"

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        import numbers

        for name in ("n_animals", "max_gap", "gate", "body_size", "max_stitch_gap", "confidence_scale",
                     "new_identity_cost", "min_track_score", "min_track_keypoints", "max_step", "step_quantile"):
            v = getattr(self, name, None)
            if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real)):
                raise ValidationError(f"{name} must be a number, got {v!r}")
        if self.max_step is not None and not self.max_step > 0:
            raise ValidationError(f"max_step must be > 0 pixels per frame or None (learned), got {self.max_step}")
        if not 0 < self.step_quantile <= 100:
            raise ValidationError(f"step_quantile is a percentile, from 0 (excluded) to 100; got {self.step_quantile}")
        if self.n_animals is not None and (int(self.n_animals) != self.n_animals or self.n_animals < 1):
            raise ValidationError(f"n_animals must be a positive integer or None, got {self.n_animals!r}")
        if self.max_gap < 0:
            raise ValidationError(f"max_gap must be >= 0 frames, got {self.max_gap}")
        if not self.gate > 0:
            raise ValidationError(f"gate must be > 0 body sizes, got {self.gate}")
        if self.body_size is not None and not self.body_size > 0:
            raise ValidationError(f"body_size must be > 0 pixels or None, got {self.body_size}")
        if self.max_stitch_gap < 1:
            raise ValidationError(f"max_stitch_gap must be >= 1 frame, got {self.max_stitch_gap}")
        if not self.confidence_scale > 0:
            raise ValidationError(f"confidence_scale must be > 0, got {self.confidence_scale}")
        if not self.new_identity_cost >= 0:
            raise ValidationError(f"new_identity_cost must be >= 0, got {self.new_identity_cost}")
        for name in ("min_track_score", "min_track_keypoints"):
            v = getattr(self, name)
            if v is not None and not v >= 0:
                raise ValidationError(f"{name} must be >= 0 or None (from the video), got {v}")

    @staticmethod
    def _check_detections(detections: Detections) -> None:
        if not isinstance(detections, Detections):
            raise ValidationError(
                f"Tracker needs mapose.core.Detections, got {type(detections).__name__}; "
                "convert Tracks with mapose.core.tracks_to_detections"
            )

    # ------------------------------------------------------------------ fit
    def fit(self, detections: Detections, video: Optional[str | Path] = None, start: int = 0) -> "Tracker":
        """Learn the animal size and the typical per-frame displacement from the detections.

        Parameters
        ----------
        detections
            Detections of one video (identities, if any, are ignored).
        video
            Accepted for API symmetry; appearance is measured in :meth:`track`.
        start
            First frame of the part of the video the detections cover (see :meth:`track`).

        Returns
        -------
        self
        """
        self._check_params()
        self._check_detections(detections)
        detections = _from_frame(detections, start)
        cen = centroids(detections.keypoints)
        spacing = _estimate_spacing(detections.frame, cen)
        steps = _nearest_steps(detections.frame, cen)
        step = float(np.median(steps)) if len(steps) else np.nan
        if self.body_size is not None:
            size = float(self.body_size)
        else:
            sizes = body_sizes(detections.keypoints)
            sizes = sizes[np.isfinite(sizes) & (sizes > 0)]
            size = float(np.median(sizes)) if len(sizes) else np.nan
            if not np.isfinite(size) or size <= 0:  # single keypoint: from the spacing of animals
                size = 0.5 * spacing if np.isfinite(spacing) and spacing > 0 else np.nan
            if not np.isfinite(size) or size <= 0:
                size = 10.0 * step if np.isfinite(step) and step > 0 else 1.0
        if not np.isfinite(step) or step <= 0:
            step = 0.05 * size
        self.body_size_ = size
        self.step_ = float(min(step, size))
        if self.max_step is not None:
            self.max_step_ = float(self.max_step)
        else:
            moves = self._pilot_steps(detections, size)
            if len(moves) >= 20:
                q = float(np.percentile(moves, self.step_quantile))
                self.max_step_ = float(min(max(2.0 * q, 4.0 * self.step_), self.gate * size))
            else:
                self.max_step_ = float(self.gate * size)
        return self

    def _pilot_steps(self, detections: Detections, size: float, max_frames: int = 3000,
                     max_detections: int = 20000) -> np.ndarray:
        """Per-frame moves (pixels) of animals inside tracklets of a pilot linking (gate only) of
        the first ``max_frames`` frames (fewer when they hold over ``max_detections``)."""
        off = detections.frame_slices()[: max_frames + 1]
        if len(off) > 1 and off[-1] > max_detections:
            off = off[: int(np.searchsorted(off, max_detections, side="right")) + 1]
        stop = int(off[-1])
        kp = detections.keypoints[:stop]
        link = link_frames(off, kp, detections.instance_scores[:stop], body_size=size,
                           step=self.step_, gate=self.gate, oks_weight=self.oks_weight,
                           oks_kappa=self.oks_kappa, max_gap=0, min_score=self.min_score)
        tr, fr = link.tracklet, detections.frame[:stop]
        order = np.lexsort((fr, tr))
        tr, fr, kps = tr[order], fr[order], kp[order]
        same = np.nonzero((tr[1:] == tr[:-1]) & (tr[1:] >= 0) & (fr[1:] - fr[:-1] == 1))[0]
        # mean move of the keypoints seen in both frames (a centroid would jump when keypoints vanish)
        d = np.hypot(*(kps[same + 1] - kps[same]).transpose(2, 0, 1))
        ok = np.isfinite(d)
        cnt = ok.sum(axis=1)
        moves = np.where(ok, d, 0.0).sum(axis=1)[cnt > 0] / cnt[cnt > 0]
        return moves

    def fit_track(self, detections: Detections, video: Optional[str | Path] = None, start: int = 0) -> xr.Dataset:
        """:meth:`fit` then :meth:`track` on the same detections."""
        return self.fit(detections, video, start).track(detections, video, start)

    # ------------------------------------------------------------------ track
    def track(self, detections: Detections, video: Optional[str | Path] = None, start: int = 0) -> xr.Dataset:
        """Assign identities to detections and return ``Tracks``.

        Parameters
        ----------
        detections
            Detections (identities ignored).  Keypoints in pixels.
        video
            Optional path of the video, for appearance descriptors.
        start
            First frame of the part of the video the detections cover (a part analysed with
            ``mapose analyze --frames``): the ``Tracks`` hold frames ``start..n_frames-1``, and
            frames before it cost nothing.  No detection may come before it.

        Returns
        -------
        xarray.Dataset
            ``Tracks`` with an extra variable ``identity_confidence`` ``(time, individuals)``: the
            confidence in ``[0, 1]`` that the animal in this frame is the one of the same identity
            in its previous detected frame (NaN where undetected).  Likely swaps are in
            :attr:`swap_events_`.
        """
        if not hasattr(self, "body_size_"):
            raise ValidationError("this Tracker is not fitted yet; call fit() or fit_track() first")
        self._check_params()
        self._check_detections(detections)
        start = int(start)
        det = _from_frame(detections.without_identities(), start)  # frames counted from ``start`` below
        n = len(det)
        kp, scores, frame = det.keypoints, det.instance_scores, det.frame
        varying = self.n_animals is None and (
            self.new_identity_cost > 0 or self.min_track_score != 0 or self.min_track_keypoints != 0)
        link_scores = scores
        if varying:  # a count that varies: leave out parts of animals and background
            n_kp = np.isfinite(kp).all(axis=-1).sum(axis=1).astype(float)
            self.min_track_score_, self.min_track_keypoints_ = self._track_floors(scores, n_kp)
            link_scores = np.where(n_kp < self.min_track_keypoints_, -np.inf, scores)
        link = link_frames(
            det.frame_slices(), kp, link_scores, body_size=self.body_size_, step=self.step_,
            gate=self.gate, max_step=self.max_step_, oks_weight=self.oks_weight, oks_kappa=self.oks_kappa,
            max_gap=self.max_gap, min_score=self.min_score,
        )
        if n and link.n_tracklets == 0:
            if varying and (n_kp < self.min_track_keypoints_).all():
                raise ValidationError(
                    f"no detection has min_track_keypoints {self.min_track_keypoints_:.3g} body parts or more "
                    f"(the most is {int(n_kp.max())}); nothing to track: lower min_track_keypoints")
            top = float(np.nanmax(scores)) if np.isfinite(scores).any() else float("nan")
            raise ValidationError(
                f"no detection scores min_score {self.min_score} or more (the highest is {top:.3g}); "
                "nothing to track: lower min_score")
        if self.n_animals is not None:
            link = self._split_ambiguous(link, frame)
        link = self._canonical(link, frame, kp)
        app = None
        if video is not None and self.appearance and n and (self.n_animals is not None or varying):
            from mapose.tracking.appearance import isolated, video_descriptors

            ends = self._tracklet_end_frames(link, frame)
            alone = isolated(frame, kp, self.body_size_)  # hulls of touching animals mix them
            if alone.any():  # (animals that touch in every frame leave nothing to describe)
                app = video_descriptors(video, frame, kp, pad=0.1 * self.body_size_,
                                        max_frames=self.appearance_frames, must_frames=ends, use=alone,
                                        frame_offset=start)
        summary = summarise_tracklets(frame, kp, scores, link.tracklet, link.n_tracklets, app)
        self.appearance_weight_ = (
            appearance_weight(link.tracklet, frame, kp, app, self.body_size_) if app is not None else 0.0
        )
        cost_kw = dict(body_size=self.body_size_, step=self.step_,
                       weights=(1.0, 0.5, self.appearance_weight_))
        if self.n_animals is not None:
            lu, lv, lc = candidate_links(summary, self.max_stitch_gap, 2 * int(self.n_animals) + 2,
                                         self.max_link_cost, **cost_kw)
            stitch = stitch_tracklets(summary, int(self.n_animals), lu, lv, lc, self.cover_reward)
            names = [f"individual_{i}" for i in range(int(self.n_animals))]
        elif varying:
            weak = _tracklet_medians(link.tracklet, scores, link.n_tracklets) < self.min_track_score_
            lu, lv, lc = candidate_links(summary, self.max_stitch_gap, 8, self.max_link_cost, **cost_kw)
            stitch = stitch_tracklets(summary, None, lu, lv, lc, self.cover_reward, self.new_identity_cost,
                                      usable=~weak)
            names = [f"track_{i}" for i in range(int(stitch.identity.max(initial=-1)) + 1)]
        else:
            stitch = StitchResult(np.arange(link.n_tracklets), np.zeros((0, 4)))
            names = [f"track_{i}" for i in range(link.n_tracklets)]
        ident = np.where(link.tracklet >= 0, stitch.identity[np.maximum(link.tracklet, 0)], -1) \
            if n else np.zeros(0, np.int64)
        keep = ident >= 0
        conf_det, events = self._confidence(link, stitch, summary, frame, ident, names, cost_kw)
        kept = Detections(
            frame=frame[keep], keypoints=kp[keep], keypoint_scores=det.keypoint_scores[keep],
            instance_scores=scores[keep], skeleton=det.skeleton, n_frames=det.n_frames,
            track_id=ident[keep], track_names=tuple(names), fps=det.fps, source=det.source,
        )
        ds = detections_to_tracks(kept, individuals=names, source_software="mapose",
                                  source_file=det.source, first_frame=start)
        idc = np.full((det.n_frames, len(names)), np.nan)
        idc[frame[keep], ident[keep]] = conf_det[keep]
        ds["identity_confidence"] = (("time", "individuals"), idc)
        ds["identity_confidence"].attrs["description"] = (
            "confidence in [0, 1] that this animal keeps its identity since its previous detection"
        )
        if video is not None:
            ds.attrs["video_path"] = str(video)
        self.tracklet_ = link.tracklet
        self.identity_ = stitch.identity
        self.n_tracklets_ = link.n_tracklets
        self.swap_events_ = events.assign(frame=events["frame"] + start) if start else events
        self.identity_descriptors_ = self._identity_descriptors(summary, stitch.identity, len(names))
        return ds

    # ------------------------------------------------------------------ helpers
    def _track_floors(self, scores: np.ndarray, n_kp: np.ndarray) -> tuple[float, float]:
        """``min_track_score`` and ``min_track_keypoints``; where ``None``, half the 90th percentile of
        the instance scores and a quarter of that of the body parts per detection."""
        ok = np.isfinite(scores)
        s = self.min_track_score
        if s is None:
            s = 0.5 * float(np.percentile(scores[ok], 90)) if ok.any() else 0.0
        k = self.min_track_keypoints
        if k is None:
            k = 0.25 * float(np.percentile(n_kp, 90)) if len(n_kp) else 0.0
        return float(s), float(k)

    def _split_ambiguous(self, link: LinkResult, frame: np.ndarray) -> LinkResult:
        """Cut a tracklet where a detection that appeared in that frame would have continued it
        almost as well (identity confidence below ``split_threshold``), so the global stitcher,
        which sees both sides of the gap, decides instead of the greedy frame-to-frame choice."""
        if not len(frame) or self.split_threshold <= 0:
            return link
        tr, part = link.tracklet.copy(), link.partner.copy()
        m = link.n_tracklets
        start = np.full(m, np.iinfo(np.int64).max)
        use = tr >= 0
        np.minimum.at(start, tr[use], frame[use])
        with np.errstate(over="ignore"):
            conf = 1.0 - np.exp(-np.maximum(link.margin, 0.0) / self.confidence_scale)
        cand = np.nonzero(use & (part >= 0) & (conf < self.split_threshold))[0]
        cand = cand[start[part[cand]] == frame[cand]]  # the rival was born in this very frame
        cand = cand[start[tr[cand]] < frame[cand]]  # not already a tracklet start
        if len(cand) == 0:
            return link
        vel = [link.velocity]
        splits: dict[int, list[tuple[int, int]]] = {}
        for j in cand[np.argsort(frame[cand], kind="stable")]:
            old, f = int(link.tracklet[j]), int(frame[j])
            cur = splits[old][-1][1] if old in splits else old
            sel = np.nonzero((tr == cur) & (frame >= f))[0]
            if len(sel) == 0 or frame[sel].min() != f:
                continue
            tr[sel] = m
            splits.setdefault(old, []).append((f, m))
            vel.append(link.velocity[old][None])
            m += 1
        # competitors named by their tracklet id: use the piece they were in at that frame
        for old, pieces in splits.items():
            for f, new in pieces:
                part[(link.partner == old) & (frame >= f)] = new
        return LinkResult(tracklet=tr, margin=link.margin, partner=part, n_tracklets=m,
                          velocity=np.concatenate(vel))

    @staticmethod
    def _canonical(link: LinkResult, frame: np.ndarray, kp: np.ndarray) -> LinkResult:
        """Renumber tracklets by (first frame, x, y of their first detection) so the numbering
        does not depend on the order of detections within a frame."""
        m = link.n_tracklets
        if m == 0:
            return link
        tr = link.tracklet
        use = np.nonzero(tr >= 0)[0]
        first = np.full(m, np.iinfo(np.int64).max)
        # detections are sorted by frame: the first detection of a tracklet has the lowest index
        np.minimum.at(first, tr[use], use)
        c = centroids(kp[first])
        order = np.lexsort((c[:, 1], c[:, 0], frame[first]))
        new_of_old = np.empty(m, np.int64)
        new_of_old[order] = np.arange(m)
        remap = np.concatenate([new_of_old, [-1]])
        return LinkResult(
            tracklet=remap[tr], margin=link.margin, partner=remap[link.partner],
            n_tracklets=m, velocity=link.velocity[order],
        )

    @staticmethod
    def _tracklet_end_frames(link: LinkResult, frame: np.ndarray) -> np.ndarray:
        use = link.tracklet >= 0
        if not use.any():
            return np.zeros(0, np.int64)
        tr, fr = link.tracklet[use], frame[use]
        lo = np.full(link.n_tracklets, np.iinfo(np.int64).max)
        hi = np.full(link.n_tracklets, -1)
        np.minimum.at(lo, tr, fr)
        np.maximum.at(hi, tr, fr)
        return np.unique(np.concatenate([lo, hi]))

    @staticmethod
    def _identity_descriptors(s: TrackletSummary, identity: np.ndarray, n_ids: int) -> Optional[np.ndarray]:
        if s.appearance is None or n_ids == 0:
            return None
        out = np.full((n_ids, s.appearance.shape[1]), np.nan)
        for i in range(n_ids):
            sel = (identity == i) & np.isfinite(s.appearance).all(axis=1)
            if sel.any():
                out[i] = np.average(s.appearance[sel], axis=0, weights=s.n[sel])
        return out

    def _confidence(self, link: LinkResult, stitch: StitchResult, s: TrackletSummary,
                    frame: np.ndarray, ident: np.ndarray, names: list[str],
                    cost_kw: dict) -> tuple[np.ndarray, pd.DataFrame]:
        """Per-detection identity confidence and the list of likely swap events."""
        tau = float(self.confidence_scale)
        with np.errstate(over="ignore"):
            conf = 1.0 - np.exp(-np.maximum(link.margin, 0.0) / tau)
        # partner identity of each detection's closest competitor
        part_id = np.where(link.partner >= 0, stitch.identity[np.maximum(link.partner, 0)], -1) \
            if len(frame) else np.zeros(0, np.int64)
        rows = []
        # 1) close encounters inside tracklets: one event per run of low-confidence frames per pair
        low = (conf < self.swap_threshold) & (ident >= 0) & (part_id >= 0) & (part_id != ident)
        if low.any():
            idx = np.nonzero(low)[0]
            a = np.minimum(ident[idx], part_id[idx])
            b = np.maximum(ident[idx], part_id[idx])
            order = np.lexsort((frame[idx], b, a))
            idx, a, b = idx[order], a[order], b[order]
            f = frame[idx]
            new_run = np.ones(len(idx), bool)
            new_run[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1]) | (f[1:] - f[:-1] > 1)
            run_id = np.cumsum(new_run) - 1
            for r in range(run_id[-1] + 1):
                sel = idx[run_id == r]
                j = sel[np.argmin(conf[sel])]
                n_fr = len(np.unique(frame[sel]))
                if s.start[link.partner[j]] == frame[j]:
                    why = (f"ambiguous continuation: {names[int(ident[j])]} could as well continue with "
                           f"the detection given to {names[int(part_id[j])]} (only {link.margin[j]:.3g} "
                           f"more)")
                else:
                    why = (f"close encounter over {n_fr} frame(s): exchanging the two animals would "
                           f"cost only {link.margin[j]:.3g} more")
                rows.append((int(frame[j]), names[int(min(ident[j], part_id[j]))],
                             names[int(max(ident[j], part_id[j]))], why, float(conf[j])))
        # 2) joins across gaps: compare with exchanging the continuations of two identities
        junc = stitch.junctions
        if len(junc):
            jid, ju, jv, jc = junc[:, 0].astype(int), junc[:, 1].astype(int), junc[:, 2].astype(int), junc[:, 3]
            for x in range(len(junc)):
                best, rival = np.inf, -1
                for y in range(len(junc)):
                    if jid[y] == jid[x]:
                        continue
                    u, v, u2, v2 = ju[x], jv[x], ju[y], jv[y]
                    if not (s.start[v2] > s.end[u] and s.start[v] > s.end[u2]):
                        continue
                    alt = link_costs(s, np.array([u, u2]), np.array([v2, v]), **cost_kw).sum()
                    d = alt - jc[x] - jc[y]
                    if d < best:
                        best, rival = d, jid[y]
                c_own = float(np.exp(-jc[x] / (20.0 * tau)))
                c_swap = 1.0 - float(np.exp(-max(best, 0.0) / tau)) if np.isfinite(best) else 1.0
                c = min(c_own, c_swap)
                first = np.nonzero(link.tracklet == jv[x])[0]
                if len(first):
                    conf[first[0]] = min(conf[first[0]], c)
                if c < self.swap_threshold:
                    gap = int(s.start[jv[x]] - s.end[ju[x]])
                    why = (f"re-linked after a gap of {gap} frame(s) (join cost {jc[x]:.3g}"
                           + (f"; exchanging with {names[rival]} would cost {best:.3g} more)"
                              if rival >= 0 else ")"))
                    rows.append((int(s.start[jv[x]]), names[jid[x]],
                                 names[rival] if rival >= 0 else "", why, c))
        events = pd.DataFrame(rows, columns=list(SWAP_COLUMNS))
        events = events.sort_values(["frame", "animal_a", "animal_b"], kind="stable").reset_index(drop=True)
        return conf, events
