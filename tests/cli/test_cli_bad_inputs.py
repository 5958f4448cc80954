"""Bad input through the commands: one clear error line (exit 2), inputs never overwritten, nothing
half-written left behind, and a word about truncated videos."""

import json
from pathlib import Path

import numpy as np
import pytest

from mapose import io
from mapose.cli import main
from mapose.core.tracks import make_tracks

DATA = Path(__file__).resolve().parents[2] / "data"
FLY_VIDEO = DATA / "flies_centered_pair" / "centered_pair_low_quality.mp4"  # 384 x 384, 1100 frames
FLY_LABELS = DATA / "flies_centered_pair" / "labels.train.slp"


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_error(capsys, *args, words=()):
    code, out, err = run(capsys, *args)
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2, (out, err)
    assert len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def small_pose(path: Path, frames: int = 20, size: float = 384.0, nan: bool = False,
               names=("head", "thorax", "tail")) -> Path:
    """Two animals of 3 keypoints wandering inside a ``size`` x ``size`` picture."""
    rng = np.random.default_rng(0)
    pos = rng.uniform(0.2 * size, 0.8 * size, (frames, 2, 3, 2))
    if nan:
        pos[:] = np.nan
    io.write_tracks(make_tracks(pos, np.full((frames, 3, 2), 0.9), keypoints=list(names)),
                    path)
    return path


@pytest.fixture
def truncated_video(tmp_path) -> Path:
    """The first 30 % of the fly video's bytes: its header claims 1100 frames, about 300 decode."""
    data = FLY_VIDEO.read_bytes()
    p = tmp_path / "cut.mp4"
    p.write_bytes(data[: int(0.3 * len(data))])
    return p


def test_outputs_that_would_overwrite_an_input_are_refused(tmp_path, capsys):
    pose = small_pose(tmp_path / "pose.csv")
    labels = tmp_path / "labels.slp"
    labels.write_bytes(FLY_LABELS.read_bytes())
    before = {p: p.read_bytes() for p in (pose, labels)}
    one_error(capsys, "evaluate-tracks", "--pred", pose, "--truth", pose, "--json", pose,
              words=("--json", "overwritten"))
    one_error(capsys, "check-labels", labels, "--json", labels, words=("--json", "overwritten"))
    one_error(capsys, "track", pose, "--out", tmp_path / "t.slp", "--swaps", pose, "--no-appearance",
              words=("--swaps", "overwritten"))
    one_error(capsys, "extract-frames", FLY_VIDEO, "--out", labels, "--exclude", labels, "--skeleton", labels,
              words=("--out", "overwritten"))
    video = tmp_path / "fly_video_copy.mp4"
    video.write_bytes(FLY_VIDEO.read_bytes())
    one_error(capsys, "label-video", video, pose, "--out", video, words=("--out", "overwritten"))
    assert video.read_bytes() == FLY_VIDEO.read_bytes()
    for p, b in before.items():
        assert p.read_bytes() == b, p
    assert not (tmp_path / "t.slp").exists()  # refused before the tracks were written


def test_an_output_path_under_a_file_names_the_file(tmp_path, capsys):
    pose = small_pose(tmp_path / "pose.csv")
    one_error(capsys, "convert", pose, pose / "x.slp", words=(str(pose), "is a file; expected a folder"))
    one_error(capsys, "extract-frames", FLY_VIDEO, "--out", tmp_path / "todo.slp", "--skeleton", FLY_LABELS,
              "--images", pose, words=("is a file; expected a folder",))
    assert not (tmp_path / "todo.slp").exists()


