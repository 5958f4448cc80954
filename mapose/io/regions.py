"""Read and write regions of interest (:class:`mapose.core.regions.Region`).

Two formats, chosen by the file's extension:

- **YAML** (``.yaml`` / ``.yml``), written by hand or by the dashboard; coordinates in pixels of
  the video::

      regions:
        - {name: centre, circle: [512, 512, 200]}          # cx, cy, radius
        - {name: patch_1, rectangle: [180, 30, 320, 260]}  # x0, y0, x1, y1
        - {name: nest, polygon: [[10, 10], [120, 10], [120, 90]], holes: []}
        - {name: door, line: [[0, 400], [0, 620]]}         # crossings are counted

- **GeoJSON** (``.geojson`` / ``.json``): a ``FeatureCollection`` of ``Polygon`` and
  ``LineString`` features with a ``name`` property -- what ``movement.roi.save_rois`` writes and
  ``movement.roi.load_rois`` reads (so regions drawn in ``movement``'s napari widget work here and
  back).  Written with ``roi_type`` ``PolygonOfInterest`` / ``LineOfInterest`` like ``movement``.

Circles and rectangles are written as the polygons they are measured with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Union

import numpy as np

from mapose.core.regions import Region, check_regions
from mapose.errors import FormatError, MaposeError
from mapose.io._files import atomic_write_text, require_file

PathLike = Union[str, Path]
YAML_SUFFIXES = (".yaml", ".yml")
GEOJSON_SUFFIXES = (".geojson", ".json")
SHAPES = ("polygon", "rectangle", "circle", "line")


def _suffix(path: Path) -> str:
    s = path.suffix.lower()
    if s not in YAML_SUFFIXES + GEOJSON_SUFFIXES:
        raise FormatError(
            f"{path}: regions files are {', '.join(YAML_SUFFIXES + GEOJSON_SUFFIXES)}; got {s or 'no extension'!r}")
    return s


def _from_entry(entry: Any, i: int, path: Path) -> Region:
    where = f"{path}: regions[{i}]"
    if not isinstance(entry, dict):
        raise FormatError(f"{where}: expected a mapping like {{name: centre, circle: [cx, cy, r]}}, got {entry!r}")
    unknown = sorted(set(entry) - {"name", "holes", *SHAPES})
    if unknown:
        raise FormatError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}; "
                          f"allowed: name, {', '.join(SHAPES)}, holes")
    shapes = [k for k in SHAPES if k in entry]
    if len(shapes) != 1:
        raise FormatError(f"{where}: give exactly one shape of {', '.join(SHAPES)}; got {shapes or 'none'}")
    name = entry.get("name")
    if name is None:
        raise FormatError(f"{where}: every region needs a name")
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
    try:
        if isinstance(geom, shapely.Polygon):
            return Region.polygon(name, np.asarray(geom.exterior.coords)[:, :2],
                                  [np.asarray(h.coords)[:, :2] for h in geom.interiors])
        if isinstance(geom, shapely.LineString):  # a LinearRing is a closed LineString
            return Region.line(name, np.asarray(geom.coords)[:, :2])
    except MaposeError as exc:
        raise FormatError(f"{path}: {exc}") from None
    raise FormatError(f"{where} ({name}): geometry {geom.geom_type} is not supported; use Polygon or LineString")


def read_regions(path: PathLike) -> tuple[Region, ...]:
    """Read the regions of a YAML or GeoJSON file (see the module docs).

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
            raise FormatError(f"{p}: not valid YAML ({exc})") from None
        entries = raw.get("regions") if isinstance(raw, dict) else None
        if not isinstance(entries, list):
            raise FormatError(f"{p}: expected a top-level 'regions:' list")
        regions = [_from_entry(e, i, p) for i, e in enumerate(entries)]
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


def _coords(a: Any) -> list[list[float]]:
    return [[round(float(x), 4), round(float(y), 4)] for x, y in np.asarray(a)[:, :2]]


def write_regions(regions: Iterable[Region], path: PathLike) -> Path:
    """Write ``regions`` atomically as YAML or GeoJSON (by the extension of ``path``)."""
    import shapely

    regions = check_regions(regions)
    p = Path(path)
    suffix = _suffix(p)
    if suffix in YAML_SUFFIXES:
        import yaml

        entries = []
        for r in regions:
            if r.is_area:
                e: dict[str, Any] = {"name": r.name, "polygon": _coords(r.geometry.exterior.coords)[:-1]}
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
            "properties": {"name": r.name, "roi_type": "PolygonOfInterest" if r.is_area else "LineOfInterest"},
        } for r in regions]
        text = json.dumps({"type": "FeatureCollection", "features": features}, indent=2)
    atomic_write_text(p, text)
    return p
