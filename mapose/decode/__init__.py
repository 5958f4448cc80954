"""Decoding model outputs into animal instances (pure numpy/scipy; never imports torch).

- :mod:`mapose.decode.geometry` -- the cell <-> pixel convention shared with the target encoders.
- :mod:`mapose.decode.peaks` -- peak finding (maximum-filter NMS) and sub-pixel refinement.
- :mod:`mapose.decode.paf` -- vectorised PAF line integrals of candidate connections.
- :mod:`mapose.decode.assembly` -- grouping candidates into animals along the skeleton.
- :mod:`mapose.decode.frame` -- :func:`decode_frame`, :func:`decode_batch`, :func:`to_detections`.

Unassembled keypoints are returned as low-score one-keypoint instances ("singletons"); drop them
with ``filter_instances(det, min_keypoints=2)``.
"""

from mapose.decode.assembly import Assembly, assemble
from mapose.decode.frame import (
    FrameResult,
    decode_batch,
    decode_frame,
    filter_instances,
    model_to_video,
    to_detections,
)
from mapose.decode.geometry import cell_to_pixel, pixel_to_cell
from mapose.decode.paf import Connections, score_connections
from mapose.decode.peaks import Peaks, detect_peaks, find_peaks

__all__ = [
    "Assembly",
    "Connections",
    "FrameResult",
    "Peaks",
    "assemble",
    "cell_to_pixel",
    "decode_batch",
    "decode_frame",
    "detect_peaks",
    "filter_instances",
    "find_peaks",
    "model_to_video",
    "pixel_to_cell",
    "score_connections",
    "to_detections",
]
