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
    parser.add_argument("--frames", choices=("overlap", "all"), default="overlap",
                        help="overlap (default): score the video frames both files cover (a prediction of "
                             "part of a video is scored on that part); all: every frame either covers, "
                             "frames one lacks counting as empty there")


def run(args) -> int:
    import json

    import math

    import numpy as np

    from mapose import io
    from mapose.cli._common import refuse_overwriting_inputs
    from mapose.tracking import evaluate_tracks

    refuse_overwriting_inputs(args.json, [args.pred, args.truth], "--json")
    pred = io.read_tracks(args.pred)
    truth = io.read_tracks(args.truth)
    if not np.isfinite(pred["position"].values).any():
        print(f"note: {args.pred} holds no keypoint position in any frame (all missing/NaN); "
              "every reference animal counts as missed")
    posed = {}
    for name, ds in (("prediction", pred), ("reference", truth)):
        p = ds["position"].transpose("time", ...).values
        seen = np.isfinite(p).reshape(len(p), -1).any(axis=1)
        posed[name] = ds["frame"].values[seen]
    if len(posed["prediction"]) and len(posed["reference"]):
        (a0, a1), (b0, b1) = ((int(f.min()), int(f.max())) for f in (posed["prediction"], posed["reference"]))
        shared = max(0, min(a1, b1) - max(a0, b0) + 1)
        if shared < 0.5 * (a1 - a0 + 1):
            print(f"note: the reference's animals are in frames {b0}-{b1} and the prediction's in {a0}-{a1}; "
                  "predictions where the reference has no animal count as false positives "
                  "(is it the reference of this video?)")
    m = evaluate_tracks(pred, truth, threshold=args.threshold,
                        threshold_fraction=args.threshold_fraction, frames=args.frames)
    left = {k: n for k, n in m["frames_left_out"].items() if n}
    if left:
        a, b = m["frames_scored"]
        print(f"note: scored frames {a}-{b}, the frames both files cover; left out "
              + " and ".join(f"{n} frame(s) of the {k} only" for k, n in left.items())
              + " (--frames all scores them, a frame one file lacks counting as empty there)")
    # JSON has no infinities or NaN: a metric that is undefined here (MOTP without matches) is null
    m = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in m.items()}
    m = {"pred": str(args.pred), "truth": str(args.truth), **m}
    io.atomic_write_text(args.json, json.dumps(m, indent=2, allow_nan=False) + "\n")
    def fmt(v):
        return "n/a" if v is None else f"{v:.4f}"

    print(f"MOTA {fmt(m['mota'])}  IDF1 {fmt(m['idf1'])}  ID switches {m['num_switches']}  "
          f"fragmentations {m['num_fragmentations']}  (match threshold {m['threshold_px']:.1f} px); "
          f"wrote {args.json}")
    return 0
