"""Regions of interest: named areas (zones, arenas, objects) and lines (doorways) in a video.

A :class:`Region` holds a name and a shapely geometry in **pixel coordinates of the video**
(x to the right, y down, the same frame as the keypoints).  Areas are polygons (rectangles and
circles become polygons; holes allowed); lines are open polylines, counted as crossings.

Build regions with :meth:`Region.polygon`, :meth:`Region.rectangle`, :meth:`Region.circle` and
:meth:`Region.line`; :func:`check_regions` checks a collection (unique names, at least one).
Files are read and written by :mod:`mapose.io.regions` (YAML, or ``movement``'s GeoJSON); the
measurements on tracks are in :mod:`mapose.kinematics.regions`.

Examples
--------
>>> centre = Region.circle("centre", 200, 150, 50)
>>> door = Region.line("door", [(0, 10), (0, 60)])
>>> check_regions([centre, door])[1]
Region('door', line, x 0.0-0.0, y 10.0-60.0)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Optional, Sequence

import numpy as np
import shapely
import shapely.affinity

from mapose.errors import ValidationError

#: vertices of the polygon that stands for a circle (its area is within 0.05 % of the circle's)
CIRCLE_VERTICES = 128
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-. ]*$")


def _points(value: Any, what: str, at_least: int) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(f"{what}: expected a list of [x, y] points, got {value!r}") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValidationError(f"{what}: expected a list of [x, y] points, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValidationError(f"{what}: every coordinate must be a finite number")
    if len(arr) > 1 and np.array_equal(arr[0], arr[-1]):
        arr = arr[:-1]  # a closing vertex repeated (GeoJSON style)
    distinct = len(np.unique(arr, axis=0))
    if distinct < at_least:
        raise ValidationError(f"{what}: needs at least {at_least} distinct points, got {distinct}")
    return arr


@dataclass(frozen=True)
class Region:
    """A named area or line in pixel coordinates of the video.

    Attributes
    ----------
    name
        Unique name (letters, digits, ``_ - .`` and spaces); it becomes a column name
        (``in_<name>``, ``dist_<name>``).
    geometry
        A valid :class:`shapely.Polygon` (an area) or :class:`shapely.LineString` (a line).
    size_cm
        Real size of an area, for calibration (:meth:`pixels_per_cm`): one number for a disc
        (its diameter) or a square (its side), two for a rectangle (its sides); ``None`` when
        not known.
    recipe
        How the region is made anew in each video, when it is (written by
        :func:`mapose.io.write_regions` with ``template=True``): ``{"detect": "video" | "tracks",
        "shape": ..., "margin": px}`` for an arena found in the session, ``{"inside": AREA,
        "area": fraction}`` or ``{"inside": AREA, "border": px}`` for a zone made inside another
        area; ``None`` for a fixed shape.  Not part of equality.
    """

    name: str
    geometry: Any
    size_cm: Optional[tuple[float, ...]] = None
    recipe: Optional[dict] = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValidationError(
                f"region name {self.name!r}: use letters, digits, '_', '-', '.' or spaces, starting with a "
                "letter or digit")
        g = self.geometry
        if isinstance(g, shapely.Polygon):
            xy = np.asarray(g.exterior.coords)
            if len(xy) < 4 or np.linalg.matrix_rank(xy - xy.mean(axis=0), tol=1e-9) < 2:
                raise ValidationError(f"region {self.name!r}: the polygon has no area (its points lie on one line)")
            if not g.is_valid:
                raise ValidationError(
                    f"region {self.name!r}: the polygon is not valid ({shapely.is_valid_reason(g)}); "
                    "its edges must not cross each other")
        elif isinstance(g, shapely.LineString):
            if not g.length > 0:
                raise ValidationError(f"region {self.name!r}: the line has no length")
        else:
            raise ValidationError(
                f"region {self.name!r}: geometry must be a shapely Polygon or LineString, got {type(g).__name__}")
        if self.size_cm is not None:
            try:
                size = np.atleast_1d(np.asarray(self.size_cm, dtype=np.float64)) \
                    if not isinstance(self.size_cm, str) else np.array([np.nan])
            except (TypeError, ValueError):
                size = np.array([np.nan])
            if not (1 <= size.size <= 2 and np.isfinite(size).all() and (size > 0).all()):
                raise ValidationError(f"region {self.name!r}: size_cm must be one or two sizes > 0 in cm (a disc's "
                                      f"diameter, a square's side, or a rectangle's two sides), got {self.size_cm!r}")
            if not self.is_area:
                raise ValidationError(f"region {self.name!r}: size_cm belongs to areas, not lines")
            object.__setattr__(self, "size_cm", tuple(float(v) for v in size))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def polygon(cls, name: str, vertices: Sequence[Sequence[float]],
                holes: Iterable[Sequence[Sequence[float]]] = ()) -> "Region":
        """An area bounded by ``vertices`` (``[[x, y], ...]``, pixels), optionally with holes."""
        shell = _points(vertices, f"region {name!r} polygon", 3)
        inner = [_points(h, f"region {name!r} hole", 3) for h in holes]
        return cls(name, shapely.Polygon(shell, inner))

    @classmethod
    def rectangle(cls, name: str, x0: float, y0: float, x1: float, y1: float) -> "Region":
        """An axis-aligned rectangle between corners ``(x0, y0)`` and ``(x1, y1)`` (pixels)."""
        vals = np.asarray([x0, y0, x1, y1], dtype=np.float64)
        if not np.isfinite(vals).all() or vals[0] == vals[2] or vals[1] == vals[3]:
            raise ValidationError(
                f"region {name!r} rectangle: expected [x0, y0, x1, y1] with x0 != x1 and y0 != y1, got "
                f"{[float(v) for v in vals]}")
        return cls(name, shapely.box(*vals))

    @classmethod
    def circle(cls, name: str, cx: float, cy: float, radius: float) -> "Region":
        """A disc of ``radius`` pixels around ``(cx, cy)`` (a polygon of :data:`CIRCLE_VERTICES`)."""
        vals = np.asarray([cx, cy, radius], dtype=np.float64)
        if not np.isfinite(vals).all() or not vals[2] > 0:
            raise ValidationError(
                f"region {name!r} circle: expected [cx, cy, radius] with radius > 0, got "
                f"{[float(v) for v in vals]}")
        a = np.linspace(0.0, 2 * np.pi, CIRCLE_VERTICES, endpoint=False)
        # vertices slightly outside the circle so the polygon's area equals the disc's
        r = vals[2] * np.sqrt(2 * np.pi / (CIRCLE_VERTICES * np.sin(2 * np.pi / CIRCLE_VERTICES)))
        return cls(name, shapely.Polygon(np.c_[vals[0] + r * np.cos(a), vals[1] + r * np.sin(a)]))

    @classmethod
    def line(cls, name: str, points: Sequence[Sequence[float]]) -> "Region":
        """A line through ``points`` (``[[x, y], ...]``, pixels): crossings are counted, with their direction."""
        return cls(name, shapely.LineString(_points(points, f"region {name!r} line", 2)))

    @classmethod
    def from_points(cls, name: str, shape: str, points: Sequence[Sequence[float]]) -> "Region":
        """A region from points clicked on a frame: ``polygon`` (its vertices), ``line`` (its points),
        ``rectangle`` (two opposite corners) or ``circle`` (the centre, then a point on the edge)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if shape == "polygon":
            return cls.polygon(name, pts)
        if shape == "line":
            return cls.line(name, pts)
        if shape in ("rectangle", "circle"):
            if len(pts) != 2:
                what = "two opposite corners" if shape == "rectangle" else "the centre and a point on the edge"
                raise ValidationError(f"region {name!r}: a {shape} takes {what} (2 points), got {len(pts)}")
            if shape == "rectangle":
                return cls.rectangle(name, *pts[0], *pts[1])
            return cls.circle(name, *pts[0], float(np.hypot(*(pts[1] - pts[0]))))
        raise ValidationError(f"unknown region shape {shape!r}; allowed: polygon, rectangle, circle, line")

    # ------------------------------------------------------------------ properties
    @property
    def is_area(self) -> bool:
        """True for areas (polygons), False for lines."""
        return isinstance(self.geometry, shapely.Polygon)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(x_min, y_min, x_max, y_max)`` in pixels."""
        return tuple(float(v) for v in self.geometry.bounds)

    def with_size(self, size_cm) -> "Region":
        """The same region with its real size in cm (see ``size_cm``)."""
        return replace(self, size_cm=size_cm)

    def with_recipe(self, recipe: Optional[dict]) -> "Region":
        """The same region, noting how it is made in each video (see ``recipe``)."""
        return replace(self, recipe=dict(recipe) if recipe else None)

    def pixels_per_cm(self) -> float:
        """Pixels per cm from ``size_cm`` and the sides of the smallest (rotated) rectangle around
        the area: a disc's diameter, a square's side, a rectangle's long and short sides."""
        if self.size_cm is None:
            raise ValidationError(f"region {self.name!r} has no size_cm to calibrate with")
        box = np.asarray(shapely.minimum_rotated_rectangle(self.geometry).exterior.coords)
        sides = np.sort(np.hypot(*np.diff(box[:3], axis=0).T))[::-1]  # long, short (pixels)
        if len(self.size_cm) == 1:
            if sides[1] < 0.95 * sides[0]:
                raise ValidationError(
                    f"region {self.name!r} is {sides[0]:.0f} x {sides[1]:.0f} px, not a disc or square: give "
                    "size_cm as its two sides [long, short]")
            return float(sides.mean() / self.size_cm[0])
        real = np.sort(self.size_cm)[::-1]
        return float(np.mean(sides / real))

    def shrunk(self, name: str, area: float) -> "Region":
        """This area scaled about its centroid to ``area`` times its area (``0 < area < 1``): the
        centre of an open field, e.g. ``arena.shrunk("centre", 0.5)``."""
        self._need_area("shrunk")
        if not 0 < float(area) < 1:
            raise ValidationError(f"region {name!r}: area must be a fraction between 0 and 1 of {self.name!r}, "
                                  f"got {area}")
        f = float(np.sqrt(area))
        return Region(name, shapely.affinity.scale(self.geometry, f, f, origin=self.geometry.centroid),
                      recipe={"inside": self.name, "area": float(area)})

    def band(self, name: str, width: float) -> "Region":
        """The band of this area within ``width`` pixels of its edge (the wall zone of an open
        field, for thigmotaxis), e.g. ``arena.band("wall", 40)``."""
        self._need_area("band")
        w = float(width)
        if not (np.isfinite(w) and w > 0):
            raise ValidationError(f"region {name!r}: border width must be > 0 pixels, got {width}")
        inner = self.geometry.buffer(-w, join_style="mitre")
        if inner.is_empty:
            x0, y0, x1, y1 = self.bounds
            raise ValidationError(f"region {name!r}: a border of {w:g} px leaves nothing inside {self.name!r} "
                                  f"({x1 - x0:.0f} x {y1 - y0:.0f} px)")
        return Region(name, self.geometry.difference(inner), recipe={"inside": self.name, "border": w})

    def _need_area(self, what: str) -> None:
        if not self.is_area:
            raise ValidationError(f"region {self.name!r} is a line: {what} regions are made from areas")

    def scaled(self, factor: float) -> "Region":
        """The same region with coordinates multiplied by ``factor`` (e.g. ``1 / px_per_cm``)."""
        return Region(self.name, shapely.affinity.scale(self.geometry, factor, factor, origin=(0, 0)))

    def __repr__(self) -> str:
        x0, y0, x1, y1 = self.bounds
        kind = "area" if self.is_area else "line"
        return f"Region({self.name!r}, {kind}, x {x0:.1f}-{x1:.1f}, y {y0:.1f}-{y1:.1f})"


def check_regions(regions: Iterable[Region], what: str = "regions") -> tuple[Region, ...]:
    """Return ``regions`` as a tuple after checking there is at least one and names are unique
    (one :class:`Region` given on its own counts as a list of one)."""
    if isinstance(regions, Region):
        regions = [regions]
    if isinstance(regions, (str, bytes)) or not hasattr(regions, "__iter__"):
        raise ValidationError(f"{what}: expected a list of Region objects (e.g. from mapose.io.read_regions), "
                              f"got {type(regions).__name__}")
    out = tuple(regions)
    if not out:
        raise ValidationError(f"{what}: no region given")
    bad = [r for r in out if not isinstance(r, Region)]
    if bad:
        raise ValidationError(f"{what}: expected Region objects, got {type(bad[0]).__name__}")
    names = [r.name for r in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValidationError(f"{what}: region names must be unique; repeated: {', '.join(twice)}")
    return out
