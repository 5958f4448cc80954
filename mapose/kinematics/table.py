"""The feature table: one row per (frame, subject), the hand-off to behaviour analysis.

:func:`feature_table` computes every feature with vectorised numpy over time × animals (no loop
over frames) and returns a :class:`pandas.DataFrame`:

- ``frame`` (int64, frame index in the video) and ``subject`` (str: the individual's name in
  ``mode="animal"``, ``"A|B"`` for the ordered pair in ``mode="pair"``), then
- float32 feature columns with stable names.  Rows are grouped by subject (all frames of the
  first subject, then the next...), frames increasing.

Animal features (units: space unit = px or cm, time unit = s or frames; names do not change
with calibration):

=====================  ==============================================================
``centroid_x/_y``      centroid position (space unit)
``speed``              centroid speed (space unit / time unit): the norm of the mean
                       velocity of the centroid keypoints seen around the frame (a keypoint
                       dropping out does not fake a jump)
``velocity_forward``   centroid velocity along the heading (>0 = moving forward)
``velocity_lateral``   centroid velocity across the heading (egocentric +y)
``acceleration``       norm of the centroid acceleration (space unit / time unit²)
``nose_speed``         nose speed; ``tail_base_speed`` likewise
``heading_cos/_sin``   cosine / sine of the heading (tail base -> nose by default)
``angular_velocity``   signed turning rate of the heading (rad / time unit)
``body_length``        nose–tail base distance (space unit)
``body_angle``         angle nose–centroid–tail base (rad, pi = straight)
``angle_<a>_<b>_<c>``  extra joint angles from :class:`FeatureConfig` (rad)
``ego_<kp>_x/_y``      keypoint in the animal's egocentric frame (space unit)
``missing_fraction``   fraction of keypoints missing in the frame
``in_<region>``        1.0 when the centroid is inside an area given with ``regions``, 0.0
                       outside (:mod:`mapose.kinematics.regions`)
``dist_<region>``      distance of the centroid to a region (areas: to the boundary,
                       negative inside)
``<f>_<stat>_<w>``     rolling ``mean/std/min/max`` over ``w`` frames of the dynamic features
=====================  ==============================================================

Pair features (A = first name of the subject, B = second):

=========================  ==========================================================
``nose_nose_dist``         A nose to B nose; ``nose_tail_base_dist`` A nose to B tail base;
                           ``tail_base_nose_dist`` A tail base to B nose
``centroid_dist``          centroid to centroid
``min_kp_dist``            closest pair of keypoints of A and B
``relative_heading``       unsigned angle between the headings (0 = parallel)
``facing_angle_a``         angle between A's heading and A -> B (0 = A looks at B)
``facing_angle_b``         angle between B's heading and B -> A
``approach_speed``         minus the rate of change of ``centroid_dist`` (>0 = approaching)
``contact``                1.0 when ``min_kp_dist`` < contact distance, else 0.0
``partner_x/_y``           B's centroid in A's egocentric frame
``dist_<a>_<b>``           A's ``a`` to B's ``b`` for the extra ``pair_distances`` of the config
``<f>_<stat>_<w>``         window features of the social dynamics
``a_<f>``, ``b_<f>``       A's and B's own animal features
=========================  ==========================================================

To add a feature: compute it as a ``(T, I)`` (animal) or ``(T, I, I)`` (pair) array in
:func:`animal_feature_arrays` / :func:`pair_feature_arrays`, give it a name there, and add the
name to ``ANIMAL_WINDOWED`` / ``PAIR_WINDOWED`` if it should get window statistics.
"""

from __future__ import annotations

import re
from typing import Literal, Optional, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from mapose.core.tables import check_table
from mapose.config import as_config, choice
from mapose.core.regions import Region
from mapose.core.tracks import validate_tracks
from mapose.errors import ValidationError
from mapose.kinematics._arrays import (
    angle_between,
    gradient_from_diffs,
    quiet_nan,
    time_gradient,
    wrap_angle,
)
from mapose.kinematics.checks import check_feature_input
from mapose.kinematics.config import FeatureConfig, Roles, resolve_roles
from mapose.kinematics.motion import egocentric_array, keypoint_indices, spec_array
from mapose.kinematics.social import (
    facing_angle_array,
    min_keypoint_distance_array,
    pair_distance_array,
    partner_in_frame_array,
    relative_heading_array,
)
from mapose.kinematics.regions import distance_to, inside_area, regions_in_units
from mapose.kinematics.windows import check_windows, rolling_stats

