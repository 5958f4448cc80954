"""Bouts: runs of equal per-frame labels, and filters on their length.

A *bout* is a maximal run of consecutive frames with the same label.  Cluster labels (``-1`` =
noise) and binary behaviour predictions (0/1) both use these functions.

All lengths are in frames; ``stop`` is exclusive (a bout covers ``labels[start:stop]``).

Examples
--------
>>> import numpy as np
>>> b = find_bouts(np.array([0, 0, 1, 1, 1, -1, 0]))
>>> b[["label", "start", "stop", "length"]].values.tolist()
[[0, 0, 2, 2], [1, 2, 5, 3], [0, 6, 7, 1]]
"""

from __future__ import annotations

import heapq
from typing import Iterable, Union

import numpy as np
import pandas as pd

from mapose.errors import ValidationError

__all__ = ["run_lengths", "find_bouts", "min_bout_filter", "bouts_to_labels"]

BOUT_COLUMNS = ["label", "start", "stop", "length"]


def _as_labels(labels: np.ndarray, what: str = "labels") -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValidationError(f"{what} has shape {arr.shape}; expected a 1-D array (one label per frame)")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.bool_):
            return arr.astype(np.int64)
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValidationError(f"{what} must hold integer labels; got dtype {arr.dtype}")
    return arr.astype(np.int64)


