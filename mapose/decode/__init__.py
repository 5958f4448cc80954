"""Decoding model outputs into animal instances (pure numpy/scipy; never imports torch).

- :mod:`mapose.decode.geometry` -- the cell <-> pixel convention shared with the target encoders.
"""

from mapose.decode.geometry import cell_to_pixel, pixel_to_cell

__all__ = ["cell_to_pixel", "pixel_to_cell"]
