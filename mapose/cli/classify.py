"""``mapose classify``: train behaviour classifiers from annotations; score new pose files.

Train (pose and annotation files are paired by order)::

    mapose classify train --pose a.h5 b.h5 --annotations a.csv b.csv --out model/ \\
        [--rename OLD=NEW ...] [--px-per-cm 32 | --px-per-cm 32 28] [--fps 50] \\
        [--mode animal|pair] [--windows 5 15 45] [--min-bout-s 0.9] [--include 'kp_speed*'] \\
        [--median-window 5 --savgol-window 15]

writes ``model/manifest.json`` + ``model/estimators.skops`` (the classifier), and the grouped
cross-validation report: ``validation.csv`` (precision, recall, F1, average precision, bout
agreement per behaviour), ``pr_curves.png``, ``feature_importance.csv`` / ``.png``.

Predict::

    mapose classify predict --model model/ --pose c.h5 [d.h5 ...] --out results/ \\
        [--rename OLD=NEW ...] [--px-per-cm V ...]

writes ``results/<pose stem>.csv`` (``frame``, ``subject``, and per behaviour ``B_prob`` and
``B``), ``<stem>_bouts.csv`` and ``<stem>_ethogram.png``; with ``--regions``, also where each
behaviour happens, ``<stem>_regions.csv`` (:func:`mapose.behaviour.regions.behaviours_by_region`).

Annotation files: any format of :mod:`mapose.io.annotations` (the simplest: a CSV with a
``frame`` column and one 0/1 column per behaviour).
"""

from __future__ import annotations

HELP = "train supervised behaviour classifiers from annotations, or score new pose files"


def _common(p) -> None:
    p.add_argument("--pose", nargs="+", required=True, metavar="P", help="pose files")
    p.add_argument("--rename", nargs="+", default=[], metavar="OLD=NEW",
                   help="rename body parts of the pose files before use")
    p.add_argument("--px-per-cm", nargs="+", type=float, default=None, metavar="V",
                   help="pixels per cm: one value for all pose files or one per file")
    p.add_argument("--fps", type=float, default=None, help="frame rate for files that lack one")
    p.add_argument("--regions", nargs="+", default=None, metavar="R",
                   help="regions files (.yaml or .geojson; one for all pose files or one per file): their "
                        "in_<region> / dist_<region> features are used; to predict, give the regions the "
                        "classifier was trained with, drawn on each video")
    p.add_argument("--format", default=None, help="force the pose format (default: sniffed)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads (default: all; 1 is fastest on a busy shared machine)")


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    t = sub.add_parser("train", help="train classifiers from pose files and their annotations")
    _common(t)
    t.add_argument("--annotations", nargs="+", required=True, metavar="A",
                   help="annotation files, paired with --pose by order")
    t.add_argument("--out", required=True, metavar="MODEL", help="output model folder")
    t.add_argument("--behaviours", nargs="+", default=None, help="behaviours to learn (default: all)")
    t.add_argument("--mode", choices=("animal", "pair"), default="animal",
                   help="features per animal or per ordered pair (social behaviours)")
    t.add_argument("--windows", nargs="+", type=int, default=[5, 15, 45],
                   help="rolling window sizes in frames (default 5 15 45)")
    t.add_argument("--keypoints", nargs="+", default=None,
                   help="body parts to use (default: all of the first file, after --rename)")
    t.add_argument("--estimator", choices=("hist_gradient_boosting", "random_forest"),
                   default="hist_gradient_boosting")
    mb = t.add_mutually_exclusive_group()
    mb.add_argument("--min-bout", type=int, default=None, help="shortest bout kept, frames")
    mb.add_argument("--min-bout-s", type=float, default=None, help="shortest bout kept, seconds")
    t.add_argument("--n-splits", type=int, default=5, help="grouped cross-validation folds")
    t.add_argument("--include", nargs="+", default=None, metavar="PATTERN",
                   help="use only features matching these shell patterns (e.g. 'kp_speed*')")
    t.add_argument("--exclude", nargs="+", default=None, metavar="PATTERN",
                   help="leave out features matching these patterns")
    t.add_argument("--median-window", type=int, default=None,
                   help="rolling-median smoothing of the positions before features (frames)")
    t.add_argument("--savgol-window", type=int, default=None,
                   help="Savitzky-Golay smoothing of the positions before features (frames, odd); "
                        "smoothing makes speeds comparable between cameras with different jitter")
    t.add_argument("--max-gap", type=int, default=None, help="interpolate gaps up to this many frames")
    t.add_argument("--max-iter", type=int, default=100, help="boosting iterations")
    t.add_argument("--max-leaf-nodes", type=int, default=31, help="leaves per boosting tree")
    t.add_argument("--min-samples-leaf", type=int, default=50, help="fewest rows per leaf")
    t.add_argument("--no-importance", action="store_true", help="skip permutation importance")
    t.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("predict", help="score pose files with a trained classifier")
    _common(p)
    p.add_argument("--model", required=True, help="model folder written by 'classify train'")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--keypoint", default=None,
                   help="with --regions: the point tested for where each behaviour happens (<stem>_regions.csv; "
                        "a keypoint name, or centroid, the default); a pair's is its first animal's")


