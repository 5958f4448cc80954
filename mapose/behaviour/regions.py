"""Where each behaviour happens: per label (cluster or behaviour) and region of interest, how much
of it the animals spend inside the region, and how that compares with their time there overall.

Answers "is grooming done in the shelter?" or "which clusters are wall-side?" from a label table
(``session``, ``frame``, ``subject`` and a label column, as written by ``mapose cluster`` or
``mapose classify predict``), the sessions' tracks and their regions
(:class:`mapose.core.regions.Region`, pixels of each video).  The animal's reference point is
tested as in :func:`mapose.kinematics.region_occupancy`; a pair's (``A|B``) is the first animal's.

For each label ``L`` and area ``R``, over the labelled frames where the animal is seen:

- ``frames``: frames labelled ``L``; ``frames_inside``: those with the animal inside ``R``;
- ``fraction_inside`` = ``frames_inside / frames``: how much of ``L`` happens inside ``R``;
- ``share_of_region`` = ``frames_inside`` / all labelled frames inside ``R``: how much of the time
  inside ``R`` is ``L``;
- ``enrichment`` = ``fraction_inside`` / the same fraction over every label: above 1 when ``L`` is
  done inside ``R`` more than the animals' time there alone explains.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from mapose.core.regions import Region
from mapose.errors import ValidationError
from mapose.kinematics.motion import KeypointSpec

COLUMNS = ("region", "frames", "frames_inside", "fraction_inside", "share_of_region", "enrichment")


def _inside_per_row(rows: pd.DataFrame, ds: xr.Dataset, regions: Sequence[Region], keypoint: KeypointSpec,
                    session: str) -> tuple[list[str], np.ndarray]:
    """``(region names, (rows, regions) array)``: 1 inside, 0 outside, NaN where not seen or the
    frame / animal is not in ``ds``."""
    from mapose.kinematics.regions import region_occupancy

    occ = region_occupancy(ds, regions, keypoint=keypoint)
    names = [str(r) for r in occ["region"].values]
    values = occ.transpose("time", "individuals", "region").values
    frame_pos = {int(f): i for i, f in enumerate(ds["frame"].values)}
    animal_pos = {str(a): i for i, a in enumerate(ds["individuals"].values)}
    animals = rows["subject"].astype(str).str.partition("|")[0]
    unknown = sorted(set(animals) - set(animal_pos))
    if unknown:
        raise ValidationError(f"session {session!r}: the labels name animals {unknown[:5]} that its tracks do not "
                              f"have ({', '.join(animal_pos)}); are these the tracks the labels were made from?")
    t = np.array([frame_pos.get(int(f), -1) for f in rows["frame"]], dtype=np.int64)
    a = animals.map(animal_pos).to_numpy(dtype=np.int64)
    out = np.full((len(rows), len(names)), np.nan)
    ok = t >= 0
    out[ok] = values[t[ok], a[ok]]
    return names, out


def behaviour_by_region(labels: pd.DataFrame, tracks: Mapping[str, xr.Dataset],
                        regions: Mapping[str, Sequence[Region]], column: str = "cluster",
                        keypoint: KeypointSpec = "centroid") -> pd.DataFrame:
    """Per label and area, the time inside it (see the module's docstring).

    Parameters
    ----------
    labels
        Columns ``session``, ``frame``, ``subject`` and ``column``.
    tracks, regions
        Per session name: its ``Tracks`` and its regions (areas are used, lines ignored).  Every
        session of ``labels`` needs both, and every session the same region names.
    column
        The label column (``cluster``, ``behaviour``, ...).
    keypoint
        The reference point tested (a keypoint name, ``"centroid"`` or a list of names).

    Returns
    -------
    pandas.DataFrame
        One row per label and area: ``column`` and :data:`COLUMNS`, labels sorted.
    """
    need = ["session", "frame", "subject", column]
    missing = [c for c in need if c not in labels.columns]
    if missing:
        raise ValidationError(f"the label table lacks columns {missing}")
    names, parts = None, []
    for session, rows in labels.groupby("session", sort=False):
        session = str(session)
        if session not in tracks or session not in regions:
            raise ValidationError(f"session {session!r} of the labels has no tracks or no regions")
        areas = [r for r in regions[session] if r.is_area]
        if not areas:
            raise ValidationError(f"session {session!r}: no area among its regions (lines have no inside)")
        these, inside = _inside_per_row(rows, tracks[session], areas, keypoint, session)
        if names is None:
            names = these
        elif sorted(these) != sorted(names):
            raise ValidationError(f"session {session!r} has the regions {', '.join(these)} but the first session "
                                  f"{', '.join(names)}; give every session the same regions")
        parts.append(pd.DataFrame(inside, columns=these, index=rows.index)[names].assign(_label=rows[column]))
    if not parts:
        raise ValidationError("the label table is empty")
    table = pd.concat(parts)
    rows = []
    for region in names:
        seen = table[[region, "_label"]].dropna(subset=[region])
        overall = float(seen[region].mean()) if len(seen) else np.nan
        total_inside = float(seen[region].sum())
        for label, grp in seen.groupby("_label", sort=True):
            n, n_in = len(grp), float(grp[region].sum())
            frac = n_in / n
            rows.append({column: label, "region": region, "frames": n, "frames_inside": int(n_in),
                         "fraction_inside": frac,
                         "share_of_region": n_in / total_inside if total_inside else np.nan,
                         "enrichment": frac / overall if overall else np.nan})
    out = pd.DataFrame(rows, columns=[column, *COLUMNS])
    return out.sort_values([column, "region"], kind="stable").reset_index(drop=True)


def behaviours_by_region(predictions: pd.DataFrame, tracks: xr.Dataset, regions: Sequence[Region],
                         behaviours: Sequence[str], keypoint: KeypointSpec = "centroid") -> pd.DataFrame:
    """:func:`behaviour_by_region` for the 0/1 columns of a classifier's predictions (one session:
    ``frame``, ``subject`` and a column per behaviour, as ``mapose classify predict`` writes).

    One row per behaviour and area: ``behaviour`` and :data:`COLUMNS`, over the frames where the
    behaviour is scored (1); the enrichment compares with every frame the animal is seen.
    """
    missing = [b for b in behaviours if b not in predictions.columns]
    if missing:
        raise ValidationError(f"the predictions lack the behaviour column(s) {missing}")
    table = predictions.assign(session="session")
    parts = []
    for b in behaviours:
        part = behaviour_by_region(table, {"session": tracks}, {"session": regions}, column=b, keypoint=keypoint)
        part = part[part[b] == 1].drop(columns=b)
        if part.empty:  # never scored (or never seen): zero frames, shares undefined
            areas = [r.name for r in regions if r.is_area]
            part = pd.DataFrame({"region": areas, "frames": 0, "frames_inside": 0, "fraction_inside": np.nan,
                                 "share_of_region": np.nan, "enrichment": np.nan})
        parts.append(part.assign(behaviour=b))
    out = pd.concat(parts, ignore_index=True)
    return out[["behaviour", *COLUMNS]]
