"""Small helpers shared by CLI commands (argument parsing only; no science here)."""

from __future__ import annotations

from pathlib import Path

from mapose.errors import MaposeError
from mapose.io import read_pose_any  # noqa: F401  (used by several commands)
from mapose.io.video import VIDEO_SUFFIXES


def is_video(path: str | Path) -> bool:
    """A video file by its extension, or a folder (of images, read as frames)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES or Path(path).is_dir()


def require_video(path: str | Path, what: str = "video") -> Path:
    """``path`` resolved, when it exists: a video file or a folder of images
    (:class:`mapose.io.video.VideoReader` reads either); raises naming it otherwise."""
    from mapose.io import require_file

    p = Path(path)
    return p.resolve() if p.is_dir() else require_file(p, what).resolve()


def refuse_overwriting_inputs(out: str | Path | None, inputs, what: str = "output") -> None:
    """Raise :class:`MaposeError` when ``out`` is (or resolves to) one of the ``inputs``: a command
    must never replace the file it reads.  ``None`` entries are skipped; a folder among the inputs
    is compared as a path too (an output written into an input's place)."""
    if out is None:
        return
    o = Path(out).expanduser().resolve()
    for src in inputs:
        if src is None:
            continue
        s = Path(src).expanduser().resolve()
        if o == s:
            raise MaposeError(f"{what} {out} is the input file {src}; it would be overwritten; "
                              "choose another path")


def check_odd_windows(args, options) -> None:
    """Raise :class:`MaposeError` when a smoothing window option (``(option, attribute)``) holds an
    even number: a centred window of an even number of frames shifts the result by half a frame."""
    for option, attr in options:
        v = getattr(args, attr, None)
        if v is not None and v > 0 and int(v) == v and int(v) % 2 == 0:
            raise MaposeError(f"{option} {v}: give an odd number of frames (a centred window); an even one "
                              f"would shift positions by half a frame (try {int(v) + 1})")


def check_outputs(outputs, inputs=()) -> None:
    """Check every output of a command before anything is read or written, so a bad one leaves no
    half-written results: ``outputs`` is a list of ``(what, path)`` (``what``: the option, such as
    ``"--swaps"``; ``path`` ``None`` = not written).  Raises :class:`MaposeError` when a path is a
    folder, cannot get a folder, is one of the ``inputs``, or is given twice."""
    from mapose.io._files import check_folder_path

    seen: dict = {}
    for opt, path in outputs:
        if path is None:
            continue
        p = Path(path)
        if p.is_dir():
            raise MaposeError(f"{opt} {p}: is a folder; expected a file path")
        check_folder_path(p.parent, f"cannot write {p}: the folder")
        refuse_overwriting_inputs(p, inputs, opt)
        key = p.expanduser().resolve()
        if key in seen:
            raise MaposeError(f"{opt} and {seen[key]} are the same file {p}; give two different paths")
        seen[key] = opt


def check_video(path: str | Path) -> dict:
    """Probe a video before any work (:func:`mapose.io.video.probe_video`): a missing or undecodable
    file raises; a truncated one (fewer decodable frames than its container claims) is reported in
    one line, and the commands go on with the frames that decode."""
    from mapose.io.video import probe_video

    info = probe_video(path)
    if info.get("truncated"):
        print(f"warning: {path} is truncated or damaged: its container claims "
              f"{info['claimed_n_frames']} frames but only {info['n_frames']} decode; using frames "
              f"0-{info['n_frames'] - 1}", flush=True)
    return info


def check_pose_fits_video(positions, frames, info: dict, pose_path, video_path, named_video: str = "") -> bool:
    """Raise :class:`MaposeError` when a pose file cannot come from this video: its posed frames run
    past the video's end, or its keypoints lie far outside the video's picture (another video,
    another resolution).  ``positions``: x, y pairs (last axis 2, NaN = missing) whose first axis
    follows ``frames`` (video frame numbers: one per time step or per detection).  Returns False
    when no frame holds a position (nothing to check), else True.  ``named_video``, the video the
    pose file says it comes from: a note is printed when its file name differs from ``video_path``'s
    (a renamed or converted video is fine, a pose file of another clip of the same size is not)."""
    from pathlib import PurePath

    import numpy as np

    named = str(named_video or "").replace("\\", "/")
    if named and PurePath(named).name.lower() != PurePath(str(video_path)).name.lower():
        print(f"note: {pose_path} was made from {PurePath(named).name}, not {PurePath(str(video_path)).name}; "
              "is it the pose file of this video?")

    positions = np.asarray(positions, dtype=np.float64)
    posed = np.isfinite(positions).reshape(len(positions), -1).any(axis=1)
    if not posed.any():
        return False
    last_frame = int(np.asarray(frames)[posed].max())
    n = int(info.get("claimed_n_frames") or info["n_frames"])  # a truncated video's pose may go on
    if last_frame >= max(n, int(info["n_frames"])):
        has = f"{n} frames" if n == int(info["n_frames"]) else \
            f"{n} frames by its container (only {int(info['n_frames'])} decode)"
        raise MaposeError(f"{pose_path} has animals up to frame {last_frame} but {video_path} has {has}: "
                          "is it the video of this pose file?")
    xy = positions.reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(1)]
    w, h = float(info["width"]), float(info["height"])
    lo, hi = np.quantile(xy, 0.01, axis=0), np.quantile(xy, 0.99, axis=0)
    if lo[0] < -0.25 * w or lo[1] < -0.25 * h or hi[0] > 1.25 * w or hi[1] > 1.25 * h:
        raise MaposeError(
            f"{pose_path}: its keypoints span x {lo[0]:.0f}..{hi[0]:.0f}, y {lo[1]:.0f}..{hi[1]:.0f} "
            f"but {video_path} is {int(w)}x{int(h)} pixels: is it the video of this pose file?")
    return True


