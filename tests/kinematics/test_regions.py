"""Regions of interest on tracks: closed-form occupancy, visits, latency, crossings; movement parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mapose.core import make_tracks
from mapose.core.regions import Region
from mapose.errors import ConfigError, SkeletonError, ValidationError
from mapose.io import read_regions, read_tracks
from mapose.kinematics import calibrate, feature_table
from mapose.kinematics.regions import (
    reference_points,
    region_distance,
    region_occupancy,
    region_summary,
    visit_state,
)

from .conftest import circle_tracks

DATA = Path(__file__).resolve().parents[2] / "data" / "flies_tutorial_pair"


def test_an_animal_on_a_circle_visits_the_right_half_twice_and_crosses_the_midline_both_ways():
    # centroid at (200 + 50 cos phi, 150 + 50 sin phi), phi = 0.5 rad/s * t, 10 s at 30 fps (phi 0..5 rad)
    ds = circle_tracks(radius=50.0, omega=0.5, fps=30.0, n=300)
    phi = 0.5 * np.arange(300) / 30.0
    right = Region.rectangle("right", 200, 0, 400, 400)
    mid = Region.line("mid", [(200, 0), (200, 400)])  # drawn downwards: x < 200 is on its right
    df = region_summary(ds, [right, mid]).set_index("region")
    inside = np.cos(phi) >= 0
    assert df.loc["right", "frames_seen"] == 300
    assert df.loc["right", "time_inside"] == pytest.approx(inside.sum() / 30.0)
    assert df.loc["right", "fraction_inside"] == pytest.approx(inside.mean())
    assert df.loc["right", "visits"] == 2 and df.loc["right", "latency"] == 0.0
    assert df.loc["right", "mean_visit"] == pytest.approx(inside.sum() / 30.0 / 2)
    c = np.stack([200 + 50 * np.cos(phi), 150 + 50 * np.sin(phi)], 1)
    steps = np.hypot(*np.diff(c, axis=0).T)
    assert df.loc["right", "distance_inside"] == pytest.approx(steps[inside[1:] & inside[:-1]].sum(), rel=1e-9)
    assert (df.loc["mid", "crossings"], df.loc["mid", "crossings_right"], df.loc["mid", "crossings_left"]) == (2, 1, 1)
    assert np.isnan(df.loc["mid", "time_inside"]) and np.isnan(df.loc["right", "crossings"])
    assert df.attrs["time_unit"] == "s" and df.attrs["keypoint"] == "centroid"


def test_latency_is_the_time_of_the_first_frame_inside():
    ds = circle_tracks(radius=50.0, omega=0.5, fps=30.0, n=300)
    # the lower-left quarter (x < 200, y > 150) is entered when phi passes pi / 2
    row = region_summary(ds, [Region.rectangle("ll", 0, 150, 200, 400)]).iloc[0]
    first = int(np.argmax((np.cos(0.5 * np.arange(300) / 30) <= 0) & (np.sin(0.5 * np.arange(300) / 30) >= 0)))
    assert row["latency"] == pytest.approx(first / 30.0)
    assert row["visits"] == 1


def test_occupancy_and_distance_have_closed_forms():
    ds = circle_tracks(radius=50.0, omega=0.5, fps=30.0, n=300)
    disc = Region.circle("disc", 200, 150, 30)  # the animal stays 20 px outside it
    ring = Region.circle("big", 200, 150, 80)   # and 30 px inside this one
    occ = region_occupancy(ds, [disc, ring])
    assert occ.dims == ("time", "individuals", "region") and list(occ["region"].values) == ["disc", "big"]
    assert (occ.sel(region="disc") == 0).all() and (occ.sel(region="big") == 1).all()
    dist = region_distance(ds, [disc, ring, Region.line("l", [(0, 150), (400, 150)])])
    np.testing.assert_allclose(dist.sel(region="disc"), 20.0, atol=0.01)
    np.testing.assert_allclose(dist.sel(region="big"), -30.0, atol=0.02)
    phi = 0.5 * np.arange(300) / 30.0
    np.testing.assert_allclose(dist.sel(region="l").values[:, 0], np.abs(50 * np.sin(phi)), atol=1e-9)


def test_unseen_frames_continue_a_visit_but_add_no_time_and_min_visit_removes_jitter():
    x = np.array([0, 1, 1, np.nan, np.nan, 1, 0, 1, 0, 0, 0, 1, 1, 1, np.nan, 0, 0], float)
    raw = visit_state(x)
    assert raw.tolist() == [0, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0]
    # an exit of 1 frame is bridged, then visits shorter than 2 frames are dropped
    assert visit_state(x, 2).tolist() == [0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0]
    assert visit_state(np.full(5, np.nan)).tolist() == [False] * 5
    pos = np.full((len(x), 2, 1, 1), np.nan)
    seen = np.isfinite(x)
    pos[seen, 0, 0, 0] = np.where(x[seen] == 1, 5.0, 50.0)
    pos[seen, 1, 0, 0] = 5.0
    ds = make_tracks(pos, keypoints=["body"], fps=10.0)
    box = Region.rectangle("box", 0, 0, 10, 10)
    row = region_summary(ds, [box]).iloc[0]
    assert row["visits"] == 3 and row["time_inside"] == pytest.approx(0.7) and row["frames_seen"] == 14
    assert row["latency"] == pytest.approx(0.1)
    clean = region_summary(ds, [box], min_visit=0.2).iloc[0]
    assert clean["visits"] == 2 and clean["time_inside"] == pytest.approx(0.8)
    with pytest.raises(ConfigError, match="min_visit must be >= 0"):
        region_summary(ds, [box], min_visit=-1)


def test_min_visit_ignores_short_stays_across_a_line():
    x = np.array([10, 10, 10, -1, 10, 10, -1, -1, -1, 10, 10], float)  # a 1-frame hop over x = 0
    pos = np.zeros((len(x), 2, 1, 1))
    pos[:, 0, 0, 0] = x
    ds = make_tracks(pos, keypoints=["body"], fps=10.0)
    line = Region.line("wall", [(0, -5), (0, 5)])
    assert region_summary(ds, [line]).iloc[0]["crossings"] == 4
    assert region_summary(ds, [line], min_visit=0.2).iloc[0]["crossings"] == 2


def test_tracks_in_cm_get_regions_scaled_and_other_units_are_refused():
    ds = circle_tracks(radius=50.0, omega=0.5, fps=30.0, n=300)
    box = Region.rectangle("right", 200, 0, 400, 400)
    px = region_summary(ds, [box]).iloc[0]
    cm = region_summary(calibrate(ds, px_per_cm=10.0), [box]).iloc[0]
    assert cm["time_inside"] == px["time_inside"] and cm["visits"] == px["visits"]
    assert cm["distance_inside"] == pytest.approx(px["distance_inside"] / 10.0)
    odd = ds.copy()
    odd.attrs["space_unit"] = "mm"
    with pytest.raises(ValidationError, match="'mm' without a px_per_cm"):
        region_summary(odd, [box])


def test_unknown_keypoints_lines_only_and_unseen_animals():
    ds = circle_tracks()
    box = Region.rectangle("box", 0, 0, 10, 10)
    with pytest.raises(SkeletonError, match="keypoint 'tail' not in the tracks; known: nose, tailbase"):
        region_summary(ds, [box], keypoint="tail")
    with pytest.raises(ValidationError, match="no area among the regions"):
        region_occupancy(ds, [Region.line("l", [(0, 0), (1, 1)])])
    pos = np.full((20, 2, 1, 2), np.nan)
    pos[:, :, 0, 0] = 5.0
    row = region_summary(make_tracks(pos, keypoints=["body"]), [box]).set_index("individual")
    # an animal never seen: how long it was inside is unknown (NaN), not 0 visits and 0 s
    assert row.loc["individual_1", "frames_seen"] == 0
    assert row.loc[["individual_1"], ["time_inside", "fraction_inside", "visits", "distance_inside"]].isna().all(axis=None)
    from mapose.kinematics import path_length

    np.testing.assert_array_equal(np.isnan(path_length(make_tracks(pos, keypoints=["body"]), "body").values),
                                  [False, True])
    assert row.loc["individual_0", "time_inside"] == 20 and row.attrs["time_unit"] == "frames"
    # a named keypoint or the mean of several
    nose = reference_points(ds, "nose")
    both = reference_points(ds, ["nose", "tailbase"])
    np.testing.assert_allclose(both, reference_points(ds), atol=1e-9)
    assert not np.allclose(nose, both)


def test_feature_table_adds_region_columns():
    ds = circle_tracks(radius=50.0, omega=0.5, fps=30.0, n=300)
    regions = [Region.rectangle("right half", 200, 0, 400, 400), Region.line("mid", [(200, 0), (200, 400)])]
    df = feature_table(ds, windows=(), regions=regions)
    occ = region_occupancy(ds, regions).values[:, 0, 0]
    np.testing.assert_array_equal(df["in_right_half"].to_numpy(), occ.astype(np.float32))
    assert "dist_mid" in df.columns and "in_mid" not in df.columns
    with pytest.raises(ValidationError, match="'right half', 'right-half' give the same column name 'right_half'"):
        feature_table(ds, windows=(), regions=[Region.circle("right half", 0, 0, 5),
                                               Region.circle("right-half", 0, 0, 5)])


def test_occupancy_equals_movement_on_real_fly_tracks():
    roi = pytest.importorskip("movement.roi")
    ds = read_tracks(DATA / "predictions" / "predictions.slp")
    regions = read_regions(DATA / "regions.yaml")
    areas = [r for r in regions if r.is_area]
    ours = region_occupancy(ds, areas, keypoint="thorax")
    position = ds["position"].sel(keypoints="thorax").transpose("time", "individuals", "space")
    theirs = roi.compute_region_occupancy(position, [roi.PolygonOfInterest(
        np.asarray(r.geometry.exterior.coords), name=r.name) for r in areas])
    seen = np.isfinite(position.values).all(-1)
    assert seen.mean() > 0.99
    for k, r in enumerate(areas):
        np.testing.assert_array_equal(ours.values[..., k][seen] == 1, theirs.sel(region=r.name).values[seen])
    assert ours.sum() > 500  # the flies do visit patches (807 animal-frames inside)


def test_files_that_keep_every_other_frame_count_time_from_the_time_coordinate():
    ds = circle_tracks(radius=50.0, omega=0.5, fps=30.0, n=300)
    box = Region.rectangle("ll", 0, 150, 200, 400)
    full = region_summary(ds, [box]).iloc[0]
    half = region_summary(ds.isel(time=slice(0, None, 2)), [box]).iloc[0]
    assert half["time_inside"] == pytest.approx(full["time_inside"], abs=2 / 30)
    assert half["latency"] == pytest.approx(full["latency"], abs=2 / 30)
