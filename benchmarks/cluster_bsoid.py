"""B-SOiD open-field demo (1 mouse, 6 body parts, 2 x 7200 frames at 60 fps) through ``mapose cluster``.

Runs the command-line tool on both DLC ``.h5`` files (animal mode), so the ethogram, transition
graph, statistics, typical bouts and model land in ``--out``; then prints the number of clusters,
the fraction of frames assigned to a cluster (not noise) and the noise share of the HDBSCAN
embedding, and checks that a second run with the same seed gives identical labels.

    python benchmarks/cluster_bsoid.py [--out /tmp/bsoid_clusters] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._datasets import shared_data_root  # noqa: E402
from mapose.cli import main as mapose_main  # noqa: E402

FPS = 60.0
DEFAULT_CONFIG = """\
feature_config:
  nose: Snout
  tail_base: Butt/Proximal Tail
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/bsoid_clusters")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--config", default=None)
    ap.add_argument("--repeat", action="store_true", help="run twice and compare the labels")
    args = ap.parse_args(argv)
    files = sorted(str(p) for p in (shared_data_root() / "mouse_openfield_bsoid").glob("*.h5"))
    if len(files) != 2:
        print(f"expected 2 .h5 files, found {files}")
        return 1

    def command(out):
        cmd = ["cluster", *files, "--out", out, "--mode", "animal", "--seed", str(args.seed),
               "--fps", str(FPS)]
        return cmd + (["--config", args.config] if args.config else [])

    if args.config is None:
        # the tail base of this project is called "Butt/Proximal Tail": name it for the features
        Path(args.out).mkdir(parents=True, exist_ok=True)
        args.config = str(Path(args.out).parent / "bsoid_cluster_config.yaml")
        Path(args.config).write_text(DEFAULT_CONFIG)
    cmd = command(args.out)
    t = time.perf_counter()
    rc = mapose_main(cmd)
    print(f"mapose {' '.join(cmd)} -> rc {rc} in {time.perf_counter() - t:.0f} s")
    if rc:
        return rc
    summary = json.loads((Path(args.out) / "summary.json").read_text())
    print(json.dumps({k: summary[k] for k in ("rows", "n_clusters", "fraction_assigned",
                                               "noise_fraction_in_embedding",
                                               "agreement_classifier_vs_transform")}, indent=1))
    stats = pd.read_csv(Path(args.out) / "cluster_stats.csv")
    print(stats[stats["subject"] == "all"].to_string(index=False))
    if args.repeat:
        out2 = args.out.rstrip("/") + "_repeat"
        rc = mapose_main(command(out2))
        a = pd.read_csv(Path(args.out) / "labels.csv")
        b = pd.read_csv(Path(out2) / "labels.csv")
        print(f"same seed, second run: identical labels = {a.equals(b)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
