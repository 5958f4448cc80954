"""Small helpers shared by CLI commands (argument parsing only; no science here)."""

from __future__ import annotations

from pathlib import Path

from mapose.errors import MaposeError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".mpg", ".mpeg", ".m4v", ".wmv")


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def read_pose_any(path: str | Path, fmt: str | None = None, fps: float | None = None):
    """Read ``path`` as Tracks if it holds tracks, else as Labels.

    Returns ``("tracks", ds)`` or ``("labels", labels)``.
    """
    from mapose import io

    name = fmt or io.detect_format(path)
    mod = io.get_format(name)
    kw = {"fps": fps} if fps is not None else {}
    if hasattr(mod, "content_kind") and hasattr(mod, "read_labels") and io.content_kind(path, name) == "labels":
        return "labels", io.read_labels(path, format=name)
    if hasattr(mod, "read_tracks"):
        try:
            return "tracks", io.read_tracks(path, format=name, **kw)
        except MaposeError:
            if not hasattr(mod, "read_labels"):
                raise
    if hasattr(mod, "read_labels"):
        return "labels", io.read_labels(path, format=name)
    raise MaposeError(f"{path}: format {name!r} can be neither read as tracks nor as labels")


def add_tta_argument(parser) -> None:
    """``--tta``: overrides the model's ``inference.tta`` (:class:`~mapose.training.config.InferenceConfig`)."""
    from mapose.training.config import TTA_CHOICES

    parser.add_argument("--tta", choices=TTA_CHOICES, default=None,
                        help="test-time augmentation: average the model over 2 or 4 quarter turns of "
                             "each frame (rot2, rot4), over the frame and its mirror image (flip) or "
                             "both (rot4flip, 8 passes); costs 2/4/2/8x model time; auto: rot4 for a "
                             "model trained with full rotations, else flip when it trained with "
                             "mirror images, else none (default: the model's config, inference.tta, "
                             "auto unless changed); none is fastest")


def add_decode_argument(parser) -> None:
    """``--decode auto|single|multi`` (``mapose evaluate`` and ``mapose analyze``)."""
    parser.add_argument("--decode", choices=("auto", "single", "multi"), default="auto",
                        help="auto (default): one animal per frame, each keypoint at its best peak, for "
                             "models trained on frames with one animal (inference.single_animal), else "
                             "assembly by part-affinity fields; single / multi force either")


def decode_choice(value: str) -> bool | None:
    """``--decode`` as the ``single_animal`` option: ``None`` (the model's), ``True`` or ``False``."""
    return {"auto": None, "single": True, "multi": False}[value]
