"""Finding the arena: in a video's background (synthetic arenas of known geometry, a real video
without a visible arena) and from the animals' positions."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import shapely

from mapose.errors import ValidationError
from mapose.io import read_tracks
from mapose.io.video import VideoWriter
from mapose.kinematics.arena import arena_finder, arena_from_tracks, detect_arena, video_background

DATA = Path(__file__).resolve().parents[2] / "data"
RNG = np.random.default_rng(0)


def _noisy(img: np.ndarray) -> np.ndarray:
    return np.clip(img.astype(np.float64) + RNG.normal(0, 12, img.shape), 0, 255).astype(np.uint8)


def _iou(a, b) -> float:
    return a.intersection(b).area / a.union(b).area


def test_a_bright_dish_is_found_as_a_circle():
    img = np.full((480, 640), 40, np.uint8)
    cv2.circle(img, (350, 230), 180, 200, -1)
    cv2.circle(img, (300, 200), 15, 60, -1)  # an animal resting on the floor: a hole, filled
    arena = detect_arena(_noisy(img))
    x0, y0, x1, y1 = arena.bounds
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((350, 230), abs=1.5)
    assert (x1 - x0) / 2 == pytest.approx(180, abs=2)
    assert len(arena.geometry.exterior.coords) > 100  # the circle, not a polygon of the outline


def test_a_tilted_dark_floor_on_a_bright_bench_is_found_as_a_rectangle():
    img = np.full((500, 500), 220, np.uint8)
    corners = cv2.boxPoints(((250, 260), (300, 200), 12.0))
    cv2.fillPoly(img, [corners.astype(np.int32)], 50)
    arena = detect_arena(_noisy(img), shape="auto")
    assert len(arena.geometry.exterior.coords) == 5  # four corners
    assert _iou(arena.geometry, shapely.Polygon(corners)) > 0.98


def test_a_hexagonal_floor_stays_a_polygon():
    img = np.full((400, 400), 30, np.uint8)
    a = np.deg2rad(np.arange(6) * 60.0)
    hexagon = np.c_[200 + 150 * np.cos(a), 200 + 150 * np.sin(a)]
    cv2.fillPoly(img, [hexagon.round().astype(np.int32)], 210)
    arena = detect_arena(_noisy(img))
    assert _iou(arena.geometry, shapely.Polygon(hexagon)) > 0.98
    assert 6 <= len(arena.geometry.exterior.coords) - 1 <= 12
    assert _iou(detect_arena(_noisy(img), shape="circle").geometry, shapely.Polygon(hexagon)) < 0.95


def test_a_plus_maze_is_not_taken_for_an_arena():
    """Concave floors (mazes) are left to be drawn: ragged areas of texture look the same to the
    detector, and a wrong arena is worse than none."""
    img = np.full((400, 400), 30, np.uint8)
    plus = np.array([[150, 50], [250, 50], [250, 150], [350, 150], [350, 250], [250, 250], [250, 350],
                     [150, 350], [150, 250], [50, 250], [50, 150], [150, 150]])
    cv2.fillPoly(img, [plus], 210)
    with pytest.raises(ValidationError, match="no arena found"):
        detect_arena(_noisy(img))


def test_the_animals_positions_choose_between_bright_areas():
    img = np.full((400, 600), 30, np.uint8)
    cv2.circle(img, (150, 200), 120, 200, -1)  # the arena
    cv2.rectangle(img, (400, 50), (580, 350), 210, -1)  # a lamp's reflection, larger
    assert detect_arena(_noisy(img)).bounds[0] > 350  # without positions: the largest area
    ang, rad = RNG.uniform(0, 2 * np.pi, 500), 110 * np.sqrt(RNG.uniform(0, 1, 500))
    pts = np.c_[150 + rad * np.cos(ang), 200 + rad * np.sin(ang)]
    pts[:5] = np.nan  # frames where the animal was not seen
    arena = detect_arena(_noisy(img), pts)
    assert arena.bounds == pytest.approx((30, 80, 270, 320), abs=2)


def test_no_arena_is_made_up_where_none_stands_out():
    with pytest.raises(ValidationError, match="no arena found"):
        detect_arena(_noisy(np.full((300, 300), 100, np.uint8)))
    img = np.full((300, 300), 30, np.uint8)
    cv2.circle(img, (80, 80), 50, 200, -1)
    far = np.full((50, 2), 250.0)  # the animals are elsewhere
    with pytest.raises(ValidationError, match="holds 90 % of the animals' positions"):
        detect_arena(_noisy(img), far)


def test_real_fly_video_without_a_visible_arena_is_refused():
    """The bundled two-fly clip shows a floor of food wells with no arena edge: the message says
    what to do instead, rather than returning the frame or a patch of texture."""
    video = DATA / "flies_dreem" / "two_flies.mp4"
    ds = read_tracks(DATA / "flies_dreem" / "two_flies.slp")
    with pytest.raises(ValidationError, match=r"no arena found.*detect: tracks"):
        detect_arena(video, ds["position"].transpose(..., "space").values)


def test_background_of_a_video_drops_the_moving_animal(tmp_path):
    path = tmp_path / "arena.mp4"
    with VideoWriter(path, fps=10, size=(320, 240)) as writer:
        for t in range(30):
            img = np.full((240, 320, 3), 20, np.uint8)
            cv2.rectangle(img, (40, 30), (280, 210), (190, 190, 190), -1)
            cv2.circle(img, (60 + 6 * t, 120), 12, (10, 10, 10), -1)  # a dark animal crossing
            writer.write(img)
    bg = video_background(path, n_frames=15)
    assert bg.shape == (240, 320)
    assert abs(int(bg[120, 150]) - 190) < 15  # the animal is gone from the floor
    arena = detect_arena(path)
    assert arena.bounds == pytest.approx((40, 30, 280, 210), abs=2)
    found = arena_finder(None, path)("arena", "video", "rectangle", 5.0)
    assert found.bounds == pytest.approx((35, 25, 285, 215), abs=2)


def test_arena_from_positions_encloses_them():
    ang, rad = RNG.uniform(0, 2 * np.pi, 4000), 200 * np.sqrt(RNG.uniform(0, 1, 4000))
    pts = np.c_[500 + rad * np.cos(ang), 400 + rad * np.sin(ang)]
    circle = arena_from_tracks(pts)
    x0, y0, x1, y1 = circle.bounds
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((500, 400), abs=3)
    assert (x1 - x0) / 2 == pytest.approx(200, abs=4)
    grown = arena_from_tracks(pts, shape="circle", margin=10)
    assert (grown.bounds[2] - grown.bounds[0]) / 2 == pytest.approx((x1 - x0) / 2 + 10, abs=0.5)
    box = np.c_[RNG.uniform(100, 300, 4000), RNG.uniform(50, 150, 4000)]
    box[0] = [5000, 5000]  # one stray detection is trimmed away
    rect = arena_from_tracks(box, shape="auto")
    assert rect.bounds == pytest.approx((100, 50, 300, 150), abs=2)
    with pytest.raises(ValidationError, match="3 places or more"):
        arena_from_tracks(np.full((10, 2), 3.0))
    with pytest.raises(ValidationError, match="allowed auto, circle"):
        arena_from_tracks(pts, shape="hexagon")


def test_arena_from_real_fly_tracks_holds_the_flies():
    ds = read_tracks(DATA / "flies_tutorial_pair" / "predictions" / "predictions.slp")
    arena = arena_from_tracks(ds, margin=5)
    xy = ds["position"].transpose(..., "space").values.reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    inside = shapely.intersects_xy(arena.geometry, xy[:, 0], xy[:, 1]).mean()
    assert inside > 0.998  # all but the trimmed strays
    assert arena.geometry.area < 1024 * 1024 * 0.6  # the flies did not walk everywhere
