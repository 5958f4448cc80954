"""SLEAP ``.slp`` labels and predictions (HDF5), read and written through ``sleap-io``.

What maps to what:

- SLEAP ``Skeleton`` (nodes, edges, symmetries) -> :class:`~mapose.core.Skeleton`;
- user ``Instance`` -> instance with ``is_user`` True (point scores 1.0 where visible);
  ``PredictedInstance`` -> ``is_user`` False with its point and instance scores;
- SLEAP ``Track`` -> individual (``Labels.individuals``, ``Detections.track_id``,
  ``Tracks`` ``individuals`` coordinate); an untracked instance gets ``track_id`` -1;
- each labelled frame -> :class:`~mapose.core.ImageRef` ``(video, frame)``; an image-sequence
  video -> ``ImageRef(image=...)``.

Video paths inside ``.slp`` files often point to the machine that made them
(``C:/code/.../fly_clip.mp4``).  :func:`resolve_video_path` looks for the same file name next to
the ``.slp`` file, then for the path relative to it, then in the parent folder and its direct
subfolders; the original path is kept only when nothing is found.  Frames embedded in a SLEAP
package (``.pkg.slp``) are referred to through the package's source video when it can be found,
else as ``"<file.pkg.slp>#video0"``, which :class:`mapose.io.video.VideoReader` opens.

A ``Tracks`` written by :func:`write_tracks` stores what SLEAP has no field for (the ``frame``
coordinate, fps, ``source_software``, keypoint skeleton name) in the file's provenance under the
key ``"mapose"``, so ``Tracks -> .slp -> Tracks`` is lossless.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np
import xarray as xr

from mapose.core.detections import Detections
from mapose.core.labels import ImageRef, Labels
from mapose.core.skeleton import Skeleton
from mapose.core.tracks import get_skeleton, make_tracks, validate_tracks
from mapose.errors import FormatError, MaposeError, ValidationError
from mapose.io.dlc import extra_attrs, restore_extra_attrs
from mapose.io._files import (PathLike, atomic_path, check_fps, check_hdf5_opens, decode_frames, encode_frames,
                              require_file, stored_skeleton)

NAME = "slp"
EXTENSIONS = (".slp",)

#: Name of the optional ``Tracks`` variable holding SLEAP's per-instance score, (time, individuals).
INSTANCE_SCORE_VAR = "instance_score"

_PROV_KEY = "mapose"

#: Video file name written when the Tracks name no video (SLEAP requires one).
NO_VIDEO = "unknown_video.mp4"


# --------------------------------------------------------------------------------------- sniffing
def _why_not_slp(path: Path) -> Optional[str]:
    """Reason ``path`` is not a SLEAP file, or None when it looks like one."""
    import h5py

    try:
        if not h5py.is_hdf5(path):
            return "not an HDF5 file"
        with h5py.File(path, "r") as f:
            missing = [k for k in ("metadata", "frames") if k not in f]
            if missing:
                return f"HDF5 file without SLEAP's {' and '.join(repr(m) for m in missing)}"
    except OSError as exc:
        return f"cannot open as HDF5: {exc}"
    return None


def sniff(path: PathLike) -> bool:
    """True when ``path`` is an HDF5 file with SLEAP's ``metadata`` group and ``frames`` dataset."""
    try:
        return _why_not_slp(Path(path)) is None
    except Exception:
        return False


#: a ``.slp`` of hand-labelled frames covering less than this share of the frames they span (per
#: video) is a labelling project, not tracks (:func:`content_kind`)
SPARSE_LABELS_FRACTION = 0.5


