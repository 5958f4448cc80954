"""Region plots: regions and trajectories over a video frame, time spent in each region.

Like :mod:`mapose.viz.kinematics`, the ``plot_*`` functions draw on their own Agg figure, save it
atomically (format from the suffix) and return the path; :func:`draw_regions` draws on a frame
(for the dashboard).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import pandas as pd

from mapose.core.regions import Region
from mapose.errors import ValidationError
from mapose.viz._figures import new_figure, save_figure

PathLike = Union[str, Path]

__all__ = ["draw_regions", "plot_regions", "plot_time_in_regions"]

#: RGB colours of regions drawn on frames (distinct from the identity colours' first entries)
REGION_COLOURS = ((0, 200, 255), (255, 200, 0), (255, 90, 200), (120, 255, 120), (255, 140, 60),
                  (170, 130, 255), (80, 255, 230), (255, 255, 120))


def draw_regions(
    frame: np.ndarray, regions: Sequence[Region], pending: Optional[np.ndarray] = None, scale: float = 1.0,
    positions: Optional[np.ndarray] = None,
) -> np.ndarray:
    """A copy of ``frame`` (RGB or grey, any size) resized by ``scale`` with each region outlined and
    named, the points of a region being drawn (``pending``, ``(N, 2)`` pixels of the frame) as dots
    joined by a thin line, and optional animal ``positions`` (``(I, 2)`` pixels) as filled dots."""
    import cv2

    img = np.asarray(frame)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = np.ascontiguousarray(img[..., :3]).astype(np.uint8)
    if scale != 1.0:
        img = cv2.resize(img, (max(1, round(img.shape[1] * scale)), max(1, round(img.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA)
    thick = max(1, round(2 * max(img.shape[:2]) / 720))

    def px(xy):
        return np.round(np.asarray(xy, dtype=np.float64)[:, :2] * scale).astype(np.int32)

    for k, r in enumerate(regions):
        colour = REGION_COLOURS[k % len(REGION_COLOURS)]
        g = r.geometry
        rings = [g.exterior, *g.interiors] if r.is_area else [g]
        for ring in rings:
            cv2.polylines(img, [px(ring.coords)], r.is_area, colour, thick, cv2.LINE_AA)
        if not r.is_area:
            c = px(g.coords)
            cv2.arrowedLine(img, tuple(map(int, c[-2])), tuple(map(int, c[-1])), colour, thick, cv2.LINE_AA,
                            tipLength=min(0.5, 20.0 / max(1.0, float(np.hypot(*(c[-1] - c[-2]))))))
        at = (g.representative_point() if r.is_area else g.interpolate(0.5, normalized=True)).coords[0]
        x, y = px(np.asarray([at]))[0]
        font = 0.35 * max(1.0, thick / 2)
        (w, h), _ = cv2.getTextSize(r.name, cv2.FONT_HERSHEY_SIMPLEX, font, 1)
        cv2.putText(img, r.name, (int(x) - w // 2, int(y) + h // 2), cv2.FONT_HERSHEY_SIMPLEX, font, colour, 1,
                    cv2.LINE_AA)
    if positions is not None:
        for i, xy in enumerate(np.asarray(positions, dtype=np.float64).reshape(-1, 2)):
            if np.isfinite(xy).all():
                cv2.circle(img, tuple(map(int, px(xy[None])[0])), 3 * thick, (255, 255, 255), -1, cv2.LINE_AA)
    if pending is not None and len(pending):
        p = px(np.asarray(pending).reshape(-1, 2))
        if len(p) > 1:
            cv2.polylines(img, [p], False, (255, 255, 255), 1, cv2.LINE_AA)
        for q in p:
            cv2.circle(img, tuple(map(int, q)), 2 * thick, (255, 60, 60), -1, cv2.LINE_AA)
    return img


def _outline(ax, region: Region, color, label: bool = True) -> None:
    g = region.geometry
    if region.is_area:
        rings = [g.exterior, *g.interiors]
        for k, ring in enumerate(rings):
            xy = np.asarray(ring.coords)
            ax.plot(xy[:, 0], xy[:, 1], color=color, lw=1.5, ls="-" if k == 0 else ":")
        cx, cy = g.representative_point().coords[0]
    else:
        xy = np.asarray(g.coords)
        ax.plot(xy[:, 0], xy[:, 1], color=color, lw=2.0, ls="--")
        ax.annotate("", xy=xy[-1], xytext=xy[-2], arrowprops=dict(arrowstyle="->", color=color))
        cx, cy = g.interpolate(0.5, normalized=True).coords[0]
    if label:
        ax.text(cx, cy, region.name, color=color, fontsize="x-small", ha="center", va="center",
                bbox=dict(facecolor="black", alpha=0.4, lw=0, pad=1))


def plot_regions(
    regions: Sequence[Region],
    path: PathLike,
    frame: Optional[np.ndarray] = None,
    trajectories: Optional[dict[str, np.ndarray]] = None,
    max_points: int = 20000,
    title: str = "regions of interest",
) -> Path:
    """Regions drawn over ``frame`` (an ``(H, W[, 3])`` RGB or grey image, pixels) with optional
    ``trajectories`` (name -> ``(T, 2)`` pixel positions, thinned to ``max_points``).

    Lines are dashed, with an arrow from their last-but-one to their last point: crossings to the
    right of that direction are ``crossings_right`` in :func:`mapose.kinematics.regions.region_summary`.
    """
    if not regions:
        raise ValidationError("plot_regions: no region to draw")
    fig = new_figure(7, 7)
    ax = fig.add_subplot(1, 1, 1)
    if frame is not None:
        img = np.asarray(frame)
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
    for name, xy in (trajectories or {}).items():
        xy = np.asarray(xy, dtype=float)
        step = max(1, int(np.ceil(len(xy) / max(max_points, 1))))
        ax.plot(xy[::step, 0], xy[::step, 1], lw=0.6, alpha=0.8, label=str(name))
    colors = [f"C{(k + 2) % 10}" for k in range(len(regions))]
    for r, c in zip(regions, colors):
        _outline(ax, r, c)
    if frame is not None:
        ax.set_xlim(-0.5, img.shape[1] - 0.5)
        ax.set_ylim(img.shape[0] - 0.5, -0.5)
    else:
        ax.set_aspect("equal", adjustable="datalim")
        ax.invert_yaxis()
    if trajectories:
        ax.legend(loc="upper right", fontsize="small")
    ax.set_xlabel("x (px)")
    ax.set_ylabel("y (px)")
    ax.set_title(title)
    return save_figure(fig, path)


def plot_time_in_regions(summary: pd.DataFrame, path: PathLike, title: str = "") -> Path:
    """Bar chart of ``time_inside`` per area and animal from a :func:`region_summary` table."""
    need = {"individual", "region", "kind", "time_inside"}
    if not need <= set(summary.columns):
        raise ValidationError(f"region summary lacks column(s) {sorted(need - set(summary.columns))}")
    areas = summary[summary["kind"] == "area"]
    if areas.empty:
        raise ValidationError("the region summary has no area (only lines): nothing to plot")
    table = areas.pivot(index="region", columns="individual", values="time_inside")
    table = table.loc[list(dict.fromkeys(areas["region"]))]
    unit = summary.attrs.get("time_unit", "frames")
    fig = new_figure(max(6, 0.6 * len(table) + 2), 4)
    ax = fig.add_subplot(1, 1, 1)
    n = max(table.shape[1], 1)
    width = 0.8 / n
    x = np.arange(len(table))
    for k, name in enumerate(table.columns):
        ax.bar(x + (k - (n - 1) / 2) * width, table[name].to_numpy(dtype=float), width, label=str(name))
    ax.set_xticks(x)
    ax.set_xticklabels(table.index, rotation=45, ha="right", fontsize="small")
    ax.set_ylabel(f"time inside ({unit})")
    ax.set_title(title or "time in each region")
    ax.legend(fontsize="small")
    return save_figure(fig, path)
