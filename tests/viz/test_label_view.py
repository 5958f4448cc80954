"""The Labelling page's picture: crop and zoom geometry, clicks mapped back to frame pixels."""

import numpy as np
import pytest

from mapose.core import Skeleton
from mapose.errors import ValidationError
from mapose.viz.label_view import draw_label_frame, fit_view, make_view
from mapose.viz.overlay import identity_colour

SK = Skeleton.from_names(["head", "thorax", "tail"], edges=[("head", "thorax"), ("thorax", "tail")])


def test_a_displayed_pixel_maps_to_the_frame_pixel_under_it():
    v = make_view((1024, 768), zoom=1, max_display=512)
    assert (v.x0, v.y0, v.width, v.height, v.scale) == (0, 0, 1024, 768, 0.5)
    assert v.display_size == (512, 384)
    # displayed pixel u covers frame pixels 2u and 2u+1: its centre is at 2u + 0.5
    assert v.to_frame(10, 20) == (20.5, 40.5)
    z = make_view((1024, 768), centre=(1000, 10), zoom=4, max_display=512)
    assert (z.x0, z.y0, z.width, z.height) == (768, 0, 256, 192)  # clamped inside the frame
    assert z.scale == 2.0
    pts = np.array([[800.0, 50.0], [np.nan, np.nan], [1023.0, 191.0]])
    back = np.array([z.to_frame(*p) for p in z.to_display(pts[[0, 2]])])
    assert np.allclose(back, pts[[0, 2]]) and np.isnan(z.to_display(pts)[1]).all()
    with pytest.raises(ValidationError, match="zoom 0.5 must be at least 1"):
        make_view((10, 10), zoom=0.5)


def test_labels_are_discs_in_their_identity_colour_and_predictions_grey_rings():
    img = np.zeros((100, 200, 3), np.uint8)
    v = make_view((200, 100), zoom=1, max_display=400)  # scale 2
    user = np.array([[20.0, 20.0], [40.0, 20.0], [np.nan, np.nan]])
    pred = np.array([[20.0, 70.0], [40.0, 70.0], [60.0, 70.0]])
    out = draw_label_frame(img, v, SK, [user, pred], [True, False], [1, 0], selected=(0, 1), names=False)
    assert out.shape == (200, 400, 3)
    cx, cy = np.round(v.to_display(user[0])).astype(int)
    assert tuple(out[cy, cx]) == identity_colour(1)  # filled disc
    px, py = np.round(v.to_display(pred[0])).astype(int)
    assert tuple(out[py - 3, px]) == (0, 0, 0)  # a ring: hollow inside (the edge runs through its centre)
    ring = out[py - 6:py + 7, px - 5]  # the ring's left side, anti-aliased
    brightest = ring[ring[:, 0].argmax()]
    assert brightest[0] > 150 and brightest[0] == brightest[1] == brightest[2]  # grey, not a colour
    sx, sy = np.round(v.to_display(user[1])).astype(int)
    assert out[sy, sx + 7:sx + 12].min(axis=1).max() == 255  # the selected point is ringed in white


def test_fit_view_frames_the_animals():
    pts = np.array([[500.0, 500.0], [600.0, 540.0], [np.nan, np.nan]])
    v = fit_view((1024, 1024), pts, max_display=512)
    assert v.width == v.height == 250  # zoom 1024 / (2.5 * 100), the points' extent being 100 px
    cx, cy = v.x0 + v.width / 2, v.y0 + v.height / 2
    assert abs(cx - 550) <= 1 and abs(cy - 520) <= 1
    assert fit_view((1024, 1024), pts[:1]).width == 128  # one point: at most 8 times
    assert fit_view((1024, 1024), pts, zoom=2).width == 512
    assert fit_view((1024, 1024), np.full((3, 2), np.nan)).width == 1024  # nothing placed: whole frame
    spread = np.array([[0.0, 0.0], [1000.0, 900.0]])
    assert fit_view((1024, 1024), spread).width == 1024  # zoom never below 1


def test_panning_keeps_the_crop_size_and_stays_in_the_frame():
    v = make_view((1024, 768), centre=(512, 384), zoom=4, max_display=512)
    right = v.shifted(v.width / 2, 0, (1024, 768))
    assert (right.width, right.height, right.scale) == (v.width, v.height, v.scale)
    assert right.x0 == v.x0 + v.width // 2 and right.y0 == v.y0
    far = v.shifted(-5000, 5000, (1024, 768))
    assert (far.x0, far.y0) == (0, 768 - v.height)