def test_evaluate_tracks_compares_shared_body_parts_and_refuses_unrelated_files(tmp_path, capsys):
    pose = small_pose(tmp_path / "pose.csv")
    # the same animals, one body part renamed: scored on the two parts both files name
    renamed = small_pose(tmp_path / "renamed.csv", names=("nose", "thorax", "tail"))
    code, out, _ = run(capsys, "evaluate-tracks", "--pred", renamed, "--truth", pose, "--json", tmp_path / "m.json")
    assert code == 0
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["keypoints_compared"] == 2 and m["mota"] == 1.0 and m["idf1"] == 1.0
    mouse = small_pose(tmp_path / "mouse.csv", names=("snout", "ear", "tailbase"))
    one_error(capsys, "evaluate-tracks", "--pred", mouse, "--truth", pose, "--json", tmp_path / "x.json",
              words=("share no body part",))
    empty = small_pose(tmp_path / "empty.csv", nan=True)
    one_error(capsys, "evaluate-tracks", "--pred", pose, "--truth", empty, "--threshold", "10",
              "--json", tmp_path / "x.json", words=("no keypoint position",))
    assert not (tmp_path / "x.json").exists()
    # an empty prediction is a legitimate (bad) result: scored, said, and written as valid JSON
    code, out, _ = run(capsys, "evaluate-tracks", "--pred", empty, "--truth", pose, "--json", tmp_path / "e.json")
    assert code == 0 and "holds no keypoint position" in out
    m = json.loads((tmp_path / "e.json").read_text())  # strict JSON: no Infinity / NaN tokens
    assert m["mota"] == 0.0 and m["motp"] is None and m["num_misses"] == 40
    # a prediction of the first half of the video is scored on that half, and the note says so
    half = small_pose(tmp_path / "half.csv", frames=10)
    code, out, _ = run(capsys, "evaluate-tracks", "--pred", half, "--truth", pose, "--json", tmp_path / "h.json")
    assert code == 0 and "scored frames 0-9, the frames both files cover; left out 10 frame(s) of the reference" in out
    assert json.loads((tmp_path / "h.json").read_text())["mota"] == 1.0
    code, out, _ = run(capsys, "evaluate-tracks", "--pred", half, "--truth", pose, "--json", tmp_path / "h.json",
                       "--frames", "all")
    assert code == 0 and "scored frames" not in out
    assert json.loads((tmp_path / "h.json").read_text())["num_misses"] == 20


def test_tracking_names_an_impossible_score_floor_and_an_all_missing_file(tmp_path, capsys):
    pose = small_pose(tmp_path / "pose.csv")
    one_error(capsys, "track", pose, "--out", tmp_path / "t.slp", "--min-score", "5", "--no-appearance",
              words=("min_score 5", "the highest is"))
    one_error(capsys, "track", small_pose(tmp_path / "nan.csv", nan=True), "--out", tmp_path / "t.slp",
              words=("no keypoint position",))
    assert not (tmp_path / "t.slp").exists()


def test_a_pose_file_of_another_video_is_refused(tmp_path, capsys):
    # keypoints of a 1024-px video drawn over the 384-px fly video
    big = small_pose(tmp_path / "big.csv", size=1024.0)
    one_error(capsys, "label-video", FLY_VIDEO, big, "--out", tmp_path / "lv.mp4", "--no-progress",
              words=("384x384", "is it the video of this pose file"))
    # frames past the end of the video
    long = small_pose(tmp_path / "long.csv", frames=1200)
    one_error(capsys, "track", long, "--out", tmp_path / "t.slp", "--video", FLY_VIDEO,
              words=("up to frame 1199", "1100 frames"))
    assert not (tmp_path / "lv.mp4").exists() and not (tmp_path / "t.slp").exists()
    # a pose file that fits the picture and the length but names another clip: a note
    ds = io.read_tracks(small_pose(tmp_path / "fits.csv", frames=30))
    ds.attrs["video_path"] = "D:\\rigs\\other_clip.mp4"
    io.write_tracks(ds, tmp_path / "other.nc")
    code, out, _ = run(capsys, "extract-frames", FLY_VIDEO, "--tracks", tmp_path / "other.nc", "--n", 2,
                       "--out", tmp_path / "x.slp", "--images", tmp_path / "img")
    assert code == 0 and "was made from other_clip.mp4, not centered_pair_low_quality.mp4" in out


def test_a_truncated_video_is_reported_and_its_decodable_frames_are_used(tmp_path, capsys, truncated_video):
    pose = small_pose(tmp_path / "pose.csv")
    code, out, err = run(capsys, "label-video", truncated_video, pose, "--out", tmp_path / "lv.mp4",
                         "--stop", "5", "--no-progress")
    assert code == 0, err
    assert "is truncated or damaged: its container claims 1100 frames but only" in out
    assert "wrote" in out and (tmp_path / "lv.mp4").stat().st_size > 0


def test_analyze_checks_options_and_every_video_before_writing(tmp_path, capsys):
    out = tmp_path / "a.h5"
    for opt, words in ((("--threads", "0"), ("--threads must be at least 1",)),
                       (("--chunk-size", "0"), ("--chunk-size",)),
                       (("--n-animals", "0"), ("--n-animals", "at least 1")),
                       (("--n-animals", "two"), ("--n-animals", "a whole number, auto or any")),
                       (("--min-keypoint-score", "1.5"), ("min_keypoint_score", "below 1, got 1.5")),
                       (("--peak-threshold", "5"), ("--peak-threshold", "below 1", "got 5")),
                       (("--min-keypoints", "-1"), ("--min-keypoints must be at least 1",))):
        one_error(capsys, "analyze", FLY_VIDEO, "--model", tmp_path / "no_model", "--out", out, *opt,
                  words=words)
    one_error(capsys, "analyze", FLY_VIDEO, "--model", tmp_path / "no_model", "--out", tmp_path / "res",
              "--ext", ".slp", words=("--out", "res", "neither a file name with an extension", "res.slp", "'/'"))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    one_error(capsys, "analyze", FLY_VIDEO, junk, "--model", tmp_path / "no_model", "--out", tmp_path / "many",
              words=("junk.mp4", "cannot open as a video"))
    assert list(tmp_path.iterdir()) == [junk]  # no output, no .partial folder


