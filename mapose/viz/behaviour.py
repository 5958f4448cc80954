"""Behaviour plots: ethograms, 2-D embeddings, transition graphs, cluster statistics and profiles.

Every function draws on its own :class:`matplotlib.figure.Figure` with the Agg canvas (no
``pyplot`` state, safe in servers and threads), saves it atomically to ``path`` (format from the
suffix: ``.png``, ``.svg``, ``.pdf``) and returns the path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from mapose.errors import ValidationError
from mapose.viz._figures import new_figure, save_figure

PathLike = Union[str, Path]

__all__ = ["plot_ethogram", "plot_embedding", "plot_transition_graph", "plot_cluster_statistics",
           "plot_behaviour_by_region", "plot_cluster_profiles", "cluster_colours"]


def cluster_colours(labels: Sequence[int]) -> dict[int, tuple]:
    """A stable colour per label (``-1`` = light grey), from ``tab20`` then ``hsv``."""
    import matplotlib

    uniq = sorted({int(v) for v in labels})
    pos = [u for u in uniq if u >= 0]
    cmap = matplotlib.colormaps["tab20"] if len(pos) <= 20 else matplotlib.colormaps["hsv"]
    out = {}
    for i, u in enumerate(pos):
        out[u] = cmap(u % 20 if len(pos) <= 20 else i / max(len(pos), 1))
    if -1 in uniq:
        out[-1] = (0.85, 0.85, 0.85, 1.0)
    return out


def plot_ethogram(
    labels_by_subject: Mapping[str, np.ndarray],
    names: Optional[Mapping[int, str]] = None,
    fps: Optional[float] = None,
    path: PathLike = "ethogram.png",
    title: str = "",
    binary: Optional[bool] = None,
) -> Path:
    """Ethogram: one row per subject (or per behaviour), coloured by label over time.

    Parameters
    ----------
    labels_by_subject
        Row name -> ``(T,)`` integer labels (``-1`` = noise / unlabelled, drawn light grey).  For
        binary behaviour predictions give one row per behaviour with 0/1 values.
    names
        Label -> legend name (default ``"cluster <k>"``; ``-1`` is ``"noise"``).
    fps
        Frames per second; the x axis is in seconds when given, else in frames.
    path
        Output image file.
    title
        Figure title.
    binary
        Draw 0 as background (only 1 is coloured).  Default: when every row holds only 0/1.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from matplotlib.patches import Patch

    if not labels_by_subject:
        raise ValidationError("plot_ethogram needs at least one row of labels")
    rows = {str(k): np.asarray(v).astype(np.int64).reshape(-1) for k, v in labels_by_subject.items()}
    allv = np.concatenate([v for v in rows.values()]) if rows else np.zeros(0, int)
    if binary is None:
        binary = allv.size > 0 and set(np.unique(allv).tolist()) <= {0, 1}
    colours = cluster_colours(allv.tolist() or [0])
    t_max = max(len(v) for v in rows.values())
    fig = new_figure(min(16.0, 6 + t_max / 2000), 0.5 + 0.45 * len(rows) + 0.8)
    ax = fig.add_subplot(1, 1, 1)
    scale = 1.0 / fps if fps else 1.0
    for r, (name, lab) in enumerate(rows.items()):
        if lab.size == 0:
            continue
        change = np.flatnonzero(lab[1:] != lab[:-1]) + 1
        starts = np.concatenate([[0], change])
        stops = np.concatenate([change, [lab.size]])
        by_label: dict[int, list] = {}
        for s, e in zip(starts, stops):
            v = int(lab[s])
            if binary and v == 0:
                continue
            by_label.setdefault(v, []).append((s * scale, (e - s) * scale))
        for v, spans in by_label.items():
            colour = colours[v] if not binary else colours.get(1, (0.2, 0.4, 0.8, 1))
            ax.broken_barh(spans, (r - 0.4, 0.8), facecolors=colour, linewidth=0)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(list(rows))
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, t_max * scale)
    ax.set_xlabel("time (s)" if fps else "frame")
    if title:
        ax.set_title(title)
    if not binary:
        shown = sorted(set(allv.tolist()))
        if len(shown) <= 30:
            handles = [Patch(facecolor=colours[v], label=(names or {}).get(v) or
                             ("noise" if v == -1 else f"cluster {v}")) for v in shown]
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                      frameon=False)
    return save_figure(fig, path)


