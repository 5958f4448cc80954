"""``mapose track IN --out OUT --n-animals N``: (re-)track any pose file we read."""

from __future__ import annotations

HELP = "assign identities to the animals of a pose file (identities already in it are ignored)"


def add_arguments(parser) -> None:
    parser.add_argument("input", help="pose file (SLEAP .slp, DLC .h5/.csv, NWB, netCDF, ...)")
    parser.add_argument("--out", required=True, help="tracks to write; the extension picks the format")
    parser.add_argument("--n-animals", type=int, default=None,
                        help="known number of animals (stitches tracklets into exactly N identities)")
    parser.add_argument("--video", default=None,
                        help="video of the pose file, for appearance cues (default: the one the file names, if found)")
    parser.add_argument("--no-appearance", action="store_true", help="do not read the video")
    parser.add_argument("--max-gap", type=int, default=5, help="frames a track may be lost before it ends (default 5)")
    parser.add_argument("--gate", type=float, default=1.0,
                        help="largest frame-to-frame jump, in body sizes (default 1.0)")
    parser.add_argument("--max-stitch-gap", type=int, default=300,
                        help="largest gap in frames bridged when stitching tracklets (default 300)")
    parser.add_argument("--body-size", type=float, default=None,
                        help="animal size in pixels (default: learned from the keypoints)")
    parser.add_argument("--min-score", type=float, default=0.0, help="ignore instances scored lower")
    parser.add_argument("--keep-all", action="store_true",
                        help="without --n-animals: keep every detection and make every tracklet a track of its "
                             "own (default: join tracklets across gaps and leave out background and pieces of "
                             "animals)")
    parser.add_argument("--swaps", default=None,
                        help="CSV of likely identity swaps (default: OUT.swaps.csv)")


def _read_detections(path):
    from mapose import io
    from mapose.core import tracks_to_detections

    from mapose.errors import FormatError

    fmt = io.detect_format(path)
    if fmt == "slp":  # SLEAP files may hold untracked instances: read every instance
        from mapose.io.slp import read_detections

        det = read_detections(path).without_identities()
        start = 0
        try:  # the video path is known from the tracks view of the file, when it has tracks
            video = str(io.read_tracks(path, format=fmt).attrs.get("video_path") or "")
        except FormatError:
            video = ""
    else:
        ds = io.read_tracks(path, format=fmt)
        frames = ds["frame"].values
        if len(frames) and int(frames.min()) < 0:
            raise FormatError(f"{path}: frame numbers must be 0 or more (video frames); "
                              f"the first is {int(frames.min())}")
        det = tracks_to_detections(ds)
        start = int(ds["frame"].values[0]) if ds.sizes["time"] else 0  # a part of a video starts there
        video = str(ds.attrs.get("video_path") or "")
    return det, video, start


def run(args) -> int:
    import math
    from pathlib import Path

    from mapose import io
    import numpy as np

    from mapose.cli._common import check_outputs, check_pose_fits_video, check_video
    from mapose.errors import MaposeError
    from mapose.io.tables import _kind as _table_kind, save_feature_table
    from mapose.tracking import Tracker

    src, dst = Path(args.input), Path(args.out)
    if src.resolve() == dst.resolve():
        raise MaposeError(f"{dst}: output would overwrite the input; choose another file")
    io.format_for_output(dst, "tracks")  # fail before the work on an unknown extension
    swaps = Path(args.swaps) if args.swaps else dst.with_name(dst.name + ".swaps.csv")
    check_outputs([("--out", dst), ("--swaps", swaps)], [src, args.video])
    _table_kind(swaps)  # an unknown table extension fails before anything is written
    if args.min_score is not None and not math.isfinite(args.min_score):
        raise MaposeError(f"--min-score must be a number, got {args.min_score}")
    det, named_video, start = _read_detections(src)
    found_video = named_video if named_video and Path(named_video).is_file() else ""
    video = None if args.no_appearance else (args.video or found_video or None)
    if named_video and not found_video and video is None and not args.no_appearance:
        print(f"note: {src} names the video {named_video}, which is not found (nor beside the file); tracking "
              "without appearance cues (give --video PATH to use them, or --no-appearance to silence this)")
    if not np.isfinite(det.keypoints).any():
        raise MaposeError(f"{src} holds no keypoint position in any frame (all missing/NaN): nothing to track")
    if video is not None:
        info = check_video(video)
        check_pose_fits_video(det.keypoints, det.frame, info, src, video, named_video)
    tracker = Tracker(
        n_animals=args.n_animals, max_gap=args.max_gap, gate=args.gate,
        max_stitch_gap=args.max_stitch_gap, body_size=args.body_size, min_score=args.min_score,
        **(dict(new_identity_cost=0.0, min_track_score=0.0, min_track_keypoints=0.0) if args.keep_all else {}),
    )
    print(f"tracking {len(det)} detections over {det.n_frames - start} frames"
          + (f" ({start}-{det.n_frames - 1})" if start else "")
          + (f" with appearance from {video}" if video else ""))
    ds = tracker.fit_track(det, video=video, start=start)
    ds.attrs["source_file"] = str(src)
    io.write_tracks(ds, dst)
    save_feature_table(tracker.swap_events_, swaps)
    print(f"wrote {dst}: {ds.sizes['individuals']} identities from {tracker.n_tracklets_} tracklets; "
          f"{len(tracker.swap_events_)} likely swap(s) listed in {swaps}")
    most = int(np.bincount(det.frame).max()) if len(det) else 0
    if args.n_animals is not None and args.n_animals > most:
        p = ds["position"].transpose("individuals", ...).values
        used = sum(bool(np.isfinite(q).any()) for q in p)
        print(f"note: --n-animals {args.n_animals} but this file holds at most {most} animals in one frame; "
              f"{used} identities hold detections, and one animal's track may be split between identities "
              f"(--n-animals {most} if that is the number)")
    if args.n_animals is None and not args.keep_all:
        left = len(det) - int(np.isfinite(ds["position"].values).any(axis=(1, 2)).sum())
        if left:
            print(f"left out {left} of {len(det)} detections as background or pieces of animals (median "
                  f"instance score below {tracker.min_track_score_:.3g} or fewer than "
                  f"{tracker.min_track_keypoints_:.3g} body parts; --keep-all keeps them)")
    if args.n_animals is None and ds.sizes["individuals"] > 1:
        print(f"without --n-animals the number of animals may vary; when it is known (this file holds up to "
              f"{most} in one frame), --n-animals N joins the tracklets into N identities for the whole video")
    return 0
