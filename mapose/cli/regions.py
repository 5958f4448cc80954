"""``mapose regions``: time in zones, visits, latencies and line crossings of every animal.

::

    mapose regions IN --regions REGIONS.yaml --out SUMMARY.csv [--per-frame OCC.parquet]
                   [--keypoint centroid] [--min-visit S] [--plots DIR] [--video VIDEO] [--config CFG.yaml]
                   [--save-regions MEASURED.yaml]

``REGIONS`` is a YAML or GeoJSON file of areas and lines in pixels of the video
(:mod:`mapose.io.regions`; ``movement``'s ``save_rois`` files work).  The summary has one row per
animal and region (:func:`mapose.kinematics.regions.region_summary`); ``--per-frame`` adds a table
with one row per frame and animal: ``in_<region>`` (1/0, empty where unseen) and ``dist_<region>``.
An arena asked for with ``detect: video`` / ``detect: tracks`` is found in this session (the
video's background, or where the animals went; :mod:`mapose.kinematics.arena`), with the zones
made ``inside:`` it; ``--save-regions`` writes them as measured, to check or reuse.
``--config`` takes the ``cleaning:`` and ``calibration:`` of a ``mapose features`` config
(distances and path lengths then in cm; regions stay drawn in pixels); without one, an area that
gives its real size (``size_cm``, e.g. the arena's diameter) calibrates the tracks.
"""

from __future__ import annotations

HELP = "time in each region of interest, visits, latency and line crossings of every animal"


def add_arguments(parser) -> None:
    parser.add_argument("input", metavar="IN", help="pose file (any format mapose reads)")
    parser.add_argument("--regions", required=True,
                        help="regions file: .yaml (see mapose.io.regions) or .geojson (movement's save_rois)")
    parser.add_argument("--out", required=True, help="summary table (.csv or .parquet)")
    parser.add_argument("--per-frame", default=None, metavar="TABLE",
                        help="also write in_<region> / dist_<region> per frame and animal (.csv or .parquet)")
    parser.add_argument("--keypoint", default="centroid",
                        help="the point tested: a body part, 'centroid' (default) or several joined by commas")
    parser.add_argument("--min-visit", type=float, default=0.0, metavar="S",
                        help="ignore exits and visits shorter than this (seconds when the file has a frame "
                             "rate, else frames; default 0)")
    parser.add_argument("--plots", default=None, metavar="DIR",
                        help="folder for regions.png (regions and paths over a video frame) and time_in_regions.png")
    parser.add_argument("--video", default=None,
                        help="the session's video: the plot's background, and where 'detect: video' regions are "
                             "found (default: the pose file's)")
    parser.add_argument("--save-regions", default=None, metavar="REGIONS",
                        help="write the regions as measured (arena found in this video, zones made from it) to "
                             "this .yaml or .geojson")
    parser.add_argument("--config", default=None, help="YAML with mapose features' cleaning and calibration keys")
    parser.add_argument("--format", default=None, help="force the input format (default: sniffed)")
    parser.add_argument("--fps", type=float, default=None, help="frame rate when the file lacks one")


def _keypoint(value: str):
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return parts[0] if len(parts) == 1 else parts


def _per_frame(ds, regions, keypoint):
    """One row per frame and animal: ``in_<region>`` (areas) and ``dist_<region>``."""
    import numpy as np
    import pandas as pd

    from mapose.kinematics.regions import regions_in_units
    from mapose.kinematics.table import region_feature_arrays

    pos = ds["position"].transpose("time", "space", "keypoints", "individuals")
    cols = region_feature_arrays(pos.values.astype(np.float64), [str(k) for k in pos["keypoints"].values],
                                 regions_in_units(ds, regions), keypoint)
    n_t, names = ds.sizes["time"], [str(v) for v in ds["individuals"].values]
    frames = np.asarray(ds["frame"].values if "frame" in ds.coords else np.arange(n_t), dtype=np.int64)
    return pd.DataFrame({"frame": np.tile(frames, len(names)), "subject": np.repeat(names, n_t),
                         **{k: v.T.ravel() for k, v in cols.items()}})


def _warn_outside(ds, regions, path) -> None:
    """One line when no region overlaps where the animals are (drawn on another video?)."""
    import numpy as np

    from mapose.kinematics.regions import reference_points

    xy = reference_points(ds).reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(1)]
    if not len(xy):
        return
    lo, hi = np.quantile(xy, 0.01, axis=0), np.quantile(xy, 0.99, axis=0)
    if all(r.bounds[2] < lo[0] or r.bounds[0] > hi[0] or r.bounds[3] < lo[1] or r.bounds[1] > hi[1]
           for r in regions):
        print(f"warning: no region of {path} lies where the animals are (x {lo[0]:.0f}..{hi[0]:.0f}, "
              f"y {lo[1]:.0f}..{hi[1]:.0f} px): were the regions drawn on another video or resolution?")


