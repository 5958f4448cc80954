"""NWB files with the ``ndx-pose`` extension (0.2+ layout; ndx-pose 0.1 files are read too).

Layout written (processing module ``behavior``):

- a ``Skeletons`` container holding one ndx-pose ``Skeleton`` per individual, named
  ``skeleton_<individual>`` (nodes = keypoints, edges = skeleton edges);
- one ``PoseEstimation`` per individual (the NWB way to store several animals), named
  ``PoseEstimation`` when there is one individual (the name ``movement`` reads by default) and
  ``PoseEstimation_<individual>`` otherwise, linked to its skeleton;
- inside it one ``PoseEstimationSeries`` per keypoint: ``data`` ``(n_times, 2)`` x, y in pixels
  (NaN = missing), ``confidence`` ``(n_times,)``, and ``rate``/``starting_time`` (seconds) when the
  frames are contiguous and fps is known, else ``timestamps`` (seconds; frame numbers when fps is
  unknown, as ``movement`` does);
- a scratch entry ``mapose_tracks`` (JSON: frame coordinate, fps, skeleton with symmetry, source
  software, individual of each PoseEstimation), so ``Tracks -> NWB -> Tracks`` is lossless.

Reading gathers every ``PoseEstimation`` of the file (all processing modules).  The individual of a
``PoseEstimation`` is taken from the scratch entry, else its skeleton name ``skeleton_<name>``,
else its own name ``PoseEstimation_<name>``, else the subject id, else the file identifier (what
``movement`` uses).  Without the scratch entry fps is the series ``rate``, else ``1 /
median(diff(timestamps))``; frame indices are ``round(timestamp * fps)``.
"""

from __future__ import annotations

import json
import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import numpy as np
import xarray as xr

from mapose.core.skeleton import Skeleton
from mapose.core.tracks import get_skeleton, make_tracks, validate_tracks
from mapose.errors import FormatError, MaposeError
from mapose.io.dlc import extra_attrs, restore_extra_attrs
from mapose.io._files import (PathLike, atomic_path, check_fps, check_hdf5_opens, decode_frames, encode_frames,
                              require_file, stored_skeleton)

NAME = "nwb"
EXTENSIONS = (".nwb",)

_SCRATCH = "mapose_tracks"
_MODULE = "behavior"


def sniff(path: PathLike) -> bool:
    """True for an HDF5 file with NWB's root attribute ``neurodata_type`` = ``NWBFile``."""
    try:
        import h5py

        if not h5py.is_hdf5(path):
            return False
        with h5py.File(path, "r") as f:
            kind = f.attrs.get("neurodata_type")
            if isinstance(kind, bytes):
                kind = kind.decode()
            return kind == "NWBFile"
    except Exception:
        return False


def _io(path: Path, mode: str):
    import ndx_pose  # noqa: F401  (registers the extension's types)
    from pynwb import NWBHDF5IO

    return NWBHDF5IO(str(path), mode, load_namespaces=True)


# --------------------------------------------------------------------------------------- reading
def _pose_estimations(nwb) -> list[tuple[str, Any]]:
    from ndx_pose import PoseEstimation

    out = []
    for mod_name, mod in nwb.processing.items():
        for name, obj in mod.data_interfaces.items():
            if isinstance(obj, PoseEstimation):
                out.append((f"{mod_name}/{name}", obj))
    return out


def _series_times(s) -> np.ndarray:
    n = s.data.shape[0]
    if s.timestamps is not None:
        ts = np.asarray(s.timestamps[:], dtype=np.float64)
        if ts.shape != (n,):
            raise FormatError(f"series {s.name!r} has {n} samples but {ts.shape[0]} timestamps")
        return ts
    if s.rate:
        return float(s.starting_time or 0.0) + np.arange(n) / float(s.rate)
    raise FormatError(f"series {s.name!r} has neither timestamps nor a rate")


