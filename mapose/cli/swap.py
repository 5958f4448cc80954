"""``mapose swap FILE --from FRAME --animals A B``: exchange two identities from a frame onward."""

from __future__ import annotations

HELP = "correct an identity swap: exchange animals A and B from FRAME onward"


def add_arguments(parser) -> None:
    parser.add_argument("file", help="tracks file")
    parser.add_argument("--from", dest="frame", type=int, required=True,
                        help="first video frame to swap (frame index, not seconds)")
    parser.add_argument("--animals", nargs=2, required=True, metavar=("A", "B"),
                        help="the two individuals (names or 0-based positions)")
    parser.add_argument("--out", default=None, help="file to write (default: overwrite FILE, atomically)")


def run(args) -> int:
    from pathlib import Path

    from mapose import io
    from mapose.tracking import swap_identities

    src = Path(args.file)
    ds = io.read_tracks(src)
    fixed = swap_identities(ds, args.frame, args.animals[0], args.animals[1])
    dst = Path(args.out) if args.out else src
    io.write_tracks(fixed, dst)
    print(f"wrote {dst}: swapped {args.animals[0]} and {args.animals[1]} from frame {args.frame}")
    return 0
