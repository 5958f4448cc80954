"""Core data types of mapose (numpy/xarray only; importing this never imports torch).

- :class:`Skeleton` -- keypoint names, edges, left/right symmetry pairs.
- :class:`Detections` -- per-frame instances before identities exist.
- ``Tracks`` -- an :class:`xarray.Dataset` in the ``movement`` layout, built by :func:`make_tracks`
  and checked by :func:`validate_tracks` (the one owner of the layout).
- :class:`Labels` -- labelled images for training.
- :class:`Region` -- a named area or line of the video (regions of interest).
"""

from mapose.core.detections import Detections
from mapose.core.labels import ImageRef, Labels
from mapose.core.regions import Region
from mapose.core.skeleton import Skeleton
from mapose.core.tracks import (
    detections_to_tracks,
    get_skeleton,
    make_tracks,
    n_missing_fraction,
    tracks_to_detections,
    validate_tracks,
    with_skeleton,
)

__all__ = [
    "Detections",
    "ImageRef",
    "Labels",
    "Region",
    "Skeleton",
    "detections_to_tracks",
    "get_skeleton",
    "make_tracks",
    "n_missing_fraction",
    "tracks_to_detections",
    "validate_tracks",
    "with_skeleton",
]
