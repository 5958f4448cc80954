"""Regions files: YAML and movement's GeoJSON, both ways, and clear errors on bad files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mapose.core.regions import Region
from mapose.errors import FormatError, MissingFileError
from mapose.io import read_regions, write_regions

BUNDLED = Path(__file__).resolve().parents[2] / "data" / "flies_tutorial_pair" / "regions.yaml"


def _same(a: Region, b: Region) -> None:
    assert a.name == b.name and a.is_area == b.is_area
    assert a.geometry.equals_exact(b.geometry, 1e-3)


def _regions():
    return (Region.circle("centre", 512, 512, 200), Region.rectangle("patch", 180, 30, 316, 265),
            Region.polygon("nest", [[10, 10], [120, 10], [120, 90]], holes=[[[60, 20], [100, 20], [100, 40]]]),
            Region.line("door", [[0, 400], [0, 620], [30, 700]]))


@pytest.mark.parametrize("suffix", [".yaml", ".geojson"])
def test_regions_round_trip(tmp_path, suffix):
    regions = _regions()
    path = write_regions(regions, tmp_path / f"r{suffix}")
    back = read_regions(path)
    assert len(back) == len(regions)
    for a, b in zip(regions, back):
        _same(a, b)


def test_geojson_is_what_movement_reads_and_writes(tmp_path):
    roi = pytest.importorskip("movement.roi")
    regions = _regions()
    ours = write_regions(regions, tmp_path / "ours.geojson")
    loaded = roi.load_rois(ours)
    assert [r.name for r in loaded] == [r.name for r in regions]
    assert [type(r).__name__ for r in loaded] == ["PolygonOfInterest"] * 3 + ["LineOfInterest"]
    for a, b in zip(regions, loaded):
        assert a.geometry.equals_exact(b.region, 1e-3)
    theirs = tmp_path / "theirs.geojson"
    roi.save_rois([roi.PolygonOfInterest([(0, 0), (10, 0), (10, 5)], name="tri"),
                   roi.LineOfInterest([(0, 0), (4, 4)], name="diag"),
                   roi.LineOfInterest([(0, 0), (4, 0), (4, 4)], loop=True, name="loop")], theirs)
    back = read_regions(theirs)
    assert [(r.name, r.is_area) for r in back] == [("tri", True), ("diag", False), ("loop", False)]
    assert back[0].geometry.area == 25


def test_the_bundled_regions_file_reads():
    regions = read_regions(BUNDLED)
    assert sum(r.is_area for r in regions) == 9 and [r.name for r in regions if not r.is_area] == ["midline"]
    assert all(0 <= v <= 1024 for r in regions for v in r.bounds)


@pytest.mark.parametrize("name, text, message", [
    ("a.yaml", "regions: [", "not valid YAML, line 1, column 11"),
    ("a.yaml", "zones: []\n", "top-level 'regions:' list"),
    ("a.yaml", "regions:\n  - {name: a, square: [1, 2, 3]}\n", "unknown key(s) square"),
    ("a.yaml", "regions:\n  - {name: a, circle: [1, 2, 3], line: [[0, 0], [1, 1]]}\n", "exactly one shape"),
    ("a.yaml", "regions:\n  - {circle: [1, 2, 3]}\n", "needs a name"),
    ("a.yaml", "regions:\n  - {name: a, rectangle: [1, 2, 3]}\n", "rectangle must be [x0, y0, x1, y1]"),
    ("a.yaml", "regions:\n  - {name: a, circle: [1, 2, -3]}\n", "radius > 0"),
    ("a.yaml", "regions:\n  - {name: a, circle: [1, 2, x]}\n", "regions[0]"),
    ("a.yaml", "regions:\n  - {name: a, line: [[0, 0], [1, 1]], holes: []}\n", "'holes' belong to a polygon"),
    ("a.yaml", "regions:\n  - {name: a, circle: [1, 2, 3]}\n  - {name: a, circle: [9, 9, 3]}\n", "repeated: a"),
    ("a.yaml", "regions:\n  - {name: a, polygon: [[0, 0], [1, 1], [1, 0], [0, 1]]}\n", "Self-intersection"),
    ("a.json", "{", "not valid JSON"),
    ("a.json", '{"type": "Feature"}', "FeatureCollection"),
    ("a.geojson", json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "MultiPoint", "coordinates": [[0, 0], [1, 1]]}, "properties": {"name": "dots"}}]}),
     "MultiPoint is not supported"),
    ("a.txt", "regions: []", "regions files are .yaml"),
    ("a.yaml", "regions:\n  - {name: c, inside: arena, area: 0.5}\n", "no region of that name before it"),
    ("a.yaml", "regions:\n  - {name: a, circle: [9, 9, 3]}\n  - {name: c, inside: a, area: 0.5, border: 1}\n",
     "takes area (a fraction of it) or border"),
    ("a.yaml", "regions:\n  - {name: a, circle: [9, 9, 3]}\n  - {name: c, inside: a, area: half}\n",
     "area must be a number"),
    ("a.yaml", "regions:\n  - {name: a, circle: [9, 9, 3]}\n  - {name: c, inside: a, border: 5}\n",
     "leaves nothing inside 'a'"),
    ("a.yaml", "regions:\n  - {name: a, circle: [9, 9, 3], area: 0.5}\n", "area belong(s) to inside entries"),
    ("a.yaml", "regions:\n  - {name: a, detect: camera}\n", "detect must be one of video, tracks"),
    ("a.yaml", "regions:\n  - {name: a, detect: video, shape: oval}\n", "shape must be one of auto"),
    ("a.yaml", "regions:\n  - {name: a, detect: video}\n", "is found in each video (detect: video)"),
    ("a.yaml", "regions:\n  - {name: a, circle: [9, 9, 3]}\n  - {name: c, inside: a, area: 0.5, size_cm: 3}\n",
     "size_cm belongs to the area it was measured on"),
    ("a.yaml", "regions:\n  - {name: a, circle: [9, 9, 3], size_cm: -4}\n", "size_cm must be one or two sizes"),
])
def test_bad_regions_files_name_the_problem(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(FormatError, match=re.escape(message)) as exc:
        read_regions(path)
    assert str(path) in str(exc.value)


def test_a_missing_regions_file_is_named(tmp_path):
    with pytest.raises(MissingFileError, match="regions file"):
        read_regions(tmp_path / "nope.yaml")


def test_zones_made_inside_another_region_and_an_arena_found_per_session(tmp_path):
    from mapose.io.regions import needs_detection

    path = tmp_path / "open_field.yaml"
    path.write_text("regions:\n"
                    "  - {name: arena, detect: tracks, shape: rectangle}\n"
                    "  - {name: centre, inside: arena, area: 0.25}\n"
                    "  - {name: wall, inside: arena, border: 10}\n"
                    "  - {name: door, line: [[0, 0], [0, 50]]}\n")
    asked = []

    def detect(name, source, shape, margin):
        asked.append((name, source, shape, margin))
        return Region.rectangle(name, 100, 100, 300, 200)  # as found in one session

    arena, centre, wall, door = read_regions(path, detect)
    assert asked == [("arena", "tracks", "rectangle", 0.0)]
    assert centre.bounds == pytest.approx((150, 125, 250, 175))
    assert wall.geometry.area == pytest.approx(200 * 100 - 180 * 80)
    assert needs_detection(path) and not needs_detection(BUNDLED)
    out = write_regions([arena, centre, wall, door], tmp_path / "measured.yaml")  # as plain shapes
    assert [r.geometry.area for r in read_regions(out)] == pytest.approx([r.geometry.area for r in
                                                                          (arena, centre, wall, door)])

    def fails(*_):
        from mapose.errors import ValidationError
        raise ValidationError("no arena found in the background")

    with pytest.raises(FormatError, match="region 'arena': no arena found"):
        read_regions(path, fails)


@pytest.mark.parametrize("suffix", [".yaml", ".geojson"])
def test_the_real_size_of_an_area_is_kept(tmp_path, suffix):
    path = tmp_path / "a.yaml"
    path.write_text("regions:\n  - {name: arena, rectangle: [0, 0, 400, 200], size_cm: [40, 20]}\n"
                    "  - {name: nest, circle: [50, 50, 20]}\n")
    arena, nest = read_regions(path)
    assert arena.size_cm == (40.0, 20.0) and nest.size_cm is None
    again = read_regions(write_regions([arena, nest], tmp_path / f"b{suffix}"))
    assert again[0].size_cm == (40.0, 20.0) and again[0].pixels_per_cm() == pytest.approx(10)
    assert again[1].size_cm is None


def test_a_template_is_written_back_as_a_template(tmp_path):
    """Regions found in one session keep how they were made: written with template=True they
    give the same file, so the arena is found anew in the next video; fixed shapes stay shapes."""
    import yaml

    path = tmp_path / "open_field.yaml"
    path.write_text("regions:\n"
                    "  - {name: arena, detect: video, shape: circle, margin: 5.0, size_cm: 45}\n"
                    "  - {name: centre, inside: arena, area: 0.25}\n"
                    "  - {name: wall, inside: arena, border: 10}\n"
                    "  - {name: door, line: [[0, 0], [0, 50]]}\n")
    one = read_regions(path, lambda name, *_: Region.circle(name, 200, 200, 100))
    assert one[0].recipe == {"detect": "video", "shape": "circle", "margin": 5.0} and one[3].recipe is None
    out = write_regions(one, tmp_path / "again.yaml", template=True)
    assert yaml.safe_load(out.read_text()) == yaml.safe_load(path.read_text())
    # the saved template finds the arena of another session, and its zones follow it
    other = read_regions(out, lambda name, *_: Region.circle(name, 300, 250, 100))
    assert other[1].geometry.centroid.coords[0] == pytest.approx((300, 250), abs=1e-6)
    assert other[0].size_cm == (45.0,) and other[2].geometry.area == pytest.approx(one[2].geometry.area)
    # zones made by hand from a drawn area are templates too; they come after the area they are inside
    drawn = Region.rectangle("box", 0, 0, 100, 100)
    entries = yaml.safe_load(write_regions([drawn.band("rim", 5), drawn], tmp_path / "t.yaml",
                                           template=True).read_text())["regions"]
    assert [e["name"] for e in entries] == ["box", "rim"] and entries[1] == {"name": "rim", "inside": "box",
                                                                               "border": 5.0}
    with pytest.raises(FormatError, match="made inside 'box', which is not among the regions"):
        write_regions([drawn.band("rim", 5)], tmp_path / "u.yaml", template=True)
    with pytest.raises(FormatError, match="GeoJSON holds fixed shapes only"):
        write_regions(one, tmp_path / "t.geojson", template=True)
    # equality ignores how a region was made
    assert one[1] == Region(one[1].name, one[1].geometry)
