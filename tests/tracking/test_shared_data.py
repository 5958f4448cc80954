"""Re-tracking real clips with reference identities (needs ../shared/data)."""

import pytest

from mapose import io
from mapose.tracking import Tracker, evaluate_tracks

pytestmark = [pytest.mark.shared, pytest.mark.slow]


@pytest.mark.parametrize("clip,video,truth", [
    ("two_flies", "two_flies", "two_flies"),
    ("two_flies_noisy_detections", "two_flies", "two_flies"),
    ("three_flies", "three_flies", "three_flies"),
])
def test_flies_dreem_identities_recovered(shared_data, clip, video, truth):
    from mapose.io.slp import read_detections

    folder = shared_data / "flies_dreem"
    det = read_detections(folder / f"{clip}.slp").without_identities()
    ref = io.read_tracks(folder / f"{truth}.slp")
    tracker = Tracker(n_animals=ref.sizes["individuals"])
    pred = tracker.fit_track(det, video=folder / f"{video}.mp4")
    m = evaluate_tracks(pred, ref)
    assert m["idf1"] >= 0.99, m
    assert m["num_switches"] == 0, m
    assert m["num_false_positives"] == 0  # the spurious detections of the noisy clip are dropped


def test_flies_dreem_noisy_clip_without_the_number_of_animals(shared_data):
    # a count that varies: the three one-frame spurious detections are left out, as with n_animals=2
    from mapose.io.slp import read_detections

    folder = shared_data / "flies_dreem"
    det = read_detections(folder / "two_flies_noisy_detections.slp").without_identities()
    ref = io.read_tracks(folder / "two_flies.slp")
    pred = Tracker().fit_track(det)
    m = evaluate_tracks(pred, ref)
    assert pred.sizes["individuals"] == 2
    assert m["idf1"] == 1.0 and m["num_false_positives"] == 0, m
    raw = Tracker(new_identity_cost=0, min_track_score=0, min_track_keypoints=0).fit_track(det)
    assert evaluate_tracks(raw, ref)["num_false_positives"] == 3  # each kept as a track of its own
