"""``mapose info FILE``: print what a pose, label or video file holds."""

from __future__ import annotations

HELP = ("print what a pose/label/video file holds (animals, keypoints, frames, fps, missing fraction), "
        "or what a model folder is")


def add_arguments(parser) -> None:
    parser.add_argument("file", help="pose file, label file, video (or folder of images), or a folder written by "
                                     "mapose train / cluster / classify train")
    parser.add_argument("--format", default=None, help="force the input format (default: sniffed)")


def symmetry_text(sk) -> str:
    """The file's left/right pairs, or those training would guess from the names."""
    if sk.symmetry:
        return f"symmetric pairs: {len(sk.symmetry)}"
    from mapose.core.skeleton import Skeleton

    guessed = Skeleton.guess_symmetry(sk.keypoints)
    if not guessed:
        return "symmetric pairs: 0"
    shown = ", ".join(f"{a}/{b}" for a, b in guessed[:3]) + (", ..." if len(guessed) > 3 else "")
    return (f"symmetric pairs: 0 in the file; {len(guessed)} guessed from the names ({shown}), "
            "which mapose train uses for left/right flips")


def _skeleton_lines(sk) -> list[str]:
    return [f"keypoints:  {sk.n_keypoints} ({', '.join(sk.keypoints)})",
            f"edges:      {sk.n_edges}; {symmetry_text(sk)}"]


def describe_tracks(ds) -> list[str]:
    from mapose.core import get_skeleton, n_missing_fraction

    sk = get_skeleton(ds)
    frames = ds["frame"].values
    fps = ds.attrs.get("fps")
    lines = [
        f"animals:    {ds.sizes['individuals']} ({', '.join(map(str, ds['individuals'].values))})",
        *_skeleton_lines(sk),
        f"frames:     {ds.sizes['time']}"
        + (f" (video frames {int(frames[0])}..{int(frames[-1])})" if len(frames) else ""),
        f"fps:        {fps if fps else 'unknown'}",
        f"missing:    {100 * n_missing_fraction(ds):.1f} % of keypoint positions",
        f"source:     {ds.attrs.get('source_software', '')}",
    ]
    if ds.attrs.get("video_path"):
        lines.append(f"video:      {ds.attrs['video_path']}")
    return lines


def describe_labels(labels) -> list[str]:
    import numpy as np

    inst = labels.instances
    n_user = int(np.sum(labels.is_user))
    return [
        f"labelled frames: {len(labels)}",
        f"instances:  {len(inst)} ({n_user} placed by people, {len(inst) - n_user} predicted)",
        f"animals per frame: max {int(inst.counts().max()) if len(inst) else 0}",
        f"identities: {', '.join(labels.individuals) if labels.individuals else 'none'}",
        *_skeleton_lines(labels.skeleton),
        f"missing:    {100 * float(np.mean(~np.isfinite(inst.keypoints).all(-1))) if len(inst) else 0:.1f} "
        "% of keypoints",
        f"videos:     {', '.join(labels.videos()) or 'none (image files)'}",
    ]


def _read_json(path, what: str) -> dict:
    """A JSON file of a model or results folder; ``{}`` when the folder has none, an error naming a damaged one."""
    from mapose.io._files import read_json

    return read_json(path, what) if path.exists() else {}


def _global_step(ckpt) -> int:
    """Training steps done, as the checkpoint records them (memory-mapped: nothing large is read)."""
    from mapose.training.model import read_checkpoint

    return int(read_checkpoint(ckpt, mmap=True).get("global_step", 0))


def describe_pose_model(d) -> list[str]:
    """A pose model folder from its files (no network is loaded)."""
    import yaml

    from mapose.errors import ConfigError
    from mapose.io._files import parse_error_line, read_training_record
    from mapose.io.skeletons import read_model_skeleton

    lines = _skeleton_lines(read_model_skeleton(d))
    try:
        cfg = yaml.safe_load((d / "config.yaml").read_text(encoding="utf-8")) or {}
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{d / 'config.yaml'}: not valid YAML, {parse_error_line(exc)}") from None
    if not isinstance(cfg, dict):
        raise ConfigError(f"{d / 'config.yaml'}: expected a mapping of config keys at the top level")
    model = cfg.get("model", {})
    ens = int(model.get("ensemble") or 1)
    lines.append(f"network:    {model.get('encoder', '?')} (weights {model.get('weights', '?')}), output stride "
                 f"{model.get('stride', '?')}" + (f", ensemble of {ens}" if ens > 1 else ""))
    split = read_training_record(d)
    if split:
        method = split.get("split", {}).get("method", "?")
        lines.append(f"labelled frames: {len(split.get('train', []))} for training, {len(split.get('val', []))} "
                     f"held out (split: {method}"
                     + (f" {split['split']['threshold']}" if method == "frame_threshold" else "") + ")")
        if split.get("max_animals_per_frame"):
            lines.append(f"animals per frame: up to {split['max_animals_per_frame']} in the labels")
    logs = [d / "logs" / "csv" / "metrics.csv"] if ens == 1 else \
        [d / "members" / str(i) / "logs" / "csv" / "metrics.csv" for i in range(ens)]
    steps = []
    for log in logs:
        last = log.parent.parent.parent / "checkpoints" / "last.ckpt"
        text = f"{_global_step(last)} steps at the last checkpoint" if last.is_file() else "not trained yet"
        if log.is_file():
            from mapose.io.tables import read_table

            m = read_table(log, "training log")
            val = m.dropna(subset=["val/loss"]) if "val/loss" in m and "step" in m else m.iloc[:0]
            if len(val):
                text += (f"; lowest validation loss {val['val/loss'].min():.3f} (logged at step "
                         f"{int(val.loc[val['val/loss'].idxmin(), 'step'])})")
        steps.append(text)
    ckpts = sorted(p.stem for p in (d / "checkpoints").glob("*.ckpt")) if (d / "checkpoints").is_dir() else []
    lines.append("training:   " + "; ".join(steps) + "; checkpoints: "
                 + (", ".join(ckpts) if ckpts else "none (not trained yet, or an ensemble: see members/)"))
    cal = _read_json(d / "calibration.json", "calibration record")
    if cal:
        off = cal.get("label_offset_px") or [float("nan")] * 2
        lines.append(f"calibration: {cal.get('mode', '?')}, {'applied' if cal.get('applied') else 'not applied'}"
                     f"; label offset ({off[0]:+.2f}, {off[1]:+.2f}) px")
    onnx = sorted((d / "onnx").glob("*.onnx")) if (d / "onnx").is_dir() else []
    if onnx:
        lines.append(f"onnx:       {len(onnx)} exported network(s) in {d / 'onnx'}")
    return lines


