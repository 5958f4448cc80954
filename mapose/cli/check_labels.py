"""``mapose check-labels LABELS...``: list likely labelling mistakes (swapped sides, odd limb
lengths, animals added twice, parts left on one pixel, parts off the image)."""

from __future__ import annotations

HELP = "find likely labelling mistakes: swapped left/right parts, odd limb lengths, duplicates"


def add_arguments(parser) -> None:
    parser.add_argument("labels", nargs="+", help="label files (SLEAP, DeepLabCut, COCO, ...)")
    parser.add_argument("--z", type=float, default=6.0,
                        help="robust z-score from which a limb length is reported (default 6)")
    parser.add_argument("--json", metavar="OUT.json", help="also write the issues as JSON")
    parser.add_argument("--images", metavar="DIR",
                        help="draw each frame with an issue: DIR/<label file>_frame<N>.png, "
                             "the body parts concerned in red")


def image_sizes(labels) -> dict:
    """``{path as written: (height, width)}`` of the label file's videos and images that exist."""
    import cv2

    from mapose.data.frames import resolve_media
    from mapose.errors import MaposeError
    from mapose.io.video import probe_video

    sizes = {}
    for ref in labels.images:
        key = ref.video or ref.image
        if key in sizes:
            continue
        try:
            path = resolve_media(labels, key)
            if ref.video:
                info = probe_video(path, check_decodable=False)
                sizes[key] = (int(info["height"]), int(info["width"]))
            else:
                img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
                if img is not None:
                    sizes[key] = img.shape[:2]
        except (MaposeError, OSError, KeyError, TypeError):
            sizes[key] = None  # media not found: no off-image check for it
    return {k: v for k, v in sizes.items() if v}


def draw(labels, issues, out_dir, stem: str) -> list[str]:
    """One picture per frame with issues, cropped around the animals concerned: keypoints in
    green, the parts named by an issue in red with their names, the issues as text above."""
    from pathlib import Path

    import cv2
    import numpy as np

    from mapose.data.frames import load_images
    from mapose.errors import MaposeError
    from mapose.io._files import atomic_path

    by_image: dict[int, list] = {}
    for s in issues:
        by_image.setdefault(s.image, []).append(s)
    names = labels.skeleton.keypoints
    paths = []
    for i, its in by_image.items():
        try:
            img = load_images(labels, [i])[i]
        except MaposeError as exc:  # media not bundled with the labels: say so, draw the others
            print(f"  no picture of frame {its[0].frame}: {exc}")
            continue
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.shape[2] == 1 else img[..., ::-1].copy()
        # crop around the animals concerned, enlarged so that small animals can be seen
        pts = np.concatenate([labels.instances.keypoints[s.instance] for s in its])
        pts = pts[np.isfinite(pts).all(1)]
        lo, hi = pts.min(0), pts.max(0)
        margin = max(0.5 * float((hi - lo).max()), 40.0)
        x0, y0 = (max(0, int(v - margin)) for v in lo)
        x1, y1 = int(min(img.shape[1], hi[0] + margin)), int(min(img.shape[0], hi[1] + margin))
        up = max(1, int(512 // max(x1 - x0, y1 - y0, 1)))
        img = cv2.resize(img[y0:y1, x0:x1], ((x1 - x0) * up, (y1 - y0) * up), interpolation=cv2.INTER_CUBIC)
        img = cv2.copyMakeBorder(img, 16 * len(its) + 8, 0, 0, max(0, 700 - img.shape[1]),
                                 cv2.BORDER_CONSTANT, value=(0, 0, 0))
        top = 16 * len(its) + 8
        flagged = {(s.instance, k) for s in its for k in s.keypoints}
        for j in np.flatnonzero(np.asarray(labels.instances.frame) == i):
            for k, p in enumerate(labels.instances.keypoints[j]):
                if not np.isfinite(p).all():
                    continue
                q = (int((p[0] - x0) * up), int((p[1] - y0) * up) + top)
                red = (int(j), names[k]) in flagged
                cv2.circle(img, q, 4 if red else 3, (0, 0, 255) if red else (0, 200, 0), -1)
                if red:
                    cv2.putText(img, names[k], (q[0] + 5, q[1] - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                                (0, 0, 255), 1)
        for n, s in enumerate(its):
            cv2.putText(img, f"animal {s.animal}: {s.message}"[:110], (5, 18 + 16 * n),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1)
        path = Path(out_dir) / f"{stem}_frame{its[0].frame}.png"
        with atomic_path(path) as tmp:
            cv2.imwrite(str(tmp), img)
        paths.append(str(path))
    return paths


def run(args) -> int:
    from pathlib import Path

    from mapose.data.label_checks import check_labels, summary
    from mapose.io import read_labels
    from mapose.io._files import write_json

    from mapose.cli._common import refuse_overwriting_inputs
    from mapose.errors import MaposeError

    refuse_overwriting_inputs(args.json, args.labels, "--json")
    refuse_overwriting_inputs(args.images, args.labels, "--images")
    if args.z is not None and not (args.z > 0):  # NaN fails too
        raise MaposeError(f"--z must be a positive robust z-score, got {args.z}")
    report = []
    for path in args.labels:
        labels = read_labels(path)
        n_all = len(labels.instances.frame)
        if labels.is_user is not None and not labels.is_user.any():
            print(f"{path}: no human-labelled animal, only {n_all} predicted ones; nothing to check "
                  "(check-labels looks for mistakes in human labels)")
            report.append({"labels": str(path), "issues": [], "labelled_animals": 0, "predicted_animals": n_all})
            continue
        issues = check_labels(labels, z=args.z, image_sizes=image_sizes(labels))
        n_user = int(labels.is_user.sum()) if labels.is_user is not None else n_all
        print(f"{path}: {n_user} labelled animals; likely mistakes: {summary(issues)}")
        for s in issues:
            print(f"  {s.kind:18s} {Path(s.video).name} frame {s.frame} animal {s.animal}: {s.message}")
        rec = {"labels": str(path), "issues": [s.to_dict() for s in issues]}
        if args.images and issues:
            rec["images"] = draw(labels, issues, args.images, Path(path).stem)
            print(f"  pictures: {args.images}")
        report.append(rec)
    if args.json:
        write_json(Path(args.json), report)
    return 0
