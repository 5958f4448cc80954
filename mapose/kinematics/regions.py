"""Where animals are relative to regions of interest: occupancy, distances, visits, crossings.

Regions (:class:`mapose.core.regions.Region`) are drawn in pixels of the video; tracks calibrated
to cm (:func:`mapose.kinematics.calibrate`) get the regions scaled by their ``px_per_cm``.  One
reference point per animal and frame is tested (``keypoint``: a keypoint name, ``"centroid"`` --
the mean of the keypoints seen in that frame -- or a list of names), as in EthoVision's "centre
point" or ``movement.roi.compute_region_occupancy`` on one keypoint.

- :func:`region_occupancy` -- ``(time, individuals, region)``: 1 inside an area, 0 outside, NaN
  where the animal is not seen (equal to ``movement``'s occupancy where it is seen);
- :func:`region_distance` -- signed distance to an area's boundary (negative inside), distance
  to a line;
- :func:`region_summary` -- per animal and region: time inside and its share of the time seen,
  visits (a visit already under way in the first frame counts), latency to the first visit, mean
  visit, path length inside; for lines, crossings in each direction.

Visits: frames where the animal is not seen continue a visit when it is inside both before and
after (a short detection gap does not make a new entry), but do not add time.  ``min_visit``
(time units) removes boundary jitter: first an exit shorter than it is taken as staying inside,
then a visit shorter than it as staying outside -- the time inside, visits and latency all follow
that cleaned state (EthoVision's "minimal time in zone").  With the default 0 the raw state is
used.
"""

from __future__ import annotations

from typing import Iterable, Optional

import numpy as np
import pandas as pd
import xarray as xr

from mapose.config import as_number
from mapose.core.regions import Region, check_regions
from mapose.core.tracks import validate_tracks
from mapose.errors import ValidationError
from mapose.kinematics._arrays import quiet_nan
from mapose.kinematics.motion import KeypointSpec, spec_array, spec_label

SUMMARY_COLUMNS = (
    "individual", "region", "kind", "frames_seen", "time_inside", "fraction_inside", "visits",
    "latency", "mean_visit", "distance_inside", "crossings", "crossings_right", "crossings_left",
)


# --------------------------------------------------------------------------- helpers
def regions_in_units(ds: xr.Dataset, regions: Iterable[Region]) -> tuple[Region, ...]:
    """``regions`` (pixels) in the space unit of ``ds``: scaled by ``1 / px_per_cm`` for cm tracks."""
    regions = check_regions(regions)
    unit = str(ds.attrs.get("space_unit", "px"))
    if unit == "px":
        return regions
    ppc = ds.attrs.get("px_per_cm")
    if unit != "cm" or not ppc:
        raise ValidationError(
            f"the tracks are in {unit!r} without a px_per_cm attribute; regions are drawn in pixels, so "
            "measure them on tracks in pixels (before calibration) or calibrate with mapose.kinematics.calibrate")
    return tuple(r.scaled(1.0 / float(ppc)) for r in regions)


def calibration_from_regions(regions: Iterable[Region]) -> Optional[tuple[float, str]]:
    """``(px_per_cm, region name)`` from the one region that gives its real size (``size_cm``),
    or ``None`` when none does."""
    sized = [r for r in regions if r.size_cm is not None]
    if not sized:
        return None
    if len(sized) > 1:
        raise ValidationError(f"regions {', '.join(repr(r.name) for r in sized)} all give size_cm: give it for one "
                              "area only (the one the calibration should come from)")
    return sized[0].pixels_per_cm(), sized[0].name


def reference_points(ds: xr.Dataset, keypoint: KeypointSpec = "centroid") -> np.ndarray:
    """``(T, I, 2)`` position of ``keypoint`` (name, ``"centroid"`` or list) per frame and animal."""
    validate_tracks(ds)
    da = ds["position"].transpose("time", "space", "keypoints", "individuals")
    kps = [str(k) for k in da["keypoints"].values]
    with quiet_nan():
        p = spec_array(da.values.astype(np.float64, copy=False), kps, keypoint)  # (T, 2, I)
    return np.ascontiguousarray(np.moveaxis(p, 1, 2))


def inside_area(points: np.ndarray, region: Region) -> np.ndarray:
    """1.0 / 0.0 / NaN (point unknown) for ``(..., 2)`` points in an area (the boundary counts as
    inside, like ``movement``'s ``contains_point``)."""
    import shapely

    seen = np.isfinite(points).all(axis=-1)
    x, y = np.where(seen, points[..., 0], 0.0), np.where(seen, points[..., 1], 0.0)
    inside = shapely.intersects_xy(region.geometry, x, y)
    return np.where(seen, inside.astype(np.float64), np.nan)


def distance_to(points: np.ndarray, region: Region) -> np.ndarray:
    """Distance of ``(..., 2)`` points to a line, or to an area's boundary, negative inside."""
    import shapely

    seen = np.isfinite(points).all(axis=-1)
    pts = shapely.points(np.where(seen[..., None], points, 0.0))
    if region.is_area:
        d = shapely.distance(region.geometry.boundary, pts)
        d = np.where(inside_area(points, region) == 1.0, -d, d)
    else:
        d = shapely.distance(region.geometry, pts)
    return np.where(seen, d, np.nan)