def test_unknown_or_absent_devices_are_named():
    from mapose.errors import ConfigError
    from mapose.training.model import check_device_available, resolve_device

    with pytest.raises(ConfigError, match="unknown device 'bogus'"):
        resolve_device("bogus")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            check_device_available("cuda")
    assert resolve_device("cpu") == "cpu"
    check_device_available("cpu")


def test_training_options_that_cannot_work_are_refused_before_the_model_folder_exists(tmp_path, capsys):
    out = tmp_path / "model"
    cases = [(("--minutes", "0"), "--minutes must be a positive budget"),
             (("--minutes", "-1"), "--minutes must be a positive budget"),
             (("--max-steps", "0"), "--max-steps must be at least 1"),
             (("--val-frames-from", "99999"), "no labelled frame is at or after it"),
             (("--init", tmp_path / "nothing"), "trained model (--init")]
    for opt, words in cases:
        one_error(capsys, "train", "--labels", FLY_LABELS, "--out", out, "--no-progress", *opt, words=(words,))
    binary = tmp_path / "cfg.yaml"
    binary.write_bytes(bytes(range(128, 256)) * 4)
    one_error(capsys, "train", "--labels", FLY_LABELS, "--out", out, "--config", binary,
              words=("not a text (YAML) file",))
    assert not out.exists()


def test_check_labels_needs_a_positive_z(tmp_path, capsys):
    for z in ("0", "-1", "nan"):
        one_error(capsys, "check-labels", FLY_LABELS, "--z", z, words=("--z must be a positive",))


