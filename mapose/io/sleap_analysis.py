"""SLEAP analysis HDF5 (``*.analysis.h5``): dense arrays of tracked predictions.

Layout written by SLEAP ("matlab" order, the default of SLEAP and sleap-io, shown as h5py
reports the shapes):

=================  ===================================  =====================
dataset            shape                                 meaning
=================  ===================================  =====================
``tracks``         ``(n_tracks, 2, n_nodes, n_frames)``  x, y in pixels; NaN missing
``track_occupancy`` ``(n_frames, n_tracks)``             1 where the track has an instance
``point_scores``   ``(n_tracks, n_nodes, n_frames)``     point confidence
``instance_scores`` ``(n_tracks, n_frames)``             instance confidence
``tracking_scores`` ``(n_tracks, n_frames)``             tracker's score
``node_names``, ``track_names``, ``edge_names``, ``edge_inds``, ``video_path`` ...
=================  ===================================  =====================

``track_occupancy`` is frames-first while the other arrays are frames-last (SLEAP's own quirk).
sleap-io can also write a frames-first ("standard") order and records each dataset's axis names in
a ``dims`` attribute; both are read.  Older exports lack ``point_scores``: confidence is then NaN
(unknown).  Frame ``t`` of the arrays is frame ``t`` of the video.

mapose writes the SLEAP ("matlab") order and adds a root attribute ``mapose`` (JSON: frame
coordinate, fps, skeleton with symmetry, source software) so ``Tracks -> .analysis.h5 -> Tracks`` is
lossless; SLEAP and sleap-io ignore it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import numpy as np
import xarray as xr

from mapose.core.skeleton import Skeleton
from mapose.core.tracks import get_skeleton, make_tracks, validate_tracks
from mapose.errors import FormatError, MaposeError
from mapose.io._files import PathLike, atomic_path, check_fps, decode_frames, require_file, stored_skeleton

NAME = "sleap_analysis"
EXTENSIONS = (".analysis.h5",)

#: Canonical axis names of each array, in the order mapose uses internally.
_CANON = {
    "tracks": ("frame", "track", "node", "xy"),
    "point_scores": ("frame", "track", "node"),
    "instance_scores": ("frame", "track"),
    "tracking_scores": ("frame", "track"),
    "track_occupancy": ("frame", "track"),
}
#: SLEAP's ("matlab") stored order.
_SLEAP_ORDER = {
    "tracks": ("track", "xy", "node", "frame"),
    "point_scores": ("track", "node", "frame"),
    "instance_scores": ("track", "frame"),
    "tracking_scores": ("track", "frame"),
    "track_occupancy": ("frame", "track"),
}
_STANDARD_ORDER = {k: v for k, v in _CANON.items()}


def _names(ds) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in ds[()]]


def sniff(path: PathLike) -> bool:
    """True for an HDF5 file with SLEAP analysis datasets ``tracks``, ``node_names``, ``track_names``."""
    try:
        import h5py

        if not h5py.is_hdf5(path):
            return False
        with h5py.File(path, "r") as f:
            return all(k in f for k in ("tracks", "node_names", "track_names"))
    except Exception:
        return False


def _canonical(f, name: str, sizes: dict[str, int], path: Path) -> Optional[np.ndarray]:
    """Dataset ``name`` transposed to the canonical order (None if absent)."""
    if name not in f:
        return None
    d = f[name]
    arr = d[()]
    dims = None
    if "dims" in d.attrs:
        try:
            dims = tuple(json.loads(d.attrs["dims"]))
        except (TypeError, ValueError):
            dims = None
    if dims is None:
        for order in (_SLEAP_ORDER[name], _STANDARD_ORDER[name]):
            if arr.shape == tuple(sizes[a] for a in order):
                dims = order
                break
    if dims is None or sorted(dims) != sorted(_CANON[name]):
        expected = tuple(sizes[a] for a in _SLEAP_ORDER[name])
        raise FormatError(
            f"{path}: dataset {name!r} has shape {arr.shape}; expected {expected} "
            f"({', '.join(_SLEAP_ORDER[name])}) for {sizes['track']} tracks, {sizes['node']} nodes, "
            f"{sizes['frame']} frames"
        )
    return np.transpose(arr, [dims.index(a) for a in _CANON[name]])


def read_tracks(path: PathLike, fps: Optional[float] = None) -> xr.Dataset:
    """Read a SLEAP analysis HDF5 file into ``Tracks``.

    Individuals are the ``track_names``, keypoints the ``node_names``; confidence is
    ``point_scores`` (NaN when the file has none).  Positions of unoccupied (track, frame) pairs are
    NaN.  The instance scores, when present, are kept in the ``instance_score`` variable.

    Parameters
    ----------
    path
        The ``.analysis.h5`` file.
    fps
        Frames per second (positive); overrides the rate stored by mapose in the file (or read
        from its video) for the ``time`` coordinate and the ``fps`` attribute.

    Raises
    ------
    FormatError
        When datasets are missing or have shapes that disagree with the names.
    """
    import h5py

    p = require_file(path, "SLEAP analysis file")
    fps_arg = check_fps(fps, p)
    if not h5py.is_hdf5(p):
        raise FormatError(f"{p}: not a SLEAP analysis file (not an HDF5 file)")
    try:
        with h5py.File(p, "r") as f:
            missing = [k for k in ("tracks", "node_names", "track_names") if k not in f]
            if missing:
                raise FormatError(
                    f"{p}: not a SLEAP analysis file (missing datasets {', '.join(missing)}; "
                    f"has {', '.join(f.keys())})"
                )
            nodes = _names(f["node_names"])
            tracks_names = _names(f["track_names"])
            raw_shape = f["tracks"].shape
            if len(raw_shape) != 4 or 2 not in raw_shape:
                raise FormatError(f"{p}: dataset 'tracks' has shape {raw_shape}; expected 4 axes with x, y")
            # The frame count is the axis that is neither tracks, nodes nor xy.
            sizes = {"track": len(tracks_names), "node": len(nodes), "xy": 2}
            frame_axis = _frame_size(raw_shape, sizes, f["tracks"].attrs.get("dims"), p)
            sizes["frame"] = frame_axis
            pos = _canonical(f, "tracks", sizes, p).astype(np.float64)  # (T, I, K, 2)
            scores = _canonical(f, "point_scores", sizes, p)
            inst = _canonical(f, "instance_scores", sizes, p)
            occ = _canonical(f, "track_occupancy", sizes, p)
            edges = []
            if "edge_inds" in f and f["edge_inds"].size:
                edges = [tuple(int(v) for v in e) for e in np.asarray(f["edge_inds"][()]).reshape(-1, 2)]
            video_path = ""
            if "video_path" in f:
                v = f["video_path"][()]
                video_path = v.decode("utf-8") if isinstance(v, bytes) else str(v)
            extra = _read_extra(f)
    except MaposeError:
        raise
    except (OSError, ValueError) as exc:  # a truncated or damaged file
        raise FormatError(f"{p}: HDF5 file cannot be read, it may be truncated or damaged "
                          f"({' '.join(str(exc).split())})") from None
    t = pos.shape[0]
    conf = np.full(pos.shape[:3], np.nan) if scores is None else scores.astype(np.float64)
    absent = np.zeros(pos.shape[:2], bool) if occ is None else np.asarray(occ) == 0
    pos[absent] = np.nan
    conf[absent] = np.nan
    conf = np.where(np.isfinite(pos).all(-1) | np.isfinite(conf), conf, np.nan)
    skeleton = _skeleton(nodes, edges, extra, p)
    frames = np.arange(t, dtype=np.int64)
    if "frames" in extra:
        frames = _row_frames(extra["frames"], t)
        keep = frames >= 0
        pos, conf = pos[keep], conf[keep]
        inst = inst[keep] if inst is not None else None
        absent = absent[keep]
        frames = frames[keep]
    fps = fps_arg if fps_arg is not None else extra.get("fps")
    if video_path:
        from mapose.io.slp import resolve_video_path

        video_path = resolve_video_path(video_path, p)
        if fps is None and "fps" not in extra and Path(video_path).is_file():
            try:
                from mapose.io.video import probe_video

                fps = probe_video(video_path, check_decodable=False)["fps"]
            except MaposeError:
                fps = None
    ds = make_tracks(
        pos.transpose(0, 3, 2, 1),
        conf.transpose(0, 2, 1),
        skeleton=skeleton,
        individuals=tracks_names,
        fps=fps,
        frames=frames,
        source_software=str(extra.get("source_software", "SLEAP")),
        source_file=str(p),
        video_path=video_path,
    )
    if inst is not None:
        inst = np.where(absent, np.nan, np.asarray(inst, np.float64))
        ds["instance_score"] = (("time", "individuals"), inst)
    return ds


def _frame_size(shape, sizes, dims_attr, path: Path) -> int:
    if dims_attr is not None:
        try:
            dims = list(json.loads(dims_attr))
            return int(shape[dims.index("frame")])
        except (TypeError, ValueError):
            pass
    if shape[0] == sizes["track"] and shape[1] == 2 and shape[2] == sizes["node"]:
        return int(shape[3])
    if shape[1] == sizes["track"] and shape[2] == sizes["node"] and shape[3] == 2:
        return int(shape[0])
    raise FormatError(
        f"{path}: dataset 'tracks' has shape {tuple(shape)}; expected "
        f"({sizes['track']}, 2, {sizes['node']}, n_frames) for {sizes['track']} track names and "
        f"{sizes['node']} node names"
    )


def _read_extra(f) -> dict[str, Any]:
    text = f.attrs.get("mapose")
    if text is None:
        return {}
    try:
        out = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return out if isinstance(out, dict) else {}


def _skeleton(nodes: list[str], edges: list[tuple[int, int]], extra: dict, path: Path) -> Skeleton:
    stored = stored_skeleton(extra.get("skeleton"), nodes, path)
    if stored is not None:
        return stored
    sym = Skeleton.guess_symmetry(nodes)
    return Skeleton.from_names(nodes, [(nodes[a], nodes[b]) for a, b in edges], sym)


def _row_frames(obj: Any, t: int) -> np.ndarray:
    """Frame index of each stored row; -1 for padding rows that are not part of the Tracks."""
    frames = decode_frames(obj)
    out = np.full(t, -1, dtype=np.int64)
    ok = (frames >= 0) & (frames < t)
    out[frames[ok]] = frames[ok]
    return out


def write_tracks(ds: xr.Dataset, path: PathLike) -> None:
    """Write ``Tracks`` as a SLEAP analysis HDF5 file (SLEAP's "matlab" order), atomically.

    Rows cover video frames ``0..max(frame)``; frames absent from ``ds`` are NaN with zero
    occupancy.  Point scores are the confidence; instance scores the ``instance_score`` variable
    when present, else the mean point score.

    Parameters
    ----------
    ds
        A valid ``Tracks`` dataset.
    path
        Output path, conventionally ``*.analysis.h5``.
    """
    import h5py

    validate_tracks(ds)
    frames = ds["frame"].values.astype(np.int64)
    t = int(frames.max()) + 1 if len(frames) else 0
    n_ind, k = ds.sizes["individuals"], ds.sizes["keypoints"]
    pos_src = ds["position"].transpose("time", "individuals", "keypoints", "space").values
    conf_src = ds["confidence"].transpose("time", "individuals", "keypoints").values
    pos = np.full((t, n_ind, k, 2), np.nan)
    conf = np.full((t, n_ind, k), np.nan)
    pos[frames], conf[frames] = pos_src, conf_src
    present = np.isfinite(pos).any(axis=(-1, -2)) | np.isfinite(conf).any(-1)
    if "instance_score" in ds:
        inst = np.full((t, n_ind), np.nan)
        inst[frames] = ds["instance_score"].transpose("time", "individuals").values
    else:
        with np.errstate(invalid="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                inst = np.nanmean(conf, axis=-1)
    sk = get_skeleton(ds)
    extra = {
        "frames": {"start": int(frames[0]), "stop": int(frames[-1]) + 1}
        if len(frames) and np.array_equal(frames, np.arange(frames[0], frames[-1] + 1))
        else [int(v) for v in frames],
        "fps": ds.attrs.get("fps"),
        "skeleton": sk.to_dict(),
        "source_software": str(ds.attrs.get("source_software", "")),
    }

    def strings(values) -> np.ndarray:
        return np.array([str(v).encode("utf-8") for v in values], dtype=object)

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            sdt = h5py.string_dtype("utf-8")
            f.create_dataset("tracks", data=pos.transpose(1, 3, 2, 0), compression="gzip")
            f.create_dataset("track_occupancy", data=present.astype(np.uint8), compression="gzip")
            f.create_dataset("point_scores", data=conf.transpose(1, 2, 0), compression="gzip")
            f.create_dataset("instance_scores", data=inst.T, compression="gzip")
            f.create_dataset("tracking_scores", data=np.zeros((n_ind, t)), compression="gzip")
            f.create_dataset("node_names", data=strings(sk.keypoints), dtype=sdt)
            f.create_dataset("track_names", data=strings(ds["individuals"].values), dtype=sdt)
            f.create_dataset("edge_names", data=np.array(
                [[a.encode(), b.encode()] for a, b in sk.edge_names], dtype=object).reshape(-1, 2),
                dtype=sdt)
            f.create_dataset("edge_inds", data=np.array(sk.edges, dtype=np.int64).reshape(-1, 2))
            f.create_dataset("video_path", data=str(ds.attrs.get("video_path", "") or ""), dtype=sdt)
            f.create_dataset("video_ind", data=0)
            f.create_dataset("labels_path", data=str(ds.attrs.get("source_file", "") or ""), dtype=sdt)
            f.create_dataset("provenance", data="{}", dtype=sdt)
            f.attrs["mapose"] = json.dumps(extra)


__all__ = ["EXTENSIONS", "NAME", "read_tracks", "sniff", "write_tracks"]
