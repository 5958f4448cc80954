"""``mapose features``: clean pose tracks and compute kinematic and social features.

::

    mapose features IN --out OUT.parquet [--config CFG.yaml] [--mode animal|pair|all] [--plots DIR]
                    [--regions REGIONS.yaml]

Reads any pose file mapose knows, applies the cleaning and calibration of the config, and writes
the feature table (``.parquet`` or ``.csv``).  ``--mode all`` writes ``OUT_animal.parquet`` and
``OUT_pair.parquet`` (the pair table only when there are at least two animals).  The resolved
config is written beside the output as ``<OUT stem>.config.yaml``.  The config file holds the
keys of :class:`mapose.kinematics.FeaturesRunConfig`::

    cleaning: {confidence_threshold: 0.6, max_gap: 5, savgol_window: 7}
    calibration: {px_per_cm: 12.5}
    features: {nose: snout, tail_base: tailbase, joint_angles: [[snout, neck, tailbase]]}
    windows: [5, 15, 45]
    mode: all

``--regions`` (a YAML or GeoJSON file of areas and lines, :mod:`mapose.io.regions`) adds each
animal's ``in_<region>`` and ``dist_<region>`` columns (see ``mapose regions`` for the summary).
"""

from __future__ import annotations

HELP = "clean tracks and compute per-animal and social (pair) kinematic features to a table"


def add_arguments(parser) -> None:
    parser.add_argument("input", metavar="IN", help="pose file (any format mapose reads)")
    parser.add_argument("--out", required=True, help="output table (.parquet or .csv)")
    parser.add_argument("--config", default=None, help="YAML with FeaturesRunConfig keys")
    parser.add_argument("--mode", choices=("animal", "pair", "all"), default=None,
                        help="rows per animal, per ordered pair, or both tables (default: config, 'all')")
    parser.add_argument("--plots", default=None, metavar="DIR",
                        help="folder for trajectory, speed and pairwise-distance plots")
    parser.add_argument("--regions", default=None,
                        help="regions file (.yaml or .geojson): adds in_<region> and dist_<region> features")
    parser.add_argument("--format", default=None, help="force the input format (default: sniffed)")
    parser.add_argument("--fps", type=float, default=None, help="frame rate when the file lacks one")


def _outputs(out, mode: str):
    from pathlib import Path

    out = Path(out)
    if mode != "all":
        return {mode: out}
    return {m: out.with_name(f"{out.stem}_{m}{out.suffix}") for m in ("animal", "pair")}


def run(args) -> int:
    from pathlib import Path

    from mapose import io
    from mapose.cli._common import check_outputs
    from mapose.config import from_dict, load_yaml, save_yaml
    from mapose.errors import MaposeError
    from mapose.io._files import check_folder_path, check_fps
    from mapose.io.tables import TABLE_EXTENSIONS, save_feature_table
    from mapose.kinematics import (
        FeaturesRunConfig,
        apply_calibration,
        check_feature_input,
        clean,
        cleaning_log,
        feature_table,
    )

    check_fps(args.fps, "--fps")
    cfg = load_yaml(args.config, FeaturesRunConfig) if args.config else from_dict(FeaturesRunConfig, {})
    mode = args.mode or cfg.mode
    if Path(args.out).suffix.lower() not in TABLE_EXTENSIONS:
        raise MaposeError(f"--out {args.out}: expected a {' or '.join(TABLE_EXTENSIONS)} file")
    out = Path(args.out)
    outputs = _outputs(out, mode)
    config_out = out.with_name(f"{out.stem}.config.yaml")
    plot_names = ("trajectories.png", "speed.png", "pair_distance.png")
    written = [*outputs.values(), config_out]
    if args.plots:
        check_folder_path(args.plots, "--plots")
        written += [Path(args.plots) / n for n in plot_names]
    check_outputs([("output", p) for p in written], [args.input, args.config, args.regions])
    kw = {"fps": args.fps} if args.fps is not None else {}
    ds = io.read_tracks(args.input, format=args.format, **kw)
    check_feature_input(ds, args.input, mode="pair" if mode == "pair" else None)
    regions = ()
    if args.regions:
        from mapose.cli._common import session_regions

        regions = session_regions(args.regions, ds)  # an arena asked for with detect: is found in pixels
    if args.fps is not None and not ds.attrs.get("fps"):
        from mapose.kinematics import calibrate

        ds = calibrate(ds, fps=args.fps)
    ds = clean(ds, cfg.cleaning)
    if regions:  # an area's size_cm calibrates (and is written to the config saved beside the table)
        import dataclasses

        from mapose.cli._common import calibration_with_regions

        cfg = dataclasses.replace(cfg, calibration=calibration_with_regions(cfg.calibration, regions))
    ds = apply_calibration(ds, cfg.calibration)
    for entry in cleaning_log(ds):
        print(f"{entry['step']}: {entry['n_changed']} of {entry['n_points']} points changed")

    tables = {}
    for m in outputs:
        if m == "pair" and ds.sizes["individuals"] < 2:
            print("pair table skipped: the file has a single animal")
            continue
        tables[m] = feature_table(ds, mode=m, windows=cfg.windows, config=cfg.features, regions=regions)
    for m, df in tables.items():  # every table computed before the first file is written
        save_feature_table(df, outputs[m])
        print(f"wrote {outputs[m]} ({len(df)} rows × {df.shape[1] - 2} features, mode {m})")
    save_yaml(cfg, config_out)

    if args.plots:
        from mapose.viz.kinematics import plot_pair_distance, plot_speed, plot_trajectories

        plots = Path(args.plots)
        fps = ds.attrs.get("fps")
        unit = ds.attrs.get("space_unit", "px")
        made = [plot_trajectories(ds, plots / "trajectories.png")]
        animal = tables.get("animal")
        if animal is None:
            animal = feature_table(ds, mode="animal", windows=(), config=cfg.features)
        made.append(plot_speed(animal, plots / "speed.png", fps=fps, unit=unit))
        if "pair" in tables:
            made.append(plot_pair_distance(tables["pair"], plots / "pair_distance.png", fps=fps, unit=unit))
        print("plots: " + ", ".join(str(p) for p in made))
    return 0
