"""Read and write regions of interest (:class:`mapose.core.regions.Region`).

Two formats, chosen by the file's extension:

- **YAML** (``.yaml`` / ``.yml``), written by hand or by the dashboard; coordinates in pixels of
  the video::

      regions:
        - {name: centre, circle: [512, 512, 200]}          # cx, cy, radius
        - {name: patch_1, rectangle: [180, 30, 320, 260]}  # x0, y0, x1, y1
        - {name: nest, polygon: [[10, 10], [120, 10], [120, 90]], holes: []}
        - {name: door, line: [[0, 400], [0, 620]]}         # crossings are counted

  Regions can be made from another area of the file (:meth:`Region.shrunk`, :meth:`Region.band`),
  and the arena can be found anew in every video (:mod:`mapose.kinematics.arena`), so one file
  serves every session of an experiment::

      regions:
        - {name: arena, detect: video, shape: auto}     # or detect: tracks (with margin: px)
        - {name: centre, inside: arena, area: 0.5}      # the arena shrunk to half its area
        - {name: wall, inside: arena, border: 40}       # the band within 40 px of its edge

  An area may give its real size, ``size_cm`` (a disc's diameter, a square's side, or a
  rectangle's ``[long, short]`` sides): the tracks are then calibrated to cm from it
  (:func:`mapose.kinematics.regions.calibration_from_regions`) when nothing else calibrates them.

  ``detect:`` entries need the video or the tracks: give :func:`read_regions` a ``detect``
  function (``mapose regions``, ``features`` and ``classify`` pass theirs).

- **GeoJSON** (``.geojson`` / ``.json``): a ``FeatureCollection`` of ``Polygon`` and
  ``LineString`` features with a ``name`` property -- what ``movement.roi.save_rois`` writes and
  ``movement.roi.load_rois`` reads (so regions drawn in ``movement``'s napari widget work here and
  back).  Written with ``roi_type`` ``PolygonOfInterest`` / ``LineOfInterest`` like ``movement``.

Circles and rectangles are written as the polygons they are measured with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Union

import numpy as np

from mapose.core.regions import Region, check_regions
from mapose.errors import FormatError, MaposeError
from mapose.io._files import atomic_write_text, parse_error_line, require_file

PathLike = Union[str, Path]
YAML_SUFFIXES = (".yaml", ".yml")
GEOJSON_SUFFIXES = (".geojson", ".json")
SHAPES = ("polygon", "rectangle", "circle", "line")
#: keys of an entry made from another area (``inside``) or found in each video (``detect``)
DERIVED = ("inside", "area", "border")
DETECTED = ("detect", "shape", "margin")
DETECT_SOURCES = ("video", "tracks")
#: ``detect(name, source, shape, margin) -> Region``: finds an arena in the session being measured
Detector = Callable[[str, str, str, float], Region]


def _suffix(path: Path) -> str:
    s = path.suffix.lower()
    if s not in YAML_SUFFIXES + GEOJSON_SUFFIXES:
        raise FormatError(
            f"{path}: regions files are {', '.join(YAML_SUFFIXES + GEOJSON_SUFFIXES)}; got {s or 'no extension'!r}")
    return s


def _number(entry: dict, key: str, where: str) -> float:
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FormatError(f"{where}: {key} must be a number, got {value!r}")
    return float(value)


def _detected(entry: dict, where: str, path: Path, detect: Optional[Detector]) -> Region:
    """An entry with ``detect: video|tracks`` (``shape``, ``margin``): found by ``detect``."""
    source, shape = entry["detect"], entry.get("shape", "auto")
    if source not in DETECT_SOURCES:
        raise FormatError(f"{where}: detect must be one of {', '.join(DETECT_SOURCES)}, got {source!r}")
    from mapose.kinematics.arena import SHAPES as ARENA_SHAPES

    if shape not in ARENA_SHAPES:
        raise FormatError(f"{where}: shape must be one of {', '.join(ARENA_SHAPES)}, got {shape!r}")
    margin = _number(entry, "margin", where) if "margin" in entry else 0.0
    if detect is None:
        raise FormatError(f"{path}: region {entry['name']!r} is found in each video (detect: {source}); read the "
                          "file with the session's video or tracks (mapose regions, features and classify do)")
    try:
        return detect(str(entry["name"]), source, shape, margin).with_recipe(
            {"detect": source, "shape": shape, "margin": margin})
    except MaposeError as exc:
        raise FormatError(f"{path}: region {entry['name']!r}: {exc}") from None


def _derived(entry: dict, where: str, path: Path, made: dict) -> Region:
    """An entry ``inside: AREA`` with ``area: fraction`` or ``border: pixels``."""
    parent, name = str(entry["inside"]), str(entry["name"])
    kinds = [k for k in ("area", "border") if k in entry]
    if len(kinds) != 1:
        raise FormatError(f"{where}: a region inside {parent!r} takes area (a fraction of it) or border (pixels "
                          f"from its edge); got {kinds or 'neither'}")
    if parent not in made:
        raise FormatError(f"{where}: inside {parent!r}: no region of that name before it in the file "
                          f"(have: {', '.join(made) or 'none'})")
    value = _number(entry, kinds[0], where)
    try:
        return made[parent].shrunk(name, value) if kinds[0] == "area" else made[parent].band(name, value)
    except MaposeError as exc:
        raise FormatError(f"{path}: {exc}") from None


def _from_entry(entry: Any, i: int, path: Path, made: Optional[dict] = None,
                detect: Optional[Detector] = None) -> Region:
    """The region of one YAML entry, with its ``size_cm`` (for calibration) when given."""
    if not isinstance(entry, dict) or "size_cm" not in entry:
        return _entry_region(entry, i, path, made, detect)
    where = f"{path}: regions[{i}]"
    if "inside" in entry:
        raise FormatError(f"{where}: size_cm belongs to the area it was measured on, not to a region made inside one")
    region = _entry_region({k: v for k, v in entry.items() if k != "size_cm"}, i, path, made, detect)
    try:
        return region.with_size(entry["size_cm"])
    except MaposeError as exc:
        raise FormatError(f"{path}: {exc}") from None


def _entry_region(entry: Any, i: int, path: Path, made: Optional[dict] = None,
                  detect: Optional[Detector] = None) -> Region:
    where = f"{path}: regions[{i}]"
    if not isinstance(entry, dict):
        raise FormatError(f"{where}: expected a mapping like {{name: centre, circle: [cx, cy, r]}}, got {entry!r}")
    unknown = sorted(set(entry) - {"name", "holes", *SHAPES, *DERIVED, *DETECTED})
    if unknown:
        raise FormatError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}; "
                          f"allowed: name, {', '.join(SHAPES)}, holes, {', '.join(DERIVED + DETECTED)}, size_cm")
    name = entry.get("name")
    if name is None:
        raise FormatError(f"{where}: every region needs a name")
    shapes = [k for k in SHAPES if k in entry] + [k for k in ("inside", "detect") if k in entry]
    if len(shapes) != 1:
        raise FormatError(f"{where}: give exactly one shape of {', '.join(SHAPES)} (or inside: AREA, or detect: "
                          f"video|tracks); got {shapes or 'none'}")
    stray = [k for k in DERIVED[1:] if k in entry and shapes[0] != "inside"] + \
        [k for k in DETECTED[1:] if k in entry and shapes[0] != "detect"]
    if stray:
        raise FormatError(f"{where}: {', '.join(stray)} belong(s) to "
                          f"{'inside' if stray[0] in DERIVED else 'detect'} entries")
    if "holes" in entry and shapes[0] in ("inside", "detect"):
        raise FormatError(f"{where}: 'holes' belong to a polygon, not to {shapes[0]} entries")
    if shapes[0] == "inside":
        return _derived(entry, where, path, made if made is not None else {})
    if shapes[0] == "detect":
        return _detected(entry, where, path, detect)
    shape, value = shapes[0], entry[shapes[0]]
    if "holes" in entry and shape != "polygon":
        raise FormatError(f"{where}: 'holes' belong to a polygon, not a {shape}")
    try:
        if shape == "polygon":
            return Region.polygon(str(name), value, entry.get("holes") or ())
        if shape == "line":
            return Region.line(str(name), value)
        if not isinstance(value, (list, tuple)) or len(value) != (4 if shape == "rectangle" else 3):
            form = "[x0, y0, x1, y1]" if shape == "rectangle" else "[cx, cy, radius]"
            raise FormatError(f"{where}: {shape} must be {form}, got {value!r}")
        return getattr(Region, shape)(str(name), *value)
    except MaposeError as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"{path}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{where}: {exc}") from None


def _from_feature(feature: Any, i: int, path: Path) -> Region:
    import shapely

    where = f"{path}: feature {i}"
    if not isinstance(feature, dict) or not isinstance(feature.get("geometry"), dict):
        raise FormatError(f"{where}: expected a GeoJSON Feature with a geometry")
    props = feature.get("properties") or {}
    name = props.get("name") if isinstance(props, dict) else None
    name = str(name) if name not in (None, "") else f"region_{i}"
    try:
        geom = shapely.from_geojson(json.dumps(feature["geometry"]))
    except Exception as exc:  # shapely raises GEOSException for malformed geometries
        raise FormatError(f"{where} ({name}): not a valid GeoJSON geometry ({exc})") from None
    size = props.get("size_cm") if isinstance(props, dict) else None
    try:
        if isinstance(geom, shapely.Polygon):
            return Region.polygon(name, np.asarray(geom.exterior.coords)[:, :2],
                                  [np.asarray(h.coords)[:, :2] for h in geom.interiors]).with_size(size)
        if isinstance(geom, shapely.LineString):  # a LinearRing is a closed LineString
            return Region.line(name, np.asarray(geom.coords)[:, :2])
    except MaposeError as exc:
        raise FormatError(f"{path}: {exc}") from None
    raise FormatError(f"{where} ({name}): geometry {geom.geom_type} is not supported; use Polygon or LineString")


def read_regions(path: PathLike, detect: Optional[Detector] = None) -> tuple[Region, ...]:
    """Read the regions of a YAML or GeoJSON file (see the module docs).

    ``detect``: finds the ``detect:`` entries in the session being measured (e.g.
    :func:`mapose.kinematics.arena.arena_finder`); needed only when the file has them.

    Raises
    ------
    MissingFileError
        When the file does not exist.
    FormatError
        When the file is not valid YAML / JSON, a region is malformed (naming it and what is
        expected), or two regions share a name.
    """
    p = require_file(path, "regions file")
    suffix = _suffix(p)
    try:
        text = p.read_text()
    except UnicodeDecodeError:
        raise FormatError(f"{p}: not a text file") from None
    if suffix in YAML_SUFFIXES:
        import yaml

        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise FormatError(f"{p}: not valid YAML, {parse_error_line(exc)}") from None
        entries = raw.get("regions") if isinstance(raw, dict) else None
        if not isinstance(entries, list):
            raise FormatError(f"{p}: expected a top-level 'regions:' list")
        made: dict = {}  # name -> region, for entries made inside an earlier one
        regions = []
        for i, e in enumerate(entries):
            regions.append(_from_entry(e, i, p, made, detect))
            made.setdefault(regions[-1].name, regions[-1])  # repeated names are reported below
    else:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FormatError(f"{p}: not valid JSON ({exc})") from None
        if not isinstance(raw, dict) or raw.get("type") != "FeatureCollection" \
                or not isinstance(raw.get("features"), list):
            raise FormatError(f"{p}: expected a GeoJSON FeatureCollection (as movement.roi.save_rois writes)")
        regions = [_from_feature(f, i, p) for i, f in enumerate(raw["features"])]
    try:
        return check_regions(regions, str(p))
    except MaposeError as exc:
        raise FormatError(str(exc)) from None


def needs_detection(path: PathLike) -> bool:
    """True when a regions file has ``detect:`` entries (found anew in each video)."""
    p = Path(path)
    if p.suffix.lower() not in YAML_SUFFIXES or not p.is_file():
        return False
    import yaml

    try:
        raw = yaml.safe_load(p.read_text())
    except (yaml.YAMLError, UnicodeDecodeError):
        return False
    entries = raw.get("regions") if isinstance(raw, dict) else None
    return isinstance(entries, list) and any(isinstance(e, dict) and "detect" in e for e in entries)


def _coords(a: Any) -> list[list[float]]:
    return [[round(float(x), 4), round(float(y), 4)] for x, y in np.asarray(a)[:, :2]]


def _size(r: Region) -> Any:
    """``size_cm`` as written: one number, or a rectangle's two sides."""
    return r.size_cm[0] if len(r.size_cm) == 1 else list(r.size_cm)