def _calibrations(values, n):
    from mapose.errors import ConfigError

    if values is None:
        return [None] * n
    if len(values) == 1:
        return list(values) * n
    if len(values) != n:
        raise ConfigError(f"--px-per-cm: give one value for all {n} pose files or one per file; got {len(values)}")
    return list(values)


def _with_region_sizes(cal, regions, paths):
    """``--px-per-cm`` per file, taken from the region giving its ``size_cm`` where not given."""
    from mapose.kinematics.regions import calibration_from_regions

    out = []
    for c, rg, path in zip(cal, regions, paths):
        found = calibration_from_regions(rg) if c is None and rg else None
        if found is not None:
            print(f"{path}: {found[0]:.4g} px/cm from region {found[1]!r} and its size_cm")
        out.append(found[0] if found is not None else c)
    return out


def _check_numbers(args, rules) -> None:
    """Raise :class:`ConfigError` for a numeric option outside its range, before any work.

    ``rules``: ``(option, attribute, lowest, strict)``; ``strict`` means the value must exceed
    ``lowest`` (a positive rate), else it may equal it (a count).  ``None`` values are skipped;
    list options are checked value by value.
    """
    import math

    from mapose.errors import ConfigError

    for option, attr, lowest, strict in rules:
        value = getattr(args, attr, None)
        for v in (value if isinstance(value, list) else [value]):
            if v is None:
                continue
            ok = math.isfinite(v) and (v > lowest if strict else v >= lowest)
            if not ok:
                expected = f"> {lowest}" if strict else f">= {lowest}"
                raise ConfigError(f"{option} must be {expected}; got {v:g}")


#: Numeric options of both actions: (option, attribute, lowest, strict).
COMMON_NUMBERS = (("--fps", "fps", 0, True), ("--px-per-cm", "px_per_cm", 0, True),
                  ("--threads", "threads", 1, False))
TRAIN_NUMBERS = (("--windows", "windows", 1, False), ("--min-bout", "min_bout", 1, False),
                 ("--min-bout-s", "min_bout_s", 0, True), ("--n-splits", "n_splits", 2, False),
                 ("--median-window", "median_window", 1, False),
                 ("--savgol-window", "savgol_window", 1, False), ("--max-gap", "max_gap", 0, False),
                 ("--max-iter", "max_iter", 1, False), ("--max-leaf-nodes", "max_leaf_nodes", 2, False),
                 ("--min-samples-leaf", "min_samples_leaf", 1, False), ("--seed", "seed", 0, False))


def _read_pose(paths, fmt, fps, mode):
    """Read the pose files, each checked to give features in ``mode`` (frames, finite positions,
    two animals for ``"pair"``)."""
    from pathlib import Path

    from mapose import io
    from mapose.errors import ValidationError
    from mapose.kinematics import check_feature_input

    stems = [Path(p).stem for p in paths]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise ValidationError(f"several pose files share the file stem(s) {dup[:5]}; outputs would collide")
    kw = {"fps": fps} if fps is not None else {}
    return [check_feature_input(io.read_tracks(p, format=fmt, **kw), str(p), mode=mode) for p in paths], stems


