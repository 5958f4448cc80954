"""``mapose convert IN OUT``: convert between pose formats (DLC, SLEAP, NWB, COCO, netCDF, ...)."""

from __future__ import annotations

HELP = "convert a pose or label file to another format (chosen by OUT's extension or --format)"


def add_arguments(parser) -> None:
    parser.add_argument("input", help="pose/label file to read (format sniffed)")
    parser.add_argument("output", help="file to write; its extension picks the format")
    parser.add_argument("--format", default=None, help="output format name (overrides the extension)")
    parser.add_argument("--input-format", default=None, help="input format name (default: sniffed)")
    parser.add_argument("--fps", type=float, default=None, help="frames per second, if the input lacks it")


def run(args) -> int:
    from pathlib import Path

    from mapose import io
    from mapose.cli._common import read_pose_any
    from mapose.errors import MaposeError

    src, dst = Path(args.input), Path(args.output)
    if src.resolve() == dst.resolve():
        raise MaposeError(f"{dst}: output would overwrite the input; choose another file")
    kind, obj = read_pose_any(src, args.input_format, fps=args.fps)
    fmt = args.format or io.format_for_output(dst, kind)
    if kind == "tracks":
        io.write_tracks(obj, dst, format=fmt)
        print(f"wrote {dst} ({fmt}): {obj.sizes['time']} frames, {obj.sizes['individuals']} animals, "
              f"{obj.sizes['keypoints']} keypoints")
    else:
        io.write_labels(obj, dst, format=fmt)
        print(f"wrote {dst} ({fmt}): {len(obj)} labelled frames, {len(obj.instances)} instances")
    return 0
