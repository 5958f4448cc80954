"""Reading and writing every pose format; the only package that touches files.

Each format lives in one module (``mapose/io/<name>.py``) that defines:

- ``NAME`` (str) and ``EXTENSIONS`` (tuple of suffixes it writes, e.g. ``(".h5", ".csv")``);
- ``sniff(path) -> bool``: cheap check that a file is of this format (never raises on other files);
- any of ``read_tracks(path, fps=None) -> Tracks``, ``write_tracks(ds, path)``,
  ``read_labels(path) -> Labels``, ``write_labels(labels, path)``; ``fps`` (checked with
  :func:`mapose.io._files.check_fps`) overrides the frame rate stored in the file;
- optionally ``content_kind(path) -> "tracks" | "labels"`` when one format holds both kinds
  (DeepLabCut predictions vs ``CollectedData`` labels).

To add a format: write the module, then add its name to :data:`FORMAT_MODULES` (order matters:
the first module whose ``sniff`` accepts a file wins, so put specific formats first).  The
functions below dispatch on the sniffed or requested format.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Optional

import xarray as xr

from mapose.core.labels import Labels
from mapose.errors import FormatError, MaposeError
from mapose.io._files import PathLike, atomic_path, atomic_write_text, require_file

#: Format modules in sniffing order (a name whose module is not present is skipped).
FORMAT_MODULES: tuple[str, ...] = (
    "slp",
    "sleap_analysis",
    "jabs",
    "nwb",
    "netcdf",
    "coco",
    "dlc",
)


def _load(name: str) -> Optional[ModuleType]:
    modname = f"mapose.io.{name}"
    try:
        return importlib.import_module(modname)
    except ModuleNotFoundError as exc:
        if exc.name == modname:
            return None
        raise


def available_formats() -> dict[str, ModuleType]:
    """Format name -> module, for every format module present."""
    out = {}
    for name in FORMAT_MODULES:
        mod = _load(name)
        if mod is not None:
            out[mod.NAME] = mod
    return out


def get_format(name: str) -> ModuleType:
    """The module of format ``name``; raises listing the known names."""
    fmts = available_formats()
    if name not in fmts:
        raise MaposeError(f"unknown format {name!r}; known: {', '.join(sorted(fmts))}")
    return fmts[name]


def detect_format(path: PathLike) -> str:
    """Name of the format of an existing file, by content sniffing."""
    p = require_file(path, "pose file")
    for name, mod in available_formats().items():
        try:
            if mod.sniff(p):
                return name
        except Exception:  # a sniffer must never decide for another format by crashing
            continue
    # No sniffer accepted the file: let the format that owns its extension say what is wrong
    # ("not a SLEAP .slp file (not an HDF5 file)") rather than a generic message.
    name_lower = p.name.lower()
    for mod in available_formats().values():
        if any(name_lower.endswith(ext) for ext in getattr(mod, "EXTENSIONS", ())):
            reader = getattr(mod, "read_tracks", None) or getattr(mod, "read_labels", None)
            if reader is not None:
                try:
                    reader(p)
                except FormatError:
                    raise
                except MaposeError:
                    pass
    raise FormatError(
        f"{p}: not a pose file format mapose reads (tried {', '.join(available_formats())})"
    )


#: Preferred format when several write the same extension (DLC-layout ``.h5`` is the default).
WRITE_PREFERENCE: tuple[str, ...] = ("dlc", "slp", "nwb", "netcdf", "coco", "sleap_analysis", "jabs")


def format_for_output(path: PathLike, kind: str = "tracks") -> str:
    """Format chosen for writing ``path`` from its extension (longest matching suffix wins,
    e.g. ``.analysis.h5`` before ``.h5``; ties go by :data:`WRITE_PREFERENCE`)."""
    name_lower = Path(path).name.lower()
    func = f"write_{kind}"
    fmts = available_formats()
    order = [n for n in WRITE_PREFERENCE if n in fmts] + [n for n in fmts if n not in WRITE_PREFERENCE]
    best, best_len = None, 0
    for name in order:
        mod = fmts[name]
        if not hasattr(mod, func):
            continue
        for ext in getattr(mod, "EXTENSIONS", ()):
            if name_lower.endswith(ext) and len(ext) > best_len:
                best, best_len = name, len(ext)
    if best is None:
        known = sorted({e for m in fmts.values() if hasattr(m, func) for e in getattr(m, "EXTENSIONS", ())})
        raise MaposeError(
            f"{path}: cannot write {kind} to this extension; known: {', '.join(known)}"
        )
    return best


def _call(kind: str, op: str, path: PathLike, fmt: Optional[str], *args, **kw):
    name = fmt or (detect_format(path) if op == "read" else format_for_output(path, kind))
    mod = get_format(name)
    func = getattr(mod, f"{op}_{kind}", None)
    if func is None:
        raise MaposeError(f"format {name!r} cannot {op} {kind}")
    return func(*args, **kw)


def content_kind(path: PathLike, format: Optional[str] = None) -> str:
    """``"tracks"`` or ``"labels"``: what a pose file holds (labelled images or pose over time)."""
    mod = get_format(format or detect_format(path))
    if hasattr(mod, "content_kind"):
        return mod.content_kind(Path(path))
    return "tracks" if hasattr(mod, "read_tracks") else "labels"


def read_tracks(path: PathLike, format: Optional[str] = None, **kw) -> xr.Dataset:
    """Read a pose file into ``Tracks`` (format sniffed unless given)."""
    require_file(path, "pose file")
    return _call("tracks", "read", path, format, Path(path), **kw)


def write_tracks(ds: xr.Dataset, path: PathLike, format: Optional[str] = None, **kw) -> None:
    """Write ``Tracks`` atomically; format from ``format`` or the extension."""
    if isinstance(ds, xr.Dataset) and ds.attrs.get("skeleton") and "keypoints" in ds.dims:
        from mapose.core import get_skeleton, with_skeleton

        ds = with_skeleton(ds, get_skeleton(ds))  # after ds.sel(keypoints=...): the skeleton of those
    return _call("tracks", "write", path, format, ds, Path(path), **kw)


def read_labels(path: PathLike, format: Optional[str] = None, **kw) -> Labels:
    """Read a label file (DLC CollectedData, SLEAP .slp, COCO JSON) into :class:`Labels`."""
    require_file(path, "label file")
    return _call("labels", "read", path, format, Path(path), **kw)


def write_labels(labels: Labels, path: PathLike, format: Optional[str] = None, **kw) -> None:
    """Write :class:`Labels` atomically; format from ``format`` or the extension."""
    return _call("labels", "write", path, format, labels, Path(path), **kw)


def read_pose_any(path: PathLike, fmt: Optional[str] = None, fps: Optional[float] = None):
    """Read ``path`` as Tracks if it holds tracks, else as Labels.

    Returns ``("tracks", ds)`` or ``("labels", labels)``.
    """
    from mapose.errors import ConfigError

    name = fmt or detect_format(path)
    mod = get_format(name)
    kw = {"fps": fps} if fps is not None else {}
    if hasattr(mod, "content_kind") and hasattr(mod, "read_labels") and content_kind(path, name) == "labels":
        return "labels", read_labels(path, format=name)
    if hasattr(mod, "read_tracks"):
        try:
            return "tracks", read_tracks(path, format=name, **kw)
        except ConfigError:
            raise  # a bad option (--fps) is no reason to try the file as labels
        except MaposeError:
            if not hasattr(mod, "read_labels"):
                raise
    if hasattr(mod, "read_labels"):
        return "labels", read_labels(path, format=name)
    raise MaposeError(f"{path}: format {name!r} can be neither read as tracks nor as labels")


from mapose.io.regions import read_regions, write_regions  # noqa: E402
from mapose.io.skeletons import read_skeleton  # noqa: E402  (uses the readers above)

__all__ = [
    "FORMAT_MODULES",
    "atomic_path",
    "atomic_write_text",
    "content_kind",
    "available_formats",
    "detect_format",
    "format_for_output",
    "get_format",
    "read_labels",
    "read_pose_any",
    "read_regions",
    "read_skeleton",
    "read_tracks",
    "require_file",
    "write_labels",
    "write_regions",
    "write_tracks",
]

