"""``mapose filter``: clean and smooth a pose file and write it as a pose file again.

::

    mapose filter tracks.h5 --out tracks_filtered.h5 --min-confidence 0.3 --max-gap 10 --median 5
    mapose filter tracks.h5 --out tracks_filtered.csv --config features.yaml

What DeepLabCut's ``filterpredictions`` and ``movement``'s filters do, for any pose format mapose
reads and writes: the steps of :class:`mapose.kinematics.CleaningConfig`, in this fixed order --
points at (0, 0) marked missing, points scored below a confidence dropped, isolated jumps faster
than a speed dropped, gaps up to N frames filled by linear interpolation, a rolling median, a
Savitzky-Golay filter.  ``--config`` takes a YAML file with those keys, or a ``mapose features``
config (its ``cleaning:`` section), so the file written here holds the positions the features were
computed from; options on the command line replace the file's values.

Points that were missing and are filled by interpolation get no score (NaN confidence): they were
not measured.  Each step prints how many points it changed, and the steps are kept in the output's
``cleaning_log`` attribute where the format stores attributes (netCDF, NWB).  The steps run are
written beside the output as ``<OUT stem>.filter.yaml``.  The output is written atomically and
never replaces the input.
"""

from __future__ import annotations

HELP = "clean and smooth a pose file (confidence, jumps, gaps, median, Savitzky-Golay) into a new pose file"

#: command-line option -> CleaningConfig key
_OPTIONS = {
    "min_confidence": "confidence_threshold",
    "max_speed": "max_speed",
    "max_gap": "max_gap",
    "median": "median_window",
    "median_min_periods": "median_min_periods",
    "savgol": "savgol_window",
    "polyorder": "savgol_polyorder",
}


def add_arguments(parser) -> None:
    parser.add_argument("input", metavar="IN", help="pose file (any format mapose reads)")
    parser.add_argument("--out", required=True,
                        help="pose file to write; its extension picks the format (.h5 DeepLabCut, "
                             ".csv, .slp, .analysis.h5, .nwb, .nc, ...)")
    parser.add_argument("--config", default=None,
                        help="YAML with CleaningConfig keys, or a 'mapose features' config "
                             "(its cleaning: section)")
    parser.add_argument("--zeros-missing", action="store_true",
                        help="points at exactly (0, 0) are missing (MABe-style files)")
    parser.add_argument("--min-confidence", type=float, default=None, metavar="P",
                        help="drop points scored below P")
    parser.add_argument("--max-speed", type=float, default=None, metavar="V",
                        help="drop isolated jumps faster than V (px/s when the file has a frame "
                             "rate, else px per frame)")
    parser.add_argument("--max-gap", type=int, default=None, metavar="N",
                        help="fill gaps of up to N missing frames by linear interpolation")
    parser.add_argument("--median", type=int, default=None, metavar="N",
                        help="rolling median over N frames (odd)")
    parser.add_argument("--median-min-periods", type=int, default=None, metavar="M",
                        help="fewest valid frames in a median window that give a value (default N: a "
                             "window touching a gap gives none, as in movement, so points next to gaps "
                             "are dropped; a smaller M keeps them and fills missing points whose window "
                             "holds M valid frames)")
    parser.add_argument("--savgol", type=int, default=None, metavar="N",
                        help="Savitzky-Golay filter over N frames (odd)")
    parser.add_argument("--polyorder", type=int, default=None, metavar="K",
                        help="polynomial order of the Savitzky-Golay filter (default 2)")
    parser.add_argument("--format", default=None, help="output format name (overrides the extension)")
    parser.add_argument("--input-format", default=None, help="input format name (default: sniffed)")
    parser.add_argument("--fps", type=float, default=None, help="frame rate when the file lacks one")


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from mapose import io
    from mapose.cli._common import check_odd_windows, refuse_overwriting_inputs
    from mapose.config import from_dict, load_yaml, replace, save_yaml
    from mapose.errors import ConfigError
    from mapose.io._files import check_fps
    from mapose.kinematics import CleaningConfig, check_feature_input, clean, cleaning_log

    check_fps(args.fps, "--fps")
    check_odd_windows(args, (("--median", "median"), ("--savgol", "savgol")))
    cfg = (load_yaml(args.config, CleaningConfig, section="cleaning") if args.config
           else from_dict(CleaningConfig, {}))
    overrides = {key: getattr(args, opt) for opt, key in _OPTIONS.items() if getattr(args, opt) is not None}
    if args.zeros_missing:
        overrides["zeros_are_missing"] = True
    cfg = replace(cfg, overrides)
    steps = [cfg.confidence_threshold, cfg.max_speed, cfg.max_gap, cfg.median_window, cfg.savgol_window]
    if not cfg.zeros_are_missing and all(s is None for s in steps):
        raise ConfigError("nothing to do: give at least one of --zeros-missing, --min-confidence, "
                          "--max-speed, --max-gap, --median, --savgol (or a --config with them)")

    out = Path(args.out)
    config_out = out.with_name(f"{out.stem}.filter.yaml")
    for path in (out, config_out):
        refuse_overwriting_inputs(path, [args.input, args.config], "output")
    fmt = args.format or io.format_for_output(out, "tracks")
    kw = {"fps": args.fps} if args.fps is not None else {}
    ds = io.read_tracks(args.input, format=args.input_format, **kw)
    check_feature_input(ds, args.input)

    missing_before = ds["position"].isnull().any("space")
    # the same steps in the same order, split where points are dropped and where they are filled
    dropped = clean(ds, replace(cfg, {"max_gap": None, "median_window": None, "savgol_window": None}))
    cleaned = clean(dropped, replace(cfg, {"zeros_are_missing": False, "confidence_threshold": None,
                                           "max_speed": None}))
    filled = dropped["position"].isnull().any("space") & cleaned["position"].notnull().all("space")
    if bool(filled.any()):
        conf = cleaned["confidence"]
        cleaned["confidence"] = conf.where(~filled.transpose(*conf.dims))
    for entry in cleaning_log(cleaned)[len(cleaning_log(ds)):]:
        print(f"{entry['step']}: {entry['n_changed']} of {entry['n_points']} points changed")
    pos = cleaned["position"].values
    n_points = pos.size // cleaned.sizes["space"]
    n_missing = int(np.isnan(pos).any(axis=cleaned["position"].get_axis_num("space")).sum())
    print(f"{n_points - n_missing} of {n_points} points have a position "
          f"({int(missing_before.sum())} were missing before)")
    if n_points and n_missing == n_points:
        why = ""
        if cfg.confidence_threshold is not None and "confidence" in ds:
            conf = ds["confidence"].values
            top = float(np.nanmax(conf)) if np.isfinite(conf).any() else float("nan")
            if not top >= cfg.confidence_threshold:
                why = (f": the confidence threshold {cfg.confidence_threshold:g} is above every score "
                       f"(the highest is {top:.3g})")
        raise ConfigError(f"these settings leave no point with a position{why}; nothing written")

    io.write_tracks(cleaned, out, format=fmt)
    save_yaml(cfg, config_out)
    print(f"wrote {out} ({fmt}) and {config_out}")
    return 0