#: Animal features that get rolling window statistics.
ANIMAL_WINDOWED = ("speed", "velocity_forward", "velocity_lateral", "acceleration",
                   "angular_velocity", "body_length", "body_angle")
#: Pair features that get rolling window statistics.
PAIR_WINDOWED = ("centroid_dist", "nose_nose_dist", "min_kp_dist", "approach_speed",
                 "facing_angle_a", "facing_angle_b", "contact")

DTYPE = np.float32


def column_name(name: str) -> str:
    """A keypoint name made safe for a column name (``"left ear"`` -> ``"left_ear"``)."""
    return re.sub(r"\W+", "_", name).strip("_") or "kp"


def unique_column_names(keypoints: Sequence[str]) -> list[str]:
    """:func:`column_name` of each keypoint, with ``_2``, ``_3`` … added to names that collide
    (``"ear L"`` and ``"ear-L"`` both give ``ear_L``)."""
    out: list[str] = []
    for kp in keypoints:
        base = name = column_name(kp)
        n = 1
        while name in out:
            n += 1
            name = f"{base}_{n}"
        out.append(name)
    return out


def _centroid_spec(roles: Roles):
    return list(roles.centroid) if roles.centroid else "centroid"


def animal_feature_arrays(
    pos: np.ndarray, t: np.ndarray, keypoints: Sequence[str], roles: Roles,
    joint_angles: Sequence[tuple[str, str, str]] = (),
) -> dict[str, np.ndarray]:
    """Every per-animal base feature as a ``(T, I)`` float64 array, by column name.

    ``pos`` is ``(T, 2, K, I)``, ``t`` the time coordinate ``(T,)``.
    """
    feats: dict[str, np.ndarray] = {}
    with quiet_nan():
        cen = spec_array(pos, keypoints, _centroid_spec(roles))
        nose = spec_array(pos, keypoints, roles.nose)
        tail = spec_array(pos, keypoints, roles.tail_base)
        hvec = spec_array(pos, keypoints, roles.heading_to) - spec_array(pos, keypoints, roles.heading_from)
        hnorm = np.sqrt(hvec[:, 0] ** 2 + hvec[:, 1] ** 2)
        hnorm = np.where(hnorm > 0, hnorm, np.nan)
        c, s = hvec[:, 0] / hnorm, hvec[:, 1] / hnorm
        feats["centroid_x"] = cen[:, 0]
        feats["centroid_y"] = cen[:, 1]
        # centroid velocity = mean velocity of the centroid keypoints seen around each frame, so
        # that a keypoint dropping out does not move the centroid and fake a jump in speed
        cidx = keypoint_indices(keypoints, _centroid_spec(roles))
        kp_vel = time_gradient(pos if cidx is None else pos[:, :, cidx], t)  # (T, 2, Kc, I)
        vel = np.nanmean(kp_vel, axis=2)
        feats["speed"] = np.sqrt(vel[:, 0] ** 2 + vel[:, 1] ** 2)
        feats["velocity_forward"] = c * vel[:, 0] + s * vel[:, 1]
        feats["velocity_lateral"] = -s * vel[:, 0] + c * vel[:, 1]
        acc = time_gradient(vel, t)
        feats["acceleration"] = np.sqrt(acc[:, 0] ** 2 + acc[:, 1] ** 2)
        for name, p in (("nose_speed", nose), ("tail_base_speed", tail)):
            v = time_gradient(p, t)
            feats[name] = np.sqrt(v[:, 0] ** 2 + v[:, 1] ** 2)
        feats["heading_cos"] = c
        feats["heading_sin"] = s
        theta = np.arctan2(hvec[:, 1], hvec[:, 0])
        if len(t) > 1:
            feats["angular_velocity"] = gradient_from_diffs(wrap_angle(np.diff(theta, axis=0)), t)
        else:
            feats["angular_velocity"] = np.full_like(theta, np.nan)
        d = nose - tail
        feats["body_length"] = np.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2)
        feats["body_angle"] = angle_between(np.moveaxis(nose - cen, 1, -1), np.moveaxis(tail - cen, 1, -1))
        for a, b, cc in joint_angles:
            pa, pb, pc = (spec_array(pos, keypoints, k) for k in (a, b, cc))
            name = f"angle_{column_name(a)}_{column_name(b)}_{column_name(cc)}"
            feats[name] = angle_between(np.moveaxis(pa - pb, 1, -1), np.moveaxis(pc - pb, 1, -1))
        origin = cen if roles.origin == "centroid" else spec_array(pos, keypoints, roles.origin)
        ego = egocentric_array(pos, origin, hvec)  # (T, 2, K, I)
        for k, kp in enumerate(unique_column_names(keypoints)):
            feats[f"ego_{kp}_x"] = ego[:, 0, k]
            feats[f"ego_{kp}_y"] = ego[:, 1, k]
        feats["missing_fraction"] = (~np.isfinite(pos).all(axis=1)).mean(axis=1)
    return feats