def _recipe_entry(r: Region) -> dict[str, Any]:
    """The template entry of a region made in each video (``detect:`` / ``inside:``)."""
    recipe = dict(r.recipe)
    if "detect" in recipe:
        e = {"name": r.name, "detect": recipe["detect"], "shape": recipe.get("shape", "auto")}
        if recipe.get("margin"):
            e["margin"] = float(recipe["margin"])
        if r.size_cm is not None:
            e["size_cm"] = _size(r)
        return e
    kind = "area" if "area" in recipe else "border"
    return {"name": r.name, "inside": str(recipe["inside"]), kind: float(recipe[kind])}


def _parents_first(regions: tuple[Region, ...]) -> tuple[Region, ...]:
    """``regions`` with each zone made ``inside:`` an area after that area (as a template is read)."""
    names = {r.name for r in regions}
    for r in regions:
        parent = (r.recipe or {}).get("inside")
        if parent is not None and parent not in names:
            raise FormatError(f"region {r.name!r} is made inside {parent!r}, which is not among the regions; "
                              "keep it, or save plain shapes")
    out: list[Region] = []
    left = list(regions)
    while left:
        before = len(out)
        for r in list(left):  # in the given order, each as soon as the area it is inside is written
            parent = (r.recipe or {}).get("inside")
            if parent is None or (parent != r.name and parent in {o.name for o in out}):
                out.append(r)
                left.remove(r)
        if len(out) == before:
            raise FormatError(f"regions {', '.join(r.name for r in left)} are each made inside another of them; "
                              "save plain shapes")
    return tuple(out)


