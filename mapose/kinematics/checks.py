"""Checks that Tracks can give features at all (one place for every command that reads pose files).

Feature code itself is NaN-tolerant (a missing keypoint gives NaN features), so a file with no
frames or without a single finite position would otherwise fail deep inside a window kernel or
silently give a table of NaN.  :func:`check_feature_input` turns these cases into one clear error.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import xarray as xr

from mapose.errors import ValidationError


def check_feature_input(ds: xr.Dataset, what: str = "pose data", mode: Optional[str] = None) -> xr.Dataset:
    """Raise :class:`~mapose.errors.ValidationError` when ``ds`` cannot give features.

    Parameters
    ----------
    ds
        Tracks (``position`` with dims ``time``, ``space``, ``keypoints``, ``individuals``).
    what
        Name of the data in the message (e.g. the file name).
    mode
        ``"pair"`` also requires at least 2 animals; ``None`` or ``"animal"`` checks frames and
        positions only.

    Returns
    -------
    xarray.Dataset
        ``ds`` unchanged, so that a reader can be wrapped: ``check_feature_input(read(p), p)``.

    Examples
    --------
    >>> import numpy as np
    >>> from mapose.core import make_tracks
    >>> ds = make_tracks(np.full((10, 2, 3, 1), np.nan), keypoints=["a", "b", "c"])
    >>> check_feature_input(ds, "x.csv")
    Traceback (most recent call last):
    ...
    mapose.errors.ValidationError: x.csv: no body part has a finite position in any frame
    """
    from mapose.core.tracks import validate_tracks

    validate_tracks(ds)
    if ds.sizes.get("time", 0) == 0:
        raise ValidationError(f"{what} holds no frames")
    if ds.sizes.get("keypoints", 0) == 0 or ds.sizes.get("individuals", 0) == 0:
        raise ValidationError(f"{what} holds no body parts or no animals")
    pos = np.asarray(ds["position"].values)
    if not np.isfinite(pos).all(axis=ds["position"].get_axis_num("space")).any():
        raise ValidationError(f"{what}: no body part has a finite position in any frame")
    if mode == "pair" and ds.sizes["individuals"] < 2:
        n = ds.sizes["individuals"]
        raise ValidationError(f"{what}: pair features need at least 2 animals; the file has {n}")
    return ds
