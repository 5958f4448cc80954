import numpy as np
import pytest

from mapose.errors import ValidationError
from mapose.tracking import Tracker, swap_identities
from tests.tracking.synth import lanes, to_detections


@pytest.fixture(scope="module")
def tracks():
    return Tracker(n_animals=3).fit_track(to_detections(lanes(3, 60)))


def test_swap_from_a_frame_onward(tracks):
    out = swap_identities(tracks, 20, "individual_0", "individual_2")
    pos, new = tracks["position"].values, out["position"].values
    np.testing.assert_array_equal(new[:20], pos[:20])
    np.testing.assert_array_equal(new[20:, ..., 0], pos[20:, ..., 2])
    np.testing.assert_array_equal(new[20:, ..., 2], pos[20:, ..., 0])
    np.testing.assert_array_equal(new[..., 1], pos[..., 1])
    ic, nic = tracks["identity_confidence"].values, out["identity_confidence"].values
    np.testing.assert_array_equal(nic[20:, 0], ic[20:, 2])
    # the input is untouched and swapping twice gives it back
    assert not np.array_equal(tracks["position"].values, out["position"].values)
    back = swap_identities(out, 20, 0, 2)
    np.testing.assert_array_equal(back["position"].values, pos)


def test_swap_errors_name_the_bad_value(tracks):
    with pytest.raises(ValidationError, match="mouse7.*individual_0"):
        swap_identities(tracks, 5, "mouse7", "individual_0")
    with pytest.raises(ValidationError, match="itself"):
        swap_identities(tracks, 5, "individual_1", "individual_1")
    with pytest.raises(ValidationError, match="frame 500"):
        swap_identities(tracks, 500, "individual_0", "individual_1")