def run_lengths(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-length encode ``labels``.

    Parameters
    ----------
    labels
        ``(T,)`` integer labels, one per frame.

    Returns
    -------
    values, starts, lengths
        Label, first frame and length (frames) of every run, in order.
    """
    arr = _as_labels(labels)
    if arr.size == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), z.copy()
    change = np.flatnonzero(arr[1:] != arr[:-1]) + 1
    starts = np.concatenate([[0], change]).astype(np.int64)
    stops = np.concatenate([change, [arr.size]]).astype(np.int64)
    return arr[starts], starts, stops - starts


def find_bouts(labels: np.ndarray, ignore: Iterable[int] = (-1,)) -> pd.DataFrame:
    """Table of the bouts in a label sequence.

    Parameters
    ----------
    labels
        ``(T,)`` integer labels, one per frame.
    ignore
        Labels that are not behaviours (default ``-1`` = noise / unlabelled); their runs are left
        out of the table.

    Returns
    -------
    pandas.DataFrame
        Columns ``label``, ``start`` (first frame), ``stop`` (exclusive) and ``length`` (frames),
        one row per bout in time order.
    """
    values, starts, lengths = run_lengths(labels)
    keep = ~np.isin(values, np.asarray(list(ignore), dtype=np.int64))
    return pd.DataFrame(
        {
            "label": values[keep],
            "start": starts[keep],
            "stop": (starts + lengths)[keep],
            "length": lengths[keep],
        },
        columns=BOUT_COLUMNS,
    )


def min_bout_filter(
    labels: np.ndarray,
    min_length: int,
    fill: Union[str, int] = "neighbour",
) -> np.ndarray:
    """Remove bouts shorter than ``min_length`` frames.

    Parameters
    ----------
    labels
        ``(T,)`` integer labels, one per frame.
    min_length
        Shortest bout kept, in frames.  ``<= 1`` returns a copy unchanged.
    fill
        How short bouts are replaced:

        - ``"neighbour"``: the shortest remaining short bout takes the label of its longer
          adjacent bout (the preceding one on a tie); runs that become equal merge, and this
          repeats until every bout is at least ``min_length`` long (or only one bout is left).
          This is the usual smoothing of B-SOiD / SimBA style outputs; short noise (``-1``) runs
          are absorbed too.  A sequence shorter than ``min_length`` is returned unchanged.
        - an integer (typically ``-1``): every short bout is set to this value in one pass
          (runs already equal to ``fill`` are left as they are).

    Returns
    -------
    numpy.ndarray
        New ``(T,)`` int64 label array.
    """
    arr = _as_labels(labels)
    if isinstance(min_length, bool) or int(min_length) != min_length:
        raise ValidationError(f"min_length must be an integer number of frames, got {min_length!r}")
    min_length = int(min_length)
    out = arr.copy()
    if min_length <= 1 or arr.size == 0:
        return out
    values, starts, lengths = run_lengths(arr)
    if not isinstance(fill, str):
        if isinstance(fill, (bool, np.bool_)) or int(fill) != fill:
            raise ValidationError(f"fill must be 'neighbour' or an integer label, got {fill!r}")
        short = (lengths < min_length) & (values != int(fill))
        mask = np.repeat(short, lengths)
        out[mask] = int(fill)
        return out
    if fill not in ("neighbour", "neighbor"):
        raise ValidationError(f"fill must be 'neighbour' or an integer label, got {fill!r}")
    n = values.size
    if n <= 1 or arr.size < min_length:
        return out
    val = values.tolist()
    ln = lengths.tolist()
    prev = list(range(-1, n - 1))
    nxt = list(range(1, n + 1))
    nxt[-1] = -1
    alive = [True] * n
    heap = [(ln[i], i) for i in range(n) if ln[i] < min_length]
    heapq.heapify(heap)
    n_alive = n

    def merge_into(keep: int, gone: int) -> None:
        # ``gone`` (adjacent to ``keep``, same label) is absorbed into ``keep``.
        nonlocal n_alive
        ln[keep] += ln[gone]
        alive[gone] = False
        n_alive -= 1
        if nxt[keep] == gone:
            nxt[keep] = nxt[gone]
            if nxt[gone] != -1:
                prev[nxt[gone]] = keep
        else:  # gone precedes keep
            prev[keep] = prev[gone]
            if prev[gone] != -1:
                nxt[prev[gone]] = keep

    while heap and n_alive > 1:
        length, i = heapq.heappop(heap)
        if not alive[i] or length != ln[i] or ln[i] >= min_length:
            continue
        p, q = prev[i], nxt[i]
        if p == -1 and q == -1:
            break
        if q == -1 or (p != -1 and ln[p] >= ln[q]):
            target = p
        else:
            target = q
        val[i] = val[target]
        merge_into(target, i)
        # the other neighbour may now carry the same label: merge it too
        for other in (prev[target], nxt[target]):
            if other != -1 and alive[other] and val[other] == val[target]:
                merge_into(target, other)
        if ln[target] < min_length:
            heapq.heappush(heap, (ln[target], target))
    # rebuild the label array from the surviving runs (walk the linked list)
    head = next(i for i in range(n) if alive[i] and prev[i] == -1)
    pos = 0
    i = head
    while i != -1:
        out[pos:pos + ln[i]] = val[i]
        pos += ln[i]
        i = nxt[i]
    return out


def bouts_to_labels(bouts: pd.DataFrame, n_frames: int, background: int = -1) -> np.ndarray:
    """Per-frame labels from a bout table (the inverse of :func:`find_bouts`).

    Parameters
    ----------
    bouts
        Table with columns ``label``, ``start`` and ``stop`` (exclusive), in frames.
    n_frames
        Length of the output.
    background
        Label of frames covered by no bout.

    Returns
    -------
    numpy.ndarray
        ``(n_frames,)`` int64 labels.  Overlapping bouts: the later row wins.
    """
    missing = [c for c in ("label", "start", "stop") if c not in bouts.columns]
    if missing:
        raise ValidationError(f"bout table lacks columns {missing}; has {list(bouts.columns)}")
    if n_frames < 0:
        raise ValidationError(f"n_frames must be >= 0, got {n_frames}")
    out = np.full(int(n_frames), int(background), dtype=np.int64)
    for label, start, stop in zip(bouts["label"].to_numpy(), bouts["start"].to_numpy(),
                                  bouts["stop"].to_numpy()):
        if start < 0 or stop > n_frames or stop < start:
            raise ValidationError(
                f"bout [{start}, {stop}) lies outside 0..{n_frames} frames or has stop < start"
            )
        out[int(start):int(stop)] = int(label)
    return out