def _line_side(points: np.ndarray, region: Region) -> np.ndarray:
    """+1 right / -1 left of a line as drawn (first to last point, seen on screen, y down), from the
    nearest segment; 0 on the line, NaN unknown."""
    c = np.asarray(region.geometry.coords, dtype=np.float64)
    a, b = c[:-1], c[1:]  # (S, 2) segments
    ab = b - a
    p = points[..., None, :]  # (..., 1, 2)
    t = np.clip(((p - a) * ab).sum(-1) / (ab * ab).sum(-1), 0.0, 1.0)
    near = a + t[..., None] * ab
    d2 = ((p - near) ** 2).sum(-1)
    with quiet_nan():
        k = np.nanargmin(np.where(np.isfinite(d2), d2, np.inf), axis=-1)
    seg_ab = ab[k]
    rel = points - a[k]
    cross = seg_ab[..., 0] * rel[..., 1] - seg_ab[..., 1] * rel[..., 0]  # y down: > 0 is on the right
    return np.where(np.isfinite(points).all(axis=-1), np.sign(cross), np.nan)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and (exclusive) stops of the runs of True in a 1-D boolean array."""
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def visit_state(inside: np.ndarray, min_visit_frames: int = 0) -> np.ndarray:
    """Cleaned inside state of one animal in one area, ``(T,)`` float 1/0/NaN -> bool ``(T,)``.

    Unseen frames between two inside frames count as inside (no new entry), other unseen frames
    as outside; then exits and visits shorter than ``min_visit_frames`` are removed, in that order.
    """
    x = np.asarray(inside, dtype=np.float64)
    seen = np.flatnonzero(np.isfinite(x))
    state = np.zeros(len(x), dtype=bool)
    if not len(seen):
        return state
    ins = x[seen] == 1.0
    state[seen[ins]] = True
    # unseen stretches between two inside frames stay inside
    both = ins[:-1] & ins[1:] & (np.diff(seen) > 1)
    for s, e in zip(seen[:-1][both], seen[1:][both]):
        state[s:e] = True
    if min_visit_frames > 1:
        first, last = seen[0], seen[-1] + 1
        out = ~state
        out[:first] = False
        out[last:] = False
        for s, e in zip(*_runs(out)):  # short exits between two visits
            if e - s < min_visit_frames and s > first and e < last:
                state[s:e] = True
        for s, e in zip(*_runs(state)):  # then short visits
            if e - s < min_visit_frames:
                state[s:e] = False
    return state


def _row_duration(t: np.ndarray, fps) -> float:
    """Time one row of the tracks stands for: the median step of the time coordinate (one frame
    when frames are consecutive, more when the file keeps every n-th frame)."""
    if len(t) > 1:
        step = float(np.median(np.diff(t)))
        if step > 0:
            return step
    return 1.0 / float(fps) if fps else 1.0


def _per_region(ds: xr.Dataset, values: list, regions, name: str, attrs: dict) -> xr.DataArray:
    """``(time, individuals, region)`` DataArray of one ``(T, I)`` array per region."""
    return xr.DataArray(
        np.stack(values, axis=-1), dims=("time", "individuals", "region"),
        coords={"time": ds["time"].values, "individuals": ds["individuals"].values,
                "region": [r.name for r in regions]},
        name=name, attrs=attrs,
    )


# --------------------------------------------------------------------------- public
def region_occupancy(ds: xr.Dataset, regions: Iterable[Region], keypoint: KeypointSpec = "centroid") -> xr.DataArray:
    """Whether each animal's ``keypoint`` is inside each area, ``(time, individuals, region)``.

    1.0 inside (the boundary counts), 0.0 outside, NaN where the point is not seen.  Lines are
    left out (they have no inside; see :func:`region_summary` for crossings).

    Examples
    --------
    >>> import numpy as np
    >>> from mapose.core import make_tracks
    >>> from mapose.core.regions import Region
    >>> ds = make_tracks(np.array([[[[0.5], [0.5]]], [[[2.0], [0.5]]]]).reshape(2, 2, 1, 1), keypoints=["body"])
    >>> region_occupancy(ds, [Region.rectangle("box", 0, 0, 1, 1)]).values[:, 0, 0]
    array([1., 0.])
    """
    regions = regions_in_units(ds, regions)
    areas = [r for r in regions if r.is_area]
    if not areas:
        raise ValidationError("region_occupancy: no area among the regions (lines have no inside)")
    pts = reference_points(ds, keypoint)
    return _per_region(ds, [inside_area(pts, r) for r in areas], areas, "occupancy",
                       {"keypoint": spec_label(keypoint)})


def region_distance(ds: xr.Dataset, regions: Iterable[Region], keypoint: KeypointSpec = "centroid") -> xr.DataArray:
    """Distance of each animal's ``keypoint`` to each region, ``(time, individuals, region)``.

    Areas: distance to the boundary, negative inside; lines: distance to the line.  Space unit
    of ``ds`` (px, or cm after calibration); NaN where the point is not seen.
    """
    regions = regions_in_units(ds, regions)
    pts = reference_points(ds, keypoint)
    return _per_region(ds, [distance_to(pts, r) for r in regions], regions, "distance",
                       {"keypoint": spec_label(keypoint), "space_unit": ds.attrs.get("space_unit", "px")})


def region_summary(
    ds: xr.Dataset,
    regions: Iterable[Region],
    keypoint: KeypointSpec = "centroid",
    min_visit: float = 0.0,
) -> pd.DataFrame:
    """Per animal and region: time inside, visits, latency, path length inside; line crossings.

    Parameters
    ----------
    ds
        Tracks (cleaned as wished).  Time in seconds when ``fps`` is known, else frames.
    regions
        Areas and lines (pixels of the video; scaled for tracks in cm).
    keypoint
        The point tested: a keypoint name, ``"centroid"`` or a list of names (their mean).
    min_visit
        Exits and visits shorter than this (time units; rounded up to whole rows) are removed
        first (see the module docs).

    Returns
    -------
    pandas.DataFrame
        One row per (individual, region) with :data:`SUMMARY_COLUMNS`: ``frames_seen`` (frames
        where the point is known), ``time_inside`` (time units: rows inside × the median step of
        the time coordinate; unseen frames add nothing),
        ``fraction_inside`` (of the frames seen), ``visits``, ``latency`` (time from the first frame
        of the file to the first visit; NaN if never), ``mean_visit`` (``time_inside / visits``),
        ``distance_inside`` (path length between consecutive frames both inside, space units);
        for lines ``crossings`` and ``crossings_right`` / ``crossings_left`` (moves to the right /
        left of the line as drawn from its first to its last point, as seen on screen), taken
        between consecutive frames where the point is seen; with ``min_visit``, a stay on one side
        shorter than it does not count.  Columns that do not apply are NaN.
        ``attrs`` hold ``time_unit``, ``space_unit``, ``keypoint`` and ``min_visit``.
    """
    regions = regions_in_units(ds, regions)
    min_visit = as_number(min_visit, "min_visit", minimum=0)
    pts = reference_points(ds, keypoint)  # (T, I, 2)
    t = np.asarray(ds["time"].values, dtype=np.float64)
    dt = _row_duration(t, ds.attrs.get("fps"))
    min_frames = int(np.ceil(min_visit / dt - 1e-9)) if min_visit > 0 else 0
    names = [str(v) for v in ds["individuals"].values]
    seen = np.isfinite(pts).all(axis=-1)  # (T, I)
    with quiet_nan():
        step = np.sqrt(((pts[1:] - pts[:-1]) ** 2).sum(-1))  # (T-1, I)
    rows = []
    for r in regions:
        inside = inside_area(pts, r) if r.is_area else None
        side = None if r.is_area else _line_side(pts, r)
        for i, name in enumerate(names):
            row = dict.fromkeys(SUMMARY_COLUMNS, np.nan)
            row.update(individual=name, region=r.name, kind="area" if r.is_area else "line",
                       frames_seen=int(seen[:, i].sum()))
            if row["frames_seen"] == 0:  # never seen: where it was is unknown, not "never inside"
                rows.append(row)
                continue
            if r.is_area:
                state = visit_state(inside[:, i], min_frames)
                counted = state & seen[:, i]
                starts, _ = _runs(state)
                row["time_inside"] = float(counted.sum() * dt)
                row["fraction_inside"] = float(counted.sum() / row["frames_seen"]) if row["frames_seen"] else np.nan
                row["visits"] = int(len(starts))
                row["latency"] = float(t[starts[0]] - t[0]) if len(starts) else np.nan
                row["mean_visit"] = row["time_inside"] / len(starts) if len(starts) else np.nan
                both = counted[1:] & counted[:-1]
                row["distance_inside"] = float(step[:, i][both].sum())
            else:
                s = side[:, i]
                s = s[np.isfinite(s) & (s != 0)]  # points exactly on the line do not decide a side
                if min_frames > 1 and len(s):  # stays on a side shorter than min_visit do not count
                    edges = np.flatnonzero(np.diff(s)) + 1
                    starts, stops = np.r_[0, edges], np.r_[edges, len(s)]
                    s = s[starts[stops - starts >= min_frames]]
                change = np.diff(s)
                row["crossings_right"] = int((change > 0).sum())
                row["crossings_left"] = int((change < 0).sum())
                row["crossings"] = row["crossings_right"] + row["crossings_left"]
            rows.append(row)
    df = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    for c in ("frames_seen",):
        df[c] = df[c].astype(np.int64)
    fps_known = bool(ds.attrs.get("fps"))
    df.attrs.update(time_unit="s" if fps_known else "frames", space_unit=str(ds.attrs.get("space_unit", "px")),
                    keypoint=spec_label(keypoint), min_visit=float(min_visit))
    return df


__all__ = [
    "SUMMARY_COLUMNS",
    "distance_to",
    "inside_area",
    "reference_points",
    "region_distance",
    "region_occupancy",
    "region_summary",
    "regions_in_units",
    "visit_state",
]
