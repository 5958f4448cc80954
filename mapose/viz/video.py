"""Labelled videos: the video's frames with the poses of a ``Tracks`` dataset drawn on them.

Streaming (one frame in memory at a time) and atomic (the output appears only when complete; see
:class:`mapose.io.video.VideoWriter`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import xarray as xr

from mapose.config import as_number
from mapose.core.tracks import get_skeleton, validate_tracks
from mapose.errors import ValidationError
from mapose.viz.overlay import draw_poses, trail_points


def render_labelled_video(
    video: str | Path,
    tracks: xr.Dataset,
    out: str | Path,
    *,
    threshold: float = 0.0,
    trail: int = 0,
    trail_keypoint: Optional[str] = None,
    start: int = 0,
    stop: Optional[int] = None,
    show_names: bool = True,
    radius: int = 3,
    thickness: int = 1,
    progress: bool = True,
) -> int:
    """Write ``out`` (mp4) showing ``tracks`` over frames ``start..stop-1`` of ``video``.

    Parameters
    ----------
    video
        Source video; ``tracks`` coordinates are in its pixels.
    tracks
        ``Tracks`` dataset; its ``frame`` coordinate says which video frame each time step is.
    threshold
        Keypoints with confidence below it are hidden.
    trail
        Length, in frames, of the trail drawn behind each animal (0: none).
    trail_keypoint
        Keypoint the trail follows (default: centroid of the visible keypoints).
    start, stop
        Frame range of the video to render (``stop`` default: the end).
    show_names
        Write the individual names beside the animals.

    Returns
    -------
    int
        Frames written.
    """
    from mapose.io.video import VideoReader, VideoWriter

    validate_tracks(tracks)
    if Path(out).resolve() == Path(video).resolve():
        raise ValidationError(f"{out}: the labelled video would overwrite its source video; choose another file")
    sk = get_skeleton(tracks)
    threshold = as_number(threshold, "threshold (confidence)")
    if as_number(trail, "trail (frames)", minimum=0) != int(trail):
        raise ValidationError(f"trail must be a whole number of frames, got {trail}")
    kp_index = sk.index(trail_keypoint) if trail_keypoint is not None else None
    pos = tracks["position"].transpose("time", "individuals", "keypoints", "space").values
    conf = tracks["confidence"].transpose("time", "individuals", "keypoints").values
    frames = tracks["frame"].values.astype(np.int64)
    names = [str(v) for v in tracks["individuals"].values] if show_names else None
    trail_pts = trail_points(pos, kp_index) if trail else None
    n_ind = pos.shape[1]
    with VideoReader(video) as vr:
        stop = vr.n_frames if stop is None else int(stop)
        if not 0 <= start < stop <= vr.n_frames:
            raise ValidationError(
                f"frame range {start}..{stop} is not inside the {vr.n_frames} frames of {video}; "
                f"expected 0 <= start < stop <= {vr.n_frames}"
            )
        fps = vr.fps or (tracks.attrs.get("fps") or 25.0)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=stop - start, unit="frame", desc=Path(out).name, dynamic_ncols=True)
        written = 0
        empty = np.full((n_ind, sk.n_keypoints, 2), np.nan)
        with VideoWriter(out, fps=fps, size=(vr.width, vr.height)) as vw:
            for f, rgb in vr.iter_frames(start, stop):
                t = int(np.searchsorted(frames, f))
                has = t < len(frames) and frames[t] == f
                p = pos[t] if has else empty
                c = conf[t] if has else None
                tr = None
                if trail_pts is not None:
                    lo = int(np.searchsorted(frames, f - trail, side="left"))
                    hi = int(np.searchsorted(frames, f, side="right"))
                    tr = trail_pts[lo:hi] if hi - lo >= 2 else None
                img = draw_poses(rgb, p, c, sk, threshold=threshold, radius=radius,
                                 thickness=thickness, names=names, trails=tr)
                vw.write(img)
                written += 1
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
    return written


__all__ = ["render_labelled_video"]