def plot_embedding(
    embedding: np.ndarray,
    labels: np.ndarray,
    path: PathLike = "embedding.png",
    max_points: int = 50_000,
    seed: int = 0,
    title: str = "",
) -> Path:
    """2-D embedding scatter coloured by cluster (randomly downsampled above ``max_points``).

    Parameters
    ----------
    embedding
        ``(N, >=2)`` points (the first two columns are drawn).
    labels
        ``(N,)`` cluster labels (``-1`` = noise, light grey).
    path
        Output image file.
    max_points
        At most this many points are drawn (a seeded random subset).
    seed
        Seed of the downsampling.
    """
    emb = np.asarray(embedding, dtype=np.float64)
    lab = np.asarray(labels).astype(np.int64).reshape(-1)
    if emb.ndim != 2 or emb.shape[1] < 2 or emb.shape[0] != lab.shape[0]:
        raise ValidationError(
            f"embedding has shape {emb.shape} and labels {lab.shape}; expected (N, 2+) and (N,)"
        )
    if emb.shape[0] > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(emb.shape[0], max_points, replace=False))
        emb, lab = emb[idx], lab[idx]
    colours = cluster_colours(lab.tolist() or [0])
    fig = new_figure(7, 6)
    ax = fig.add_subplot(1, 1, 1)
    size = max(0.5, min(8.0, 20000 / max(len(lab), 1)))
    order = np.argsort(lab >= 0, kind="stable")  # noise first, underneath
    ax.scatter(emb[order, 0], emb[order, 1], s=size, c=[colours[v] for v in lab[order]],
               linewidths=0, rasterized=True)
    for v in sorted(set(lab.tolist())):
        if v < 0:
            continue
        cx, cy = np.median(emb[lab == v, 0]), np.median(emb[lab == v, 1])
        ax.text(cx, cy, str(v), fontsize=9, ha="center", va="center", weight="bold")
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    ax.set_title(title or f"embedding ({len(lab)} frames shown)")
    return save_figure(fig, path)


def plot_transition_graph(graph, path: PathLike = "transitions.png", title: str = "",
                          seed: int = 0) -> Path:
    """Draw a transition graph (:func:`mapose.behaviour.clustering.transition_graph`).

    Node size follows the node attribute ``fraction`` (share of frames), edge width and
    transparency the ``weight`` (transition probability).
    """
    import networkx as nx

    fig = new_figure(7, 7)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_axis_off()
    if graph.number_of_nodes() == 0:
        ax.text(0.5, 0.5, "no clusters", ha="center", va="center")
        return save_figure(fig, path)
    pos = nx.circular_layout(graph) if graph.number_of_nodes() <= 3 else \
        nx.spring_layout(graph, seed=seed, weight="weight")
    nodes = list(graph.nodes)
    colours = cluster_colours(nodes)
    frac = np.array([graph.nodes[n].get("fraction", np.nan) for n in nodes], dtype=float)
    frac = np.where(np.isfinite(frac), frac, 1.0 / max(len(nodes), 1))
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_size=300 + 6000 * frac,
                           node_color=[colours[n] for n in nodes])
    nx.draw_networkx_labels(graph, pos, ax=ax, font_size=9)
    edges = list(graph.edges(data="weight"))
    if edges:
        w = np.array([e[2] for e in edges])
        nx.draw_networkx_edges(graph, pos, ax=ax, edgelist=[(a, b) for a, b, _ in edges],
                               width=0.5 + 5 * w, alpha=None, arrows=True, arrowsize=12,
                               edge_color=[(0.2, 0.2, 0.2, 0.25 + 0.75 * float(x)) for x in w],
                               connectionstyle="arc3,rad=0.1",
                               node_size=300 + 6000 * frac)
    ax.set_title(title or "transitions between clusters (edge width = probability)")
    return save_figure(fig, path)


def plot_cluster_statistics(stats: pd.DataFrame, path: PathLike = "cluster_stats.png",
                            fps: Optional[float] = None) -> Path:
    """Bar charts of each cluster's share of frames and mean bout duration, per subject."""
    need = {"subject", "cluster", "fraction", "mean_bout_frames"}
    if not need <= set(stats.columns):
        raise ValidationError(f"statistics table lacks columns {sorted(need - set(stats.columns))}")
    subjects = [s for s in dict.fromkeys(stats["subject"]) if s != "all"] or ["all"]
    clusters = sorted(stats["cluster"].unique())
    fig = new_figure(max(6, 0.35 * len(clusters) * max(1, len(subjects)) + 3), 6)
    ax1, ax2 = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2)
    width = 0.8 / len(subjects)
    x = np.arange(len(clusters))
    for i, s in enumerate(subjects):
        sub = stats[stats["subject"] == s].set_index("cluster").reindex(clusters)
        ax1.bar(x + i * width, sub["fraction"].fillna(0), width, label=s)
        dur = sub["mean_bout_frames"] / fps if fps else sub["mean_bout_frames"]
        ax2.bar(x + i * width, dur.fillna(0), width, label=s)
    for ax in (ax1, ax2):
        ax.set_xticks(x + 0.4 - width / 2)
        ax.set_xticklabels([("noise" if c == -1 else str(c)) for c in clusters])
    ax1.set_ylabel("fraction of frames")
    ax2.set_ylabel("mean bout (s)" if fps else "mean bout (frames)")
    ax2.set_xlabel("cluster")
    if len(subjects) > 1:
        ax1.legend(fontsize=8, frameon=False)
    return save_figure(fig, path)