def _individual_name(key: str, pe, nwb, meta: dict, n_pe: int) -> str:
    if key in meta.get("individuals", {}):
        return str(meta["individuals"][key])
    sk = getattr(pe, "skeleton", None)
    if sk is not None and sk.name.startswith("skeleton_") and len(sk.name) > 9:
        return sk.name[9:]
    if pe.name.startswith("PoseEstimation_") and len(pe.name) > 15:
        return pe.name[15:]
    if n_pe == 1:
        subject = getattr(nwb, "subject", None)
        if subject is not None and getattr(subject, "subject_id", None):
            return str(subject.subject_id)
        return str(nwb.identifier)
    return pe.name


def read_tracks(path: PathLike, fps: Optional[float] = None) -> xr.Dataset:
    """Read the ``PoseEstimation`` objects of an NWB file into ``Tracks`` (one individual each).

    Parameters
    ----------
    path
        The ``.nwb`` file.
    fps
        Frames per second (positive); overrides the file's own rate for the ``time`` coordinate
        and the ``fps`` attribute.  Frame numbers still come from the file's timestamps and rate.

    Returns
    -------
    xarray.Dataset
        ``Tracks`` whose time axis is the union of the series' timestamps.

    Raises
    ------
    FormatError
        When the file is not NWB, holds no ``PoseEstimation``, or individuals disagree on keypoints.
    """
    p = require_file(path, "NWB file")
    fps = check_fps(fps, p)
    check_hdf5_opens(p)
    if not sniff(p):
        raise FormatError(f"{p}: not an NWB file (HDF5 with neurodata_type 'NWBFile' expected)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cached older ndx-pose namespaces
            io = _io(p, "r")
            nwb = io.read()
    except Exception as exc:
        raise FormatError(f"{p}: cannot read NWB file ({type(exc).__name__}: {exc})") from exc
    try:
        return _read_open(nwb, p, fps)
    finally:
        io.close()


def _read_open(nwb, p: Path, fps_arg: Optional[float] = None) -> xr.Dataset:
    meta: dict = {}
    if _SCRATCH in getattr(nwb, "scratch", {}):
        try:
            raw = nwb.scratch[_SCRATCH].data
            raw = raw[()] if hasattr(raw, "shape") else raw
            raw = raw.decode() if isinstance(raw, bytes) else str(raw)
            meta = json.loads(raw)
        except (ValueError, TypeError, KeyError):
            meta = {}
    pes = _pose_estimations(nwb)
    if not pes:
        raise FormatError(f"{p}: NWB file without any ndx-pose PoseEstimation")
    if "individuals" in meta:
        order = {k: i for i, k in enumerate(meta["individuals"])}
        pes.sort(key=lambda kv: order.get(kv[0], len(order)))
    individuals, per_ind, keypoints, rates = [], [], None, []
    rename = meta.get("series", {})
    for key, pe in pes:
        series = {str(rename.get(n, n)): s for n, s in pe.pose_estimation_series.items()}
        names = list(series)
        sk = getattr(pe, "skeleton", None)
        nodes = [str(rename.get(str(n), str(n))) for n in sk.nodes[:]] if sk is not None else []
        if sorted(nodes) == sorted(names):
            names = nodes
        if keypoints is None:
            keypoints = names
        elif sorted(keypoints) != sorted(names):
            raise FormatError(
                f"{p}: PoseEstimation {key!r} has keypoints {names}; the first one has {keypoints}"
            )
        individuals.append(_individual_name(key, pe, nwb, meta, len(pes)))
        per_ind.append(series)
        rates += [float(s.rate) for s in series.values() if s.rate]
    assert keypoints is not None
    if len(set(individuals)) != len(individuals):
        individuals = [f"{n}_{i}" for i, n in enumerate(individuals)]
    times = [[_series_times(per_ind[i][k]) for k in keypoints] for i in range(len(pes))]
    all_t = np.unique(np.concatenate([t for row in times for t in row]))
    t_n, k_n, i_n = len(all_t), len(keypoints), len(pes)
    pos = np.full((t_n, 2, k_n, i_n), np.nan)
    conf = np.full((t_n, k_n, i_n), np.nan)
    for i in range(i_n):
        for k, kp in enumerate(keypoints):
            s = per_ind[i][kp]
            data = np.asarray(s.data[:], dtype=np.float64)
            if data.ndim != 2 or data.shape[1] < 2:
                raise FormatError(f"{p}: series {kp!r} has data of shape {data.shape}; expected (n, 2)")
            idx = np.searchsorted(all_t, times[i][k])
            pos[idx, :, k, i] = data[:, :2]
            if s.confidence is not None:
                conf[idx, k, i] = np.asarray(s.confidence[:], dtype=np.float64)
    if "fps" in meta:
        fps = meta["fps"]
    elif rates:
        fps = rates[0]
    elif t_n > 1:
        fps = float(1.0 / np.nanmedian(np.diff(all_t)))
    else:
        fps = None
    if "frames" in meta and len(decode_frames(meta["frames"])) == t_n:
        frames = decode_frames(meta["frames"])
    elif fps:
        frames = np.round(all_t * fps).astype(np.int64)
    else:
        frames = np.round(all_t).astype(np.int64)
    if np.any(np.diff(frames) <= 0):
        raise FormatError(f"{p}: timestamps do not map to distinct frames at {fps} fps")
    skeleton = _skeleton(keypoints, pes[0][1], meta, p)
    first = pes[0][1]
    videos: list = []
    sv = getattr(first, "source_video", None)
    if sv is not None and getattr(sv, "external_file", None) is not None:
        videos = list(sv.external_file[:])
    elif getattr(first, "original_videos", None) is not None:
        videos = list(first.original_videos[:])
    videos = [v.decode() if isinstance(v, bytes) else str(v) for v in videos]
    return restore_extra_attrs(make_tracks(
        pos,
        conf,
        skeleton=skeleton,
        individuals=individuals,
        fps=fps_arg if fps_arg is not None else fps,
        frames=frames,
        source_software=str(meta.get("source_software") or first.source_software or "unknown"),
        source_file=str(p),
        video_path=str(videos[0]) if videos else "",
    ), meta.get("attrs"), str(p))


def _skeleton(keypoints: list[str], pe, meta: dict, path: Path) -> Skeleton:
    stored = stored_skeleton(meta.get("skeleton"), keypoints, path)
    if stored is not None:
        return stored
    edges: list[tuple[str, str]] = []
    sk = getattr(pe, "skeleton", None)
    if sk is not None and sk.edges is not None:
        nodes = [str(n) for n in sk.nodes[:]]
        edges = [(nodes[int(a)], nodes[int(b)]) for a, b in np.asarray(sk.edges[:]).reshape(-1, 2)]
    return Skeleton.from_names(keypoints, edges, Skeleton.guess_symmetry(keypoints))


def _safe_names(names: list[str], prefix: str) -> list[str]:
    """NWB/HDF5 object names for ``names``: no '/', not '.' or '..', unique (originals are
    restored from the scratch metadata on reading)."""
    out: list[str] = []
    for i, n in enumerate(names):
        safe = n.replace("/", "|")
        if safe in (".", "..") or not safe:
            safe = f"{prefix}{i}"
        while safe in out:
            safe = f"{safe}_{i}"
        out.append(safe)
    return out




# --------------------------------------------------------------------------------------- writing
def write_tracks(
    ds: xr.Dataset,
    path: PathLike,
    *,
    session_description: str = "mapose pose output",
    identifier: Optional[str] = None,
    session_start_time: Optional[datetime] = None,
    subject: Any = None,
    **nwbfile_kwargs: Any,
) -> None:
    """Write ``Tracks`` to an NWB file with ndx-pose (atomically).

    Parameters
    ----------
    ds
        A valid ``Tracks`` dataset; positions in pixels.
    path
        Output ``.nwb`` path.
    session_description, identifier, session_start_time
        NWB session metadata; defaults: ``"mapose pose output"``, a random UUID, now (UTC).
    subject
        A :class:`pynwb.file.Subject` or a dict of its fields (``subject_id``, ``species`` ...),
        linked to the skeleton when there is one individual.
    **nwbfile_kwargs
        Further :class:`pynwb.NWBFile` fields (``experimenter``, ``lab``, ``institution`` ...).
    """
    import ndx_pose
    from pynwb import NWBFile
    from pynwb.file import Subject

    validate_tracks(ds)
    sk = get_skeleton(ds)
    if sk.n_keypoints > 255 and sk.n_edges:
        raise MaposeError(f"ndx-pose stores edges as uint8: {sk.n_keypoints} keypoints is too many")
    fps = ds.attrs.get("fps")
    frames = ds["frame"].values.astype(np.int64)
    contiguous = len(frames) > 0 and np.array_equal(frames, np.arange(frames[0], frames[0] + len(frames)))
    nwb = NWBFile(
        session_description=session_description,
        identifier=identifier or str(uuid.uuid4()),
        session_start_time=session_start_time or datetime.now(timezone.utc),
        **nwbfile_kwargs,
    )
    individuals = [str(v) for v in ds["individuals"].values]
    if isinstance(subject, dict):
        subject = Subject(**subject)
    if subject is not None:
        nwb.subject = subject
    module = nwb.create_processing_module(name=_MODULE, description="pose estimated by mapose")
    pos = ds["position"].transpose("individuals", "keypoints", "time", "space").values
    conf = ds["confidence"].transpose("individuals", "keypoints", "time").values
    video = str(ds.attrs.get("video_path") or "")
    software = str(ds.attrs.get("source_software") or "mapose")
    source_video = None
    if video:
        from pynwb.image import ImageSeries

        n_video = int(frames.max()) + 1 if len(frames) else 0
        timing = ({"rate": float(fps), "starting_time": 0.0, "num_samples": n_video} if fps else
                  {"timestamps": frames.astype(np.float64)})
        source_video = ImageSeries(
            name="source_video", description="video the poses were estimated on",
            external_file=[video], format="external", starting_frame=[0], unit="n.a.", **timing,
        )
        nwb.add_acquisition(source_video)
    skeletons, pes, keys = [], [], {}
    edges = np.array(sk.edges, dtype=np.uint8).reshape(-1, 2)
    series_names = _safe_names(list(sk.keypoints), "keypoint_")
    ind_names = _safe_names(individuals, "individual_")
    for i, ind in enumerate(individuals):
        skel = ndx_pose.Skeleton(
            name=f"skeleton_{ind_names[i]}",
            nodes=series_names,
            edges=edges,
            subject=subject if (subject is not None and len(individuals) == 1) else None,
        )
        skeletons.append(skel)
        series = []
        for k, kp in enumerate(sk.keypoints):
            kw: dict[str, Any]
            if fps and contiguous:
                kw = {"rate": float(fps), "starting_time": float(frames[0] / fps)}
            else:
                kw = {"timestamps": frames / fps if fps else frames.astype(np.float64)}
            series.append(ndx_pose.PoseEstimationSeries(
                name=series_names[k],
                description=f"x, y of {kp} of {ind} in pixels",
                data=pos[i, k],
                unit="pixels",
                reference_frame="(0, 0) is the top-left corner of the video frame",
                confidence=conf[i, k],
                confidence_definition="keypoint score of the pose model (NaN = unknown)",
                **kw,
            ))
        name = "PoseEstimation" if len(individuals) == 1 else f"PoseEstimation_{ind_names[i]}"
        keys[f"{_MODULE}/{name}"] = ind
        pes.append(ndx_pose.PoseEstimation(
            name=name,
            pose_estimation_series=series,
            description=f"Estimated positions of {', '.join(sk.keypoints)} for {ind} "
                        f"using {software}.",
            source_video=source_video,
            source_software=software,
            skeleton=skel,
        ))
    module.add(ndx_pose.Skeletons(skeletons=skeletons))
    for pe in pes:
        module.add(pe)
    meta = {
        "frames": encode_frames(frames),
        "fps": float(fps) if fps else None,
        "skeleton": sk.to_dict(),
        "source_software": software,
        "individuals": keys,
        "series": dict(zip(series_names, sk.keypoints)),
        "attrs": extra_attrs(ds.attrs),  # an analysis's provenance, a DeepLabCut scorer ...
    }
    nwb.add_scratch(json.dumps(meta), name=_SCRATCH,
                    description="mapose metadata for lossless round trips (frames, fps, skeleton)")
    with atomic_path(path) as tmp:
        with _io(Path(tmp), "w") as io:
            io.write(nwb)


__all__ = ["EXTENSIONS", "NAME", "read_tracks", "sniff", "write_tracks"]