def region_feature_arrays(
    pos: np.ndarray, keypoints: Sequence[str], regions: Sequence[Region], keypoint,
) -> dict[str, np.ndarray]:
    """``in_<name>`` (areas: 1/0/NaN) and ``dist_<name>`` of each region, ``(T, I)`` each, for the
    point ``keypoint`` of a ``(T, 2, K, I)`` array (regions already in the unit of ``pos``)."""
    with quiet_nan():
        pts = np.moveaxis(spec_array(pos, keypoints, keypoint), 1, 2)  # (T, I, 2)
    out: dict[str, np.ndarray] = {}
    for r in regions:
        col = column_name(r.name)
        if r.is_area:
            out[f"in_{col}"] = inside_area(pts, r)
        out[f"dist_{col}"] = distance_to(pts, r)
    return out


def pair_feature_arrays(
    pos: np.ndarray, t: np.ndarray, keypoints: Sequence[str], roles: Roles, contact_distance: float,
    pair_distances: Sequence[tuple[str, str]] = (),
) -> dict[str, np.ndarray]:
    """Every pair feature as a ``(T, I, I)`` float64 array (``[t, a, b]``), by column name."""
    feats: dict[str, np.ndarray] = {}
    with quiet_nan():
        cen = spec_array(pos, keypoints, _centroid_spec(roles))
        nose = spec_array(pos, keypoints, roles.nose)
        tail = spec_array(pos, keypoints, roles.tail_base)
        hvec = spec_array(pos, keypoints, roles.heading_to) - spec_array(pos, keypoints, roles.heading_from)
        feats["nose_nose_dist"] = pair_distance_array(nose, nose)
        feats["nose_tail_base_dist"] = pair_distance_array(nose, tail)
        feats["tail_base_nose_dist"] = pair_distance_array(tail, nose)
        feats["centroid_dist"] = pair_distance_array(cen, cen)
        feats["min_kp_dist"] = min_keypoint_distance_array(pos)
        feats["relative_heading"] = relative_heading_array(hvec)
        fa = facing_angle_array(cen, hvec, cen)
        feats["facing_angle_a"] = fa
        feats["facing_angle_b"] = np.swapaxes(fa, 1, 2)
        feats["approach_speed"] = -time_gradient(feats["centroid_dist"], t)
        md = feats["min_kp_dist"]
        feats["contact"] = np.where(np.isfinite(md), (md < contact_distance).astype(np.float64), np.nan)
        partner = partner_in_frame_array(cen, hvec, cen)
        feats["partner_x"] = partner[..., 0]
        feats["partner_y"] = partner[..., 1]
        for a, b in pair_distances:
            name = f"dist_{column_name(a)}_{column_name(b)}"
            feats[name] = pair_distance_array(spec_array(pos, keypoints, a), spec_array(pos, keypoints, b))
    return feats


def default_contact_distance(pos: np.ndarray, keypoints: Sequence[str], roles: Roles,
                             body_lengths: float) -> float:
    """``body_lengths`` × the median nose–tail base distance over all frames and animals."""
    with quiet_nan():
        d = spec_array(pos, keypoints, roles.nose) - spec_array(pos, keypoints, roles.tail_base)
        med = float(np.nanmedian(np.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2)))
    return body_lengths * med if np.isfinite(med) and med > 0 else np.nan


def _windowed(feats: dict[str, np.ndarray], names: Sequence[str], windows: Sequence[int],
              stats: Sequence[str]) -> dict[str, np.ndarray]:
    """Window statistics of time-last ``feats[name]`` (each ``(S, T)``), named ``<name>_<stat>_<w>``."""
    if not windows or not stats or not names:
        return {}
    n_s, n_t = feats[names[0]].shape
    flat = np.concatenate([feats[n] for n in names], axis=0)  # (F * S, T)
    res = rolling_stats(flat, windows, stats, axis=1)
    out: dict[str, np.ndarray] = {}
    for w in windows:
        for s in stats:
            block = res[(s, w)]
            for j, n in enumerate(names):
                out[f"{n}_{s}_{w}"] = block[j * n_s:(j + 1) * n_s]
    return out


