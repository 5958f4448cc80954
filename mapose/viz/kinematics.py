"""Kinematics plots: trajectories, speed over time, pairwise distance over time.

Every function draws on its own :class:`matplotlib.figure.Figure` with the Agg canvas (no
``pyplot`` state), saves it atomically to ``path`` (format from the suffix: ``.png``, ``.svg``,
``.pdf``) and returns the path.  Long recordings are thinned to at most ``max_points`` samples per
line (every n-th frame) so that plotting an hour of data stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np
import pandas as pd
import xarray as xr

from mapose.errors import ValidationError
from mapose.viz._figures import new_figure, save_figure

PathLike = Union[str, Path]

__all__ = ["plot_trajectories", "plot_speed", "plot_pair_distance"]


def _stride(n: int, max_points: int) -> int:
    return max(1, int(np.ceil(n / max(max_points, 1))))


def _time_axis(frames: np.ndarray, fps: Optional[float]) -> tuple[np.ndarray, str]:
    if fps:
        return frames / float(fps), "time (s)"
    return frames.astype(float), "frame"


def plot_trajectories(
    ds: xr.Dataset, path: PathLike, keypoint: str = "centroid", max_points: int = 20000, title: str = ""
) -> Path:
    """Path of every animal's ``keypoint`` (default: centroid) in image coordinates (y down)."""
    from mapose.kinematics import keypoint_position

    pos = keypoint_position(ds, keypoint)  # (time, space, individuals)
    unit = ds.attrs.get("space_unit", "px")
    step = _stride(pos.sizes["time"], max_points)
    fig = new_figure(6, 6)
    ax = fig.add_subplot(1, 1, 1)
    for name in pos["individuals"].values:
        p = pos.sel(individuals=name).values[::step]
        ax.plot(p[:, 0], p[:, 1], lw=0.6, alpha=0.8, label=str(name))
    ax.set_aspect("equal", adjustable="datalim")
    ax.invert_yaxis()
    ax.set_xlabel(f"x ({unit})")
    ax.set_ylabel(f"y ({unit})")
    ax.set_title(title or f"trajectories ({keypoint})")
    ax.legend(loc="best", fontsize="small")
    return save_figure(fig, path)


def _subject_lines(df: pd.DataFrame, column: str, subjects, path: PathLike, ylabel: str, title: str,
                   fps: Optional[float], max_points: int) -> Path:
    if column not in df.columns or "subject" not in df.columns or "frame" not in df.columns:
        raise ValidationError(
            f"feature table lacks the column {column!r} (or frame/subject); has {list(df.columns)[:12]}…"
        )
    fig = new_figure(10, 1.6 + 1.2 * max(len(subjects), 1))
    axes = [fig.add_subplot(max(len(subjects), 1), 1, i + 1) for i in range(max(len(subjects), 1))]
    xlabel = "frame"
    for ax, subj in zip(axes, subjects):
        sub = df[df["subject"] == subj]
        step = _stride(len(sub), max_points)
        x, xlabel = _time_axis(sub["frame"].to_numpy()[::step], fps)
        ax.plot(x, sub[column].to_numpy(dtype=float)[::step], lw=0.6)
        ax.set_ylabel(str(subj), rotation=0, ha="right", fontsize="small")
    axes[-1].set_xlabel(xlabel)
    axes[0].set_title(f"{title} ({ylabel})" if title else ylabel)
    return save_figure(fig, path)


def plot_speed(animal_table: pd.DataFrame, path: PathLike, fps: Optional[float] = None,
               unit: str = "px", max_points: int = 20000) -> Path:
    """Centroid speed over time, one row per animal, from an animal-mode feature table."""
    subjects = list(dict.fromkeys(animal_table["subject"]))
    per = "s" if fps else "frame"
    return _subject_lines(animal_table, "speed", subjects, path, f"centroid speed, {unit}/{per}", "",
                          fps, max_points)


def plot_pair_distance(pair_table: pd.DataFrame, path: PathLike, column: str = "centroid_dist",
                       fps: Optional[float] = None, unit: str = "px", max_points: int = 20000) -> Path:
    """Distance over time for every unordered pair (A|B drawn, B|A skipped), from a pair table."""
    seen, subjects = set(), []
    for s in dict.fromkeys(pair_table["subject"]):
        a, _, b = str(s).partition("|")
        if (b, a) not in seen:
            seen.add((a, b))
            subjects.append(s)
    return _subject_lines(pair_table, column, subjects, path, f"{column}, {unit}", "pairwise distance",
                          fps, max_points)