def run(args) -> int:
    from pathlib import Path

    from mapose import io
    from mapose.cli._common import calibration_with_regions, check_outputs, require_video, session_regions
    from mapose.config import from_dict, load_yaml
    from mapose.errors import MaposeError
    from mapose.io._files import check_folder_path, check_fps
    from mapose.io.regions import GEOJSON_SUFFIXES, YAML_SUFFIXES, needs_detection, write_regions
    from mapose.io.tables import TABLE_EXTENSIONS, save_feature_table
    from mapose.kinematics import FeaturesRunConfig, apply_calibration, calibrate, check_feature_input, clean
    from mapose.kinematics.regions import region_summary

    check_fps(args.fps, "--fps")
    for opt, path in (("--out", args.out), ("--per-frame", args.per_frame)):
        if path is not None and Path(path).suffix.lower() not in TABLE_EXTENSIONS:
            raise MaposeError(f"{opt} {path}: expected a {' or '.join(TABLE_EXTENSIONS)} file")
    if args.save_regions and Path(args.save_regions).suffix.lower() not in YAML_SUFFIXES + GEOJSON_SUFFIXES:
        raise MaposeError(f"--save-regions {args.save_regions}: expected a "
                          f"{', '.join(YAML_SUFFIXES + GEOJSON_SUFFIXES)} file")
    if not args.min_visit >= 0:
        raise MaposeError(f"--min-visit must be >= 0, got {args.min_visit}")
    written = [("--out", args.out), ("--per-frame", args.per_frame), ("--save-regions", args.save_regions)]
    if args.plots:
        check_folder_path(args.plots, "--plots")
        written += [("--plots", Path(args.plots) / n) for n in ("regions.png", "time_in_regions.png")]
    check_outputs(written, [args.input, args.regions, args.config, args.video])
    if args.video is not None:
        require_video(args.video, "--video")  # a video named but missing fails before anything is written
    cfg = load_yaml(args.config, FeaturesRunConfig) if args.config else from_dict(FeaturesRunConfig, {})
    kw = {"fps": args.fps} if args.fps is not None else {}
    ds = io.read_tracks(args.input, format=args.format, **kw)
    check_feature_input(ds, args.input)
    regions = session_regions(args.regions, ds, args.video)
    if needs_detection(args.regions):
        print("regions found in this session: " + ", ".join(repr(r) for r in regions))
    if args.save_regions:
        print(f"wrote {write_regions(regions, args.save_regions)} (the regions as measured, in pixels)")
    if args.fps is not None and not ds.attrs.get("fps"):
        ds = calibrate(ds, fps=args.fps)
    _warn_outside(ds, regions, args.regions)
    keypoint = _keypoint(args.keypoint)
    ds = clean(ds, cfg.cleaning)
    pixels = ds  # the plot draws in pixels, whatever the calibration
    ds = apply_calibration(ds, calibration_with_regions(cfg.calibration, regions))

    summary = region_summary(ds, regions, keypoint, min_visit=args.min_visit)
    per_frame = _per_frame(ds, regions, keypoint) if args.per_frame else None
    save_feature_table(summary, args.out)
    unit = summary.attrs["time_unit"]
    areas = summary[summary["kind"] == "area"]
    lines = summary[summary["kind"] == "line"]
    print(f"wrote {args.out}: {summary['individual'].nunique()} animals × {len(regions)} regions "
          f"(point: {summary.attrs['keypoint']}, times in {unit})")
    for _, row in areas.iterrows():
        if row["visits"] > 0:
            print(f"  {row['individual']} in {row['region']}: {row['time_inside']:.4g} {unit} "
                  f"({100 * row['fraction_inside']:.1f} % of the time seen), {int(row['visits'])} visit(s)")
    for _, row in lines.iterrows():
        if row["crossings"] > 0:
            print(f"  {row['individual']} crossed {row['region']} {int(row['crossings'])} time(s)")
    if not args.min_visit and len(areas):
        short = region_summary(ds, regions, keypoint, min_visit=0.2 if unit == "s" else 5)
        n_raw, n_clean = int(areas["visits"].sum()), int(short.loc[short["kind"] == "area", "visits"].sum())
        if n_raw > n_clean:
            limit = "0.2 s" if unit == "s" else "5 frames"
            print(f"note: {n_raw - n_clean} of {n_raw} visits or the exits between them last under {limit} "
                  f"(boundary jitter?); --min-visit {limit.split()[0]} ignores them")
    if per_frame is not None:
        save_feature_table(per_frame, args.per_frame)
        print(f"wrote {args.per_frame} ({len(per_frame)} rows)")

    if args.plots:
        from mapose.kinematics.regions import reference_points
        from mapose.viz.regions import plot_regions, plot_time_in_regions

        plots = Path(args.plots)
        frame = _background(args.video or ds.attrs.get("video_path"), args.video is not None)
        pts = reference_points(pixels, keypoint)
        traj = {str(n): pts[:, i] for i, n in enumerate(ds["individuals"].values)}
        made = [plot_regions(regions, plots / "regions.png", frame=frame, trajectories=traj)]
        if len(areas):
            made.append(plot_time_in_regions(summary, plots / "time_in_regions.png"))
        print("plots: " + ", ".join(str(p) for p in made))
    return 0


def _background(video, required: bool):
    """The first frame of ``video`` as RGB, or ``None`` when there is none (or, unless the user named
    it, when it cannot be read)."""
    if not video:
        return None
    from mapose.errors import MaposeError
    from mapose.io.video import VideoReader

    try:
        with VideoReader(video) as reader:
            return reader[0]
    except MaposeError:
        if required:
            raise
        print(f"note: the pose file's video {video} cannot be read; plotting without it")
        return None
