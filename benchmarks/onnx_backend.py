"""The network run by ONNX Runtime vs PyTorch on the CPU: speed, and whether the keypoints change.

Runs ``mapose.inference.predict_video`` on the first ``--frames`` frames of a real video (a clip
written to a temporary folder) once per backend, with the same model, threads and test-time
augmentation, and prints the model time per frame of each, then compares the decoded animals:
frames with the same number of animals, and the largest and 99th-percentile distance between the
keypoints of the two runs (animals matched by order within a frame, which the decoder sorts by
score; a frame whose order differs is reported as such).

Usage::

    python benchmarks/onnx_backend.py --model runs/cv/fold0 [--frames 300] [--threads 2] [--tta rot4]

The ONNX export (seconds) happens before the timed run and is kept in ``MODEL/onnx/``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared/data/flies_centered_pair/centered_pair_low_quality.mp4"


def clip(src: Path, dst: Path, n: int) -> int:
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 15.0
    writer = None
    count = 0
    while count < n:
        ok, frame = cap.read()
        if not ok:
            break
        if writer is None:
            h, w = frame.shape[:2]
            writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        writer.write(frame)
        count += 1
    cap.release()
    if writer is not None:
        writer.release()
    return count


def run(model, video: Path, backend: str, threads: int, batch_size: int, precision: str = "fp32"):
    from mapose.inference import DecodeOptions, Timings, predict_video

    tm = Timings()
    t0 = time.perf_counter()
    det = predict_video(model, video, batch_size=batch_size, decode=DecodeOptions(max_animals=2), progress=False,
                        timings=tm, threads=threads, precision=precision, backend=backend, min_keypoints=2)
    return det, tm, time.perf_counter() - t0


def compare(a, b) -> dict:
    """Frames with as many animals in both runs; keypoint distances where they match."""
    same_count, dists, reordered = 0, [], 0
    frames = np.union1d(a.frame, b.frame)
    for f in frames:
        ka, kb = a.keypoints[a.frame == f], b.keypoints[b.frame == f]
        if len(ka) != len(kb):
            continue
        same_count += 1
        d = np.linalg.norm(ka - kb, axis=-1)
        seen = np.isfinite(ka).all(-1) & np.isfinite(kb).all(-1)
        if (np.isfinite(ka).all(-1) != np.isfinite(kb).all(-1)).any() or (d[seen] > 5).any():
            reordered += 1
            continue
        dists.append(d[seen])
    d = np.concatenate(dists) if dists else np.zeros(0)
    return {"frames": len(frames), "same_count": same_count, "differing_frames": reordered,
            "max_px": float(d.max()) if d.size else float("nan"),
            "p99_px": float(np.quantile(d, 0.99)) if d.size else float("nan"),
            "keypoints": int(d.size)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "runs/cv/fold0"))
    ap.add_argument("--video", default=str(DEFAULT_VIDEO))
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--tta", default=None, choices=("none", "rot2", "rot4"))
    args = ap.parse_args()

    import torch

    from mapose.inference.onnx_runtime import use_onnx, use_torch
    from mapose.inference.pipeline import resolve_precision
    from mapose.training.model import load_model

    model = load_model(args.model)
    if args.tta:
        model.tta = args.tta
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    use_torch(use_onnx(model, args.threads))  # export (or find) the ONNX network first
    print(f"model {args.model}: test-time augmentation {model.tta}; ONNX network ready in "
          f"{time.perf_counter() - t0:.1f} s; {args.threads} threads, batch {args.batch_size}")
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "clip.mp4"
        n = clip(Path(args.video), video, args.frames)
        print(f"{n} frames of {args.video}")
        results = {}
        runs = [("torch", "fp32"), ("onnx", "fp32")]
        if resolve_precision(model, "auto") == "bf16":  # what PyTorch does by default on this CPU
            runs.append(("torch", "bf16"))
        for backend, precision in runs:
            det, tm, wall = run(model, video, backend, args.threads, args.batch_size, precision)
            results[backend, precision] = det
            print(f"  {backend:5s} {precision}: model {1000 * tm.model / tm.frames:.1f} ms/frame, end to end "
                  f"{tm.frames / wall:.2f} frames/s ({wall:.1f} s), {len(det)} animals decoded")
        c = compare(results["torch", "fp32"], results["onnx", "fp32"])
        print(f"  onnx vs torch fp32: same number of animals in {c['same_count']} of {c['frames']} frames; of those, "
              f"{c['differing_frames']} with a keypoint found in one run only or over 5 px apart; elsewhere "
              f"{c['keypoints']} keypoints: largest distance {c['max_px']:.4f} px, 99th percentile "
              f"{c['p99_px']:.4f} px")
        if ("torch", "bf16") in results:
            c = compare(results["torch", "fp32"], results["torch", "bf16"])
            print(f"  torch bf16 vs fp32: same number of animals in {c['same_count']} of {c['frames']} frames; "
                  f"{c['differing_frames']} differing; largest distance {c['max_px']:.4f} px, 99th percentile "
                  f"{c['p99_px']:.4f} px")


if __name__ == "__main__":
    main()
