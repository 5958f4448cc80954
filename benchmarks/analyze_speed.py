"""End-to-end analysis speed and peak memory on the 1100-frame 2-fly video (issue 4).

Runs ``mapose.inference.analyze_video`` (video decode -> model -> assembly -> tracking -> write) in a
fresh process per measurement and prints frames/s, the share of wall time of each stage and the
peak resident set size (RSS).  Then builds the same video concatenated N times (OpenCV, in a
temporary folder) and measures again: memory must not grow with the video's length.

Usage::

    python benchmarks/analyze_speed.py                      # model runs/flies_model if present
    python benchmarks/analyze_speed.py --model runs/flies_model --repeat 10 --threads 2

Without a trained model the default architecture is used untrained: the model's cost is the same,
but the decode/track shares are not representative (an untrained model finds almost no peaks).
The machine load (``/proc/loadavg``) is printed before and after: on a shared machine wall-clock
numbers depend on it, so the process CPU time per frame is printed too (with ``--threads 1`` it is
about the wall time the same run takes on an idle core).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared/data/flies_centered_pair/centered_pair_low_quality.mp4"
DEFAULT_LABELS = ROOT.parent / "shared/data/flies_centered_pair/labels.train.slp"


def load_avg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ")[0:3].__str__()
    except OSError:
        return "?"


def _model(model_dir: str | None, labels: Path, device: str = "cpu"):
    from mapose.training.model import build_untrained_model, load_model

    if model_dir and (Path(model_dir) / "config.yaml").is_file():
        return load_model(model_dir, device=device), "trained"
    from mapose.io import read_labels

    from mapose.training.model import resolve_device

    model = build_untrained_model(read_labels(labels).skeleton).to(resolve_device(device)).eval()
    return model, "untrained (default architecture)"


def worker(args) -> None:
    """Analyse one video in this process; print one JSON line with timings and peak RSS."""
    import torch

    from mapose.inference import DecodeOptions, analyze_video
    from mapose.tracking import Tracker

    model, kind = _model(args.model, Path(args.labels), args.device)
    if args.tta:
        model.tta = args.tta
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    res = analyze_video(
        model, args.worker, args.out, n_animals=args.n_animals, batch_size=args.batch_size,
        scale=args.scale, decode=DecodeOptions(max_animals=args.n_animals),
        tracker=Tracker(n_animals=args.n_animals), threads=args.threads, progress=False,
        precision=args.precision, backend=args.backend,
        chunk_size=args.chunk_size,
    )
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    tm = res.timings
    print("RESULT " + json.dumps({
        "video": args.worker, "model": kind, "frames": res.n_frames, "instances": res.n_detections,
        "wall_s": wall, "fps": res.n_frames / wall, "cpu_s": cpu, "stages_s": {
            k: getattr(tm, k) for k in ("read", "model", "decode", "decode_wait", "track", "write")},
        "shares": tm.shares(), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch_threads": args.threads or torch.get_num_threads(),
        "precision": res.provenance["options"]["precision"], "tta": model.tta,
        "backend": res.provenance["options"]["backend"],
        "device": str(next(model.parameters()).device),
    }), flush=True)


def concat_video(src: Path, dst: Path, times: int) -> int:
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 15.0
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for _ in range(times):
        for f in frames:
            vw.write(f)
    vw.release()
    return len(frames) * times


def run_one(video: Path, out: Path, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", str(video), "--out", str(out),
           "--model", str(args.model), "--labels", str(args.labels), "--batch-size", str(args.batch_size),
           "--n-animals", str(args.n_animals), "--chunk-size", str(args.chunk_size),
           "--precision", args.precision, "--device", args.device, "--backend", args.backend]
    if args.tta:
        cmd += ["--tta", args.tta]
    if args.threads is not None:
        cmd += ["--threads", str(args.threads)]
    if args.scale is not None:
        cmd += ["--scale", str(args.scale)]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        raise SystemExit(f"worker failed on {video}:\n{p.stderr[-3000:]}")
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def report(r: dict) -> None:
    sh = r["shares"]
    print(f"  {Path(r['video']).name}: {r['frames']} frames in {r['wall_s']:.1f} s = "
          f"{r['fps']:.2f} frames/s end to end; peak RSS {r['peak_rss_mb']:.0f} MB; "
          f"{r['instances']} instances tracked; torch threads {r['torch_threads']}; "
          f"precision {r['precision']}; test-time augmentation {r['tta']}; device {r['device']}; "
          f"backend {r['backend']}")
    print(f"    process CPU time {r['cpu_s']:.1f} s = {1000 * r['cpu_s'] / r['frames']:.1f} CPU-ms/frame "
          f"(load-independent cost: {r['frames'] / r['cpu_s']:.1f} frames per CPU-second)")
    print("    share of wall time: " + ", ".join(
        f"{k} {100 * v:.1f}% ({r['stages_s'][k]:.1f} s)" for k, v in sh.items())
        + "\n    [read and decode run in background threads overlapping the model; decode_wait = "
          "time the main loop waited for decoding]")
    non_model = sum(r["stages_s"][k] for k in ("decode_wait", "track", "write"))
    print(f"    non-model part on the critical path (decode_wait + track + write) = "
          f"{100 * non_model / r['wall_s']:.1f}% of wall time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", default=str(DEFAULT_VIDEO))
    ap.add_argument("--labels", default=str(DEFAULT_LABELS), help="for the skeleton of an untrained model")
    ap.add_argument("--model", default=str(ROOT / "runs/flies_model"))
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--scale", type=float, default=None)
    ap.add_argument("--n-animals", type=int, default=2)
    ap.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    ap.add_argument("--chunk-size", type=int, default=500)
    ap.add_argument("--device", default="cpu", help="torch device for the model: cpu (default), cuda, auto")
    ap.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"),
                    help="what runs the network (mapose analyze --backend)")
    ap.add_argument("--tta", default=None, choices=("none", "rot2", "rot4"),
                    help="test-time augmentation (default: the model's config)")
    ap.add_argument("--repeat", type=int, default=10, help="concatenate the video this many times (0: skip)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    video = Path(args.video)
    if not video.exists():
        raise SystemExit(f"{video}: not found (needs ../shared/data)")
    print(f"load average before: {load_avg()}  (cpus: {os.cpu_count()})")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        r1 = run_one(video, tmp / "one.h5", args)
        print(f"model: {r1['model']}  ({args.model})")
        report(r1)
        if args.repeat > 1:
            long = tmp / f"x{args.repeat}.mp4"
            n = concat_video(video, long, args.repeat)
            print(f"built {long.name}: {n} frames")
            r2 = run_one(long, tmp / "long.h5", args)
            report(r2)
            ratio = r2["peak_rss_mb"] / r1["peak_rss_mb"]
            print(f"peak RSS {args.repeat}x / 1x = {ratio:.3f} ({'within' if abs(ratio - 1) <= 0.10 else 'NOT within'} 10 %)")
    print(f"load average after: {load_avg()}")


if __name__ == "__main__":
    main()
