"""``mapose evaluate``: score a trained pose model on labelled frames it never saw."""

from __future__ import annotations

from mapose.cli._common import add_decode_argument, add_tta_argument, decode_choice

HELP = "evaluate a trained pose model on labelled frames (RMSE, PCK, OKS mAP; worst-frame images)"


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, metavar="MODEL_DIR")
    parser.add_argument("--labels", required=True, metavar="PATH", help="label file with ground truth")
    parser.add_argument("--json", required=True, metavar="OUT.json", help="metrics file to write")
    parser.add_argument("--frames", default="val",
                        help="val (default: frames outside the model's training split), train, all, "
                             "or a video-frame range A:B")
    parser.add_argument("--checkpoint", default="best", choices=["best", "last"])
    parser.add_argument("--max-animals", type=int, help="keep at most N animals per frame")
    parser.add_argument("--peak-threshold", type=float, default=0.1)
    add_decode_argument(parser)
    parser.add_argument("--min-keypoint-score", type=float, default=None, metavar="S",
                        help="count keypoints scored below S as not found, in every metric (default: the "
                             "model's inference.min_keypoint_score, as mapose analyze writes them)")
    parser.add_argument("--pcutoff", type=float, default=0.6,
                        help="keypoint score of the extra 'RMSE with p-cutoff' (rmse_px_pcutoff; "
                             "DeepLabCut's default 0.6); the other metrics use every detected keypoint")
    parser.add_argument("--device", default="auto",
                        help="torch device: auto (a CUDA GPU when there is one; default), cpu, cuda ...")
    add_tta_argument(parser)


def run(args) -> int:
    import json
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see mapose.cli.train
    from pathlib import Path

    from mapose.io._files import json_ready, write_json
    from mapose.training.evaluate import evaluate_model

    from mapose.cli._common import refuse_overwriting_inputs
    from mapose.decode.frame import check_peak_threshold, model_min_keypoint_score
    from mapose.errors import MaposeError

    if args.min_keypoint_score is not None:
        model_min_keypoint_score(None, args.min_keypoint_score)  # a bad value fails before any work
    check_peak_threshold(args.peak_threshold, "--peak-threshold")
    if not 0.0 <= args.pcutoff <= 1.0:
        raise MaposeError(f"--pcutoff must be from 0 to 1 (a keypoint score), got {args.pcutoff:g}")

    out = Path(args.json)
    refuse_overwriting_inputs(out, [args.labels], "--json")
    res = evaluate_model(args.model, args.labels, frames=args.frames, checkpoint=args.checkpoint,
                         max_animals=args.max_animals, peak_threshold=args.peak_threshold,
                         worst_dir=out.parent / f"{out.stem}_worst", device=args.device,
                         tta=args.tta, pcutoff=args.pcutoff,
                         single_animal=decode_choice(args.decode),
                         min_keypoint_score=args.min_keypoint_score)
    write_json(out, res)
    keys = ["rmse_px", "median_px", "pck3", "pck5", "map_oks", "map_oks_strict", "detected",
            "rmse_px_pcutoff", "detected_pcutoff", "pcutoff", "n_frames", "tta", "single_animal",
            "min_keypoint_score"]
    print(json.dumps(json_ready({k: res[k] for k in keys}), indent=1))
    if res["not_scored"]:
        print(f"not scored: {', '.join(res['not_scored'])} (the model finds them; {args.labels} does not label them)")
    print(f"metrics: {out}; worst frames: {out.parent / (out.stem + '_worst')}")
    return 0
