"""LabelEditor on real projects: the bundled fly video with its human labels as predictions to
correct (what ``mapose extract-frames --tracks`` writes), a DeepLabCut project, a SLEAP package."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from mapose.core import ImageRef
from mapose.data.label_editor import LabelEditor
from mapose.errors import MaposeError, MissingFileError, ValidationError
from mapose.io import read_labels
from mapose.io.slp import write_labels
from mapose.io.video import VideoReader

ROOT = Path(__file__).resolve().parents[2]
FLIES = ROOT / "data" / "flies_dreem"
MIRROR = ROOT / "data" / "mouse_mirror_lp"
FRAMES = (3, 40, 90)  # frames given as predictions to correct
SUGGESTED = (10, 70)  # frames suggested, nothing on them yet


@pytest.fixture
def project(tmp_path):
    """A SLEAP project on the fly video: human labels of 3 frames as predictions, 2 more suggested."""
    video = tmp_path / f"{tmp_path.name}.mp4"  # unique: missing videos are looked for in sibling folders
    shutil.copy(FLIES / "two_flies.mp4", video)
    lab = read_labels(FLIES / "two_flies.slp")
    keep = [i for i, r in enumerate(lab.images) if r.frame in FRAMES]
    sel = np.isin(lab.instances.frame, keep)
    det = lab.instances.select(sel)
    remap = {old: new for new, old in enumerate(keep)}
    det = type(det)(frame=np.array([remap[f] for f in det.frame]), keypoints=det.keypoints,
                    keypoint_scores=np.full(det.keypoint_scores.shape, 0.9), instance_scores=np.full(len(det), 0.8),
                    skeleton=det.skeleton, n_frames=len(keep), track_id=det.track_id, track_names=det.track_names)
    images = tuple(ImageRef(video=str(video), frame=lab.images[i].frame) for i in keep)
    labels = type(lab)(skeleton=lab.skeleton, images=images, instances=det, individuals=lab.individuals,
                       is_user=np.zeros(len(det), bool))
    out = tmp_path / "todo.slp"
    write_labels(labels, out, suggestions=[ImageRef(video=str(video), frame=f) for f in SUGGESTED])
    return out, lab


def test_frames_statuses_and_images(project):
    path, _ = project
    ed = LabelEditor(path)
    assert [f.frame for f in ed.frames] == sorted(FRAMES + SUGGESTED)
    assert ed.frame_name(0) == f"{path.parent.name}.mp4 #3"
    assert ed.counts() == {"labelled": 0, "predicted": 3, "unlabelled": 2, "empty": 0}
    i = ed.next_frame(-1, "unlabelled")
    assert ed.frames[i].frame == 10 and ed.instances(i) == []
    with VideoReader(path.parent / f"{path.parent.name}.mp4") as vr:
        assert np.array_equal(ed.image(i), vr[10])
    j = ed.next_frame(-1, "predicted")
    shown = ed.instances(j)
    assert len(shown) == 2 and not any(s.user for s in shown) and {s.track for s in shown} == {"F", "M"}
    assert np.allclose([s.score for s in shown], [0.8, 0.8])  # the instance scores written (float32 in .slp)
    assert ed.next_frame(len(ed) - 1) is None and ed.next_frame(len(ed), step=-1) == len(ed) - 1
    before = path.read_bytes()
    for k in range(len(ed)):
        ed.instances(k), ed.status(k), ed.problems(k)
    assert not ed.dirty and path.read_bytes() == before  # looking changes nothing


def test_correcting_a_prediction_keeps_it_linked_and_trains_on_the_correction(project):
    path, lab = project
    ed = LabelEditor(path)
    j = ed.frames.index(next(f for f in ed.frames if f.frame == 40))
    pred = ed.instances(j)
    a = ed.place(j, 1, "head", 500.25, 400.75)
    assert a == 0  # the corrected animal is listed first, as a user instance
    shown = ed.instances(j)
    assert [s.user for s in shown] == [True, False] and shown[0].track == pred[1].track
    assert np.allclose(shown[0].points[0], [500.25, 400.75])
    other = np.isfinite(pred[1].points).all(axis=1)
    other[0] = False
    assert np.allclose(shown[0].points[other], pred[1].points[other])  # the rest copied from the prediction
    assert ed.problems(j) and "not yet accepted" in ed.problems(j)[0]
    assert ed.accept_all(j) == 1 and ed.problems(j) == []
    assert ed.dirty
    ed.save()
    assert not ed.dirty

    saved = sio.load_slp(str(path), open_videos=False)
    lf = next(f for f in saved.labeled_frames if f.frame_idx == 40)
    users = [x for x in lf.instances if not isinstance(x, sio.PredictedInstance)]
    preds = [x for x in lf.instances if isinstance(x, sio.PredictedInstance)]
    assert len(users) == 2 and len(preds) == 2  # SLEAP keeps the predictions behind the corrections
    assert all(u.from_predicted is not None for u in users)
    assert len(saved.suggestions) == 2 and [t.name for t in saved.tracks] == ["F", "M"]

    labels = read_labels(path)
    gt = labels.ground_truth_images()
    assert [r.frame for r, g in zip(labels.images, gt) if g] == [40]  # only the corrected frame is training data
    i40 = [r.frame for r in labels.images].index(40)
    user = labels.instances.keypoints[(labels.instances.frame == i40) & labels.is_user]
    assert len(user) == 2 and np.any(np.all(np.isclose(user[:, 0], [500.25, 400.75]), axis=1))
    # the frames not touched are written back as they were
    for f in (3, 90):
        a_, b_ = ed.instances(ed.frames.index(next(x for x in ed.frames if x.frame == f))), None
        ref = read_labels(path)
        k = [r.frame for r in ref.images].index(f)
        b_ = ref.instances.keypoints[ref.instances.frame == k]
        assert np.allclose(np.stack([s.points for s in a_]), b_, equal_nan=True)


def test_new_animals_hidden_points_identities_deletions_and_negatives(project):
    path, _ = project
    ed = LabelEditor(path)
    i = ed.next_frame(-1, "unlabelled")
    a = ed.add_instance(i, track="F")
    assert ed.status(i) == "labelled" and ed.problems(i) == ["animal 0 has no point placed"]
    ed.place(i, a, 0, 10.5, 20.5)
    ed.place(i, a, "thorax", 30.0, 40.0)
    ed.hide(i, a, "head")
    pts = ed.instances(i)[a].points
    assert np.isnan(pts[0]).all() and np.allclose(pts[1], [30, 40]) and ed.instances(i)[a].track == "F"
    ed.set_track(i, a, "third")
    assert "third" in ed.tracks
    j = ed.next_frame(i, "unlabelled")
    ed.mark_empty(j)
    assert ed.status(j) == "empty"
    k = ed.next_frame(-1, "predicted")
    ed.delete_instance(k, 0)
    ed.delete_instance(k, 0)
    assert ed.status(k) == "unlabelled"  # a frame with nothing left is unlabelled again, not a negative
    n = ed.add_frame(0, 127)
    assert ed.frames[n].frame == 127 and ed.add_frame(0, 127) == n
    ed.save()

    again = LabelEditor(path)
    assert again.counts() == {"labelled": 1, "predicted": 2, "unlabelled": 2, "empty": 1}
    labels = read_labels(path)
    gt_frames = sorted(r.frame for r, g in zip(labels.images, labels.ground_truth_images()) if g)
    assert gt_frames == [10, 70]  # the labelled frame and the negative
    assert len(sio.load_slp(str(path), open_videos=False).suggestions) == 4  # 10, 70, 127 and emptied 3


def test_bad_edits_are_refused_by_name(project):
    path, _ = project
    ed = LabelEditor(path)
    i = ed.next_frame(-1, "predicted")
    with pytest.raises(ValidationError, match="unknown body part 'tail'; the skeleton has head, thorax"):
        ed.place(i, 0, "tail", 1, 1)
    with pytest.raises(ValidationError, match="keypoint 99 out of range"):
        ed.place(i, 0, 99, 1, 1)
    with pytest.raises(ValidationError, match="not a finite number"):
        ed.place(i, 0, "head", np.nan, 1)
    with pytest.raises(ValidationError, match="shows 2 animal"):
        ed.place(i, 5, "head", 1, 1)
    with pytest.raises(ValidationError, match="not in the list of 5 frames"):
        ed.status(7)
    with pytest.raises(ValidationError, match="past the end of the video \\(128 frames\\)"):
        ed.add_frame(0, 500)
    with pytest.raises(ValidationError, match="unknown frame status"):
        ed.next_frame(status="done")
    assert not ed.dirty
    (path.parent / f"{path.parent.name}.mp4").unlink()
    with pytest.raises(MissingFileError, match=f"{path.parent.name}.mp4.*not found"):
        LabelEditor(path).image(0)
    with pytest.raises(ValidationError, match="name it .slp"):
        LabelEditor(path, out=path.with_suffix(".csv"))


def test_a_package_with_embedded_frames_is_saved_beside_it(tmp_path):
    video = tmp_path / "pkg_flies.mp4"
    shutil.copy(FLIES / "two_flies.mp4", video)
    shutil.copy(FLIES / "two_flies.slp", tmp_path / "pkg_flies.slp")
    labels = sio.load_slp(str(tmp_path / "pkg_flies.slp"))
    labels.videos[0].replace_filename(str(video))
    labels.labeled_frames = labels.labeled_frames[:3]
    pkg = tmp_path / "flies.pkg.slp"
    sio.save_slp(labels, str(pkg), embed="user", verbose=False)
    with pytest.raises(ValidationError, match="embedded.*another file"):
        LabelEditor(pkg, out=pkg)
    ed = LabelEditor(pkg)
    assert ed.out == tmp_path / "flies.labels.slp"
    with VideoReader(video) as vr:
        assert np.array_equal(ed.image(1), vr[1])
    ed.place(0, 0, "head", 12.0, 13.0)
    ed.save()
    back = read_labels(ed.out)
    assert np.allclose(back.instances.keypoints[0, 0], [12, 13])


def test_a_deeplabcut_project_is_edited_into_a_slp_beside_it(tmp_path):
    shutil.copytree(MIRROR, tmp_path / "mirror")
    csv = tmp_path / "mirror" / "CollectedData.csv"
    before = csv.read_bytes()
    ed = LabelEditor(csv)
    assert ed.out == csv.with_name("CollectedData.slp") and ed.counts()["labelled"] == len(ed)
    assert ed.frame_name(0) == read_labels(csv).images[0].image  # the image file, as DeepLabCut names it
    img = ed.image(0)
    assert img.ndim == 3 and img.shape[2] == 3
    ed.place(0, 0, ed.keypoints[0], 5.0, 6.0)
    ed.save()
    assert csv.read_bytes() == before
    orig, edited = read_labels(csv), read_labels(ed.out)
    assert len(edited) == len(orig) and edited.skeleton.keypoints == orig.skeleton.keypoints
    assert np.allclose(edited.instances.keypoints[0, 0], [5, 6])
    assert np.allclose(edited.instances.keypoints[1:], orig.instances.keypoints[1:], equal_nan=True)
    # opened again: the .slp of the first session is there, so this one saves beside it, never over it
    first = ed.out.read_bytes()
    again = LabelEditor(csv)
    assert again.out == csv.with_name("CollectedData-2.slp")
    again.place(0, 0, again.keypoints[0], 7.0, 8.0)
    again.save()
    assert csv.with_name("CollectedData.slp").read_bytes() == first


def test_undo_takes_back_each_edit_and_a_failed_edit_leaves_no_step(project):
    path, _ = project
    ed = LabelEditor(path)
    j = ed.next_frame(-1, "predicted")
    before = [(s.user, s.track, s.points.copy()) for s in ed.instances(j)]

    def same_as_before():
        now = ed.instances(j)
        return [(s.user, s.track) for s in now] == [(u, t) for u, t, _ in before] and all(
            np.array_equal(s.points, p, equal_nan=True) for s, (_, _, p) in zip(now, before))

    ed.place(j, 1, "head", 1.0, 2.0)
    ed.place(j, 0, "thorax", 3.0, 4.0)
    ed.set_track(j, 0, "new")
    ed.hide(j, 0, "abdomen")
    ed.delete_instance(j, 1)
    for _ in range(5):
        assert ed.undo()
    assert same_as_before() and "new" not in ed.tracks

    ed.mark_empty(j)
    assert ed.status(j) == "empty" and ed.undo() and same_as_before()
    assert ed.accept_all(j) == 2 and ed.undo() and same_as_before()
    n = len(ed)
    ed.add_frame(0, 120)
    assert ed.add_frame(0, 120) and len(ed) == n + 1  # listing it again is no step
    assert ed.undo() and len(ed) == n
    assert not ed.undo() and not ed.can_undo  # nothing left

    ed.save()
    with pytest.raises(ValidationError):
        ed.place(j, 0, "tail", 1, 1)
    assert not ed.can_undo and same_as_before() and not ed.dirty  # a refused edit changes nothing
    i = ed.next_frame(-1, "unlabelled")
    ed.add_instance(i)
    ed.place(i, 0, "head", 5.0, 5.0)
    ed.undo()
    ed.undo()
    assert ed.status(i) == "unlabelled"
    ed.save()  # the undone state is what is written
    assert LabelEditor(path).counts() == {"labelled": 0, "predicted": 3, "unlabelled": 2, "empty": 0}


def test_copying_the_animals_of_the_nearest_labelled_frame(project):
    path, _ = project
    ed = LabelEditor(path)
    by_frame = {f.frame: j for j, f in enumerate(ed.frames)}
    assert ed.source_frame(by_frame[70]) is None  # nothing labelled yet
    ed.accept_all(by_frame[40])
    ed.accept_all(by_frame[90])
    assert ed.source_frame(by_frame[70]) == by_frame[40]  # nearest before
    assert ed.source_frame(by_frame[10]) == by_frame[40]  # else nearest after
    assert ed.copy_animals(by_frame[70], by_frame[40]) == 2
    src, dst = ed.instances(by_frame[40]), ed.instances(by_frame[70])
    assert [s.track for s in dst] == [s.track for s in src] and all(s.user for s in dst)
    assert all(np.array_equal(a.points, b.points, equal_nan=True) for a, b in zip(src, dst))
    assert ed.undo() and ed.instances(by_frame[70]) == []  # one step
    with pytest.raises(ValidationError, match="no labelled animal to copy"):
        ed.copy_animals(by_frame[70], by_frame[10])


def test_a_file_saved_by_another_program_meanwhile_is_not_overwritten(project):
    path, _ = project
    mine, theirs = LabelEditor(path), LabelEditor(path)
    theirs.mark_empty(0)
    theirs.save()  # e.g. SLEAP's GUI, or a second browser tab
    mine.accept_all(mine.next_frame(-1, "predicted"))
    with pytest.raises(MaposeError, match="changed on disk since it was opened here.*not overwritten"):
        mine.save()
    assert LabelEditor(path).status(0) == "empty"  # their change is still there
    mine.out = path.with_name("mine.slp")  # saving elsewhere is allowed
    mine.save()
    theirs.hide(2, 0, "head")
    theirs.save()  # and the editor that saved last goes on saving
    assert read_labels(path.with_name("mine.slp")).ground_truth_images().sum() == 1


def test_likely_mistakes_are_flagged_on_the_frame_as_it_is_edited(tmp_path):
    path = tmp_path / "flies.slp"
    video = tmp_path / f"{tmp_path.name}.mp4"
    shutil.copy(FLIES / "two_flies.mp4", video)
    shutil.copy(FLIES / "two_flies.slp", path)
    labels = sio.load_slp(str(path), open_videos=False)
    labels.videos[0].replace_filename(str(video), open=False)
    sio.save_slp(labels, str(path), verbose=False)
    ed = LabelEditor(path)
    before = {(x.frame, x.kind) for x in ed.issues()}  # the sample's own (a few short head-eye limbs)
    i = next(j for j, f in enumerate(ed.frames) if f.frame == 40)
    assert ed.issues(i) == []
    left = ed.instances(i)[0].points[ed.keypoints.index("midlegL4")].copy()
    right = ed.instances(i)[0].points[ed.keypoints.index("midlegR4")].copy()
    ed.place(i, 0, "midlegL4", *right)  # the mid legs labelled the wrong way round
    ed.place(i, 0, "midlegR4", *left)
    found = ed.issues(i)
    assert [(x.kind, x.animal, x.keypoints) for x in found] == [("left_right_swap", 0, ("midlegL4", "midlegR4"))]
    assert {(x.frame, x.kind) for x in ed.issues()} == before | {(40, "left_right_swap")}
    ed.undo()
    ed.undo()
    assert ed.issues(i) == []
