"""Regions of interest: construction, validity checks and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from mapose.core.regions import CIRCLE_VERTICES, Region, check_regions
from mapose.errors import ValidationError


def test_shapes_have_their_closed_form_areas_and_bounds():
    disc = Region.circle("centre", 200, 150, 50)
    assert disc.is_area and disc.geometry.area == pytest.approx(np.pi * 50 ** 2, rel=1e-9)
    assert len(disc.geometry.exterior.coords) == CIRCLE_VERTICES + 1
    box = Region.rectangle("box", 30, 40, 10, 20)  # corners in any order
    assert box.bounds == (10.0, 20.0, 30.0, 40.0) and box.geometry.area == 400
    ring = Region.polygon("ring", [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], holes=[[[4, 4], [6, 4], [6, 6]]])
    assert ring.geometry.area == pytest.approx(100 - 2)
    door = Region.line("door", [(0, 10), (0, 60)])
    assert not door.is_area and door.geometry.length == 50
    assert repr(door) == "Region('door', line, x 0.0-0.0, y 10.0-60.0)"
    half = box.scaled(0.5)
    assert half.bounds == (5.0, 10.0, 15.0, 20.0) and half.name == "box"


@pytest.mark.parametrize("make, message", [
    (lambda: Region.polygon("bow", [[0, 0], [1, 1], [1, 0], [0, 1]]), "not valid (Self-intersection"),
    (lambda: Region.polygon("two", [[0, 0], [1, 1]]), "at least 3 distinct points, got 2"),
    (lambda: Region.polygon("flat", [[0, 0], [1, 1], [2, 2]]), "no area"),
    (lambda: Region.polygon("nan", [[0, 0], [1, np.nan], [2, 0]]), "finite"),
    (lambda: Region.polygon("shape", [1, 2, 3]), "list of [x, y] points"),
    (lambda: Region.rectangle("thin", 0, 0, 0, 10), "x0 != x1"),
    (lambda: Region.circle("dot", 0, 0, 0), "radius > 0"),
    (lambda: Region.line("point", [[3, 3], [3, 3]]), "at least 2 distinct points, got 1"),
    (lambda: Region.circle("bad/name", 0, 0, 1), "region name 'bad/name'"),
    (lambda: Region("thing", object()), "shapely Polygon or LineString"),
])
def test_bad_regions_say_what_is_wrong(make, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace("[", r"\[")):
        make()


def test_a_collection_needs_regions_with_unique_names():
    a, b = Region.circle("a", 0, 0, 1), Region.circle("b", 5, 5, 1)
    assert check_regions([a, b]) == (a, b)
    with pytest.raises(ValidationError, match="repeated: a"):
        check_regions([a, Region.circle("a", 9, 9, 1)])
    with pytest.raises(ValidationError, match="no region given"):
        check_regions([])
    with pytest.raises(ValidationError, match="expected Region objects"):
        check_regions([a, "b"])


def test_regions_from_clicked_points():
    assert Region.from_points("r", "rectangle", [[30, 40], [10, 20]]).bounds == (10.0, 20.0, 30.0, 40.0)
    disc = Region.from_points("c", "circle", [[100, 100], [103, 104]])
    assert disc.geometry.area == pytest.approx(np.pi * 25)
    assert Region.from_points("p", "polygon", [[0, 0], [4, 0], [0, 3]]).geometry.area == 6
    assert not Region.from_points("l", "line", [[0, 0], [4, 0]]).is_area
    with pytest.raises(ValidationError, match="centre and a point on the edge"):
        Region.from_points("c", "circle", [[0, 0]])
    with pytest.raises(ValidationError, match="unknown region shape 'star'"):
        Region.from_points("s", "star", [[0, 0], [1, 1]])


def test_shrunk_keeps_the_centre_and_the_share_of_area():
    arena = Region.circle("arena", 300, 200, 100)
    centre = arena.shrunk("centre", 0.5)
    assert centre.geometry.area == pytest.approx(0.5 * arena.geometry.area)
    assert (centre.geometry.centroid.x, centre.geometry.centroid.y) == pytest.approx((300, 200))
    box = Region.rectangle("box", 0, 0, 400, 200).shrunk("middle", 0.25)  # half of each side
    assert box.bounds == pytest.approx((100, 50, 300, 150))


def test_band_is_the_ring_inside_the_edge():
    wall = Region.circle("arena", 0, 0, 100).band("wall", 20)
    assert wall.geometry.area == pytest.approx(np.pi * (100 ** 2 - 80 ** 2), rel=1e-3)
    assert len(wall.geometry.interiors) == 1
    rect = Region.rectangle("box", 0, 0, 100, 60).band("rim", 10)
    assert rect.geometry.area == pytest.approx(100 * 60 - 80 * 40)
    assert rect.geometry.contains(shapely.Point(5, 30)) and not rect.geometry.contains(shapely.Point(50, 30))


@pytest.mark.parametrize("make, message", [
    (lambda: Region.line("door", [(0, 0), (0, 10)]).shrunk("c", 0.5), "is a line"),
    (lambda: Region.circle("a", 0, 0, 10).shrunk("c", 1.5), "between 0 and 1"),
    (lambda: Region.circle("a", 0, 0, 10).band("w", 0), "must be > 0"),
    (lambda: Region.rectangle("a", 0, 0, 100, 30).band("w", 15), "leaves nothing inside 'a'"),
])
def test_shrunk_and_band_errors_name_the_problem(make, message):
    with pytest.raises(ValidationError, match=message):
        make()


def test_pixels_per_cm_from_an_areas_real_size():
    assert Region.circle("dish", 50, 50, 100).with_size(20).pixels_per_cm() == pytest.approx(10, rel=1e-3)
    tilted = Region.polygon("cage", [[0, 0], [300, 300], [200, 400], [-100, 100]])  # 424 x 141 px, rotated
    assert tilted.with_size([42.43, 14.14]).pixels_per_cm() == pytest.approx(10, rel=1e-3)
    assert tilted.with_size((14.14, 42.43)).pixels_per_cm() == pytest.approx(10, rel=1e-3)  # any order
    with pytest.raises(ValidationError, match="not a disc or square: give size_cm as its two sides"):
        tilted.with_size(40).pixels_per_cm()
    with pytest.raises(ValidationError, match="has no size_cm"):
        tilted.pixels_per_cm()
    with pytest.raises(ValidationError, match="size_cm belongs to areas"):
        Region.line("door", [(0, 0), (0, 9)]).with_size(3)
    for bad in (0, -2, [1, 2, 3], "big", ["a", "b"], {"w": 3}, float("nan")):
        with pytest.raises(ValidationError, match="size_cm must be one or two sizes > 0"):
            Region.circle("a", 0, 0, 5).with_size(bad)
    assert Region.circle("a", 0, 0, 5).with_size(4).shrunk("c", 0.5).size_cm is None  # a new area
