"""Matplotlib figures without pyplot (no global state, no display) and their atomic saving."""

from __future__ import annotations

from pathlib import Path
from typing import Union

PathLike = Union[str, Path]


def new_figure(width: float, height: float):
    """A matplotlib :class:`~matplotlib.figure.Figure` of ``width`` × ``height`` inches on the Agg
    canvas (never touches pyplot's global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: PathLike) -> Path:
    """Save ``fig`` to ``path`` atomically; the format follows the extension (default PNG)."""
    from mapose.io._files import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    return path
