"""``mapose extract-frames VIDEO --out TO_LABEL.slp``: choose the frames worth labelling next."""

from __future__ import annotations

HELP = "choose video frames to label (diverse looks, diverse postures or where the model is unsure)"

EPILOG = """\
methods:
  kmeans     frames that look different (k-means on small grey thumbnails; the default without --tracks)
  uniform    evenly spaced frames
  pose       frames whose animals hold different postures (needs --tracks)
  uncertain  frames where the pose file is least confident: animals or body parts missing or at low
             confidence (needs --tracks, e.g. the output of mapose analyze; the default with --tracks)

The output is a SLEAP project: the video, the skeleton, the chosen frames as labelling suggestions and,
with --tracks, the predicted animals on those frames to correct rather than place from scratch.
Label the suggested frames on the dashboard's Labelling page (mapose dashboard OUT.slp) or in SLEAP
(sleap-label OUT.slp), and train on it with the labels you already have:
mapose train --labels OLD.slp OUT.slp --out MODEL.  Frames that still hold only predictions are not
used for training.
"""


def add_arguments(parser) -> None:
    import argparse

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("video", help="the video to choose frames from")
    parser.add_argument("--out", required=True, help="SLEAP project to write (.slp)")
    parser.add_argument("--n", type=int, default=20, help="number of frames to choose (default 20)")
    parser.add_argument("--method", choices=("auto", "kmeans", "uniform", "pose", "uncertain"), default="auto",
                        help="how to choose (default auto: uncertain with --tracks, else kmeans)")
    parser.add_argument("--tracks", default=None,
                        help="pose file of this video (mapose analyze output, SLEAP, DLC, ...): "
                             "needed by pose and uncertain; its animals are written on the chosen frames")
    parser.add_argument("--skeleton", default=None,
                        help="where the skeleton comes from without --tracks: a model folder, a label "
                             "or pose file, a DeepLabCut config.yaml, a skeleton .yaml/.json "
                             "(keypoints, edges, symmetry), or body parts as 'head,thorax,abdomen' "
                             "(a new project)")
    parser.add_argument("--exclude", nargs="+", default=[], metavar="LABELS",
                        help="label files whose labelled frames of this video are not chosen again")
    parser.add_argument("--min-gap", type=int, default=10,
                        help="smallest distance in frames between chosen (and excluded) frames (default 10)")
    parser.add_argument("--max-candidates", type=int, default=2000,
                        help="kmeans: frames compared, evenly spaced over the video (default 2000)")
    parser.add_argument("--n-animals", type=int, default=None,
                        help="uncertain: animals every frame should hold (default: those in the pose file)")
    parser.add_argument("--start", type=int, default=0, help="first frame to consider (default 0)")
    parser.add_argument("--stop", type=int, default=None, help="frame after the last to consider (default: end)")
    parser.add_argument("--images", default=None, metavar="DIR",
                        help="also save the chosen frames as DIR/<video name>/img<frame>.png "
                             "(the layout of DeepLabCut's labeled-data folders)")
    parser.add_argument("--no-predictions", action="store_true",
                        help="do not put the animals of --tracks on the chosen frames")
    parser.add_argument("--seed", type=int, default=0, help="random seed of k-means (default 0)")


def _labelled_frames(paths, video) -> list[int]:
    """Frames of ``video`` (matched by file name) holding ground truth in any of the label files."""
    from pathlib import Path

    from mapose import io

    name = Path(video).name
    out: set[int] = set()
    for path in paths:
        labels = io.read_labels(path)
        truth = labels.ground_truth_images()
        out.update(int(r.frame) for r, t in zip(labels.images, truth) if t and r.video and Path(r.video).name == name)
    return sorted(out)


def _predictions(ds, frames):
    """Detections of the Tracks ``ds`` on ``frames``, renumbered 0..len(frames)-1."""
    import numpy as np

    from mapose.core import tracks_to_detections
    from mapose.core.detections import Detections

    on_frames = np.flatnonzero(np.isin(ds["frame"].values, np.asarray(frames)))
    det = tracks_to_detections(ds.isel(time=on_frames), keep_identities=True)
    pos = {int(f): j for j, f in enumerate(frames)}
    return Detections(
        frame=np.array([pos[int(f)] for f in det.frame], np.int64), keypoints=det.keypoints,
        keypoint_scores=det.keypoint_scores, instance_scores=det.instance_scores, skeleton=det.skeleton,
        n_frames=len(frames), track_id=det.track_id, track_names=det.track_names,
    )


