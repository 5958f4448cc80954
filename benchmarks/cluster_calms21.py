"""Unsupervised clustering of CalMS21 resident-intruder windows vs the human labels.

Clusters the 1400 13-frame windows of ``../shared/data/mice_calms21_windows`` WITHOUT labels (each
window is its own session: windows never cross sessions), then scores the cluster of each
window's centre frame (frame 6) for the resident (animal mode: subject ``resident``; pair mode:
subject ``resident|intruder``) against the human label (other / investigation / mount):

- adjusted mutual information (scikit-learn ``adjusted_mutual_info_score``);
- per human label: the cluster holding most of its windows, that cluster's purity (share of its
  windows with this label) and the label's recall in it.

Pair mode (social features of both mice) is compared with animal mode (the resident's own
egocentric features only).

    python benchmarks/cluster_calms21.py [--root DIR] [--seed 0] [--config CFG.yaml]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._datasets import CALMS21_CENTRE, load_calms21_windows  # noqa: E402
from mapose.behaviour.clustering import BehaviourClusterer, ClusterConfig  # noqa: E402

NAMES = {0: "other", 1: "investigation", 2: "mount"}


def score(clusters: np.ndarray, human: np.ndarray) -> dict:
    from sklearn.metrics import adjusted_mutual_info_score

    ct = pd.crosstab(pd.Series(clusters, name="cluster"), pd.Series(human, name="human"))
    per = {}
    for lbl in ct.columns:
        best = ct[lbl].idxmax()
        per[NAMES[int(lbl)]] = {
            "cluster": int(best),
            "purity": float(ct.loc[best, lbl] / ct.loc[best].sum()),
            "recall": float(ct.loc[best, lbl] / ct[lbl].sum()),
        }
    return {"ami": float(adjusted_mutual_info_score(human, clusters)),
            "n_clusters_seen": int(len(ct.index)), "per_label": per,
            "crosstab": {int(k): {NAMES[int(c)]: int(v) for c, v in row.items()}
                         for k, row in ct.iterrows()}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--config", default=None, help="ClusterConfig YAML (mode is set per run)")
    ap.add_argument("--modes", default="pair,animal")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    tracks, inv, mount = load_calms21_windows(args.root)
    human = np.where(mount == 1, 2, np.where(inv == 1, 1, 0))
    print(f"loaded {len(tracks)} windows in {time.perf_counter() - t0:.0f} s; human labels "
          f"other/investigation/mount = {np.bincount(human, minlength=3).tolist()}")
    if args.config:
        from mapose.config import load_yaml

        base = load_yaml(args.config, ClusterConfig)
    else:
        base = ClusterConfig()
    sessions = [f"window{i:04d}" for i in range(len(tracks))]
    results = {}
    for mode in args.modes.split(","):
        import dataclasses

        cfg = dataclasses.replace(base, mode=mode, seed=args.seed)
        t = time.perf_counter()
        model = BehaviourClusterer.from_config(cfg).fit(tracks, sessions=sessions, progress=True)
        lab = model.labels_
        subject = "resident|intruder" if mode == "pair" else "resident"
        centre = lab[(lab["frame"] == CALMS21_CENTRE) & (lab["subject"] == subject)]
        centre = centre.set_index("session").loc[sessions]
        res = score(centre["cluster"].to_numpy(), human)
        res.update({"seconds": round(time.perf_counter() - t, 1), "n_clusters": model.n_clusters_,
                    "noise_fraction_embedding": model.noise_fraction_,
                    "agreement_classifier_vs_transform": model.agreement_,
                    "n_features": len(model.feature_names_)})
        results[mode] = res
        print(f"[{mode}] AMI {res['ami']:.3f}  clusters {res['n_clusters']}  "
              f"agreement {res['agreement_classifier_vs_transform']:.3f}  ({res['seconds']} s)")
        for name, p in res["per_label"].items():
            print(f"    {name:13s} -> cluster {p['cluster']}: purity {p['purity']:.2f}, "
                  f"recall {p['recall']:.2f}")
    if args.json:
        from mapose.io._files import atomic_write_text

        atomic_write_text(args.json, json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
