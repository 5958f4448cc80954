"""``mapose label-video VIDEO POSEFILE --out OUT.mp4``: draw poses on a video."""

from __future__ import annotations

HELP = "render a video with the keypoints, skeleton and identity colours of a pose file"


def add_arguments(parser) -> None:
    parser.add_argument("video", help="the video the pose file was made from")
    parser.add_argument("posefile", help="pose file (DLC .h5/.csv, SLEAP .slp, NWB, netCDF, ...)")
    parser.add_argument("--out", required=True, help="labelled video to write (.mp4)")
    parser.add_argument("--threshold", type=float, default=0.0,
                        help="hide keypoints with confidence below this (default 0)")
    parser.add_argument("--trail", type=int, default=0,
                        help="draw each animal's path over the last N frames (default 0: none)")
    parser.add_argument("--trail-keypoint", default=None,
                        help="keypoint the trail follows (default: centroid of the visible keypoints)")
    parser.add_argument("--start", type=int, default=None,
                        help="first frame (default: the pose file's first, 0 for a whole video)")
    parser.add_argument("--stop", type=int, default=None,
                        help="frame after the last (default: after the pose file's last, the end for a whole video)")
    parser.add_argument("--no-names", action="store_true", help="do not write the animals' names")
    parser.add_argument("--radius", type=int, default=3, help="keypoint radius in pixels (default 3)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    import math
    from pathlib import Path

    from mapose import io
    from mapose.viz.video import render_labelled_video

    from mapose.cli._common import refuse_overwriting_inputs
    from mapose.errors import MaposeError
    from mapose.io.video import VIDEO_SUFFIXES

    refuse_overwriting_inputs(args.out, [args.video, args.posefile], "--out")
    if args.radius < 1:
        raise MaposeError(f"--radius must be at least 1 pixel, got {args.radius}")
    if not math.isfinite(args.threshold):
        raise MaposeError(f"--threshold must be a number (a confidence), got {args.threshold}")
    if Path(args.out).suffix.lower() not in VIDEO_SUFFIXES:
        raise MaposeError(f"--out {args.out}: not a video file name; use .mp4 (or {', '.join(sorted(VIDEO_SUFFIXES))})")
    if args.trail < 0:
        raise MaposeError(f"--trail must be 0 (none) or a number of frames, got {args.trail}")
    from mapose.cli._common import check_pose_fits_video, check_video

    info = check_video(args.video)
    ds = io.read_tracks(args.posefile)
    pos = ds["position"].transpose("time", "individuals", "keypoints", "space").values
    if not check_pose_fits_video(pos, ds["frame"].values, info, args.posefile, args.video,
                                     ds.attrs.get("video_path", "")):
        print(f"note: {args.posefile} holds no keypoint position in any frame (all missing/NaN); "
              "the video is drawn without poses")
    start, stop = args.start, args.stop
    frames = ds["frame"].values
    if len(frames) and (start is None or stop is None):  # a pose file of part of the video: that part
        start = int(frames.min()) if start is None else start
        stop = int(frames.max()) + 1 if stop is None else stop
        if (start, stop) != (0, int(info["n_frames"])):
            print(f"frames {start}-{stop - 1}, the pose file's (--start / --stop for others)")
    n = render_labelled_video(
        args.video, ds, args.out, threshold=args.threshold, trail=args.trail,
        trail_keypoint=args.trail_keypoint, start=start or 0, stop=stop,
        show_names=not args.no_names, radius=args.radius, progress=not args.no_progress,
    )
    print(f"wrote {args.out}: {n} frames, {ds.sizes['individuals']} individuals")
    return 0
