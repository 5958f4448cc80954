"""``mapose convert IN OUT``: convert between pose formats (DLC, SLEAP, NWB, COCO, netCDF, ...)."""

from __future__ import annotations

HELP = "convert a pose or label file to another format (chosen by OUT's extension or --format)"


def add_arguments(parser) -> None:
    parser.add_argument("input", help="pose/label file to read (format sniffed)")
    parser.add_argument("output", help="file to write; its extension picks the format")
    parser.add_argument("--format", default=None, help="output format name (overrides the extension)")
    parser.add_argument("--input-format", default=None, help="input format name (default: sniffed)")
    parser.add_argument("--fps", type=float, default=None, help="frames per second, if the input lacks it")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--labels", action="store_true",
                      help="read the input as labelled frames (training data), also when it could be read "
                           "as tracks. SLEAP projects (frames to label listed, or sparse hand-labelled "
                           "frames) are read so by default. DeepLabCut and COCO outputs keep the ground "
                           "truth only (they cannot mark predictions); DeepLabCut outputs get the video "
                           "frames as labeled-data/<video>/img<frame>.png images")
    kind.add_argument("--tracks", action="store_true",
                      help="read the input as tracks (pose over time), also when it looks like a "
                           "labelling project")


def run(args) -> int:
    from pathlib import Path

    from mapose import io
    from mapose.cli._common import read_pose_any
    from mapose.errors import MaposeError

    src, dst = Path(args.input), Path(args.output)
    if src.resolve() == dst.resolve():
        raise MaposeError(f"{dst}: output would overwrite the input; choose another file")
    if args.labels:
        kind, obj = "labels", io.read_labels(io.require_file(src, "label file"), format=args.input_format)
    elif args.tracks:
        kw = {"fps": args.fps} if args.fps is not None else {}
        kind, obj = "tracks", io.read_tracks(src, format=args.input_format, **kw)
    else:
        kind, obj = read_pose_any(src, args.input_format, fps=args.fps)
        if kind == "labels" and (args.input_format or io.detect_format(src)) == "slp":
            print(f"{src}: read as labelled frames (a labelling project); --tracks reads it as tracks")
    fmt = args.format or io.format_for_output(dst, kind)
    if kind == "labels" and fmt in ("dlc", "coco"):
        truth = obj.ground_truth()
        if len(obj.instances) and not len(truth.instances):
            raise MaposeError(
                f"{src}: no animal placed by a person ({len(obj.instances)} predicted instances in {len(obj)} frames); "
                f"{fmt} label files cannot mark predictions, so there is nothing to write: correct the frames "
                f"first (mapose dashboard {src} -> Labelling), or convert the predictions as tracks (--tracks)")
        if len(truth.instances) < len(obj.instances) or len(truth) < len(obj):
            print(f"kept the ground truth: {len(truth)} of {len(obj)} frames, {len(truth.instances)} of "
                  f"{len(obj.instances)} instances ({fmt} files cannot mark predictions)")
        obj = truth
    if kind == "labels" and fmt == "dlc":
        _export_dlc_images(obj, dst)
        _write_dlc_config(obj, dst)
    if kind == "tracks":
        io.write_tracks(obj, dst, format=fmt)
        print(f"wrote {dst} ({fmt}): {obj.sizes['time']} frames, {obj.sizes['individuals']} animals, "
              f"{obj.sizes['keypoints']} keypoints")
    else:
        io.write_labels(obj, dst, format=fmt)
        print(f"wrote {dst} ({fmt}): {len(obj)} labelled frames, {len(obj.instances)} instances")
    return 0


def _export_dlc_images(labels, dst) -> None:
    """Save the video frames of ``labels`` where a DeepLabCut project looks for them
    (``labeled-data/<video stem>/img<frame>.png`` under the project folder of ``dst``); images
    already there are kept."""
    from pathlib import Path

    import cv2

    from mapose.data.frames import load_images
    from mapose.io._files import atomic_path, ensure_folder
    from mapose.io.dlc import _project_root, image_paths

    video_refs = [i for i, r in enumerate(labels.images) if r.video]
    if not video_refs:
        return
    root = _project_root(Path(dst))
    names = image_paths(labels)
    todo = [i for i in video_refs if not (root / names[i]).exists()]
    images = load_images(labels, todo)
    for i in todo:
        path = root / names[i]
        ensure_folder(path.parent, path)
        img = images[i]
        with atomic_path(path) as tmp:
            cv2.imwrite(str(tmp), img[..., 0] if img.shape[2] == 1 else img[..., ::-1])
    print(f"saved {len(todo)} frame images under {root / 'labeled-data'} "
          f"({len(video_refs) - len(todo)} were there)")


def _write_dlc_config(labels, dst) -> None:
    """A ``config.yaml`` for the DeepLabCut project of ``dst`` when it has none: a DeepLabCut CSV
    holds no skeleton edges, so without one they would be lost."""
    from pathlib import Path

    from mapose.io.dlc import (_project_root, find_project_config, label_individuals, scorer_from_name,
                               write_project_config)

    if find_project_config(dst) is not None:
        return
    path = _project_root(Path(dst)) / "config.yaml"
    # the individuals and scorer the CSV's header will name (a multi-animal project when it has individuals)
    write_project_config(path, labels.skeleton, label_individuals(labels), scorer=scorer_from_name(dst))
    print(f"wrote {path} (body parts, skeleton, individuals of the new DeepLabCut project)")
