"""SLEAP .slp reading/writing, checked against the files' HDF5 content read directly with h5py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from mapose.core import Labels, make_tracks, validate_tracks
from mapose.errors import FormatError, MaposeError
from mapose.io import detect_format, read_labels as io_read_labels
from mapose.io import slp

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
SHARED = REPO.parent / "shared" / "data"

CENTERED = DATA / "flies_centered_pair" / "labels.train.slp"
DREEM = DATA / "flies_dreem" / "two_flies.slp"
TUTORIAL = DATA / "flies_tutorial_pair" / "predictions" / "predictions.slp"


def shared_slp_files() -> list[Path]:
    return sorted(SHARED.glob("**/*.slp")) if SHARED.is_dir() else []


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED


# ------------------------------------------------------------------ independent reader (h5py)
def raw_slp(path: Path) -> dict:
    """Instances of a .slp straight from its HDF5 tables (no sleap-io): for cross-checking."""
    with h5py.File(path, "r") as f:
        meta = json.loads(f["metadata"].attrs["json"])
        frames = f["frames"][:]
        inst = f["instances"][:]
        points = f["points"][:]
        pred_points = f["pred_points"][:]
    nodes = [n["name"] for n in meta["nodes"]]
    sk = meta["skeletons"][0]
    order = [n["id"] for n in sk["nodes"]]
    names = [nodes[i] for i in order]
    out = []
    for fr in frames:
        for ii in range(fr["instance_id_start"], fr["instance_id_end"]):
            row = inst[ii]
            pts = pred_points if row["instance_type"] == 1 else points
            p = pts[row["point_id_start"]:row["point_id_end"]]
            xy = np.stack([p["x"], p["y"]], axis=1).astype(float)
            xy[~p["visible"].astype(bool)] = np.nan
            score = p["score"].astype(float) if row["instance_type"] == 1 else None
            out.append({
                "video": int(fr["video"]), "frame": int(fr["frame_idx"]), "xy": xy,
                "score": score, "user": row["instance_type"] == 0, "track": int(row["track"]),
                "instance_score": float(row["score"]),
            })
    return {"nodes": names, "instances": out}


def _decode_tracks(path: Path) -> list[str]:
    with h5py.File(path, "r") as f:
        if "tracks_json" not in f:
            return []
        return [json.loads(t)[1] for t in f["tracks_json"][:]]


def check_labels_against_raw(labels: Labels, path: Path) -> None:
    raw = raw_slp(path)
    raw_tracks = _decode_tracks(path)
    assert list(labels.skeleton.keypoints) == raw["nodes"]
    assert list(labels.individuals) == raw_tracks
    det = labels.instances
    assert len(det) == len(raw["instances"])
    # Match instances per labelled frame, in file order.
    by_img: dict[tuple[int, int], list[dict]] = {}
    for r in raw["instances"]:
        by_img.setdefault((r["video"], r["frame"]), []).append(r)
    off = det.frame_slices()
    seen = 0
    for i, ref in enumerate(labels.images):
        sl = slice(int(off[i]), int(off[i + 1]))
        cand = [v for (vid, fr), v in by_img.items() if fr == ref.frame]
        assert cand, f"frame {ref.frame} not in raw file"
        rows = next(v for v in cand if len(v) == sl.stop - sl.start)
        for j, r in zip(range(sl.start, sl.stop), rows):
            np.testing.assert_allclose(det.keypoints[j], r["xy"], atol=1e-4, equal_nan=True)
            assert bool(labels.is_user[j]) == r["user"]
            if r["score"] is not None:
                np.testing.assert_allclose(det.keypoint_scores[j], r["score"], atol=1e-6)
            if det.track_id is not None:
                assert det.track_id[j] == r["track"]
            seen += 1
    assert seen == len(det)


# ------------------------------------------------------------------ bundled samples
def test_read_labels_centered_pair_matches_hdf5():
    labels = slp.read_labels(CENTERED)
    assert len(labels) == 55
    assert len(labels.instances) == 110
    assert labels.skeleton.n_keypoints == 24 and labels.skeleton.keypoints[0] == "head"
    assert labels.skeleton.n_edges == 23
    assert labels.individuals == () and labels.instances.track_id is None
    assert labels.is_user.all()
    assert all(r.frame < 870 for r in labels.images)
    # The video path inside the file is another machine's; it must resolve to the copy beside it.
    assert Path(labels.images[0].video) == CENTERED.parent / "centered_pair_low_quality.mp4"
    assert Path(labels.resolve(labels.images[0].video)).is_file()
    check_labels_against_raw(labels, CENTERED)


def test_read_labels_through_registry_sniffs_slp():
    assert detect_format(CENTERED) == "slp"
    labels = io_read_labels(CENTERED)
    assert len(labels) == 55


def test_read_labels_dreem_tracks_and_symmetry():
    labels = slp.read_labels(DREEM)
    assert labels.individuals == ("F", "M")
    assert labels.instances.track_id is not None
    assert set(np.unique(labels.instances.track_id)) == {0, 1}
    check_labels_against_raw(labels, DREEM)


def test_read_labels_predictions_are_not_user():
    labels = slp.read_labels(TUTORIAL)
    assert not labels.is_user.any()
    assert labels.skeleton.keypoints == ("head", "thorax", "abdomen")
    assert np.isfinite(labels.instances.instance_scores).all()
    check_labels_against_raw(labels, TUTORIAL)


def test_labels_roundtrip(tmp_path):
    labels = slp.read_labels(DREEM)
    out = tmp_path / "copy.slp"
    slp.write_labels(labels, out)
    back = slp.read_labels(out)
    assert back.skeleton == labels.skeleton
    assert back.individuals == labels.individuals
    assert [(Path(r.video).name, r.frame) for r in back.images] == [
        (Path(r.video).name, r.frame) for r in labels.images]
    np.testing.assert_array_equal(back.instances.keypoints, labels.instances.keypoints)
    np.testing.assert_array_equal(back.instances.track_id, labels.instances.track_id)
    np.testing.assert_array_equal(back.is_user, labels.is_user)


def test_labels_roundtrip_predicted_scores(tmp_path):
    labels = slp.read_labels(TUTORIAL)
    out = tmp_path / "p.slp"
    slp.write_labels(labels, out)
    back = slp.read_labels(out)
    np.testing.assert_array_equal(back.instances.keypoint_scores, labels.instances.keypoint_scores)
    np.testing.assert_allclose(back.instances.instance_scores, labels.instances.instance_scores,
                               rtol=1e-6)
    assert not back.is_user.any()


def test_video_path_resolved_from_other_machine(tmp_path):
    # predictions.slp names C:/code/.../fly_clip.mp4; put a file of that name beside a copy.
    (tmp_path / "predictions").mkdir()
    copy = tmp_path / "predictions" / "p.slp"
    shutil.copy(TUTORIAL, copy)
    assert slp.read_labels(copy).images[0].video == "C:/code/sleap-tutorial-uo/data/fly_clip.mp4"
    (tmp_path / "video").mkdir()
    (tmp_path / "video" / "fly_clip.mp4").write_bytes(b"")
    ref = slp.read_labels(copy).images[0]
    assert Path(ref.video) == tmp_path / "video" / "fly_clip.mp4"


# ------------------------------------------------------------------ bad input
def test_random_bytes_slp_gives_one_clear_error(tmp_path):
    bad = tmp_path / "bad.slp"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(FormatError, match=r"bad\.slp: not a SLEAP \.slp file \(not an HDF5 file\)"):
        slp.read_labels(bad)
    with pytest.raises(FormatError, match="not a SLEAP .slp file"):
        slp.read_tracks(bad)
    assert not slp.sniff(bad)


def test_hdf5_without_sleap_groups(tmp_path):
    bad = tmp_path / "other.slp"
    with h5py.File(bad, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(FormatError, match="without SLEAP's 'metadata' and 'frames'"):
        slp.read_labels(bad)


def test_missing_file():
    with pytest.raises(MaposeError, match="not found"):
        slp.read_labels(DATA / "nope.slp")