def _train(args) -> int:
    from pathlib import Path

    import pandas as pd
    from tqdm import tqdm

    from mapose.behaviour.classifier import (
        parse_rename,
        save_classifier,
        train_classifier,
    )
    from mapose.cli._common import (
        check_regions_option,
        refuse_overwriting_inputs,
        regions_per_file,
    )
    from mapose.errors import ConfigError
    from mapose.io.annotations import read_annotations, write_table

    if len(args.pose) != len(args.annotations):
        raise ConfigError(
            f"{len(args.pose)} pose files but {len(args.annotations)} annotation files; they are paired by order"
        )
    _check_numbers(args, COMMON_NUMBERS + TRAIN_NUMBERS)
    from mapose.cli._common import check_odd_windows

    check_odd_windows(args, (("--median-window", "median_window"), ("--savgol-window", "savgol_window")))
    refuse_overwriting_inputs(args.out, [*args.pose, *args.annotations], "--out")
    rename = parse_rename(args.rename)
    cal = _calibrations(args.px_per_cm, len(args.pose))
    check_regions_option(args.regions, len(args.pose))
    tracks, stems = _read_pose(args.pose, args.format, args.fps, args.mode)
    regions = regions_per_file(args.regions, tracks)
    cal = _with_region_sizes(cal, regions, args.pose)
    anns = []
    for ds, a in tqdm(list(zip(tracks, args.annotations)), desc="annotations", unit="file",
                      disable=len(tracks) < 5):
        n_frames = int(ds["frame"].values.max()) + 1 if ds.sizes["time"] else 0
        anns.append(read_annotations(a, n_frames=n_frames, fps=args.fps or ds.attrs.get("fps")))
        if anns[-1].attrs.get("annotated_only"):
            looked = anns[-1].drop_duplicates("frame")["frame"].size
            print(f"{a}: {looked} of {n_frames} frames reviewed (rows '(annotated)' and bouts); the others are "
                  "left out of training")
    fps0 = args.fps or tracks[0].attrs.get("fps")
    if args.min_bout_s is not None:
        if not fps0:
            raise ConfigError("--min-bout-s needs a frame rate (--fps or pose files that carry one)")
        min_bout = max(1, int(round(args.min_bout_s * float(fps0))))
    else:
        min_bout = args.min_bout or 1
    print(f"training on {len(tracks)} session(s): {', '.join(stems)}")
    if args.regions:
        print(f"with the regions {', '.join(sorted(r.name for r in regions[0]))} of each video (in_ / dist_ features)")
    model = train_classifier(
        tracks, anns, behaviours=args.behaviours, mode=args.mode, windows=tuple(args.windows),
        keypoints=args.keypoints, rename=rename, px_per_cm=cal, fps=args.fps, sessions=stems,
        regions=regions if args.regions else None,
        importance=not args.no_importance, estimator=args.estimator, min_bout=min_bout,
        n_splits=args.n_splits, include=args.include, exclude=args.exclude,
        max_iter=args.max_iter, min_samples_leaf=args.min_samples_leaf, random_state=args.seed,
        max_leaf_nodes=args.max_leaf_nodes,
        cleaning={k: v for k, v in (("median_window", args.median_window),
                                    ("savgol_window", args.savgol_window),
                                    ("max_gap", args.max_gap)) if v is not None},
        n_threads=args.threads,
    )
    out = save_classifier(model, args.out)
    clf = model.classifier
    metrics = pd.DataFrame(clf.cv_["metrics"]).T.rename_axis("behaviour").reset_index()
    write_table(metrics, Path(out) / "validation.csv")
    from mapose.viz.classifier import plot_feature_importance, plot_pr_curves

    plot_pr_curves(clf.cv_["pr_curves"], clf.cv_["metrics"], Path(out) / "pr_curves.png")
    if model.info.get("importance"):
        imp = pd.DataFrame(model.info["importance"])
        write_table(imp, Path(out) / "feature_importance.csv")
        if len(imp):
            plot_feature_importance(imp, Path(out) / "feature_importance.png")
    unit = clf.cv_["fold_unit"]
    print(f"{clf.cv_['folds']}-fold cross-validation grouped by {unit} "
          f"({'sessions' if unit == 'session' else 'contiguous blocks of frames: few sessions'}):")
    for b, m in clf.cv_["metrics"].items():
        print(f"  {b}: precision {m['precision']:.3f} recall {m['recall']:.3f} F1 {m['f1']:.3f} "
              f"AP {m['average_precision']:.3f} bout F1 {m['bout_f1']:.3f} (threshold {m['threshold']:.2f})")
    print(f"model saved to {out}")
    return 0


