"""Coordinate convention between model output cells and model-input pixels.

Pixel centres are at integer coordinates.  An output map of stride ``s`` has cell ``c`` (column, or
row) centred on the model-input pixel ``c * s + (s - 1) / 2`` -- the centre of the ``s`` input pixels
``c*s .. c*s + s - 1`` it summarises.  Target encoders (:mod:`mapose.data`) and decoders
(:mod:`mapose.decode`) must both use these two functions so that training and inference agree.

Examples
--------
>>> cell_to_pixel(0, 4)
1.5
>>> pixel_to_cell(1.5, 4)
0.0
>>> float(cell_to_pixel(pixel_to_cell(37.25, 4), 4))
37.25
"""

from __future__ import annotations

from typing import Union

import numpy as np

ArrayLike = Union[float, int, np.ndarray]


def _check_stride(stride: float) -> float:
    s = float(stride)
    if not np.isfinite(s) or s <= 0:
        raise ValueError(f"stride must be a positive number of pixels per output cell, got {stride!r}")
    return s


def cell_to_pixel(col_or_row: ArrayLike, stride: float) -> ArrayLike:
    """Model-input pixel coordinate of an output-cell coordinate.

    Parameters
    ----------
    col_or_row
        Column (for x) or row (for y) in output cells; may be fractional (refined) and an array.
    stride
        Output stride, model-input pixels per output cell.

    Returns
    -------
    float or ndarray
        ``col_or_row * stride + (stride - 1) / 2``, in model-input pixels (float64).
    """
    s = _check_stride(stride)
    out = np.asarray(col_or_row, dtype=np.float64) * s + (s - 1.0) / 2.0
    return float(out) if out.ndim == 0 else out


def pixel_to_cell(x_or_y: ArrayLike, stride: float) -> ArrayLike:
    """Output-cell coordinate (fractional) of a model-input pixel coordinate.

    Inverse of :func:`cell_to_pixel`: ``(x_or_y - (stride - 1) / 2) / stride``.

    Parameters
    ----------
    x_or_y
        x (or y) in model-input pixels; scalar or array.
    stride
        Output stride, model-input pixels per output cell.

    Returns
    -------
    float or ndarray
        Fractional cell coordinate (float64); round it to get the nearest cell index.
    """
    s = _check_stride(stride)
    out = (np.asarray(x_or_y, dtype=np.float64) - (s - 1.0) / 2.0) / s
    return float(out) if out.ndim == 0 else out


__all__ = ["cell_to_pixel", "pixel_to_cell"]