def test_a_bad_second_output_is_found_before_the_first_is_written(tmp_path, capsys):
    """Commands that write several files check them all first: a folder in the way, or one path
    given for two outputs, leaves nothing half-written."""
    pose = small_pose(tmp_path / "pose.csv")
    regions = tmp_path / "regions.yaml"
    regions.write_text("regions:\n  - {name: centre, rectangle: [100, 100, 280, 280]}\n")
    (tmp_path / "feat_pair.csv").mkdir()
    one_error(capsys, "features", pose, "--out", tmp_path / "feat.csv", words=("feat_pair.csv", "is a folder"))
    (tmp_path / "swaps.csv").mkdir()
    one_error(capsys, "track", pose, "--out", tmp_path / "t.h5", "--swaps", tmp_path / "swaps.csv",
              "--n-animals", 2, words=("--swaps", "is a folder"))
    one_error(capsys, "track", pose, "--out", tmp_path / "t.h5", "--swaps", tmp_path / "t.h5",
              "--n-animals", 2, words=("--swaps and --out are the same file",))
    (tmp_path / "per_frame.csv").mkdir()
    one_error(capsys, "regions", pose, "--regions", regions, "--out", tmp_path / "r.csv",
              "--per-frame", tmp_path / "per_frame.csv", words=("--per-frame", "is a folder"))
    one_error(capsys, "regions", pose, "--regions", regions, "--out", tmp_path / "r.csv",
              "--per-frame", tmp_path / "r.csv", words=("the same file",))
    one_error(capsys, "regions", pose, "--regions", regions, "--out", tmp_path / "r.csv",
              "--video", tmp_path / "missing.mp4", "--plots", tmp_path / "plots", words=("missing.mp4", "not found"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feat_pair.csv", "per_frame.csv", "pose.csv",
                                                           "regions.yaml", "swaps.csv"]
    assert main(["regions", str(pose), "--regions", str(regions), "--out", str(tmp_path / "r.csv")]) == 0


def test_out_of_range_options_are_named_before_any_work(tmp_path, capsys):
    """Thresholds, frame ranges and seeds outside what they can mean fail in one line, before a model
    or video is opened, instead of giving empty or silently clamped results."""
    pose = small_pose(tmp_path / "pose.csv")
    no_model = tmp_path / "no_model"
    for args, words in (
        (("evaluate", "--model", no_model, "--labels", FLY_LABELS, "--json", tmp_path / "e.json",
          "--peak-threshold", 2), ("--peak-threshold", "below 1")),
        (("evaluate", "--model", no_model, "--labels", FLY_LABELS, "--json", tmp_path / "e.json",
          "--pcutoff", 5), ("--pcutoff must be from 0 to 1",)),
        (("label-video", FLY_VIDEO, pose, "--out", tmp_path / "v.mp4", "--threshold", "nan"),
         ("--threshold must be a number",)),
        (("label-video", FLY_VIDEO, pose, "--out", tmp_path / "v.txt"), ("v.txt", "not a video file name")),
        (("extract-frames", FLY_VIDEO, "--out", tmp_path / "x.slp", "--skeleton", "head,thorax,tail",
          "--start", -5), ("--start must be 0 or more",)),
        (("extract-frames", FLY_VIDEO, "--out", tmp_path / "x.slp", "--skeleton", "head,thorax,tail",
          "--seed", -1), ("--seed must be 0 or more",)),
        (("evaluate-tracks", "--pred", pose, "--truth", pose, "--json", tmp_path / "t.json",
          "--threshold-fraction", -1), ("threshold_fraction must be > 0", "-1")),
        (("swap", pose, "--from", 3, "--animals", 0, 5, "--out", tmp_path / "s.csv"),
         ("'5' not in the tracks", "positions 0..1")),
    ):
        one_error(capsys, *args, words=words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pose.csv"]
    # evaluate's frame ranges: video frames from 0, open ends allowed
    from mapose.io import read_labels
    from mapose.training.evaluate import select_frames

    labels = read_labels(FLY_LABELS)
    assert len(select_frames(labels, "700:", None)) + len(select_frames(labels, ":700", None)) == 55
    for bad in ("-5:10", "9:3"):
        with pytest.raises(Exception, match="need 0 <= A < B"):
            select_frames(labels, bad, None)
    # a range that starts with a dash reaches the command's check with or without "="
    for sep in ("=", " "):
        opt = [f"--frames{sep}-5:10"] if sep == "=" else ["--frames", "-5:10"]
        one_error(capsys, "analyze", FLY_VIDEO, "--model", tmp_path / "none", "--out", tmp_path / "a.h5", *opt,
                  words=("first frame to analyse must be >= 0", "-5"))


def test_track_names_negative_frames_and_more_identities_than_animals(tmp_path, capsys):
    pose = small_pose(tmp_path / "pose.h5", frames=30)
    code, out, _ = run(capsys, "track", pose, "--out", tmp_path / "t.h5", "--n-animals", 4)
    assert code == 0 and "--n-animals 4 but this file holds at most 2 animals in one frame" in out
    ds = io.read_tracks(pose)
    io.write_tracks(ds.assign_coords(frame=("time", ds["frame"].values - 10)), tmp_path / "neg.h5")
    one_error(capsys, "track", tmp_path / "neg.h5", "--out", tmp_path / "n.h5",
              words=("neg.h5", "frame numbers must be 0 or more", "-10"))
    # a pose file whose video is gone: tracked without appearance, and said so
    ds.attrs["video_path"] = str(tmp_path / "moved" / "clip.mp4")
    io.write_tracks(ds, tmp_path / "gone.nc")
    code, out, _ = run(capsys, "track", tmp_path / "gone.nc", "--out", tmp_path / "g.h5")
    assert code == 0 and "clip.mp4, which is not found" in out and "give --video PATH" in out
    code, out, _ = run(capsys, "track", tmp_path / "gone.nc", "--out", tmp_path / "g2.h5", "--no-appearance")
    assert code == 0 and "not found" not in out


def test_extract_frames_never_replaces_a_labelled_project(tmp_path, capsys):
    """Choosing new frames into a file that holds someone's labels is refused and the file kept; a
    previous frame list without labels is replaced (re-running the same command)."""
    import shutil

    project = tmp_path / "todo.slp"
    shutil.copyfile(FLY_LABELS, project)
    before = project.read_bytes()
    one_error(capsys, "extract-frames", FLY_VIDEO, "--out", project, "--skeleton", "head,thorax,tail", "--n", 2,
              words=("todo.slp exists and holds", "labelled animals on 55 frames", "it is left as it is"))
    assert project.read_bytes() == before
    fresh = tmp_path / "fresh.slp"
    for _ in range(2):
        code, _, err = run(capsys, "extract-frames", FLY_VIDEO, "--out", fresh, "--skeleton", "head,thorax,tail",
                           "--n", 2, "--method", "uniform")
        assert code == 0, err
