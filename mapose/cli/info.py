"""``mapose info FILE``: print what a pose, label or video file holds."""

from __future__ import annotations

HELP = "print what a pose/label/video file holds (animals, keypoints, frames, fps, missing fraction)"


def add_arguments(parser) -> None:
    parser.add_argument("file", help="pose file, label file or video")
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


def describe_tracks(ds) -> list[str]:
    from mapose.core import get_skeleton, n_missing_fraction

    sk = get_skeleton(ds)
    frames = ds["frame"].values
    fps = ds.attrs.get("fps")
    lines = [
        f"animals:    {ds.sizes['individuals']} ({', '.join(map(str, ds['individuals'].values))})",
        f"keypoints:  {ds.sizes['keypoints']} ({', '.join(sk.keypoints)})",
        f"edges:      {sk.n_edges}; {symmetry_text(sk)}",
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
        f"keypoints:  {labels.skeleton.n_keypoints} ({', '.join(labels.skeleton.keypoints)})",
        f"edges:      {labels.skeleton.n_edges}; {symmetry_text(labels.skeleton)}",
        f"missing:    {100 * float(np.mean(~np.isfinite(inst.keypoints).all(-1))) if len(inst) else 0:.1f} "
        "% of keypoints",
        f"videos:     {', '.join(labels.videos()) or 'none (image files)'}",
    ]


def run(args) -> int:
    from pathlib import Path

    from mapose.cli._common import is_video, read_pose_any
    from mapose.io import detect_format, require_file

    path = Path(args.file) if Path(args.file).is_dir() else require_file(args.file, "file")
    if is_video(path):
        from mapose.io.video import probe_video

        meta = probe_video(path)
        print(f"{path}: {'folder of images (frames)' if path.is_dir() else 'video'}")
        for k, v in meta.items():
            print(f"{k + ':':<12}{v}")
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
