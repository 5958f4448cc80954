"""Streaming video analysis: video -> :class:`~mapose.core.Detections` -> ``Tracks`` -> pose file.

- :func:`analyze_video` -- the whole analysis of one video, resumable, written atomically.
- :func:`predict_video` -- model + decoding over a video, streaming, bounded memory.
- :mod:`mapose.inference.frames` -- background-thread frame reading, crop/resize, batching.
- :mod:`mapose.inference.chunks` -- chunked temporary results (``<out>.partial/``) for resuming.

Torch is imported only when a video is analysed.
"""

from mapose.inference.pipeline import (
    AnalysisResult,
    DecodeOptions,
    Timings,
    analyze_video,
    file_checksum,
    model_input_scale,
    parse_n_animals,
    predict_video,
    resolve_n_animals,
    resolve_precision,
)

__all__ = ["AnalysisResult", "DecodeOptions", "Timings", "analyze_video", "file_checksum",
           "model_input_scale", "parse_n_animals", "predict_video", "resolve_n_animals",
           "resolve_precision"]
