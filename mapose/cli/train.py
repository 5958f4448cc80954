"""``mapose train``: train a pose model (heatmaps + PAFs + offsets) from label files."""

from __future__ import annotations

HELP = "train a multi-animal pose model from labelled frames (resumes when MODEL_DIR has a checkpoint)"


def add_arguments(parser) -> None:
    parser.add_argument("--labels", nargs="+", required=True, metavar="PATH",
                        help="label files (SLEAP .slp, DLC CollectedData .h5/.csv, COCO .json); they may name "
                        "different body parts: each trains the parts it labels")
    parser.add_argument("--out", required=True, metavar="MODEL_DIR", help="model folder to write")
    parser.add_argument("--config", metavar="CFG.yaml", help="training config (strict YAML; see "
                        "mapose.training.config)")
    parser.add_argument("--minutes", type=float, help="wall-clock budget over all resumed sessions")
    split = parser.add_mutually_exclusive_group()
    split.add_argument("--val-frames-from", type=int, metavar="FRAME",
                       help="validate on video frames >= FRAME, train on the rest "
                            "(= split: {method: frame_threshold, threshold: FRAME})")
    split.add_argument("--val-fraction", type=float, metavar="F",
                       help="validate on this fraction of each video's labelled frames, in contiguous "
                            "time blocks (default 0.1); 0 trains on every frame "
                            "(= split: {method: blocks, val_fraction: F} or {method: none})")
    parser.add_argument("--init", metavar="MODEL_DIR",
                        help="start from this trained model's weights instead of ImageNet's (fine-tuning "
                             "after labelling more frames; body parts matched by name; = model: {init: ...})")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimiser steps (per network)")
    parser.add_argument("--ensemble", type=int, metavar="N",
                        help="train N networks one after another (seeds optim.seed, +1, ...; the budget is "
                             "shared) and average their outputs at inference (N times the cost; = model: "
                             "{ensemble: N})")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args) -> int:
    import json
    import os
    from pathlib import Path

    # OpenMP threads that spin while waiting make torch many times slower on a CPU shared with
    # other jobs; passive waiting costs nothing on an idle machine.  Must precede importing torch.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    from mapose.training.config import load_train_config
    from mapose.training.train import train

    from mapose.errors import MaposeError

    if args.minutes is not None and not args.minutes > 0:  # NaN fails too; 0 would mean no budget
        raise MaposeError(f"--minutes must be a positive budget, got {args.minutes} (leave it out for none)")
    if args.max_steps is not None and args.max_steps < 1:
        raise MaposeError(f"--max-steps must be at least 1, got {args.max_steps}")
    if args.init is not None:
        from mapose.io._files import require_file

        require_file(Path(args.init) / "config.yaml", f"trained model (--init {args.init})")
    over: dict = {}
    if args.val_frames_from is not None:
        over["split"] = {"method": "frame_threshold", "threshold": args.val_frames_from}
    if args.val_fraction is not None:  # 0: no validation; otherwise checked by the config
        over["split"] = ({"method": "none"} if args.val_fraction == 0
                         else {"method": "blocks", "val_fraction": args.val_fraction})
    if args.max_steps is not None:
        over["optim"] = {"max_steps": args.max_steps}
    if args.init is not None:
        over["model"] = {"init": str(Path(args.init).resolve())}
    if args.ensemble is not None:
        over.setdefault("model", {})["ensemble"] = args.ensemble
    cfg = load_train_config(args.config, over or None) if (args.config or over) else None
    res = train(args.labels, args.out, cfg, minutes=args.minutes, progress=not args.no_progress)
    if res.get("global_rank", 0) == 0:  # one report from a multi-device run
        print(json.dumps(res, indent=1))
    return 0