def animal_features(ds: xr.Dataset, windows: Sequence[int], cfg: FeatureConfig) -> dict[str, np.ndarray]:
    """Base + window animal features of ``ds`` as ``(T, I)`` arrays, by column name."""
    pos, t, kps, roles = _prepare(ds, cfg)
    arrays = animal_feature_arrays(pos, t, kps, roles, cfg.joint_angles)
    feats = {k: np.ascontiguousarray(v.T) for k, v in arrays.items()}
    feats.update(_windowed(feats, ANIMAL_WINDOWED, windows, cfg.window_stats))
    return {k: v.T for k, v in feats.items()}


def _prepare(ds: xr.Dataset, cfg: FeatureConfig):
    validate_tracks(ds)
    da = ds["position"].transpose("time", "space", "keypoints", "individuals")
    kps = [str(k) for k in da["keypoints"].values]
    roles = resolve_roles(kps, cfg)
    return da.values.astype(np.float64, copy=False), np.asarray(ds["time"].values, dtype=np.float64), kps, roles


def _subject_column(subjects: Sequence[str], n_t: int) -> pd.api.extensions.ExtensionArray:
    """``subjects`` each repeated ``n_t`` times, as a pandas ``str`` array (built through Arrow)."""
    import pyarrow as pa

    codes = pa.array(np.repeat(np.arange(len(subjects), dtype=np.int32), n_t))
    decoded = pa.DictionaryArray.from_arrays(codes, pa.array(list(subjects), type=pa.string())).dictionary_decode()
    return pd.array(decoded, dtype="str")


def _assemble(parts: list[tuple[str, np.ndarray, Optional[np.ndarray]]], frames: np.ndarray,
              subjects: Sequence[str]) -> pd.DataFrame:
    """One DataFrame from ``(name, array, rows)`` parts, subject-major rows.

    ``array`` is time-last ``(S, T)``, or ``(I, T)`` with ``rows`` (length S) picking its rows
    (taken one feature at a time, so no full-size intermediate copies are held).  The float32
    block is filled in ``(F, S, T)`` order so that pandas takes it without a copy.
    """
    n_t = frames.shape[0]
    n_s = len(subjects)
    names = [n for n, _, _ in parts]
    block = np.empty((len(parts), n_s, n_t), dtype=DTYPE)
    for j, (_, v, idx) in enumerate(parts):
        block[j] = v if idx is None else v[idx]
    df = pd.DataFrame(block.reshape(len(parts), n_s * n_t).T, columns=names, copy=False)
    df.insert(0, "frame", np.tile(frames.astype(np.int64), n_s))
    df.insert(1, "subject", _subject_column(subjects, n_t))
    return df


def feature_table(
    ds: xr.Dataset,
    *,
    mode: Literal["animal", "pair"] = "animal",
    windows: Sequence[int] = (5, 15, 45),
    config: Optional[FeatureConfig] = None,
    regions: Sequence[Region] = (),
) -> pd.DataFrame:
    """Features of every animal (``mode="animal"``) or every ordered pair (``mode="pair"``).

    Parameters
    ----------
    ds
        Tracks (cleaned and calibrated as wished; see :mod:`mapose.kinematics.cleaning`).
    mode
        ``"animal"``: one row per (frame, individual); ``"pair"``: one row per (frame, ordered
        pair A|B), A ≠ B, with the social features plus ``a_``/``b_`` own features.
    windows
        Window lengths of the rolling statistics in time steps (= frames when the frame numbers
        are consecutive); ``()`` for none.
    config
        :class:`FeatureConfig`; roles left empty are guessed from keypoint names.
    regions
        Regions of interest (pixels of the video, :class:`mapose.core.regions.Region`): adds
        ``in_<name>`` and ``dist_<name>`` of the centroid to the animal features.

    Returns
    -------
    pandas.DataFrame
        Columns ``frame``, ``subject``, then float32 features (see the module docstring).
        Missing keypoints give NaN features.

    Examples
    --------
    >>> import numpy as np
    >>> from mapose.core import make_tracks
    >>> rng = np.random.default_rng(0)
    >>> ds = make_tracks(rng.normal(size=(50, 2, 3, 2)), keypoints=["nose", "body", "tailbase"], fps=30)
    >>> df = feature_table(ds, mode="pair", windows=(5,))
    >>> sorted(df["subject"].unique()), len(df)
    (['individual_0|individual_1', 'individual_1|individual_0'], 100)
    """
    choice(mode, ("animal", "pair"), "feature table mode")
    return feature_tables(ds, modes=(mode,), windows=windows, config=config, regions=regions)[mode]


