import numpy as np

from mapose.tracking import Tracker
from mapose.tracking.appearance import hull_histograms
from tests.tracking.synth import identity_map, pose, to_detections


def test_hull_histogram_of_a_bright_and_a_dark_animal():
    img = np.zeros((100, 200), np.uint8)
    img[20:60, 20:80] = 200
    img[20:60, 120:180] = 60
    kp = np.array([[[30.0, 30.0], [70.0, 30.0], [50.0, 50.0]],
                   [[130.0, 30.0], [170.0, 30.0], [150.0, 50.0]]])
    h = hull_histograms(np.stack([img] * 3, axis=-1), kp, pad=2.0, bins=8)
    assert h.shape == (2, 8)
    np.testing.assert_allclose(h.sum(axis=1), 1.0)
    assert h[0].argmax() == 200 * 8 // 256 and h[1].argmax() == 60 * 8 // 256
    # a single-keypoint animal gets a disc; one outside the image gets NaN
    h1 = hull_histograms(img, np.array([[[50.0, 40.0]], [[500.0, 500.0]]]), pad=5.0, bins=8)
    assert h1[0].argmax() == 200 * 8 // 256 and np.isnan(h1[1]).all()


def _bounce(n_before=30, gap=20, n_after=30, speed=3.0):
    """A bright and a dim animal walk towards each other, vanish, and reappear walking apart:
    constant-velocity extrapolation pairs them the wrong way; only appearance can tell."""
    t_n = n_before + gap + n_after
    t = np.arange(t_n, dtype=float)
    xb = np.where(t < n_before, 190 + speed * t, 0.0)
    xd = np.where(t < n_before, 410 - speed * t, 0.0)
    after = t - (n_before + gap)
    xb = np.where(t >= n_before + gap, 280 - speed * after, xb)  # bright walks back left
    xd = np.where(t >= n_before + gap, 320 + speed * after, xd)  # dim walks back right
    head_b = np.where(t < n_before, 0.0, np.pi)
    head_d = np.where(t < n_before, np.pi, 0.0)
    c = np.stack([np.stack([xb, np.full(t_n, 200.0)], 1), np.stack([xd, np.full(t_n, 200.0)], 1)], 1)
    poses = pose(c, np.stack([head_b, head_d], 1))
    keep = np.ones((t_n, 2), bool)
    keep[n_before:n_before + gap] = False
    return poses, keep


def _write_video(path, poses, keep, levels=(230, 70)):
    import cv2

    from mapose.io.video import VideoWriter

    with VideoWriter(path, fps=30, size=(600, 400)) as vw:
        for f in range(poses.shape[0]):
            img = np.zeros((400, 600), np.uint8)
            for i in range(poses.shape[1]):
                if keep[f, i]:
                    pts = poses[f, i].round().astype(np.int32)
                    cv2.polylines(img, [pts], False, int(levels[i]), thickness=12)
            vw.write(img)


def test_appearance_resolves_what_motion_gets_wrong(tmp_path):
    poses, keep = _bounce()
    det = to_detections(poses, keep=keep)
    video = tmp_path / "bounce.mp4"
    _write_video(video, poses, keep)
    blind = Tracker(n_animals=2).fit_track(det)
    ids_blind = identity_map(det, blind)
    assert ids_blind[0] == {0, 1}  # motion alone swaps them at the gap
    tr = Tracker(n_animals=2)
    seeing = tr.fit_track(det, video=video)
    ids = identity_map(det, seeing)
    assert len(ids[0]) == 1 and len(ids[1]) == 1 and ids[0] != ids[1]
    assert tr.identity_descriptors_.shape[0] == 2
    assert np.isfinite(tr.identity_descriptors_).all()
    assert seeing.attrs["video_path"] == str(video)
    assert tr.appearance_weight_ > 0.5  # bright vs dim: appearance is trusted


def test_appearance_joins_gaps_when_the_number_of_animals_varies(tmp_path):
    """Without ``n_animals`` tracklets are joined across gaps too: the same bounce, where motion joins
    each animal to the other's continuation and appearance tells them apart."""
    poses, keep = _bounce()
    det = to_detections(poses, keep=keep)
    video = tmp_path / "bounce.mp4"
    _write_video(video, poses, keep)
    blind = Tracker(n_animals=None).fit_track(det)
    assert blind.sizes["individuals"] == 2 and identity_map(det, blind)[0] == {0, 1}
    tr = Tracker(n_animals=None)
    seeing = tr.fit_track(det, video=video)
    ids = identity_map(det, seeing)
    assert seeing.sizes["individuals"] == 2
    assert len(ids[0]) == 1 and len(ids[1]) == 1 and ids[0] != ids[1]
    assert tr.appearance_weight_ > 0.5
    # every tracklet a track of its own: nothing is joined, so nothing is read from the video
    alone = Tracker(n_animals=None, new_identity_cost=0, min_track_score=0, min_track_keypoints=0)
    assert alone.fit_track(det, video=video).sizes["individuals"] == 4 and alone.appearance_weight_ == 0.0


def test_look_alike_animals_get_no_appearance_weight(tmp_path):
    poses, keep = _bounce()
    det = to_detections(poses, keep=keep)
    video = tmp_path / "same.mp4"
    _write_video(video, poses, keep, levels=(150, 150))
    tr = Tracker(n_animals=2)
    tr.fit_track(det, video=video)
    assert tr.appearance_weight_ < 0.2


def test_animals_that_touch_in_every_frame_are_tracked_without_appearance(tmp_path):
    # a short clip where two animals walk side by side, closer than a body length, all the time:
    # no frame shows one alone, so there is nothing to describe (this used to stop the analysis)
    t = np.arange(40, dtype=float)
    c = np.stack([np.stack([200 + 2 * t, np.full(40, 200.0)], 1),
                  np.stack([200 + 2 * t, np.full(40, 215.0)], 1)], 1)
    poses = pose(c, np.zeros((40, 2)))
    keep = np.ones((40, 2), bool)
    det = to_detections(poses, keep=keep)
    video = tmp_path / "side_by_side.mp4"
    _write_video(video, poses, keep, levels=(230, 70))
    tr = Tracker(n_animals=2)
    ds = tr.fit_track(det, video=video)
    assert tr.appearance_weight_ == 0.0
    ids = identity_map(det, ds)
    assert len(ids[0]) == 1 and len(ids[1]) == 1 and ids[0] != ids[1]


def test_a_part_of_a_video_reads_appearance_from_its_own_frames(tmp_path):
    """Detections of frames 40.. of a video tracked with ``start=40`` (``mapose analyze --frames 40:``):
    appearance is read from the right frames and the tracks hold frames 40.. only."""
    from dataclasses import replace

    poses, keep = _bounce()
    lead = 40
    video = tmp_path / "later.mp4"
    _write_video(video, np.concatenate([np.full((lead,) + poses.shape[1:], -100.0), poses]),
                 np.concatenate([np.zeros((lead, 2), bool), keep]))
    det = to_detections(poses, keep=keep)
    later = replace(det, frame=det.frame + lead, n_frames=det.n_frames + lead)
    tr = Tracker(n_animals=2)
    ds = tr.fit_track(later, video=video, start=lead)
    assert ds["frame"].values.tolist() == list(range(lead, lead + poses.shape[0]))
    np.testing.assert_allclose(ds["time"].values, ds["frame"].values / 30.0)
    ids = identity_map(det, ds.assign_coords(time=np.arange(ds.sizes["time"])))
    assert len(ids[0]) == 1 and len(ids[1]) == 1 and ids[0] != ids[1]  # appearance saw the right frames
    assert tr.appearance_weight_ > 0.5
