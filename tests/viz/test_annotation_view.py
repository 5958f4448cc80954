"""The ethogram strip of the Behaviour annotation page."""

import numpy as np

from mapose.viz.annotation_view import bins_any, ethogram_strip, strip_frame
from mapose.viz.overlay import identity_colour


def test_bins_any_matches_a_plain_loop_for_long_and_short_videos():
    rng = np.random.default_rng(0)
    for n, width in ((100_000, 1000), (37, 100), (1000, 1000)):
        on = rng.random(n) < 0.001
        edges = np.minimum((np.arange(width + 1) * n) // width, n)
        want = [on[a:max(b, a + 1)].any() for a, b in zip(edges[:-1], edges[1:])]
        assert bins_any(on, width).tolist() == want


def test_strip_draws_bouts_predictions_and_the_current_frame():
    n = 1000
    a, b = np.zeros(n, bool), np.zeros(n, bool)
    a[100:200] = True
    b[500:501] = True  # one frame still shows
    pred = np.zeros(n, bool)
    pred[700:800] = True
    img = ethogram_strip([a, b], width=500, row_height=20, predicted=[None, pred], cursor=900,
                         colours=[0, 3], highlight=1)
    assert img.shape == (40, 500, 3)
    assert tuple(img[5, 75]) == identity_colour(0) and tuple(img[5, 25]) == (250, 250, 250)
    assert tuple(img[25, 250]) == identity_colour(3)
    assert tuple(img[37, 375]) == (90, 90, 90) and tuple(img[17, 375]) != (90, 90, 90)  # row 2's prediction
    assert tuple(img[30, 450]) == (200, 0, 0)  # the cursor
    assert tuple(img[30, 10]) == (232, 232, 232)  # the row being edited
    assert strip_frame(450, 500, n) == 900 and strip_frame(-5, 500, n) == 0 and strip_frame(10_000, 500, n) == 999