def write_regions(regions: Iterable[Region], path: PathLike, template: bool = False) -> Path:
    """Write ``regions`` atomically as YAML or GeoJSON (by the extension of ``path``).

    ``template=True`` (YAML only) writes the regions that are made anew in each video (those with
    a ``recipe``: an arena found with ``detect:``, zones made ``inside:`` it) as those entries
    instead of their shapes in this video, so one file serves every session; other regions keep
    their shapes.
    """
    import shapely

    regions = check_regions(regions)
    p = Path(path)
    suffix = _suffix(p)
    if template and suffix not in YAML_SUFFIXES:
        raise FormatError(f"{p}: a template (arena found in each video, zones inside it) is written as YAML; "
                          "GeoJSON holds fixed shapes only")
    if template:
        regions = _parents_first(regions)
    if suffix in YAML_SUFFIXES:
        import yaml

        entries = []
        for r in regions:
            if template and r.recipe:
                e = _recipe_entry(r)
            elif r.is_area:
                e: dict[str, Any] = {"name": r.name, "polygon": _coords(r.geometry.exterior.coords)[:-1]}
                if r.size_cm is not None:
                    e["size_cm"] = _size(r)
                if r.geometry.interiors:
                    e["holes"] = [_coords(h.coords)[:-1] for h in r.geometry.interiors]
            else:
                e = {"name": r.name, "line": _coords(r.geometry.coords)}
            entries.append(e)
        text = "# regions of interest, pixel coordinates of the video (x right, y down)\n" + \
            yaml.safe_dump({"regions": entries}, sort_keys=False, default_flow_style=None)
    else:
        features = [{
            "type": "Feature",
            "geometry": json.loads(shapely.to_geojson(r.geometry)),
            "properties": {"name": r.name, "roi_type": "PolygonOfInterest" if r.is_area else "LineOfInterest",
                           **({"size_cm": _size(r)} if r.size_cm is not None else {})},
        } for r in regions]
        text = json.dumps({"type": "FeatureCollection", "features": features}, indent=2)
    atomic_write_text(p, text)
    return p
