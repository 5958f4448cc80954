"""``mapose analyze VIDEO [VIDEO ...] --model MODEL_DIR --out PATH``: video -> tracked pose file.

Output naming
-------------
- one video: ``--out`` is the output file (``.h5`` DLC layout, ``.slp``, ``.nwb``, ``.csv``, ``.nc``
  -- the extension picks the format), or a folder (see below);
- several videos: ``--out`` is a folder (existing, or ending with ``/``) receiving
  ``<video stem><--ext>`` (default ``.h5``), or a pattern containing ``{stem}``, e.g.
  ``--out results/{stem}.slp``.

``--frames START:STOP`` analyses part of each video (as ``sleap-track --frames``); the output holds
those frames at their frame numbers in the video.

An interrupted run keeps its finished chunks in ``<output>.partial/``; running the same command
again resumes there and writes the same output an uninterrupted run would.
"""

from __future__ import annotations

from mapose.cli._common import add_decode_argument, add_tta_argument, decode_choice

HELP = "analyse videos with a trained model: detect, assemble and track animals, write pose files"


def add_arguments(parser) -> None:
    parser.add_argument("videos", nargs="+", metavar="VIDEO",
                        help="video file(s), or folders of images read as frames in natural order "
                             "(time-lapse frames, image sequences)")
    parser.add_argument("--model", required=True, metavar="MODEL_DIR",
                        help="model folder written by 'mapose train'")
    parser.add_argument("--out", required=True, metavar="PATH",
                        help="output file; with several videos a folder or a pattern with {stem}")
    parser.add_argument("--ext", default=".h5",
                        help="extension (format) of outputs named after their video (default .h5)")
    parser.add_argument("--n-animals", default="auto", metavar="N",
                        help="animals per frame (decoding keeps the best N) and identities (tracking); "
                             "default auto: the most animals labelled in one of the model's training "
                             "frames; any: a count that varies (no fixed identities; tracks joined across "
                             "gaps, background and pieces of animals left out)")
    parser.add_argument("--batch-size", type=int, default=8, help="frames per model call (default 8)")
    parser.add_argument("--scale", type=float, default=None,
                        help="resize factor applied to the frames before the model (default: none "
                             "beyond the model's own training scale)")
    parser.add_argument("--crop", default=None, metavar="X,Y,W,H",
                        help="analyse only this rectangle of the frames (video pixels)")
    parser.add_argument("--frames", default=None, metavar="START:STOP",
                        help="analyse only these frames (Python slice: STOP not included; 1000:2000, 1000: "
                             "or :500); the output holds them at their frame numbers in the video")
    parser.add_argument("--peak-threshold", type=float, default=0.1,
                        help="minimum heatmap value of a keypoint (default 0.1)")
    add_decode_argument(parser)
    parser.add_argument("--min-keypoint-score", type=float, default=None, metavar="S",
                        help="write keypoints scored below S as missing (default: the model's "
                             "inference.min_keypoint_score, 0 unless its training config set it)")
    parser.add_argument("--min-keypoints", type=int, default=2,
                        help="instances with fewer keypoints are not tracked (default 2)")
    parser.add_argument("--chunk-size", type=int, default=500,
                        help="frames per saved chunk of partial results (default 500)")
    parser.add_argument("--checkpoint", default="best", choices=("best", "last"))
    parser.add_argument("--device", default="auto",
                        help="torch device: auto (a CUDA GPU when there is one, else the CPU; the "
                             "default), cpu, cuda, cuda:1 ...")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                        help="PyTorch's arithmetic: bf16 is ~2x faster on CPUs with AVX512-BF16/AMX and on "
                             "GPUs, keypoints as accurate as fp32's (default auto: bf16 where supported; on a CPU "
                             "the network runs with ONNX Runtime in fp32 instead when installed, as fast)")
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"),
                        help="what runs the network: onnx (ONNX Runtime, about 2x faster on a CPU; exported "
                             "once per model into MODEL_DIR/onnx/), torch, or auto (the default: onnx on a "
                             "CPU in fp32 when onnxruntime is installed, else torch)")
    add_tta_argument(parser)
    parser.add_argument("--no-appearance", action="store_true",
                        help="track without reading the video again for appearance cues")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def output_paths(videos, out: str, ext: str = ".h5"):
    """Output file of each video (see the module docstring for the rules)."""
    from pathlib import Path

    from mapose.errors import MaposeError

    if not ext.startswith("."):
        ext = "." + ext
    if "{stem}" in out:
        paths = [Path(out.format(stem=Path(v).stem)) for v in videos]
    elif out.endswith(("/", "\\")) or Path(out).is_dir() or len(videos) > 1:
        if len(videos) > 1 and Path(out).suffix and not Path(out).is_dir():
            raise MaposeError(
                f"--out {out!r} looks like one file but {len(videos)} videos were given; pass a "
                "folder or a pattern with {stem} (e.g. results/{stem}.h5)"
            )
        paths = [Path(out) / (Path(v).stem + ext) for v in videos]
    else:
        if not Path(out).suffix:
            raise MaposeError(
                f"--out {out!r} is neither a file name with an extension (e.g. {out}{ext}) nor an "
                f"existing folder; end it with '/' to make a folder (--ext {ext} names the files in folders)"
            )
        paths = [Path(out)]
    if len(set(paths)) != len(paths):
        raise MaposeError(f"several videos would write the same output: {[str(p) for p in paths]}")
    return paths


