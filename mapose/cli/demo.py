"""``mapose demo``: the whole pipeline on the bundled two-fly sample, in a few CPU minutes.

Steps (each one is an ordinary mapose command, printed before it runs so users can copy it):

1. ``mapose info`` on the bundled SLEAP labels (55 human-labelled frames, 2 flies, 24 keypoints);
2. ``mapose train`` a pose model (ImageNet-pretrained EfficientNet-Lite0, offline) for ``--minutes``;
3. ``mapose evaluate`` on labelled frames the model never saw (frames >= 700);
4. ``mapose analyze`` the sample video (streaming; tracks 2 animals) -> ``tracks.h5`` (DLC layout),
   with ``--tta none`` to keep the demo short (the default averages 4 turned copies of each frame:
   more accurate, 4x the model time);
5. ``mapose label-video`` -> ``labelled.mp4``;
6. ``mapose features`` -> per-animal and per-pair kinematics table + plots;
7. ``mapose cluster --mode pair`` -> ``clusters/``: social behaviours discovered without labels (UMAP +
   HDBSCAN), with an ethogram, statistics, transitions and the typical bouts to watch;
8. ``mapose convert`` the tracks to SLEAP ``.slp`` and NWB;
9. ``mapose extract-frames`` -> ``frames_to_label.slp``: the 10 frames where the model was least sure,
   with its predictions, to correct on the dashboard's Labelling page (or in SLEAP) and train on next.

Re-running the demo resumes: a finished training or analysis is not redone.
"""

from __future__ import annotations

HELP = ("run the whole pipeline (train, evaluate, analyse, track, label video, kinematics, behaviour "
        "clusters, frames to label next) on the bundled sample")


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="demo_output", help="output folder (default demo_output)")
    parser.add_argument("--minutes", type=float, default=4.0,
                        help="training budget in minutes (default 4; 20 gives the accuracy we report)")


def sample_dir():
    from pathlib import Path

    from mapose.errors import MaposeError

    d = Path(__file__).resolve().parents[2] / "data" / "flies_centered_pair"
    if not (d / "labels.train.slp").exists():
        raise MaposeError(f"bundled sample not found in {d}; run the demo from a source checkout")
    return d


def run(args) -> int:
    import shlex
    import time
    from pathlib import Path

    from mapose.cli import main
    from mapose.errors import MaposeError

    data = sample_dir()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    labels = str(data / "labels.train.slp")
    video = str(data / "centered_pair_low_quality.mp4")
    model = str(out / "model")
    tracks = str(out / "tracks.h5")
    steps = [
        ["info", labels],
        ["train", "--labels", labels, "--out", model, "--minutes", str(args.minutes),
         "--val-frames-from", "700", "--config", str(data / "train_config.yaml")],
        ["evaluate", "--model", model, "--labels", labels, "--json", str(out / "evaluation.json")],
        ["analyze", video, "--model", model, "--out", tracks, "--n-animals", "2", "--tta", "none"],
        ["label-video", video, tracks, "--out", str(out / "labelled.mp4"), "--trail", "10"],
        ["features", tracks, "--out", str(out / "features.parquet"), "--mode", "all",
         "--plots", str(out / "plots")],
        ["cluster", tracks, "--out", str(out / "clusters"), "--mode", "pair"],
        ["convert", tracks, str(out / "tracks.slp")],
        ["convert", tracks, str(out / "tracks.nwb")],
        ["extract-frames", video, "--out", str(out / "frames_to_label.slp"), "--tracks", tracks,
         "--n", "10", "--exclude", labels],
    ]
    t_all = time.perf_counter()
    for i, step in enumerate(steps, 1):
        print(f"\n[{i}/{len(steps)}] mapose {shlex.join(step)}", flush=True)
        t0 = time.perf_counter()
        code = main(step)
        if code != 0:
            raise MaposeError(f"demo step 'mapose {step[0]}' failed (exit code {code})")
        print(f"    done in {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"\nDemo finished in {(time.perf_counter() - t_all) / 60:.1f} min. Outputs in {out}/:")
    for p in sorted(out.rglob("*")):
        if p.is_file() and "checkpoints" not in p.parts and "logs" not in p.parts:
            print(f"  {p}")
    print(f"\nNext: look at the results and correct the frames the model was least sure of:\n"
          f"  mapose dashboard {out / 'frames_to_label.slp'}   (Labelling page)")
    return 0