def _refuse_a_labelled_project(out) -> None:
    """A labelling project already at ``--out`` holds someone's work: never replaced by a new frame list."""
    from mapose.errors import MaposeError

    if not out.exists():
        return
    if out.is_dir():
        raise MaposeError(f"--out {out} is a folder; give a .slp file name")
    from mapose.io import read_labels

    try:
        labels = read_labels(out)
    except MaposeError:
        raise MaposeError(f"--out {out} exists and is not a label file mapose can read; choose another "
                          "name (it is left as it is)") from None
    import numpy as np

    user = np.zeros(len(labels.instances.frame), bool) if labels.is_user is None else np.asarray(labels.is_user, bool)
    n = int(user.sum())
    if n:
        frames = len(np.unique(labels.instances.frame[user]))
        raise MaposeError(f"--out {out} exists and holds {n} labelled animals on {frames} frames; open it to go on "
                          "labelling, or choose another --out for new frames (it is left as it is)")


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from mapose import io
    from mapose.core.detections import Detections
    from mapose.core.labels import ImageRef, Labels
    from mapose.core.tracks import get_skeleton
    from mapose.data.frame_selection import suggest_frames
    from mapose.errors import MaposeError
    from mapose.io.slp import write_labels
    from mapose.io.tables import save_feature_table

    from mapose.cli._common import check_pose_fits_video, check_video, refuse_overwriting_inputs, require_video
    from mapose.io._files import ensure_folder

    video = require_video(args.video)
    out = Path(args.out)
    if out.suffix.lower() != ".slp":
        raise MaposeError(f"{out}: the frames to label are written as a SLEAP project; use a .slp name")
    csv = out.with_name(out.stem + ".frames.csv")
    for o in (out, csv):
        refuse_overwriting_inputs(o, [video, args.tracks, args.skeleton, *(args.exclude or [])],
                                  "--out" if o == out else "the frame table")
    _refuse_a_labelled_project(out)
    if args.min_gap < 0:
        raise MaposeError(f"--min-gap must be 0 or more frames, got {args.min_gap}")
    for opt, v in (("--start", args.start), ("--stop", args.stop), ("--seed", args.seed)):
        if v is not None and v < 0:
            raise MaposeError(f"{opt} must be 0 or more, got {v}")
    info = check_video(video)
    method = args.method if args.method != "auto" else ("uncertain" if args.tracks else "kmeans")
    ds = None
    if args.tracks:
        ds = io.read_tracks(io.require_file(args.tracks, "pose file"))
        skeleton = get_skeleton(ds)
        pos = ds["position"].transpose("time", "individuals", "keypoints", "space").values
        if not check_pose_fits_video(pos, ds["frame"].values, info, args.tracks, args.video,
                                         ds.attrs.get("video_path", "")):
            raise MaposeError(f"{args.tracks} holds no keypoint position in any frame (all missing/NaN): "
                              "nothing to judge frames by; use --skeleton with --method kmeans instead")
        if args.skeleton:
            skeleton.check_same_keypoints(io.read_skeleton(args.skeleton), f"--skeleton {args.skeleton}")
    elif args.skeleton:
        skeleton = io.read_skeleton(args.skeleton)
    else:
        raise MaposeError("the frames to label need a skeleton: give --tracks (a pose file of the video) "
                          "or --skeleton (a model folder, label file or pose file)")
    exclude = _labelled_frames(args.exclude, video)
    table = suggest_frames(video, args.n, method, tracks=ds, exclude=exclude, min_gap=args.min_gap,
                           max_candidates=args.max_candidates, start=args.start, stop=args.stop,
                           n_animals=args.n_animals, seed=args.seed)
    frames = table["frame"].to_numpy()
    if not len(frames):
        raise MaposeError(f"no frame left to choose in {video.name} (frames {args.start}..{args.stop or 'end'}, "
                          f"{len(exclude)} excluded, --min-gap {args.min_gap})")
    refs = tuple(ImageRef(video=str(video), frame=int(f)) for f in frames)
    if ds is not None and not args.no_predictions:
        det = _predictions(ds, frames)
        labels = Labels(skeleton, refs, det, individuals=det.track_names, is_user=np.zeros(len(det), bool),
                        root=str(video.parent))
    else:
        labels = Labels(skeleton, (), Detections.empty(skeleton, 0), root=str(video.parent))
    folder = None
    if args.images:  # the image folder is made first: a path that cannot hold it fails before any output
        folder = ensure_folder(Path(args.images) / video.stem)
    ensure_folder(out.parent, out)
    write_labels(labels, out, suggestions=refs)
    save_feature_table(table.assign(video=str(video)), csv)
    if folder is not None:
        import cv2

        from mapose.io.video import VideoReader

        digits = max(5, len(str(int(frames.max()))))
        with VideoReader(video) as vr:
            for f in frames:
                ok = cv2.imwrite(str(folder / f"img{int(f):0{digits}d}.png"),
                                 cv2.cvtColor(vr[int(f)], cv2.COLOR_RGB2BGR))
                if not ok:
                    raise MaposeError(f"{folder}: cannot write image files there")
        print(f"saved {len(frames)} images in {folder}")
    n_pred = len(labels.instances)
    print(f"chose {len(frames)} frames of {video.name} by {method} ({len(exclude)} labelled frames excluded): "
          f"{', '.join(str(int(f)) for f in frames[:12])}{' ...' if len(frames) > 12 else ''}")
    print(f"wrote {out} (suggestions{f', {n_pred} predicted animals to correct' if n_pred else ''}) and {csv}")
    print(f"next: label them (mapose dashboard {out}, Labelling page; or sleap-label {out}), "
          f"then mapose train --labels ... {out} --out MODEL")
    return 0