def run(args) -> int:
    from mapose import io
    from mapose.decode.frame import check_peak_threshold, model_min_keypoint_score
    from mapose.inference import DecodeOptions, analyze_video, parse_n_animals, resolve_n_animals
    from mapose.inference.pipeline import frame_range, parse_frame_range
    from mapose.inference.frames import parse_crop
    from mapose.inference.onnx_runtime import resolve_backend
    from mapose.tracking import Tracker
    from mapose.training.model import TTA_VIEWS, load_model

    from mapose.cli._common import check_video
    from mapose.errors import MaposeError

    outs = output_paths(args.videos, args.out, args.ext)
    for o in outs:
        io.format_for_output(o)
    for name, value in (("--threads", args.threads), ("--chunk-size", args.chunk_size)):
        if value is not None and value < 1:
            raise MaposeError(f"{name} must be at least 1, got {value}")
    if args.min_keypoints < 1:
        raise MaposeError(f"--min-keypoints must be at least 1, got {args.min_keypoints}")
    check_peak_threshold(args.peak_threshold, "--peak-threshold")
    args.n_animals = parse_n_animals(args.n_animals, "--n-animals")
    if args.min_keypoint_score is not None:
        model_min_keypoint_score(None, args.min_keypoint_score)  # a bad value fails before any work
    frames = parse_frame_range(args.frames) if args.frames is not None else None
    for v in args.videos:  # every video is checked before the first is analysed
        info = check_video(v)
        if frames is not None:
            frame_range(frames, int(info["n_frames"]), str(v))
    crop = parse_crop(args.crop)
    model = load_model(args.model, device=args.device, checkpoint=args.checkpoint, tta=args.tta)
    dec = DecodeOptions(peak_threshold=args.peak_threshold,
                        max_animals=args.n_animals if isinstance(args.n_animals, int) else None,
                        single_animal=decode_choice(args.decode),
                        min_keypoint_score=args.min_keypoint_score)
    if model.single_animal and args.decode == "auto" and isinstance(args.n_animals, int) and args.n_animals > 1:
        print(f"the model was trained on frames with one animal; --n-animals {args.n_animals}: "
              "decoding with part-affinity assembly", flush=True)
    if model.tta != "none" and next(model.parameters()).device.type == "cpu":
        views = len(TTA_VIEWS[model.tta])
        nets = model.config.model.ensemble
        passes = views * nets
        print(f"test-time augmentation {model.tta}: {passes} model passes per frame"
              + (f" ({nets} networks of an ensemble)" if nets > 1 else "")
              + f" (--tta none is about {views}x faster, slightly less accurate)")
    backend = resolve_backend(model, args.backend, args.precision)  # a backend that cannot run fails here
    if backend == "onnx":
        print("the network runs with ONNX Runtime (--backend torch for PyTorch)", flush=True)
    n_animals = resolve_n_animals(model, args.n_animals, dec)
    if args.n_animals == "auto" and n_animals == 1 and model.single_animal:
        print("one animal per frame (the model was trained on frames with one animal): tracked as one "
              "identity", flush=True)
    elif args.n_animals == "auto" and n_animals is not None and dec.single_animal is None:
        print(f"{n_animals} animals per frame, tracked as {n_animals} identities: the most labelled in one "
              "of the model's training frames (--n-animals N for another number, --n-animals any when "
              "it varies)", flush=True)
    elif args.n_animals == "any":
        print("a varying number of animals (--n-animals any): tracks are joined across gaps where no new "
              "animal is more likely; tracks whose median score is under half of what the video's well-seen "
              "animals score, and detections with under a quarter of their body parts, are left out", flush=True)
    elif n_animals is None:
        print("the model does not record how many animals its training frames held: tracked as a count that "
              "varies, as with --n-animals any (--n-animals N keeps N identities)", flush=True)
    for video, out in zip(args.videos, outs):
        tracker = Tracker(n_animals=n_animals, appearance=not args.no_appearance)
        res = analyze_video(
            model, video, out, n_animals="any" if n_animals is None else n_animals,
            batch_size=args.batch_size, crop=crop,
            scale=args.scale, decode=dec, min_keypoints=args.min_keypoints,
            chunk_size=args.chunk_size, tracker=tracker, threads=args.threads,
            precision=args.precision, backend=args.backend,
            progress=not args.no_progress, model_dir=args.model, frames=frames,
        )
        tm = res.timings
        resumed = f", resumed at frame {res.resumed_from_frame}" if res.resumed_from_frame else ""
        dropped = res.n_detections - res.n_tracked
        left_out = f" ({dropped} detections left out by tracking)" if dropped > 0 else ""
        print(f"wrote {out}: {res.n_frames} frames, {res.n_tracked} instances tracked as {res.n_identities} "
              f"identities{left_out}, {tm.fps():.1f} frames/s{resumed}")
    return 0
