"""Three black mice in a cage (MABe22 triplet): train on the reference tracks of 80 frames, evaluate on
20 later frames, and count detections outside the cage.

The shared folder ``mice_mabe22_triplet`` holds another tool's tracks of a 1,800-frame video (not
human labels), so the accuracy here is agreement with that tool, and its frames where a huddled
mouse has no track count the model's detection of it as a false one. What it shows well is where
the model fires outside the animals: the cage's vent and corners, never inside a training crop
around a mouse (``data.background_crops``).

Usage::

    python benchmarks/train_mice_triplet.py [--minutes 10] [--out runs/mice_triplet] [--config CFG.yaml] [--track]

Writes ``OUT/labels.slp`` (every 18th frame of the video, its tracks as labels), trains with
``--val-fraction 0.2`` (the last 20 frames held out), evaluates them (``OUT/eval.json``) and prints
the metrics and the detections whose middle lies above the cage (y < 80 px): all of them, and those
left when each frame keeps its best 3 animals (as ``mapose analyze --n-animals 3``).

``--track`` then analyses the whole video with ``mapose analyze --tta none`` (about 4 minutes here),
once with the number of animals taken from the model and once with ``--n-animals any``, and scores
both against the reference tracks with ``mapose evaluate-tracks`` (``OUT/tracks_*.json``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks._datasets import shared_data_root  # noqa: E402

STEM = "mice_mabe22_triplet/EGS8X2MN4SSUGFWAV976"
CAGE_TOP_Y = 80.0  # px: the cage floor's top edge; above it are the wall, a vent and the corners


def make_labels(out: Path, every: int = 18) -> Path:
    from mapose.core.labels import ImageRef, Labels
    from mapose.core.tracks import tracks_to_detections
    from mapose.io import read_tracks, write_labels

    src = shared_data_root() / STEM
    det = tracks_to_detections(read_tracks(src.with_suffix(".h5")), keep_identities=True)
    frames = np.arange(0, det.n_frames, every)
    d = det.select(np.isin(det.frame, frames))
    inst = dataclasses.replace(
        d, frame=np.searchsorted(frames, d.frame), n_frames=len(frames),
        keypoint_scores=np.isfinite(d.keypoints[..., 0]).astype(np.float32),
        instance_scores=np.ones(len(d), np.float32))
    labels = Labels(skeleton=d.skeleton, images=tuple(ImageRef(video=str(src.with_suffix(".mp4")), frame=int(f))
                                                      for f in frames), instances=inst, individuals=d.track_names)
    path = out / "labels.slp"
    write_labels(labels, path)
    return path


def above_cage(model: Path, labels: Path, max_animals=None) -> tuple[int, int]:
    from mapose.training.evaluate import predict_labelled

    run = predict_labelled(model, labels, max_animals=max_animals)
    middles = [np.nanmean(k, axis=1) for k in run["keypoints"] if len(k)]
    allm = np.concatenate(middles) if middles else np.zeros((0, 2))
    return len(allm), int((allm[:, 1] < CAGE_TOP_Y).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--out", default=str(REPO / "runs" / "mice_triplet"))
    ap.add_argument("--config", help="training config YAML (default: mapose's defaults)")
    ap.add_argument("--track", action="store_true",
                    help="also analyse and track the whole video and score the tracks")
    args = ap.parse_args()

    from mapose.cli import main as cli

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    labels = make_labels(out)
    model = out / "model"
    cmd = ["train", "--labels", str(labels), "--out", str(model), "--minutes", str(args.minutes),
           "--val-fraction", "0.2", "--no-progress"] + (["--config", args.config] if args.config else [])
    if cli(cmd) != 0 or cli(["evaluate", "--model", str(model), "--labels", str(labels),
                             "--json", str(out / "eval.json")]) != 0:
        raise SystemExit("training or evaluation failed (see above)")
    res = json.loads((out / "eval.json").read_text())
    n, high = above_cage(model, labels)
    n3, high3 = above_cage(model, labels, max_animals=3)
    print(json.dumps({k: res[k] for k in ("rmse_px", "median_px", "pck3", "pck5", "map_oks", "detected")}
                     | {"detections": n, "above_the_cage": high, "detections_best3": n3,
                        "above_the_cage_best3": high3}, indent=1))
    if args.track:
        video = (shared_data_root() / STEM).with_suffix(".mp4")
        for n in ("auto", "any"):
            tracks = out / f"tracks_{n}.h5"
            if cli(["analyze", str(video), "--model", str(model), "--out", str(tracks), "--tta", "none",
                    "--n-animals", n, "--no-progress"]) != 0:
                raise SystemExit("analysis failed (see above)")
            if cli(["evaluate-tracks", "--pred", str(tracks), "--truth", str(video.with_suffix(".h5")),
                    "--json", str(out / f"tracks_{n}.json")]) != 0:
                raise SystemExit("scoring the tracks failed (see above)")


if __name__ == "__main__":
    main()