def content_kind(path: PathLike) -> str:
    """``"labels"`` for a labelling project, ``"tracks"`` for pose over time.

    A SLEAP file does not say which it is; this reads its index tables only.  A project lists
    frames to label (suggestions), or holds hand-placed instances only, on frames that cover less
    than :data:`SPARSE_LABELS_FRACTION` of the span between each video's first and last labelled
    frame.  Anything else -- predictions of every frame, a fully proofread track file -- is tracks.
    (Files without identities are read as labels either way: tracks need them.)"""
    import h5py

    with h5py.File(Path(path), "r") as f:
        sugg = f.get("suggestions_json")
        if isinstance(sugg, h5py.Dataset) and sugg.shape and sugg.shape[0] > 0:
            return "labels"
        frames, inst = f.get("frames"), f.get("instances")
        if not isinstance(frames, h5py.Dataset) or not isinstance(inst, h5py.Dataset) or not len(frames):
            return "tracks"
        names = set(inst.dtype.names or ())
        if "instance_type" in names and len(inst) and (inst.fields(["instance_type"])[()]["instance_type"] != 0).any():
            return "tracks"  # predictions
        rows = frames.fields(["video", "frame_idx", "instance_id_start", "instance_id_end"])[()]
        rows = rows[rows["instance_id_end"] > rows["instance_id_start"]]
        for v in np.unique(rows["video"]):
            idx = np.unique(rows["frame_idx"][rows["video"] == v])
            if len(idx) >= SPARSE_LABELS_FRACTION * (int(idx[-1]) - int(idx[0]) + 1):
                return "tracks"
        return "labels" if len(rows) else "tracks"