def unseen_rows(table: pd.DataFrame) -> np.ndarray:
    """Rows of a feature table whose animal (``mode="animal"``) or either animal of the pair
    (``mode="pair"``) has no keypoint at all in that frame: nothing of it was seen, so its features
    say nothing about what it does.  Decided by ``missing_fraction`` (``a_``/``b_missing_fraction``);
    a table without those columns has no unseen rows.

    Returns
    -------
    numpy.ndarray
        ``(len(table),)`` bool.
    """
    check_table(table, "the feature table", (), "mapose.kinematics.feature_table")
    out = np.zeros(len(table), dtype=bool)
    for col in ("missing_fraction", "a_missing_fraction", "b_missing_fraction"):
        if col in table.columns:
            out |= table[col].to_numpy(dtype=np.float64, na_value=np.nan) >= 1.0
    return out


def feature_tables(
    ds: xr.Dataset,
    *,
    modes: Sequence[str] = ("animal", "pair"),
    windows: Sequence[int] = (5, 15, 45),
    config: Optional[FeatureConfig] = None,
    regions: Sequence[Region] = (),
) -> dict[str, pd.DataFrame]:
    """Several :func:`feature_table` modes at once, computing the animals' own features once.

    Returns ``{mode: DataFrame}``; the pair table is empty (no rows) with fewer than 2 animals,
    unless it is the only table asked for: then that is an error, as in :func:`feature_table`.
    """
    for m in modes:
        choice(m, ("animal", "pair"), "feature table mode")
    windows = check_windows(windows)
    cfg = as_config(FeatureConfig, config, "the feature config")
    check_feature_input(ds, "the tracks", mode="pair" if tuple(modes) == ("pair",) else None)
    pos, t, kps, roles = _prepare(ds, cfg)
    n_i = pos.shape[3]
    names = [str(v) for v in ds["individuals"].values]
    if "pair" in modes and any("|" in n for n in names):
        raise ValidationError(
            f"individual names may not contain '|' (pair subjects are 'A|B'): {[n for n in names if '|' in n]}"
        )
    frames = np.asarray(ds["frame"].values)
    # time-last (I, T) layout from here on: every series is contiguous for the window kernels
    own = {k: np.ascontiguousarray(v.T) for k, v in animal_feature_arrays(pos, t, kps, roles, cfg.joint_angles).items()}
    if regions:
        in_units = regions_in_units(ds, regions)
        region_cols = region_feature_arrays(pos, kps, in_units, _centroid_spec(roles))
        cols = [column_name(r.name) for r in in_units]
        same = sorted({r.name for r in in_units if cols.count(column_name(r.name)) > 1})
        if same:
            raise ValidationError(f"regions {', '.join(map(repr, same))} give the same column name "
                                  f"{column_name(same[0])!r}; rename one")
        own.update({k: np.ascontiguousarray(v.T) for k, v in region_cols.items()})
    base_names = list(own)
    own.update(_windowed(own, ANIMAL_WINDOWED, windows, cfg.window_stats))
    out: dict[str, pd.DataFrame] = {}
    if "animal" in modes:
        out["animal"] = _assemble([(k, v, None) for k, v in own.items()], frames, names)
    if "pair" not in modes:
        return out

    contact_d = cfg.contact_distance or default_contact_distance(pos, kps, roles, cfg.contact_body_lengths)
    ordered = [(a, b) for a in range(n_i) for b in range(n_i) if a != b]
    ia = np.array([a for a, _ in ordered], dtype=np.intp)
    ib = np.array([b for _, b in ordered], dtype=np.intp)
    # (T, I, I) -> time-last (P, T) over the ordered pairs right away (the diagonal is never used)
    pair = {k: np.ascontiguousarray(v[:, ia, ib].T)
            for k, v in pair_feature_arrays(pos, t, kps, roles, contact_d, cfg.pair_distances).items()}
    pair.update(_windowed(pair, PAIR_WINDOWED, windows, cfg.window_stats))
    parts = [(k, v, None) for k, v in pair.items()]
    if cfg.pair_own_features != "none":
        keep = list(own) if cfg.pair_own_features == "all" else base_names
        for prefix, idx in (("a_", ia), ("b_", ib)):
            parts.extend((prefix + k, own[k], idx) for k in keep)
    subjects = [f"{names[a]}|{names[b]}" for a, b in ordered]
    df = _assemble(parts, frames, subjects)
    df.attrs["contact_distance"] = float(contact_d) if np.isfinite(contact_d) else None
    out["pair"] = df
    return out
