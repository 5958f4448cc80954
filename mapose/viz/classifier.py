"""Plots of supervised behaviour classifiers: precision-recall curves and feature importance.

Each function draws on its own Agg figure (no ``pyplot`` state), saves atomically to ``path``
(format from the suffix) and returns the path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Union

import numpy as np
import pandas as pd

from mapose.errors import ValidationError
from mapose.viz._figures import new_figure, save_figure

PathLike = Union[str, Path]

__all__ = ["plot_pr_curves", "plot_feature_importance"]


def plot_pr_curves(
    curves: Mapping[str, Mapping[str, np.ndarray]],
    metrics: Optional[Mapping[str, Mapping[str, float]]] = None,
    path: PathLike = "pr_curves.png",
    title: str = "out-of-fold precision-recall (grouped cross-validation)",
) -> Path:
    """Precision-recall curve of every behaviour, with the chosen operating point.

    Parameters
    ----------
    curves
        Behaviour -> ``{"precision", "recall", "average_precision"}`` (see
        :func:`mapose.behaviour.validation.pr_curve`).
    metrics
        Behaviour -> ``{"precision", "recall", "f1", "threshold"}`` at the chosen threshold
        (after smoothing); drawn as a dot.
    path
        Output image.
    """
    if not curves:
        raise ValidationError("plot_pr_curves needs at least one behaviour")
    fig = new_figure(5.5, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    for i, (b, c) in enumerate(curves.items()):
        colour = f"C{i % 10}"
        ap = c.get("average_precision", float("nan"))
        ax.plot(np.asarray(c["recall"]), np.asarray(c["precision"]), color=colour,
                label=f"{b} (AP {ap:.2f})")
        m = (metrics or {}).get(b)
        if m:
            ax.plot([m["recall"]], [m["precision"]], "o", color=colour,
                    label=f"{b}: F1 {m['f1']:.2f} at p≥{m.get('threshold', float('nan')):.2f} (after bout smoothing)")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    return save_figure(fig, path)


def plot_feature_importance(
    importance: pd.DataFrame,
    path: PathLike = "feature_importance.png",
    top: int = 15,
) -> Path:
    """Horizontal bars of the ``top`` permutation importances of each behaviour.

    Parameters
    ----------
    importance
        Columns ``behaviour``, ``feature``, ``importance_mean``, ``importance_std`` (drop of
        average precision when the feature is shuffled).
    """
    need = {"behaviour", "feature", "importance_mean", "importance_std"}
    if not need <= set(importance.columns):
        raise ValidationError(f"importance table needs columns {sorted(need)}; has {list(importance.columns)}")
    behaviours = list(dict.fromkeys(importance["behaviour"]))
    if not behaviours:
        raise ValidationError("importance table is empty")
    fig = new_figure(6.0 * len(behaviours), 0.6 + 0.28 * top)
    for i, b in enumerate(behaviours):
        part = importance[importance["behaviour"] == b].nlargest(top, "importance_mean")[::-1]
        ax = fig.add_subplot(1, len(behaviours), i + 1)
        ax.barh(part["feature"], part["importance_mean"], xerr=part["importance_std"],
                color=f"C{i % 10}")
        ax.set_title(b)
        ax.set_xlabel("drop in average precision")
        ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return save_figure(fig, path)
