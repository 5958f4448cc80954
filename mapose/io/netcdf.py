"""``movement`` netCDF files (``.nc``): the direct hand-off between mapose and ``movement``.

``movement`` saves a poses dataset with :meth:`xarray.Dataset.to_netcdf`; the layout is the
``Tracks`` layout (dims ``time, space, keypoints, individuals``; variables ``position`` and
``confidence``).  Reading such a file gives ``Tracks``; frame numbers come from the ``frame``
coordinate when mapose wrote the file, else from ``time`` (``round(time * fps)`` when time is in
seconds).

netCDF attributes cannot hold ``None`` or nested values, so :func:`write_tracks` keeps every
``Tracks`` attribute twice: as plain netCDF attributes where possible (what ``movement`` and
other tools read) and, exactly, as JSON in the attribute ``mapose_attrs``, from which
:func:`read_tracks` restores them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import xarray as xr

from mapose.core.skeleton import Skeleton
from mapose.core.tracks import make_tracks, validate_tracks
from mapose.errors import FormatError
from mapose.io._files import (
    HDF5_MAGIC,
    PathLike,
    atomic_path,
    check_fps,
    check_hdf5_opens,
    require_file,
    stored_skeleton,
)
from mapose.io.dlc import _one_line, decode_attrs, encode_attrs

NAME = "netcdf"
EXTENSIONS = (".nc",)

META_ATTR = "mapose_attrs"


def sniff(path: PathLike) -> bool:
    """True for a netCDF-3 file, or a netCDF-4 (HDF5) file holding a ``position`` variable."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    if head[:3] == b"CDF" and head[3:4] in (b"\x01", b"\x02", b"\x05"):
        return True
    if head != HDF5_MAGIC:
        return False
    import h5py

    try:
        with h5py.File(p, "r") as h5:
            if "position" not in h5 or not isinstance(h5["position"], h5py.Dataset):
                return False
            return "_NCProperties" in h5.attrs or "DIMENSION_LIST" in h5["position"].attrs
    except (OSError, ValueError):
        return False


def _frames(ds: xr.Dataset, fps: Optional[float], path: Path) -> np.ndarray:
    if "frame" in ds.coords and ds["frame"].dims == ("time",):
        return np.asarray(ds["frame"].values, dtype=np.int64)
    t = np.asarray(ds["time"].values, dtype=np.float64)
    unit = str(ds.attrs.get("time_unit", "seconds" if fps else "frames"))
    f = t * fps if (unit == "seconds" and fps) else t
    frames = np.rint(f)
    if f.size and np.max(np.abs(f - frames)) > 1e-3:
        raise FormatError(f"{path}: time coordinate does not fall on whole frames "
                          f"(time_unit {unit!r}, fps {fps}); cannot recover frame numbers")
    return frames.astype(np.int64)


def read_tracks(path: PathLike, fps: Optional[float] = None) -> xr.Dataset:
    """Read a ``movement`` (or mapose) netCDF poses file into ``Tracks``.

    Parameters
    ----------
    path
        The ``.nc`` file.
    fps
        Frames per second; overrides the ``fps`` attribute of the file (frame numbers still come
        from the file).  Must be positive.
    """
    p = require_file(path, "netCDF file")
    fps = check_fps(fps, p)
    check_hdf5_opens(p)
    try:
        with xr.open_dataset(p) as raw:
            ds = raw.load()
    except Exception as exc:  # netCDF/HDF5 libraries raise many types for damaged files
        raise FormatError(f"{p}: cannot open as netCDF ({_one_line(exc)})") from None
    if "position" not in ds:
        raise FormatError(f"{p}: no 'position' variable; expected a movement poses dataset "
                          f"(variables: {list(ds.data_vars)})")
    dims = ("time", "space", "keypoints", "individuals")
    if set(ds["position"].dims) != set(dims):
        raise FormatError(f"{p}: 'position' has dims {ds['position'].dims}; expected {dims}")
    space = [str(s) for s in ds["space"].values]
    if space != ["x", "y"]:
        raise FormatError(f"{p}: space coordinate is {space}; mapose reads 2-D poses (['x', 'y'])")
    meta = decode_attrs(ds.attrs[META_ATTR], str(p)) if META_ATTR in ds.attrs else {
        k: (v.item() if isinstance(v, np.generic) else v) for k, v in ds.attrs.items()
    }
    fps_val = fps if fps is not None else meta.get("fps")
    if fps_val is not None:
        fps_val = float(fps_val)
        if not np.isfinite(fps_val) or fps_val <= 0:
            fps_val = None
    file_fps = meta.get("fps")
    file_fps = float(file_fps) if isinstance(file_fps, (int, float)) and file_fps > 0 else None
    frames = _frames(ds, file_fps, p)
    pos = ds["position"].transpose(*dims).values.astype(np.float64)
    if "confidence" in ds:
        conf = ds["confidence"].transpose("time", "keypoints", "individuals").values.astype(np.float64)
    else:
        conf = None
    keypoints = [str(k) for k in ds["keypoints"].values]
    skeleton = stored_skeleton(meta.get("skeleton"), keypoints, p)
    if skeleton is None:
        skeleton = Skeleton.from_names(keypoints, symmetry=Skeleton.guess_symmetry(keypoints))
    extra = {k: v for k, v in meta.items()
             if k not in ("fps", "time_unit", "skeleton", "source_file", "ds_type",
                          "source_software", "video_path")}
    order = np.argsort(frames, kind="stable")
    if np.any(order != np.arange(len(order))):
        frames, pos = frames[order], pos[order]
        conf = conf[order] if conf is not None else None
    if frames.size > 1 and np.any(np.diff(frames) == 0):
        raise FormatError(f"{p}: two time steps fall on the same frame")
    return make_tracks(
        pos, conf, skeleton=skeleton,
        individuals=[str(i) for i in ds["individuals"].values],
        fps=fps_val, frames=frames,
        source_software=str(meta.get("source_software") or "movement"),
        source_file=str(p),
        video_path=str(meta.get("video_path") or ""),
        attrs=extra,
    )


def _netcdf_attr(v):
    """The value as a plain netCDF attribute, or None when netCDF cannot hold it."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (str, int, float)):
        return v
    return None


def write_tracks(ds: xr.Dataset, path: PathLike) -> None:
    """Write ``Tracks`` as a netCDF-4 file that ``movement`` (``xarray.open_dataset``) loads.

    The ``frame`` coordinate and every attribute are kept (see the module docstring); the
    write is atomic.
    """
    validate_tracks(ds)
    p = Path(path)
    out = ds.copy()
    attrs = {}
    for k, v in ds.attrs.items():
        plain = _netcdf_attr(v)
        if plain is not None:
            attrs[str(k)] = plain
    attrs[META_ATTR] = encode_attrs(ds.attrs)
    out.attrs = attrs
    for name in ("keypoints", "individuals", "space"):
        out = out.assign_coords({name: [str(v) for v in ds[name].values]})
    with atomic_path(p) as tmp:
        out.to_netcdf(tmp)
