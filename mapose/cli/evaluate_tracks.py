"""``mapose evaluate-tracks --pred PRED --truth TRUTH --json OUT.json``: MOTA, IDF1, switches."""

from __future__ import annotations

HELP = "score tracks against reference tracks (MOTA, IDF1, ID switches, fragmentations)"


def add_arguments(parser) -> None:
    parser.add_argument("--pred", required=True, help="tracks to score")
    parser.add_argument("--truth", required=True, help="reference tracks")
    parser.add_argument("--json", required=True, help="where to write the metrics (JSON)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="matching distance between keypoint centroids, pixels "
                             "(default: --threshold-fraction x median reference body size)")
    parser.add_argument("--threshold-fraction", type=float, default=0.5,
                        help="fraction of the median reference body size (default 0.5)")


def run(args) -> int:
    import json

    from mapose import io
    from mapose.tracking import evaluate_tracks

    pred = io.read_tracks(args.pred)
    truth = io.read_tracks(args.truth)
    m = evaluate_tracks(pred, truth, threshold=args.threshold,
                        threshold_fraction=args.threshold_fraction)
    m = {"pred": str(args.pred), "truth": str(args.truth), **m}
    io.atomic_write_text(args.json, json.dumps(m, indent=2) + "\n")
    print(f"MOTA {m['mota']:.4f}  IDF1 {m['idf1']:.4f}  ID switches {m['num_switches']}  "
          f"fragmentations {m['num_fragmentations']}  (match threshold {m['threshold_px']:.1f} px); "
          f"wrote {args.json}")
    return 0
