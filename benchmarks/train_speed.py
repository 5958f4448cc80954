"""Seconds per training step and inference images/s of the default pose model at 384x384.

Usage::

    python benchmarks/train_speed.py [--batch 8] [--steps 5] [--size 384] [--config CFG.yaml]

``--size`` is the side of the training images fed to the network; ``--infer-size`` the frame size
given to ``predict`` (which resizes by the config's ``data.input_scale``).  The flies recipe of
``benchmarks/train_flies.py`` (the default model) trains on 128-px crops (crop_size auto for these flies): ``--size 128``.

Runs on the CPU and, when ``torch.cuda.is_available()``, on the GPU too.  Uses the 24-keypoint,
23-edge fly skeleton of ``flies_centered_pair`` (random images: speed does not depend on content).
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # spinning OpenMP threads crawl on a shared CPU

import torch  # noqa: E402


def fly_skeleton():
    from mapose.core.skeleton import Skeleton

    legs = [f"{leg}{side}{i}" for leg in ("foreleg", "midleg", "hindleg") for side in "LR" for i in (1, 2, 3)]
    kps = ["head", "neck", "thorax", "abdomen", "wingL", "wingR"] + legs
    edges = [("neck", "head"), ("thorax", "neck"), ("thorax", "abdomen"), ("thorax", "wingL"),
             ("thorax", "wingR")]
    for leg in ("foreleg", "midleg", "hindleg"):
        for side in "LR":
            edges += [("thorax", f"{leg}{side}1"), (f"{leg}{side}1", f"{leg}{side}2"),
                      (f"{leg}{side}2", f"{leg}{side}3")]
    return Skeleton.from_names(kps, edges, Skeleton.guess_symmetry(kps))


def median(xs: list) -> float:
    return sorted(xs)[len(xs) // 2]


def train_steps(device: str, cfg, sk, batch: int, steps: int, size: int, channels_last: bool) -> list:
    """Seconds of each training step (forward, losses, backward, AdamW) after one warm-up step."""
    from mapose.data.targets import output_shape
    from mapose.training.model import build_untrained_model
    from mapose.training.module import PoseLightningModule

    model = build_untrained_model(sk, cfg).to(device).train()
    module = PoseLightningModule(model, channels_last=channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    h, w = output_shape(size, size, model.net_stride)
    k, e = sk.n_keypoints, sk.n_edges
    b = {
        "image": torch.rand(batch, 3, size, size, device=device) * 255,
        "heatmap": torch.rand(batch, k, h, w, device=device),
        "paf": torch.rand(batch, 2 * e, h, w, device=device),
        "offset": torch.rand(batch, 2 * k, h, w, device=device),
        "offset_mask": (torch.rand(batch, k, h, w, device=device) > 0.9).float(),
    }
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    times = []
    for i in range(steps + 1):
        sync()
        t = time.perf_counter()
        loss = module._losses(b)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        sync()
        if i:  # first step warms up
            times.append(time.perf_counter() - t)
    return times


def bench(device: str, cfg, batch: int, steps: int, size: int, infer_batch: int,
          infer_size: int = 384) -> dict:
    from mapose.training.model import build_untrained_model

    sk = fly_skeleton()
    times = {}
    for layout in ("channels_last", "contiguous"):  # trainer.channels_last (auto: CPU only)
        times[layout] = train_steps(device, cfg, sk, batch, steps, size, layout == "channels_last")
    default = "channels_last" if cfg.trainer.channels_last_for(device != "cpu") else "contiguous"
    model = build_untrained_model(sk, cfg).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    model.eval()
    imgs = torch.randint(0, 255, (infer_batch, infer_size, infer_size, 3), dtype=torch.uint8)
    n_inf = max(2, steps)
    rate = {}
    for tta in ("none", "rot4"):  # one model pass per image; the default averages 4 turned copies
        model.tta = tta
        model.predict(imgs)
        sync()
        t = time.perf_counter()
        for _ in range(n_inf):
            model.predict(imgs)
        sync()
        rate[tta] = n_inf * infer_batch / (time.perf_counter() - t)
    return {
        "device": device if device == "cpu" else torch.cuda.get_device_name(0),
        "threads": torch.get_num_threads(),
        "train_batch": batch,
        "train_input_px": size,
        "inference_input_px": infer_size,
        "train_layout": default,
        "s_per_step_median": median(times[default]),
        **{f"s_per_step_median_{k}": median(v) for k, v in times.items()},
        "s_per_step_all": [round(x, 3) for x in times[default]],
        "inference_images_per_s": rate["none"],
        "inference_images_per_s_tta_rot4": rate["rot4"],
        "inference_batch": infer_batch,
        "load_avg_1min": os.getloadavg()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--size", type=int, default=384)
    ap.add_argument("--infer-batch", type=int, default=4)
    ap.add_argument("--infer-size", type=int, default=384,
                    help="frame size given to predict() (which applies the model's input_scale)")
    ap.add_argument("--config", help="training config YAML (default: the library defaults)")
    args = ap.parse_args()
    from mapose.training.config import load_train_config

    cfg = load_train_config(args.config)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for d in devices:
        print(json.dumps(bench(d, cfg, args.batch, args.steps, args.size, args.infer_batch,
                               args.infer_size)), flush=True)


if __name__ == "__main__":
    main()