def _predict(args) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from mapose.behaviour.classifier import bout_table, load_classifier, parse_rename
    from mapose.behaviour.regions import behaviours_by_region
    from mapose.cli._common import (
        check_keypoint_option,
        check_regions_option,
        refuse_overwriting_inputs,
        regions_per_file,
    )
    from mapose.errors import ConfigError
    from mapose.io._files import check_folder_path
    from mapose.io.annotations import write_annotations, write_table
    from mapose.viz.behaviour import plot_ethogram

    _check_numbers(args, COMMON_NUMBERS)
    out = Path(args.out)
    check_folder_path(out, "--out")
    for stem in (Path(p).stem for p in args.pose):
        for name in (f"{stem}.csv", f"{stem}_bouts.csv", f"{stem}_ethogram.png", f"{stem}_regions.csv"):
            refuse_overwriting_inputs(out / name, args.pose, "output")
    if args.keypoint is not None and not args.regions:
        raise ConfigError("--keypoint says which point places each behaviour in a region; it needs --regions")
    keypoint = args.keypoint or "centroid"
    model = load_classifier(args.model)
    if args.threads:
        model.classifier.n_threads = args.threads
    rename = parse_rename(args.rename)
    cal = _calibrations(args.px_per_cm, len(args.pose))
    check_regions_option(args.regions, len(args.pose))
    if args.regions and not model.spec.regions:
        print("note: this classifier was trained without regions; --regions only says where each behaviour "
              "happens")
    tracks, stems = _read_pose(args.pose, args.format, args.fps, model.spec.mode)
    regions = regions_per_file(args.regions, tracks)
    if args.regions:
        check_keypoint_option(keypoint, tracks, args.pose)
    cal = _with_region_sizes(cal, regions, args.pose)
    # score every file before writing anything: a bad file leaves no partial results behind
    preds = []
    with tqdm(total=len(tracks), desc="scoring", unit="file", disable=len(tracks) < 2) as bar:
        for ds, c, path, rg in zip(tracks, cal, args.pose, regions):
            preds.append(model.predict_tracks(ds, rename=rename, px_per_cm=c, fps=args.fps, what=str(path),
                                              regions=rg if model.spec.regions else None))
            bar.update()
    out.mkdir(parents=True, exist_ok=True)
    for ds, stem, path, pred, rg in zip(tracks, stems, args.pose, preds, regions):
        fps = args.fps or ds.attrs.get("fps")
        write_annotations(pred, out / f"{stem}.csv")
        if args.regions:
            write_table(behaviours_by_region(pred, ds, rg, model.behaviours, keypoint=keypoint),
                        out / f"{stem}_regions.csv")
        bouts = bout_table(pred, model.behaviours, fps=fps)
        write_table(bouts, out / f"{stem}_bouts.csv")
        rows = {}
        for subj, part in pred.groupby("subject", sort=False):
            for b in model.behaviours:
                rows[f"{subj}: {b}" if pred["subject"].nunique() > 1 else b] = part[b].to_numpy()
        plot_ethogram(dict(list(rows.items())[:24]), fps=fps, path=out / f"{stem}_ethogram.png",
                      title=stem, binary=True)
        seen = pred[[f"{b}_prob" for b in model.behaviours]].notna().all(axis=1).to_numpy()
        share = ", ".join(f"{b} {pred.loc[seen, b].mean() * 100:.1f}%" for b in model.behaviours) if seen.any() \
            else "none seen"
        hidden = f" ({int((~seen).sum())} frame rows where an animal is not seen: no behaviour claimed)" \
            if not seen.all() else ""
        print(f"{path}: {len(bouts)} bouts; frames with behaviour: {share}{hidden}")
    return 0


def run(args) -> int:
    if args.action == "train":
        return _train(args)
    return _predict(args)
