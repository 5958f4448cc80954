"""Finding the arena in real videos: where it works, where it refuses, how long it takes.

    python benchmarks/arena_detection.py [--out arena_check]

Videos: every one in ``../shared/data`` that comes with tracks of the same session (MABe22 mice
triplet, VAME mouse, the 3000-frame and tutorial fly pairs), the bundled ``flies_dreem`` clip, and
the DeepLabCut open-field video (no tracks of that session).  For each: seconds to take the
background (median of 40 frames), the arena :func:`mapose.kinematics.arena.detect_arena` finds
(with the animals' positions when there are tracks) or its refusal, the share of the animals'
positions inside it, and its intersection over union with the arena taken from the tracks
(:func:`~mapose.kinematics.arena.arena_from_tracks`, margin 5 px).  ``--out`` saves each
background with both arenas drawn, to be looked at: a number cannot say whether the edge found
is the arena's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from mapose.core.regions import CIRCLE_VERTICES
from mapose.errors import MaposeError
from mapose.io import read_tracks
from mapose.kinematics.arena import arena_from_tracks, detect_arena, video_background

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "data"
CASES = [  # name, video, tracks of the same session (or None)
    ("mabe22_mice", SHARED / "mice_mabe22_triplet/EGS8X2MN4SSUGFWAV976.mp4",
     SHARED / "mice_mabe22_triplet/EGS8X2MN4SSUGFWAV976.h5"),
    ("vame_mouse", SHARED / "mouse_vame_sample/cropped_video.mp4", SHARED / "mouse_vame_sample/cropped_video.nc"),
    ("flies_3000f", SHARED / "flies_3000f_sleap/video/20190128_113421.120s.mp4",
     SHARED / "flies_3000f_sleap/predictions/predictions.slp"),
    ("flies_tutorial", ROOT / "data/flies_tutorial_pair/video/fly_clip.mp4",
     ROOT / "data/flies_tutorial_pair/predictions/predictions.slp"),
    ("flies_dreem", ROOT / "data/flies_dreem/two_flies.mp4", ROOT / "data/flies_dreem/two_flies.slp"),
    ("dlc_openfield", SHARED / "mouse_openfield_dlc/videos/m3v1mp4.mp4", None),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="folder for the pictures (backgrounds with the arenas drawn)")
    args = ap.parse_args()
    import shapely

    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    print(f"{'video':16} {'background s':>12}  {'found in the video':40} {'inside':>7} {'IoU tracks':>10}")
    for name, video, tracks in CASES:
        if not video.exists():
            print(f"{name:16} (not here: {video})")
            continue
        t = time.perf_counter()
        bg = video_background(video)
        t_bg = time.perf_counter() - t
        ds = read_tracks(tracks) if tracks is not None and tracks.exists() else None
        pts = None if ds is None else ds["position"].transpose(..., "space").values.reshape(-1, 2)
        pts = None if pts is None else pts[np.isfinite(pts).all(axis=1)]
        try:
            found = detect_arena(bg, pts)
            kind = {5: "rectangle", CIRCLE_VERTICES + 1: "circle"}.get(len(found.geometry.exterior.coords), "polygon")
            x0, y0, x1, y1 = found.bounds
            what = f"{kind} x {x0:.0f}-{x1:.0f}, y {y0:.0f}-{y1:.0f}"
        except MaposeError as exc:
            found, what = None, "refused: " + str(exc).split(":")[1].split(";")[0].strip()
        inside = iou = "-"
        from_tracks = arena_from_tracks(ds, margin=5) if ds is not None else None
        if found is not None and pts is not None:
            inside = f"{100 * shapely.intersects_xy(found.geometry, pts[:, 0], pts[:, 1]).mean():.1f} %"
            a, b = found.geometry, from_tracks.geometry
            iou = f"{a.intersection(b).area / a.union(b).area:.3f}"
        print(f"{name:16} {t_bg:12.2f}  {what[:40]:40} {inside:>7} {iou:>10}")
        if args.out:
            import cv2

            from mapose.core.regions import Region
            from mapose.viz.regions import draw_regions

            shown = [Region("video", found.geometry)] if found is not None else []
            shown += [Region("tracks", from_tracks.geometry)] if from_tracks is not None else []
            img = np.repeat(bg[:, :, None], 3, axis=2)
            img = draw_regions(img, shown) if shown else img
            cv2.imwrite(str(Path(args.out) / f"{name}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))

if __name__ == "__main__":
    main()
