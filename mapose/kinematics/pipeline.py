"""Builders that read configs and chain the pure steps (the only config readers of this stage)."""

from __future__ import annotations

import xarray as xr

from mapose.config import as_config
from mapose.kinematics.cleaning import (
    calibrate,
    filter_by_confidence,
    flag_outlier_jumps,
    interpolate_gaps,
    rolling_median,
    savgol_smooth,
    zeros_to_nan,
)
from mapose.kinematics.config import CalibrationConfig, CleaningConfig


def clean(ds: xr.Dataset, cfg: CleaningConfig | dict | None = None) -> xr.Dataset:
    """Run the cleaning steps enabled in ``cfg`` in their fixed order (see :class:`CleaningConfig`;
    a dict of its keys is read as one, None means its defaults).

    Each step records itself in ``attrs["cleaning_log"]``.
    """
    from mapose.core.tracks import validate_tracks
    from mapose.errors import ValidationError

    cfg = as_config(CleaningConfig, cfg, "the cleaning config")
    validate_tracks(ds)
    if ds.sizes["time"] == 0:
        raise ValidationError("the tracks hold no frames: nothing to clean")
    if cfg.zeros_are_missing:
        ds = zeros_to_nan(ds)
    if cfg.confidence_threshold is not None:
        ds = filter_by_confidence(ds, cfg.confidence_threshold)
    if cfg.max_speed is not None:
        ds = flag_outlier_jumps(ds, cfg.max_speed)
    if cfg.max_gap is not None:
        ds = interpolate_gaps(ds, cfg.max_gap)
    if cfg.median_window is not None:
        ds = rolling_median(ds, cfg.median_window, cfg.median_min_periods)
    if cfg.savgol_window is not None:
        ds = savgol_smooth(ds, cfg.savgol_window, cfg.savgol_polyorder)
    return ds


def apply_calibration(ds: xr.Dataset, cfg: CalibrationConfig) -> xr.Dataset:
    """Apply :func:`calibrate` with the values of ``cfg`` (no-op when all are empty)."""
    if cfg.px_per_cm is None and cfg.known_length is None and cfg.fps is None:
        return ds
    return calibrate(ds, px_per_cm=cfg.px_per_cm, known_length=cfg.known_length, fps=cfg.fps)