def add_tta_argument(parser) -> None:
    """``--tta``: overrides the model's ``inference.tta`` (:class:`~mapose.training.config.InferenceConfig`)."""
    from mapose.training.config import TTA_CHOICES

    parser.add_argument("--tta", choices=TTA_CHOICES, default=None,
                        help="test-time augmentation: average the model over 2 or 4 quarter turns of "
                             "each frame (rot2, rot4), over the frame and its mirror image (flip) or "
                             "both (rot4flip, 8 passes); costs 2/4/2/8x model time; auto: rot4 for a "
                             "model trained with full rotations, else flip when it trained with "
                             "mirror images, else none (default: the model's config, inference.tta, "
                             "auto unless changed); none is fastest")


def add_decode_argument(parser) -> None:
    """``--decode auto|single|multi`` (``mapose evaluate`` and ``mapose analyze``)."""
    parser.add_argument("--decode", choices=("auto", "single", "multi"), default="auto",
                        help="auto (default): one animal per frame, each keypoint at its best peak, for "
                             "models trained on frames with one animal (inference.single_animal), else "
                             "assembly by part-affinity fields; single / multi force either")


def decode_choice(value: str) -> bool | None:
    """``--decode`` as the ``single_animal`` option: ``None`` (the model's), ``True`` or ``False``."""
    return {"auto": None, "single": True, "multi": False}[value]


def session_regions(path, ds, video=None):
    """The regions of ``path`` for one session: ``detect:`` entries are found in ``ds``'s tracks
    and its video (``video``, else the one the pose file names, else a video beside the pose file
    named like it: :func:`mapose.io.video.video_of_pose`)."""
    from mapose.io.regions import needs_detection, read_regions
    from mapose.io.video import video_of_pose
    from mapose.kinematics.arena import arena_finder

    if not video and ds.attrs.get("source_file"):
        video = video_of_pose(ds.attrs["source_file"], ds)
        if video and needs_detection(path) and not ds.attrs.get("video_path"):
            print(f"{path}: the arena of {ds.attrs['source_file']} is looked for in {video} (the video beside it)")
    return read_regions(path, arena_finder(ds, video or ds.attrs.get("video_path") or None))


def calibration_with_regions(calibration, regions):
    """``calibration`` (a :class:`~mapose.kinematics.config.CalibrationConfig`), with ``px_per_cm``
    taken from the region that gives its real size (``size_cm``) when nothing else calibrates the
    tracks; says which was used."""
    import dataclasses

    from mapose.kinematics.regions import calibration_from_regions

    found = calibration_from_regions(regions)
    if found is None:
        return calibration
    ppc, name = found
    if calibration.px_per_cm is None and calibration.known_length is None:
        print(f"calibration: {ppc:.4g} px/cm from region {name!r} and its size_cm")
        return dataclasses.replace(calibration, px_per_cm=ppc)
    given = calibration.px_per_cm
    if given is not None and abs(given - ppc) > 0.05 * ppc:
        print(f"note: the config's px_per_cm {given:.4g} differs from the {ppc:.4g} that region {name!r} "
              "and its size_cm give; using the config's")
    return calibration


def check_regions_option(paths, n: int) -> None:
    """``--regions``: one regions file for all ``n`` pose files or one per file."""
    from mapose.errors import ConfigError

    if paths and len(paths) not in (1, n):
        raise ConfigError(f"--regions: give one regions file for all {n} pose files or one per file; got {len(paths)}")


def regions_per_file(paths, tracks) -> list:
    """The regions of each of ``tracks`` from ``--regions`` (one file for all or one per file; none:
    empty tuples); an arena asked for with ``detect:`` is found in each session."""
    if not paths:
        return [()] * len(tracks)
    paths = list(paths) * len(tracks) if len(paths) == 1 else list(paths)
    return [session_regions(p, ds) for p, ds in zip(paths, tracks)]


def check_keypoint_option(keypoint, tracks, paths) -> None:
    """``--keypoint`` (the point tested against regions) names a body part of every pose file, or
    ``centroid``: else one line naming the file and the body parts it has."""
    from mapose.errors import ConfigError
    from mapose.kinematics.motion import keypoint_indices

    for ds, path in zip(tracks, paths):
        try:
            keypoint_indices([str(k) for k in ds["keypoints"].values], keypoint)
        except MaposeError as exc:
            raise ConfigError(f"--keypoint: {path}: {exc}") from None