def _check_ranges(a: np.ndarray, b: np.ndarray, ids: np.ndarray, n: int, owner: str,
                  table: str) -> Optional[str]:
    """Why the row ranges ``a[j]:b[j]`` (of rows ``ids`` of ``owner``) do not fit, without
    sharing rows, in a table ``table`` of ``n`` rows; None when they do."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    bad = np.flatnonzero((a < 0) | (b < a) | (b > n))
    if bad.size:
        j = int(bad[0])
        return (f"row {int(ids[j])} of {owner!r} points to rows {a[j]}..{b[j]} of {table!r}, "
                f"which has {n} rows ({bad.size} such rows)")
    total = int((b - a).sum())
    if total > n:
        return f"the rows of {owner!r} point to {total} rows of {table!r} in all, which has {n}"
    return None


def _check_tables(path: Path) -> None:
    """Cheap consistency check of the SLEAP index tables, before sleap-io trusts them: each
    frame's instance range lies within ``instances``, each instance's point range within
    ``points`` (user instances) or ``pred_points`` (predicted ones), and no rows are shared.
    A damaged file would otherwise read as millions of repeated instances."""
    import h5py

    def table(name):
        d = f.get(name)
        return d if isinstance(d, h5py.Dataset) else None

    with h5py.File(path, "r") as f:
        frames, inst = table("frames"), table("instances")
        if frames is None or inst is None:
            return
        if {"instance_id_start", "instance_id_end"} <= set(frames.dtype.names or ()):
            rows = frames.fields(["instance_id_start", "instance_id_end"])[()]
            why = _check_ranges(rows["instance_id_start"], rows["instance_id_end"],
                                np.arange(len(rows)), len(inst), "frames", "instances")
            if why:
                raise FormatError(f"{path}: damaged SLEAP file: {why}")
        if not {"instance_type", "point_id_start", "point_id_end"} <= set(inst.dtype.names or ()):
            return
        rows = inst.fields(["instance_type", "point_id_start", "point_id_end"])[()]
        for kind, name in ((0, "points"), (1, "pred_points")):
            ids = np.flatnonzero(rows["instance_type"] == kind)
            if not ids.size:
                continue
            pts = table(name)
            why = _check_ranges(rows["point_id_start"][ids], rows["point_id_end"][ids], ids,
                                0 if pts is None else len(pts), "instances", name)
            if why:
                raise FormatError(f"{path}: damaged SLEAP file: {why}")


def _load(path: PathLike):
    """Open a ``.slp`` file with sleap-io (videos not opened); clear errors for bad files."""
    import sleap_io as sio

    p = require_file(path, "SLEAP .slp file")
    check_hdf5_opens(p)
    why = _why_not_slp(p)
    if why is not None:
        raise FormatError(f"{p}: not a SLEAP .slp file ({why})")
    try:
        _check_tables(p)
    except FormatError:
        raise
    except Exception as exc:  # h5py raises many types on damaged files
        raise FormatError(
            f"{p}: not a readable SLEAP .slp file ({type(exc).__name__}: {exc})"
        ) from exc
    try:
        return sio.load_slp(str(p), open_videos=False)
    except Exception as exc:  # sleap-io raises many types on damaged files
        raise FormatError(
            f"{p}: not a readable SLEAP .slp file ({type(exc).__name__}: {exc})"
        ) from exc


# --------------------------------------------------------------------------------------- helpers
def resolve_video_path(filename: str, slp_path: PathLike) -> str:
    """Find the video a ``.slp`` file refers to.

    Tries, in order: the path as written (if it exists), a file of the same name in the ``.slp``'s
    folder, the path relative to that folder, a file of the same name in the parent folder or in
    one of the parent's direct subfolders (``project/predictions/x.slp`` with
    ``project/video/clip.mp4``).  Returns the original text when nothing is found.

    Parameters
    ----------
    filename
        Video path as stored in the ``.slp`` (may use Windows separators).
    slp_path
        The ``.slp`` file.

    Returns
    -------
    str
        An existing path, or ``filename`` unchanged.
    """
    if not filename or filename == ".":
        return filename
    text = str(filename).replace("\\", "/")
    name = text.rsplit("/", 1)[-1]
    folder = Path(slp_path).resolve().parent
    candidates = [Path(text), folder / name]
    if not Path(text).is_absolute() and ":" not in text.split("/", 1)[0]:
        candidates.append(folder / text)
    candidates.append(folder.parent / name)
    for c in candidates:
        if c.is_file():
            return str(c)
    try:
        for sub in sorted(folder.parent.iterdir()):
            if sub.is_dir() and (sub / name).is_file():
                return str(sub / name)
    except OSError:
        pass
    return str(filename)


def _to_skeleton(sk) -> Skeleton:
    names = list(sk.node_names)
    edges = [(names.index(e.source.name), names.index(e.destination.name)) for e in sk.edges]
    sym = []
    for s in sk.symmetries:
        a, b = sorted(names.index(n.name) for n in s.nodes)
        sym.append((a, b))
    return Skeleton(tuple(names), tuple(edges), tuple(sym), name=str(sk.name or ""))


def _to_sio_skeleton(sk: Skeleton):
    import sleap_io as sio

    return sio.Skeleton(
        list(sk.keypoints),
        edges=[tuple(e) for e in sk.edge_names],
        symmetries=[tuple(s) for s in sk.symmetry_names],
        name=sk.name or "skeleton",
    )


def _pick_skeleton(labels, path: Path):
    used = {id(inst.skeleton): inst.skeleton for lf in labels for inst in lf.instances}
    if len(used) > 1:
        raise FormatError(
            f"{path}: instances use {len(used)} skeletons "
            f"({', '.join(repr(s.name) for s in used.values())}); mapose reads one skeleton per file"
        )
    if used:
        return next(iter(used.values()))
    if not labels.skeletons:
        raise FormatError(f"{path}: the file defines no skeleton")
    return labels.skeletons[0]


def _instance_arrays(inst) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """(xy (K, 2) with NaN where missing, point scores (K,), instance score, is_user)."""
    import sleap_io as sio

    pts = inst.points
    xy = np.array(pts["xy"], dtype=np.float64)
    visible = np.asarray(pts["visible"], dtype=bool)
    xy[~visible] = np.nan
    missing = ~np.isfinite(xy).all(axis=1)
    xy[missing] = np.nan
    if isinstance(inst, sio.PredictedInstance):
        scores = np.array(pts["score"], dtype=np.float64)
        return xy, scores, float(inst.score), False
    scores = np.where(missing, np.nan, 1.0)
    return xy, scores, 1.0, True


def _video_info(video, slp_path: Path, probe: bool = True) -> dict[str, Any]:
    """Resolved path, frame count, fps and image list of a sleap-io Video.

    With ``probe``, a frame count or fps missing from the file's metadata is read from the video
    itself when it can be found (opening it costs a fraction of a second)."""
    meta = dict(video.backend_metadata or {})
    filenames = meta.get("filenames")
    if isinstance(video.filename, list) or filenames:
        files = [str(f) for f in (filenames or video.filename)]
        return {"path": "", "images": files, "n_frames": len(files), "fps": None}
    original = str(meta.get("filename") or video.filename)
    if original == "." or meta.get("has_embedded_images"):
        # Frames embedded in the .slp (a SLEAP package): use the source video when it can be
        # found (same frame numbers), else the embedded frames, which VideoReader reads as
        # "<file.slp>#<group>".
        src = getattr(video, "source_video", None)
        src_path = resolve_video_path(str(src.filename), slp_path) if src is not None else ""
        dataset = str(meta.get("dataset") or "video0/video").split("/")[0]
        path = src_path if src_path and Path(src_path).is_file() else f"{Path(slp_path)}#{dataset}"
        shape = meta.get("shape")
        fps = meta.get("fps")
        fps = float(fps) if fps is not None and np.isfinite(fps) and fps > 0 else None
        return {"path": path, "original": original, "images": None, "n_frames": None, "fps": fps}
    path = resolve_video_path(original, slp_path)
    shape = meta.get("shape")
    n_frames = int(shape[0]) if shape is not None else None
    fps = meta.get("fps")
    if probe and Path(path).is_file() and (n_frames is None or fps is None):
        try:
            from mapose.io.video import probe_video

            info = probe_video(path, check_decodable=False)
            n_frames = n_frames if n_frames is not None else info.get("n_frames")
            fps = fps if fps is not None else info.get("fps")
        except (ImportError, MaposeError):
            pass
    fps = float(fps) if fps is not None and np.isfinite(fps) and fps > 0 else None
    return {"path": path, "original": original, "images": None, "n_frames": n_frames, "fps": fps}


def _provenance(labels) -> dict:
    prov = dict(labels.provenance or {})
    info = prov.get(_PROV_KEY)
    if isinstance(info, str):
        try:
            info = json.loads(info)
        except ValueError:
            info = None
    return info if isinstance(info, dict) else {}


# --------------------------------------------------------------------------------------- labels
def read_labels(path: PathLike) -> Labels:
    """Read a SLEAP ``.slp`` file into :class:`~mapose.core.Labels`.

    User instances get ``is_user`` True, predicted ones False.  Tracks become ``individuals`` and
    ``instances.track_id`` (-1 for untracked instances; ``track_id`` is None when the file has no
    tracks).  Coordinates are pixels of the full frame; invisible points are NaN.

    Parameters
    ----------
    path
        The ``.slp`` file.

    Returns
    -------
    Labels
        One :class:`ImageRef` per labelled frame; ``root`` is the ``.slp``'s folder.

    Raises
    ------
    FormatError
        When the file is not a SLEAP file, or uses more than one skeleton.
    """
    p = Path(path)
    return from_sio_labels(_load(p), p)


def from_sio_labels(labels, path: PathLike) -> Labels:
    """:class:`~mapose.core.Labels` of a ``sleap_io.Labels`` read from (or saved as) ``path``
    (what :func:`read_labels` returns for that file)."""
    p = Path(path)
    sio_sk = _pick_skeleton(labels, p)
    skeleton = _to_skeleton(sio_sk)
    track_index = {id(t): i for i, t in enumerate(labels.tracks)}
    vinfo = {id(v): _video_info(v, p, probe=False) for v in labels.videos}

    images: list[ImageRef] = []
    frame, kps, kscores, iscores, tids, is_user = [], [], [], [], [], []
    for lf in labels.labeled_frames:
        info = vinfo[id(lf.video)]
        idx = int(lf.frame_idx)
        if info["images"] is not None:
            if not 0 <= idx < len(info["images"]):
                raise FormatError(f"{p}: frame {idx} outside the image list of {len(info['images'])}")
            ref = ImageRef(image=info["images"][idx])
        else:
            ref = ImageRef(video=info["path"], frame=idx)
        i_img = len(images)
        images.append(ref)
        for inst in lf.instances:
            xy, sc, score, user = _instance_arrays(inst)
            frame.append(i_img)
            kps.append(xy)
            kscores.append(sc)
            iscores.append(score)
            tids.append(track_index.get(id(inst.track), -1) if inst.track is not None else -1)
            is_user.append(user)
    k = skeleton.n_keypoints
    det = Detections(
        frame=np.asarray(frame, np.int64),
        keypoints=np.asarray(kps, np.float64).reshape(-1, k, 2),
        keypoint_scores=np.asarray(kscores, np.float64).reshape(-1, k),
        instance_scores=np.asarray(iscores, np.float64),
        skeleton=skeleton,
        n_frames=len(images),
        track_id=np.asarray(tids, np.int64) if labels.tracks else None,
        track_names=tuple(t.name for t in labels.tracks),
        source=str(p),
    )
    return Labels(
        skeleton=skeleton,
        images=tuple(images),
        instances=det,
        individuals=tuple(t.name for t in labels.tracks),
        is_user=np.asarray(is_user, bool),
        root=str(p.resolve().parent),
        source=str(p),
    )


def write_labels(labels: Labels, path: PathLike, suggestions: Sequence[ImageRef] = ()) -> None:
    """Write :class:`~mapose.core.Labels` to a SLEAP ``.slp`` file (atomically).

    Instances with ``is_user`` become SLEAP user instances, the others predicted instances (with
    their point and instance scores).  Each distinct video path becomes a SLEAP video; image refs
    become one image-sequence video.  Individuals become tracks.

    Parameters
    ----------
    labels
        Labels to write.
    path
        Output ``.slp`` path.
    suggestions
        Video frames to list as SLEAP labelling suggestions (frames to label next; the SLEAP GUI
        steps through them).
    """
    _save(to_sio_labels(labels, suggestions), path)


def to_sio_labels(labels: Labels, suggestions: Sequence[ImageRef] = ()):
    """:class:`~mapose.core.Labels` as a ``sleap_io.Labels`` (what :func:`write_labels` saves)."""
    import sleap_io as sio

    sk = _to_sio_skeleton(labels.skeleton)
    tracks = [sio.Track(name) for name in labels.individuals]
    videos: dict[str, Any] = {}
    for ref in list(labels.images) + list(suggestions):
        if not ref.video:
            if ref in suggestions:
                raise ValidationError(f"suggestions must be video frames; got image {ref.image!r}")
            continue
        if ref.video not in videos:
            folder = _image_folder_video(ref.video)
            videos[ref.video] = folder if folder is not None else sio.Video(filename=ref.video,
                                                                            open_backend=False)
    image_files = list(dict.fromkeys(r.image for r in labels.images if not r.video))
    image_video = None
    if image_files:
        image_video = sio.Video(
            filename=image_files[0],
            backend_metadata={"filename": image_files[0], "filenames": image_files},
            open_backend=False,
        )
    image_pos = {f: i for i, f in enumerate(image_files)}
    det = labels.instances
    off = det.frame_slices()
    tid = det.track_id
    lfs = []
    for i, ref in enumerate(labels.images):
        if ref.video:
            video, idx = videos[ref.video], ref.frame
        else:
            video, idx = image_video, image_pos[ref.image]
        insts = []
        for j in range(int(off[i]), int(off[i + 1])):
            track = tracks[int(tid[j])] if tid is not None and tid[j] >= 0 else None
            insts.append(_make_instance(sk, det.keypoints[j], det.keypoint_scores[j],
                                        det.instance_scores[j], bool(labels.is_user[j]), track))
        lfs.append(sio.LabeledFrame(video=video, frame_idx=int(idx), instances=insts))
    all_videos = list(videos.values()) + ([image_video] if image_video is not None else [])
    sugg = [sio.SuggestionFrame(video=videos[r.video], frame_idx=int(r.frame)) for r in suggestions]
    return sio.Labels(labeled_frames=lfs, videos=all_videos, skeletons=[sk], tracks=tracks, suggestions=sugg)


def _image_folder_video(path: str):
    """A SLEAP image-sequence video of the images in folder ``path`` (what
    :class:`mapose.io.video.VideoReader` reads as its frames), or None when ``path`` is no folder."""
    if not path or not Path(path).is_dir():
        return None
    import sleap_io as sio

    from mapose.io.video import image_files

    files = [str(f) for f in image_files(path)]
    return sio.Video(filename=files[0], backend_metadata={"filename": files[0], "filenames": files},
                     open_backend=False)


def _make_instance(sk, xy, scores, score, user: bool, track):
    import sleap_io as sio

    xy = np.asarray(xy, np.float64)
    if user:
        return sio.Instance.from_numpy(xy.copy(), skeleton=sk, track=track)
    return sio.PredictedInstance.from_numpy(
        xy.copy(), skeleton=sk, point_scores=np.asarray(scores, np.float64).copy(),
        score=float(score), track=track,
    )


def _save(labels, path: PathLike) -> None:
    import sleap_io as sio

    with atomic_path(path) as tmp:
        sio.save_slp(labels, str(tmp), verbose=False)


# --------------------------------------------------------------------------------------- detections
def _select_video(labels, path: Path, video: Union[int, str, None]):
    with_frames = [v for v in labels.videos if any(lf.video is v for lf in labels.labeled_frames)]
    if video is None:
        if len(with_frames) > 1:
            names = [str(v.filename) for v in with_frames]
            raise MaposeError(
                f"{path}: holds predictions for {len(names)} videos ({', '.join(names)}); "
                "choose one with video=<index or file name>"
            )
        return with_frames[0] if with_frames else (labels.videos[0] if labels.videos else None)
    if isinstance(video, int):
        if not 0 <= video < len(labels.videos):
            raise MaposeError(f"{path}: video index {video} outside 0..{len(labels.videos) - 1}")
        return labels.videos[video]
    for v in labels.videos:
        if str(v.filename) == str(video) or Path(str(v.filename)).name == Path(str(video)).name:
            return v
    raise MaposeError(
        f"{path}: no video {video!r}; videos: {', '.join(str(v.filename) for v in labels.videos)}"
    )


def _collect(labels, path: Path, video):
    """Per-instance arrays for the frames of one video."""
    sio_sk = _pick_skeleton(labels, path)
    skeleton = _to_skeleton(sio_sk)
    v = _select_video(labels, path, video)
    info = _video_info(v, path) if v is not None else {"path": "", "n_frames": None, "fps": None}
    track_index = {id(t): i for i, t in enumerate(labels.tracks)}
    rows = []
    for lf in labels.labeled_frames:
        if lf.video is not v:
            continue
        for inst in lf.instances:
            xy, sc, score, user = _instance_arrays(inst)
            t = track_index.get(id(inst.track), -1) if inst.track is not None else -1
            rows.append((int(lf.frame_idx), xy, sc, score, user, t))
    return skeleton, info, rows


def read_detections(path: PathLike, video: Union[int, str, None] = None) -> Detections:
    """Read every instance of a ``.slp`` file (user and predicted) as :class:`Detections`.

    For files without tracks (untracked predictions) this is what the tracker consumes.

    Parameters
    ----------
    path
        The ``.slp`` file.
    video
        Which video, when the file holds several (index or file name).

    Returns
    -------
    Detections
        ``frame`` = frame index in the video, ``track_id`` set when the file has tracks (-1 for
        untracked instances), ``n_frames`` = frames of the video when known.
    """
    p = Path(path)
    labels = _load(p)
    skeleton, info, rows = _collect(labels, p, video)
    k = skeleton.n_keypoints
    frames = np.asarray([r[0] for r in rows], np.int64)
    n_frames = info.get("n_frames")
    if n_frames is None or (len(frames) and frames.max() >= n_frames):
        n_frames = int(frames.max()) + 1 if len(frames) else 0
    return Detections(
        frame=frames,
        keypoints=np.asarray([r[1] for r in rows], np.float64).reshape(-1, k, 2),
        keypoint_scores=np.asarray([r[2] for r in rows], np.float64).reshape(-1, k),
        instance_scores=np.asarray([r[3] for r in rows], np.float64),
        skeleton=skeleton,
        n_frames=n_frames,
        track_id=np.asarray([r[5] for r in rows], np.int64) if labels.tracks else None,
        track_names=tuple(t.name for t in labels.tracks),
        fps=info.get("fps"),
        source=str(p),
    )


# --------------------------------------------------------------------------------------- tracks
def read_tracks(path: PathLike, video: Union[int, str, None] = None,
                fps: Optional[float] = None) -> xr.Dataset:
    """Read a tracked ``.slp`` file (e.g. SLEAP predictions) into ``Tracks``.

    The time axis is dense over the video's frames (``0..n_frames-1``; the frame count comes from
    the file's video metadata, the video itself when it can be found, else the last labelled
    frame).  Individuals are the SLEAP track names (in the file's order); confidence is the point
    score (1.0 for user points).  When a frame holds a user and a predicted instance of the same
    track, the user instance wins (as in SLEAP's own exports).  SLEAP instance scores are kept in
    the variable ``instance_score`` (time, individuals).  Untracked instances are left out (read
    them with :func:`read_detections`).

    Parameters
    ----------
    path
        The ``.slp`` file.
    video
        Which video, when the file holds several (index or file name).
    fps
        Frames per second (positive); overrides the rate stored in the file (or read from its
        video) for the ``time`` coordinate and the ``fps`` attribute.

    Raises
    ------
    FormatError
        When the file has no tracks (run ``mapose track`` on it, or use :func:`read_detections`),
        or a track appears twice in one frame.
    """
    p = Path(path)
    fps = check_fps(fps, p)
    labels = _load(p)
    if not labels.tracks:
        raise FormatError(
            f"{p}: has no tracks (identities), so it cannot be read as Tracks; run "
            f"`mapose track {p.name}` first, or read it with mapose.io.slp.read_detections"
        )
    skeleton, info, rows = _collect(labels, p, video)
    prov = _provenance(labels)
    frames_max = max((r[0] for r in rows), default=-1)
    if "frames" in prov:
        frames = decode_frames(prov["frames"])
        if frames_max >= 0 and (len(frames) == 0 or frames_max > frames[-1]):
            frames = np.arange(frames_max + 1)
    else:
        n = info.get("n_frames")
        n = frames_max + 1 if n is None or n <= frames_max else int(n)
        frames = np.arange(n, dtype=np.int64)
    pos_index = {int(f): i for i, f in enumerate(frames)}
    t_n, k, n_ind = len(frames), skeleton.n_keypoints, len(labels.tracks)
    pos = np.full((t_n, n_ind, k, 2), np.nan)
    conf = np.full((t_n, n_ind, k), np.nan)
    iscore = np.full((t_n, n_ind), np.nan)
    owner = np.zeros((t_n, n_ind), np.int8)  # 0 empty, 1 predicted, 2 user
    for f, xy, sc, score, user, tid in rows:
        if tid < 0:
            continue
        if f not in pos_index:
            raise FormatError(f"{p}: frame {f} is not in the stored frame list")
        t = pos_index[f]
        level = 2 if user else 1
        if owner[t, tid] == level:
            raise FormatError(
                f"{p}: track {labels.tracks[tid].name!r} has two "
                f"{'user' if user else 'predicted'} instances in frame {f}"
            )
        if owner[t, tid] > level:
            continue
        owner[t, tid] = level
        pos[t, tid], conf[t, tid], iscore[t, tid] = xy, sc, score
    stored = stored_skeleton(prov.get("skeleton"), skeleton.keypoints, p)
    if stored is not None:
        skeleton = stored  # keeps the name SLEAP cannot store empty
    if fps is None:
        fps = prov.get("fps", info.get("fps"))
    video_path = info.get("path") or ""
    folders = {str(Path(f).parent) for f in info.get("images") or ()}
    if not video_path and len(folders) == 1:
        video_path = folders.pop()  # an image sequence: its folder reads as the video
    if prov.get("video_path") == "":
        video_path = ""  # written by mapose from Tracks without a video
    ds = make_tracks(
        pos.transpose(0, 3, 2, 1),
        conf.transpose(0, 2, 1),
        skeleton=skeleton,
        individuals=[t.name for t in labels.tracks],
        fps=fps,
        frames=frames,
        source_software=str(prov.get("source_software", "SLEAP")),
        source_file=str(p),
        video_path=video_path,
    )
    ds[INSTANCE_SCORE_VAR] = (("time", "individuals"), iscore)
    return restore_extra_attrs(ds, prov.get("attrs"), str(p))




def write_tracks(ds: xr.Dataset, path: PathLike, video_path: Optional[str] = None) -> None:
    """Write ``Tracks`` to a SLEAP ``.slp`` file as tracked predicted instances (atomically).

    One ``PredictedInstance`` per individual per frame where any keypoint is present, with the
    confidence as point scores and, as instance score, the ``instance_score`` variable when the
    dataset has one, else the mean point score.  The video reference is ``video_path`` or
    ``ds.attrs["video_path"]``; the frame coordinate, fps and source are kept in the file's
    provenance so reading it back gives the same ``Tracks``.

    Parameters
    ----------
    ds
        A valid ``Tracks`` dataset.
    path
        Output ``.slp`` path.
    video_path
        Overrides ``ds.attrs["video_path"]``.
    """
    import sleap_io as sio

    validate_tracks(ds)
    sk = _to_sio_skeleton(get_skeleton(ds))
    names = [str(v) for v in ds["individuals"].values]
    tracks = [sio.Track(n) for n in names]
    vpath = str(video_path if video_path is not None else ds.attrs.get("video_path") or "")
    frames = ds["frame"].values.astype(np.int64)
    fps = ds.attrs.get("fps")
    # SLEAP needs a video; "" would be saved as "." (= embedded in the .slp), so name a
    # placeholder and record in the provenance that the Tracks had no video.
    meta: dict[str, Any] = {"filename": vpath or NO_VIDEO}
    if fps:
        meta["fps"] = float(fps)
    video = _image_folder_video(vpath)  # (a sleap-io Video with no backend has length 0: test for None)
    if video is None:
        video = sio.Video(filename=vpath or NO_VIDEO, backend_metadata=meta, open_backend=False)
    pos = ds["position"].transpose("time", "individuals", "keypoints", "space").values
    conf = ds["confidence"].transpose("time", "individuals", "keypoints").values
    if INSTANCE_SCORE_VAR in ds:
        iscore = ds[INSTANCE_SCORE_VAR].transpose("time", "individuals").values.astype(np.float64)
    else:
        with np.errstate(invalid="ignore"), _quiet():
            iscore = np.nanmean(conf, axis=-1)
    present = np.isfinite(pos).any(axis=(-1, -2)) | np.isfinite(conf).any(axis=-1)
    lfs = []
    for t in np.nonzero(present.any(axis=1))[0]:
        insts = [
            sio.PredictedInstance.from_numpy(
                pos[t, i].copy(), skeleton=sk, point_scores=conf[t, i].copy(),
                score=float(iscore[t, i]), track=tracks[i],
            )
            for i in np.nonzero(present[t])[0]
        ]
        lfs.append(sio.LabeledFrame(video=video, frame_idx=int(frames[t]), instances=insts))
    prov = {
        _PROV_KEY: {
            "frames": encode_frames(frames),
            "fps": float(fps) if fps else None,
            "source_software": str(ds.attrs.get("source_software", "")),
            "skeleton": get_skeleton(ds).to_dict(),
            "video_path": vpath,
            "attrs": extra_attrs(ds.attrs),  # an analysis's provenance, a DeepLabCut scorer ...
        }
    }
    out = sio.Labels(labeled_frames=lfs, videos=[video], skeletons=[sk], tracks=tracks,
                     provenance=prov)
    _save(out, path)


class _quiet:
    """Silence numpy's 'mean of empty slice' warnings inside a block."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


__all__ = [
    "EXTENSIONS",
    "INSTANCE_SCORE_VAR",
    "NAME",
    "read_detections",
    "read_labels",
    "read_tracks",
    "resolve_video_path",
    "sniff",
    "write_labels",
    "write_tracks",
]