def describe_clusters(d, output: bool) -> list[str]:
    """A 'mapose cluster' output folder (``output``) or the model folder inside one."""
    lines = []
    if output:
        s = _read_json(d / "summary.json", "clusters summary")
        agreement = s.get("agreement_classifier_vs_transform")
        lines += [f"mode:       {s.get('mode', '?')}; {s.get('n_clusters', '?')} clusters; seed {s.get('seed', '?')}",
                  f"rows:       {s.get('rows', '?')} from {s.get('sessions', '?')} session(s); "
                  f"{100 * float(s.get('fraction_assigned') or 0):.1f} % assigned",
                  "agreement:  classifier vs transform "
                  + (f"{agreement:.3f}" if isinstance(agreement, (int, float)) else "not measured"),
                  f"model:      {s.get('model', '?')} ({'fitted here' if s.get('fitted') else 'loaded'})"]
        if (d / "dyad_events.csv").exists():
            lines.append(f"pair events: {len(s.get('dyad_events') or {})} (dyad_events.csv)")
        return lines
    m = _read_json(d / "model.json", "behaviour model manifest")
    params = m.get("params", {})
    lines += [f"mode:       {params.get('mode', '?')}; {m.get('n_clusters', '?')} clusters "
              f"({params.get('clusterer', '?')}); seed {params.get('seed', '?')}",
              f"features:   {len(m.get('feature_names', []))}; windows {params.get('windows', '?')} frames",
              f"keypoints:  {', '.join(m.get('keypoints') or []) or '?'}",
              f"fitted on:  {m.get('n_fit_frames', '?')} rows"]
    return lines


def describe_classifier(d) -> list[str]:
    """A 'mapose classify train' folder from its manifest."""
    m = _read_json(d / "manifest.json", "classifier manifest")
    feats = m.get("features", {})
    lines = [f"behaviours: {', '.join(m.get('behaviours', []))}",
             f"mode:       {feats.get('mode', '?')}; keypoints {', '.join(feats.get('keypoints') or [])}; "
             f"windows {feats.get('windows', '?')} frames"
             + (f"; regions {', '.join(feats['regions'])}" if feats.get("regions") else "")]
    info = m.get("info", {})
    if info:
        lines.append(f"trained on: {info.get('n_rows', '?')} rows of {len(info.get('sessions', []))} session(s)")
    val = m.get("validation") or {}
    for b in m.get("behaviours", []):
        v = val.get(b) or {}
        if v:
            f1 = v.get("f1")
            lines.append(f"  {b}: cross-validated F1 {f1:.3f}" if isinstance(f1, (int, float)) else f"  {b}: F1 ?")
    return lines


def run(args) -> int:
    from pathlib import Path

    from mapose.cli._common import is_video, read_pose_any
    from mapose.io import detect_format, require_file
    from mapose.io._files import MODEL_FOLDERS, folder_kind

    path = Path(args.file) if Path(args.file).is_dir() else require_file(args.file, "file")
    kind = folder_kind(path) if path.is_dir() else None
    if kind is not None:
        print(f"{path}: {kind} folder (from {MODEL_FOLDERS[kind][1]})")
        lines = (describe_pose_model(path) if kind == "pose model"
                 else describe_classifier(path) if kind == "behaviour classifier"
                 else describe_clusters(path, output=kind == "behaviour clusters output"))
        for line in lines:
            print(line)
        return 0
    if is_video(path):
        from mapose.errors import FormatError
        from mapose.io.video import probe_video

        try:
            meta = probe_video(path)
        except FormatError as exc:
            if not path.is_dir():
                raise
            raise FormatError(f"{exc}, or a folder written by mapose train, cluster or classify train") from None
        print(f"{path}: {'folder of images (frames)' if path.is_dir() else 'video'}")
        width = max(map(len, meta)) + 2
        for k, v in meta.items():
            print(f"{k + ':':<{width}}{round(v, 3) if isinstance(v, float) else v}")
        return 0
    fmt = args.format or detect_format(path)
    kind, obj = read_pose_any(path, fmt)
    print(f"{path}: {fmt} {kind}")
    for line in describe_tracks(obj) if kind == "tracks" else describe_labels(obj):
        print(line)
    if fmt == "slp":
        print(_labelling_progress(path))
    return 0


def _labelling_progress(path) -> str:
    """How far the labelling of a SLEAP project has come (what the Labelling page counts)."""
    from mapose.data.label_editor import LabelEditor

    counts = LabelEditor(path).counts()
    return ("labelling:  " + ", ".join(f"{n} {s}" for s, n in counts.items())
            + " (frames labelled by a person, with predictions only, listed but untouched, marked empty)")
