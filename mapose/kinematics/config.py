"""Typed configs of the kinematics stage and the guessing of body-part roles.

- :class:`FeatureConfig` -- which keypoints play nose / tail base / centroid / heading, extra
  joint angles, the contact distance, window statistics.  Build it from a dict or YAML with
  :func:`mapose.config.from_dict` (unknown keys raise).
- :class:`CleaningConfig` -- the cleaning steps run by :func:`mapose.kinematics.clean`.
- :class:`FeaturesRunConfig` -- the file given to ``mapose features --config``.

Roles left empty are guessed from keypoint names by :func:`resolve_roles`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Optional, Sequence

from mapose.config import CheckedConfig
from mapose.errors import ConfigError, SkeletonError

#: Statistics the window features can compute.
WINDOW_STATS = ("mean", "std", "min", "max")

NOSE_NAMES = ("nose", "snout", "nosetip", "head")
TAIL_BASE_NAMES = ("tailbase", "tailroot", "basetail", "tailstart", "tail1", "tail", "abdomen")


@dataclass(frozen=True)
class FeatureConfig(CheckedConfig):
    """Which keypoints the features use, and feature options.

    Attributes
    ----------
    nose, tail_base
        Keypoint names of the front and the back of the body.  Empty: guessed from names
        (nose/snout/head; tail base/tailbase/tail_base/tailroot/base_tail/tail/abdomen).
    centroid
        Keypoints averaged into the centroid; empty = all keypoints (missing ones ignored).
    heading_from, heading_to
        Keypoints of the heading vector (default tail base -> nose).  ``"centroid"`` allowed.
    origin
        Origin of the egocentric frame (default ``"centroid"``).
    joint_angles
        Extra ``(a, b, c)`` triplets; feature ``angle_<a>_<b>_<c>`` is the angle at ``b``.
    pair_distances
        Extra ``(a, b)`` keypoint pairs for the pair table: feature ``dist_<a>_<b>`` is the
        distance from A's ``a`` to B's ``b`` (``"centroid"`` allowed).
    contact_distance
        Contact when the closest pair of keypoints of two animals is nearer than this (space
        units, px or cm).  ``None``: ``contact_body_lengths`` × the median body length.
    contact_body_lengths
        See ``contact_distance``.
    window_stats
        Rolling statistics of the window features, among ``mean, std, min, max``.
    pair_own_features
        Own features of both animals added to pair rows with ``a_`` / ``b_`` prefixes:
        ``"all"`` (with window features), ``"base"`` (without) or ``"none"``.
    """

    nose: str = ""
    tail_base: str = ""
    centroid: tuple[str, ...] = ()
    heading_from: str = ""
    heading_to: str = ""
    origin: str = "centroid"
    joint_angles: tuple[tuple[str, str, str], ...] = ()
    pair_distances: tuple[tuple[str, str], ...] = ()
    contact_distance: Optional[float] = None
    contact_body_lengths: float = 0.2
    window_stats: tuple[str, ...] = WINDOW_STATS
    pair_own_features: Literal["all", "base", "none"] = "all"

    def __post_init__(self) -> None:
        super().__post_init__()
        bad = [s for s in self.window_stats if s not in WINDOW_STATS]
        if bad:
            raise ConfigError(f"unknown window statistic(s) {bad}; allowed: {', '.join(WINDOW_STATS)}")
        if self.contact_distance is not None and not self.contact_distance > 0:
            raise ConfigError(f"contact_distance must be > 0 (space units), got {self.contact_distance!r}")
        if not self.contact_body_lengths > 0:
            raise ConfigError(f"contact_body_lengths must be > 0, got {self.contact_body_lengths!r}")
        if self.pair_own_features not in ("all", "base", "none"):
            raise ConfigError(f"pair_own_features {self.pair_own_features!r}; allowed: all, base, none")
        for pair in self.pair_distances:
            if len(pair) != 2:
                raise ConfigError(f"pair_distances entries are (a, b) keypoint pairs; got {pair!r}")
        for trip in self.joint_angles:
            if len(trip) != 3:
                raise ConfigError(f"joint_angles entries are (a, b, c) keypoint triplets; got {trip!r}")


@dataclass(frozen=True)
class Roles:
    """Resolved keypoint roles (all names exist in the tracks)."""

    nose: str
    tail_base: str
    centroid: tuple[str, ...]  # empty = all keypoints
    heading_from: str
    heading_to: str
    origin: str


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _guess(keypoints: Sequence[str], candidates: Sequence[str]) -> str:
    normed = {_norm(k): k for k in reversed(list(keypoints))}
    for c in candidates:
        if c in normed:
            return normed[c]
    return ""


def resolve_roles(keypoints: Sequence[str], cfg: Optional[FeatureConfig] = None) -> Roles:
    """Fill the empty roles of ``cfg`` from keypoint names and check that all names exist.

    Raises
    ------
    SkeletonError
        When a named keypoint is unknown, or when nose / tail base cannot be guessed; the message
        lists the keypoints and the config key to set.
    """
    cfg = cfg or FeatureConfig()
    names = [str(k) for k in keypoints]
    known = ", ".join(names)

    def check(value: str, key: str, allow_centroid: bool = True) -> str:
        if allow_centroid and value == "centroid":
            return value
        if value not in names:
            raise SkeletonError(f"FeatureConfig.{key} = {value!r} is not a keypoint; known: {known}")
        return value

    nose = cfg.nose or _guess(names, NOSE_NAMES)
    tail = cfg.tail_base or _guess(names, TAIL_BASE_NAMES)
    missing = [k for k, v in (("nose", nose), ("tail_base", tail)) if not v]
    if missing:
        raise SkeletonError(
            f"cannot guess which keypoint is the {' and the '.join(m.replace('_', ' ') for m in missing)} "
            f"from the keypoint names ({known}); set FeatureConfig {', '.join(missing)} "
            "(e.g. in the features config file)"
        )
    nose, tail = check(nose, "nose", False), check(tail, "tail_base", False)
    if nose == tail:
        raise SkeletonError(f"nose and tail base are the same keypoint {nose!r}; set them in FeatureConfig")
    for k in cfg.centroid:
        check(k, "centroid", False)
    hf = check(cfg.heading_from or tail, "heading_from")
    ht = check(cfg.heading_to or nose, "heading_to")
    if hf == ht:
        raise SkeletonError(f"heading_from and heading_to are both {hf!r}; the heading needs two points")
    origin = check(cfg.origin or "centroid", "origin")
    for trip in cfg.joint_angles:
        for k in trip:
            check(k, "joint_angles")
    for pair in cfg.pair_distances:
        for k in pair:
            check(k, "pair_distances")
    return Roles(nose, tail, tuple(cfg.centroid), hf, ht, origin)


@dataclass(frozen=True)
class CleaningConfig(CheckedConfig):
    """Cleaning steps, run in this fixed order by :func:`mapose.kinematics.clean`.

    1. ``zeros_are_missing``: points at exactly (0, 0) become NaN;
    2. ``confidence_threshold``: drop points below it;
    3. ``max_speed``: drop isolated jumps faster than this (space units per time unit);
    4. ``max_gap``: linearly fill gaps up to this many frames;
    5. ``median_window``: rolling median (frames); a window with fewer than
       ``median_min_periods`` valid frames gives no value (default: the whole window, as in
       ``movement``, so points next to a gap are dropped; smaller values keep them, and also fill
       missing points whose window has enough valid frames);
    6. ``savgol_window`` / ``savgol_polyorder``: Savitzky–Golay smoothing (frames).

    ``None`` skips a step.
    """

    zeros_are_missing: bool = False
    confidence_threshold: Optional[float] = None
    max_speed: Optional[float] = None
    max_gap: Optional[int] = None
    median_window: Optional[int] = None
    median_min_periods: Optional[int] = None
    savgol_window: Optional[int] = None
    savgol_polyorder: int = 2


@dataclass(frozen=True)
class CalibrationConfig(CheckedConfig):
    """Pixels -> cm and frames -> seconds (see :func:`mapose.kinematics.calibrate`)."""

    px_per_cm: Optional[float] = None
    known_length: Optional[tuple[str, str, float]] = None
    fps: Optional[float] = None


@dataclass(frozen=True)
class FeaturesRunConfig(CheckedConfig):
    """Everything ``mapose features --config`` reads: cleaning, calibration, features."""

    cleaning: CleaningConfig = field(default_factory=CleaningConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    windows: tuple[int, ...] = (5, 15, 45)
    mode: Literal["animal", "pair", "all"] = "all"
