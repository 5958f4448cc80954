"""Tracking accuracy on the shared real data: strip identities, re-track, compare.

- ``flies_dreem`` (two_flies, two_flies_noisy_detections, three_flies, single_fly): reference
  identities on every frame; reports MOTA, IDF1, ID switches, fragmentations per clip.
- ``mice_mabe22_triplet`` and ``flies_3000f_sleap``: the provided tracks are another tracker's
  output; reports agreement (same metrics, the provided tracks as reference) and the frames where
  the identities disagree.  ``--render DIR`` writes labelled crops around those frames (ours
  left, theirs right) to look at who is right.

Run: ``python benchmarks/track_shared.py [--json results.json] [--render /tmp/track_frames]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mapose import io  # noqa: E402
from mapose.core import tracks_to_detections  # noqa: E402
from mapose.tracking import Tracker, evaluate_tracks  # noqa: E402

KEYS = ("idf1", "mota", "num_switches", "num_fragmentations", "num_false_positives", "num_misses")


def _root() -> Path:
    for cand in (Path(__file__).resolve().parents[1] / "../shared/data", Path("/work/shared/data")):
        if cand.is_dir():
            return cand.resolve()
    raise SystemExit("shared data folder not found (expected ../shared/data)")


def _clip(name: str, slp: Path, video: Path, truth_slp: Path | None = None) -> dict:
    from mapose.io.slp import read_detections

    det = read_detections(slp).without_identities()  # every instance, spurious ones included
    truth = io.read_tracks(truth_slp or slp)
    n = truth.sizes["individuals"]
    t0 = time.perf_counter()
    tracker = Tracker(n_animals=n)
    pred = tracker.fit_track(det, video=video)
    dt = time.perf_counter() - t0
    m = evaluate_tracks(pred, truth)
    return {"clip": name, "animals": n, "frames": det.n_frames, "detections": len(det),
            "seconds": round(dt, 2), **{k: m[k] for k in KEYS},
            "switch_frames": m["switch_frames"], "threshold_px": round(m["threshold_px"], 1),
            "swap_events": len(tracker.swap_events_), "tracklets": tracker.n_tracklets_}


def _disagreements(pred, ref, threshold: float) -> list[tuple[int, int]]:
    """Runs of frames (start, stop) where the per-frame matching of our identities to theirs
    differs from the majority mapping."""
    from mapose.tracking.costs import centroids

    def cen(ds):
        p = ds["position"].transpose("time", "individuals", "keypoints", "space").values
        return centroids(p.reshape(-1, p.shape[2], 2)).reshape(p.shape[0], p.shape[1], 2)

    cp, cr = cen(pred), cen(ref)
    t_n, n_p, n_r = cp.shape[0], cp.shape[1], cr.shape[1]
    d = np.hypot(cp[:, :, None, 0] - cr[:, None, :, 0], cp[:, :, None, 1] - cr[:, None, :, 1])
    d = np.nan_to_num(d, nan=np.inf)  # (T, P, R)
    nearest = d.argmin(axis=2)  # their animal nearest to each of ours
    seen = d.min(axis=2) <= threshold
    counts = np.zeros((n_p, n_r), int)
    for i in range(n_p):
        counts[i] = np.bincount(nearest[seen[:, i], i], minlength=n_r)
    major = counts.argmax(axis=1)  # our individual -> their individual, most frames
    bad = (seen & (nearest != major[None, :])).any(axis=1)
    runs, start = [], None
    for t, b in enumerate(bad):
        if b and start is None:
            start = t
        if not b and start is not None:
            runs.append((start, t))
            start = None
    if start is not None:
        runs.append((start, t_n))
    return runs


def _compare(name: str, path: Path, video: Path | None, render: Path | None) -> dict:
    ref = io.read_tracks(path)
    det = tracks_to_detections(ref)
    n = ref.sizes["individuals"]
    t0 = time.perf_counter()
    tracker = Tracker(n_animals=n)
    pred = tracker.fit_track(det, video=video)
    dt = time.perf_counter() - t0
    m = evaluate_tracks(pred, ref)
    runs = _disagreements(pred, ref, m["threshold_px"])
    out = {"clip": name, "animals": n, "frames": det.n_frames, "detections": len(det),
           "seconds": round(dt, 2), **{k: m[k] for k in KEYS}, "switch_frames": m["switch_frames"],
           "disagreement_runs": runs, "disagreeing_frames": int(sum(b - a for a, b in runs)),
           "swap_events": tracker.swap_events_.to_dict("records"), "tracklets": tracker.n_tracklets_}
    out["appearance_weight"] = round(tracker.appearance_weight_, 3)
    if render is not None and runs and video is not None:
        _render(pred, ref, video, runs, render / name)
    return out


def _render(pred, ref, video: Path, runs, folder: Path, max_runs: int = 6) -> None:
    """Side-by-side crops (ours | theirs) of the frames around disagreements."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    colours = [(0, 0, 255), (0, 255, 0), (255, 0, 0), (0, 255, 255), (255, 0, 255)]
    cap = cv2.VideoCapture(str(video))
    for a, b in runs[:max_runs]:
        last = min(pred.sizes["time"], ref.sizes["time"]) - 1  # a run may end at the last frame + 1
        for f in sorted({max(a - 2, 0), a, (a + b) // 2, min(b, last)}):
            cap.set(cv2.CAP_PROP_POS_FRAMES, f)
            ok, img = cap.read()
            if not ok:
                continue
            panels = []
            for ds in (pred, ref):
                im = img.copy()
                pos = ds["position"].sel(time=ds["time"][f]).transpose("individuals", "keypoints", "space").values
                for i, kp in enumerate(pos):
                    col = colours[i % len(colours)]
                    for x, y in kp[np.isfinite(kp).all(axis=1)]:
                        cv2.circle(im, (int(x), int(y)), 3, col, -1)
                    c = np.nanmean(kp, axis=0)
                    if np.isfinite(c).all():
                        cv2.putText(im, str(ds["individuals"].values[i]), (int(c[0]), int(c[1])),
                                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, col, 1)
                cv2.putText(im, f"frame {f}", (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
                panels.append(im)
            cv2.imwrite(str(folder / f"frame_{f:05d}.png"), np.concatenate(panels, axis=1))
    cap.release()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", default=None, help="write all results here")
    ap.add_argument("--render", default=None, help="folder for labelled frames at disagreements")
    args = ap.parse_args()
    root = _root()
    dreem = root / "flies_dreem"
    results = []
    print(f"{'clip':<28} {'n':>2} {'frames':>6} {'IDF1':>7} {'MOTA':>7} {'IDsw':>5} {'frag':>5} {'FP':>4} {'miss':>5} {'s':>6}")
    for name, video in (("two_flies", "two_flies"), ("two_flies_noisy_detections", "two_flies"),
                        ("three_flies", "three_flies"), ("single_fly", "single_fly")):
        truth = dreem / "two_flies.slp" if name.endswith("noisy_detections") else None
        r = _clip(name, dreem / f"{name}.slp", dreem / f"{video}.mp4", truth)
        results.append(r)
        print(f"{name:<28} {r['animals']:>2} {r['frames']:>6} {r['idf1']:>7.4f} {r['mota']:>7.4f} "
              f"{r['num_switches']:>5} {r['num_fragmentations']:>5} {r['num_false_positives']:>4} "
              f"{r['num_misses']:>5} {r['seconds']:>6.2f}")
    render = Path(args.render) if args.render else None
    for name, path, video in (
        ("mice_mabe22_triplet", root / "mice_mabe22_triplet/EGS8X2MN4SSUGFWAV976.h5",
         root / "mice_mabe22_triplet/EGS8X2MN4SSUGFWAV976.mp4"),
        ("flies_3000f_sleap", root / "flies_3000f_sleap/predictions/predictions.slp",
         root / "flies_3000f_sleap/video/20190128_113421.120s.mp4"),
    ):
        for vid in (None, video):
            r = _compare(name, path, vid, render)
            r["video"] = str(vid) if vid else ""
            results.append(r)
            label = f"{name[:14]} vs provided, {'video' if vid else 'no video'}"
            print(f"{label:<28} {r['animals']:>2} {r['frames']:>6} {r['idf1']:>7.4f} "
                  f"{r['mota']:>7.4f} {r['num_switches']:>5} {r['num_fragmentations']:>5} "
                  f"{r['num_false_positives']:>4} {r['num_misses']:>5} {r['seconds']:>6.2f}")
            print(f"    appearance weight {r['appearance_weight']}; disagreement runs (frames): "
                  f"{r['disagreement_runs'][:12]}{' ...' if len(r['disagreement_runs']) > 12 else ''}; "
                  f"swap events flagged: {[(e['frame'], round(e['confidence'], 2)) for e in r['swap_events']][:12]}")
    if args.json:
        io.atomic_write_text(args.json, json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
