"""Figures saved beside a model: augmentation preview grid and training curves (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from mapose.io._files import atomic_path


def _figure(rows: int, cols: int, size: float = 2.6):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size), squeeze=False)
    return plt, fig, axes


def save_augmentation_preview(views: Sequence[tuple[np.ndarray, np.ndarray]], path: str | Path,
                              cols: int = 4) -> None:
    """Grid of augmented crops with their keypoints (one colour per keypoint)."""
    rows = max(1, int(np.ceil(len(views) / cols)))
    plt, fig, axes = _figure(rows, cols)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (img, kp) in zip(axes.ravel(), views):
        ax.imshow(img[..., 0] if img.shape[2] == 1 else img, cmap="gray", vmin=0, vmax=255)
        k = kp.shape[1] if kp.ndim == 3 else 0
        colours = plt.cm.hsv(np.linspace(0, 1, max(k, 1), endpoint=False))
        for inst in kp:
            ax.scatter(inst[:, 0], inst[:, 1], s=6, c=colours[:k])
        ax.set_xlim(-0.5, img.shape[1] - 0.5)
        ax.set_ylim(img.shape[0] - 0.5, -0.5)
    fig.suptitle("augmented training samples (keypoints after the transform)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)


def save_training_curve(metrics_csv: str | Path | Sequence[str | Path], path: str | Path) -> bool:
    """Plot train/val loss (log scale) and the learning rate against step from Lightning's CSV log
    (several logs, one per network of an ensemble: one colour each).

    Returns False when no log has rows yet.
    """
    import pandas as pd

    paths = [metrics_csv] if isinstance(metrics_csv, (str, Path)) else list(metrics_csv)
    logs = []
    for i, p in enumerate(map(Path, paths)):
        df = pd.read_csv(p) if p.exists() else None
        if df is not None and not df.empty and "step" in df:
            logs.append((i, df))
    if not logs:
        return False
    plt, fig, axes = _figure(1, 2, 4.0)
    ax, ax2 = axes[0]
    for i, df in logs:  # i: the network's number, also when an earlier one has no log
        tag, colour = (f" (network {i + 1})", f"C{i}") if len(paths) > 1 else ("", None)
        for col, style in (("train/loss", "-"), ("val/loss", "o-")):
            if col in df:
                d = df[["step", col]].dropna()
                if len(d):
                    ax.plot(d["step"], d[col], style, label=col + tag, ms=3, color=colour,
                            alpha=0.5 if col == "train/loss" and colour else 1.0)
        for col in [c for c in df.columns if c.startswith("val/") and c != "val/loss"]:
            d = df[["step", col]].dropna()
            if len(d):
                ax.plot(d["step"], d[col], "--", label=col + tag, lw=1, color=colour)
        if "lr" in df:
            d = df[["step", "lr"]].dropna()
            ax2.plot(d["step"], d["lr"], color=colour)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend(fontsize=7)
    ax2.set_xlabel("step")
    ax2.set_ylabel("learning rate")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)
    return True
