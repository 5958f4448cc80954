"""User corrections of identities (pure functions on ``Tracks``)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from mapose.core import validate_tracks
from mapose.errors import ValidationError


def _individual_index(ds: xr.Dataset, name: str | int) -> int:
    names = [str(v) for v in ds["individuals"].values]
    if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
        if not 0 <= int(name) < len(names):
            raise ValidationError(f"individual index {name} out of range 0..{len(names) - 1}")
        return int(name)
    if str(name) in names:
        return names.index(str(name))
    if str(name).isdigit() and int(name) < len(names):
        return int(name)
    raise ValidationError(f"individual {name!r} not in the tracks; known: {', '.join(names)}"
                          + (f" (or their positions 0..{len(names) - 1})" if str(name).isdigit() else ""))


def swap_identities(ds: xr.Dataset, frame: int, a: str | int, b: str | int) -> xr.Dataset:
    """Exchange the data of individuals ``a`` and ``b`` from video frame ``frame`` onward.

    Every variable with an ``individuals`` dimension (``position``, ``confidence``,
    ``identity_confidence``, ...) is swapped for time steps whose ``frame`` coordinate is
    ``>= frame``.  The input is not modified.

    Parameters
    ----------
    ds
        ``Tracks``.
    frame
        First video frame (the ``frame`` coordinate, not the time in seconds) to swap.
    a, b
        Individual names (or integer positions) to exchange.

    Returns
    -------
    xarray.Dataset
        A new ``Tracks``.

    Examples
    --------
    >>> fixed = swap_identities(tracks, 120, "individual_0", "individual_1")  # doctest: +SKIP
    """
    validate_tracks(ds)
    ia, ib = _individual_index(ds, a), _individual_index(ds, b)
    if ia == ib:
        raise ValidationError(f"cannot swap individual {a!r} with itself")
    frames = ds["frame"].values
    if not len(frames):
        raise ValidationError("the tracks hold no frames: nothing to swap")
    if not int(frames.min()) <= int(frame) <= int(frames.max()):
        raise ValidationError(
            f"frame {frame} outside the tracks' frames {int(frames.min())}..{int(frames.max())}"
        )
    sel = frames >= int(frame)
    out = ds.copy(deep=True)
    for name, var in out.data_vars.items():
        if "individuals" not in var.dims or "time" not in var.dims:
            continue
        arr = var.values  # deep copy: safe to modify in place
        t_ax, i_ax = var.dims.index("time"), var.dims.index("individuals")
        moved = np.moveaxis(arr, (t_ax, i_ax), (0, 1))  # a view
        tmp = moved[sel, ia].copy()
        moved[sel, ia] = moved[sel, ib]
        moved[sel, ib] = tmp
        out[name] = (var.dims, arr, var.attrs)
    return validate_tracks(out)