def plot_behaviour_by_region(table: pd.DataFrame, path: PathLike = "cluster_regions.png", column: str = "cluster",
                             title: str = "") -> Path:
    """Heat map of :func:`mapose.behaviour.regions.behaviour_by_region`: each label's share of frames
    inside each area, written with its enrichment (x times the animals' share of time there)."""
    need = {column, "region", "fraction_inside", "enrichment"}
    if not need <= set(table.columns):
        raise ValidationError(f"behaviour-by-region table lacks columns {sorted(need - set(table.columns))}")
    frac = table.pivot(index=column, columns="region", values="fraction_inside")
    enr = table.pivot(index=column, columns="region", values="enrichment").reindex_like(frac)
    fig = new_figure(max(4.5, 1.3 * frac.shape[1] + 2.5), max(3.0, 0.4 * frac.shape[0] + 1.5))
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(frac.to_numpy(dtype=float), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    for i in range(frac.shape[0]):
        for j in range(frac.shape[1]):
            f, e = frac.iat[i, j], enr.iat[i, j]
            if np.isfinite(f):
                ax.text(j, i, f"{f:.2f}\n×{e:.1f}" if np.isfinite(e) else f"{f:.2f}", ha="center", va="center",
                        fontsize=7, color="white" if f < 0.6 else "black")
    ax.set_xticks(range(frac.shape[1]))
    ax.set_xticklabels([str(c) for c in frac.columns], rotation=30, ha="right")
    ax.set_yticks(range(frac.shape[0]))
    ax.set_yticklabels([("noise" if column == "cluster" and v == -1 else str(v)) for v in frac.index])
    ax.set_xlabel("region")
    ax.set_ylabel(column)
    fig.colorbar(im, ax=ax, label="fraction of its frames inside")
    ax.set_title(title or f"where each {column} happens (×: vs the animals' time there)", fontsize=9)
    return save_figure(fig, path)


def plot_cluster_profiles(profiles: pd.DataFrame, path: PathLike = "cluster_profiles.png", column: str = "cluster",
                          top: int = 14, title: str = "", mirrors: Optional[Mapping[int, int]] = None) -> Path:
    """Heat map of :func:`mapose.behaviour.clustering.cluster_profiles`: for the ``top`` features that set
    the clusters most apart, each cluster's score (colour: above or below all frames, in typical
    frame-to-frame differences), written with its value in the feature's units.

    ``mirrors`` (pair mode: label -> its mirror label, from
    :func:`mapose.behaviour.clustering.mirror_clusters`) labels each row with the cluster it is seen as
    from the partner's side, ``"1 ↔ 0"``, or ``"2 (both)"`` when it is its own mirror."""
    need = {column, "feature", "value", "score"}
    if not need <= set(profiles.columns):
        raise ValidationError(f"profile table lacks columns {sorted(need - set(profiles.columns))}")
    if profiles.empty:
        raise ValidationError("the profile table is empty")
    score = profiles.pivot(index=column, columns="feature", values="score")
    value = profiles.pivot(index=column, columns="feature", values="value")
    order = score.abs().max(axis=0).sort_values(ascending=False, kind="stable").index[:max(1, int(top))]
    score, value = score[order], value[order]
    fig = new_figure(max(5.0, 0.75 * score.shape[1] + 2.5), max(3.0, 0.45 * score.shape[0] + 2.2))
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(score.to_numpy(dtype=float), vmin=-3, vmax=3, cmap="RdBu_r", aspect="auto")
    for i in range(score.shape[0]):
        for j in range(score.shape[1]):
            v, z = value.iat[i, j], score.iat[i, j]
            if np.isfinite(v):
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=6.5,
                        color="white" if np.isfinite(z) and abs(z) > 2 else "black")
    ax.set_xticks(range(score.shape[1]))
    ax.set_xticklabels([str(c) for c in score.columns], rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(score.shape[0]))

    def tick(v) -> str:
        name = "noise" if column == "cluster" and v == -1 else str(v)
        if mirrors is None or v not in mirrors:
            return name
        m = mirrors[v]
        return f"{name} (both)" if m == v else f"{name} ↔ {'noise' if m == -1 else m}"

    ax.set_yticklabels([tick(v) for v in score.index])
    ax.set_ylabel(column)
    fig.colorbar(im, ax=ax, label="vs all frames (robust SDs)")
    ax.set_title(title or f"what sets each {column} apart (numbers: its median, in the features' units)",
                 fontsize=9)
    return save_figure(fig, path)
