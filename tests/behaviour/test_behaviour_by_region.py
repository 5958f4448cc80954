"""Where each behaviour happens (:func:`mapose.behaviour.regions.behaviour_by_region`), and
``mapose cluster --regions`` on the bundled real fly tracks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mapose.behaviour.regions import behaviour_by_region
from mapose.cli import main
from mapose.core import make_tracks
from mapose.core.regions import Region
from mapose.errors import ValidationError
from mapose.io import read_regions, read_tracks
from mapose.kinematics import region_occupancy

DATA = Path(__file__).resolve().parents[2] / "data" / "flies_tutorial_pair"
POSE, REGIONS = DATA / "predictions" / "predictions.slp", DATA / "regions.yaml"
BOX, LEFT = Region.rectangle("box", 0, 0, 10, 10), Region.rectangle("left", -100, -100, 5, 100)


def _two_animals():
    """Animal a: frames 0-5 at x = 1 (in box and left), 6-9 at x = 50 (neither); animal b: x = 7
    (in box only) throughout, unseen in frame 9; frames numbered from 100."""
    pos = np.full((10, 2, 1, 2), 5.0)
    pos[:, 0, 0, 0] = [1] * 6 + [50] * 4
    pos[:, 0, 0, 1] = 7.0
    pos[9, :, :, 1] = np.nan
    return make_tracks(pos, keypoints=["body"], individuals=["a", "b"], frames=range(100, 110))


def _labels(session="s"):
    # a: groom in frames 100-105 (all inside the box), walk in 106-109 (outside); b: walk throughout
    rows = [(session, 100 + t, "a", "groom" if t < 6 else "walk") for t in range(10)]
    rows += [(session, 100 + t, "b", "walk") for t in range(10)]
    return pd.DataFrame(rows, columns=["session", "frame", "subject", "behaviour"])


def test_fractions_shares_and_enrichment_in_closed_form():
    table = behaviour_by_region(_labels(), {"s": _two_animals()}, {"s": [BOX, LEFT]}, column="behaviour")
    got = table.set_index(["behaviour", "region"])
    # seen labelled frames: a 10, b 9 (unseen in frame 109); inside the box: a 6, b 9 -> 15 of 19
    assert got.loc[("groom", "box"), ["frames", "frames_inside"]].tolist() == [6, 6]
    assert got.loc[("walk", "box"), ["frames", "frames_inside"]].tolist() == [13, 9]
    assert got.loc[("groom", "box"), "fraction_inside"] == 1.0
    assert got.loc[("walk", "box"), "share_of_region"] == pytest.approx(9 / 15)
    assert got.loc[("groom", "box"), "enrichment"] == pytest.approx(1.0 / (15 / 19))
    # left holds only animal a's grooming
    assert got.loc[("groom", "left"), "share_of_region"] == 1.0
    assert got.loc[("walk", "left"), "frames_inside"] == 0
    assert got.loc[("groom", "left"), "enrichment"] == pytest.approx(1.0 / (6 / 19))
    # shares of a region add up to 1; frame-weighted fractions give the overall time inside
    for region, grp in table.groupby("region"):
        assert grp["share_of_region"].sum() == pytest.approx(1.0)
        assert (grp["fraction_inside"] * grp["frames"]).sum() / grp["frames"].sum() == pytest.approx(
            (grp["frames_inside"].sum()) / 19)


def test_a_pair_is_placed_at_its_first_animal():
    labels = pd.DataFrame({"session": "s", "frame": range(100, 110), "subject": "b|a", "cluster": 0})
    table = behaviour_by_region(labels, {"s": _two_animals()}, {"s": [BOX]})
    # b is in the box whenever seen (frames 100-108), wherever a is
    assert table[["frames", "frames_inside"]].values.tolist() == [[9, 9]]


def test_bad_inputs_are_named():
    ds = _two_animals()
    with pytest.raises(ValidationError, match="lacks columns"):
        behaviour_by_region(_labels(), {"s": ds}, {"s": [BOX]})  # no cluster column
    wrong = _labels().assign(subject="c")
    with pytest.raises(ValidationError, match=r"animals \['c'\] that its tracks do not have"):
        behaviour_by_region(wrong, {"s": ds}, {"s": [BOX]}, column="behaviour")
    with pytest.raises(ValidationError, match="no tracks or no regions"):
        behaviour_by_region(_labels(), {"s": ds}, {}, column="behaviour")
    with pytest.raises(ValidationError, match="no area"):
        behaviour_by_region(_labels(), {"s": ds}, {"s": [Region.line("l", [[0, 0], [1, 1]])]}, column="behaviour")
    two = pd.concat([_labels("s"), _labels("t")])
    with pytest.raises(ValidationError, match="same regions"):
        behaviour_by_region(two, {"s": ds, "t": ds}, {"s": [BOX], "t": [LEFT]}, column="behaviour")


@pytest.mark.slow
def test_cluster_cli_says_where_each_cluster_happens_on_real_fly_tracks(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("max_fit_frames: 800\numap_neighbors: 15\nclassifier_iterations: 20\nwindows: [5, 15]\n"
                   "min_bout_frames: 3\n")
    out = tmp_path / "out"
    assert main(["cluster", str(POSE), "--out", str(out), "--config", str(cfg),
                 "--regions", str(REGIONS), "--keypoint", "thorax"]) == 0
    table = pd.read_csv(out / "cluster_regions.csv")
    labels = pd.read_csv(out / "labels.csv")
    assert (out / "cluster_regions.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "summary.json").read_text())["keypoint"] == "thorax"
    areas = [r for r in read_regions(REGIONS) if r.is_area]
    assert sorted(table["region"].unique()) == sorted(r.name for r in areas)  # the midline line is left out
    # per region, the frames inside add up to the flies' labelled frames inside it, counted independently
    occ = region_occupancy(read_tracks(POSE), areas, keypoint="thorax")
    for region, grp in table.groupby("region"):
        per_fly = occ.sel(region=region)
        expected = sum(int(np.nansum(per_fly.sel(individuals=fly).values)) for fly in labels["subject"].unique())
        assert grp["frames_inside"].sum() == expected, region
        assert set(grp["cluster"]) == set(labels["cluster"])
    # the flies visit some patches: those have cluster rows with shares that add up to one
    visited = table.groupby("region")["frames_inside"].sum()
    assert (visited > 0).sum() >= 2
    for region in visited[visited > 0].index:
        assert table.loc[table["region"] == region, "share_of_region"].sum() == pytest.approx(1.0)


def test_cluster_cli_region_errors_come_before_the_fit(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["cluster", str(POSE), "--out", str(out), "--regions", str(REGIONS), str(REGIONS)]) == 2
    assert "one regions file for all 1 pose files or one per file" in capsys.readouterr().err
    assert main(["cluster", str(POSE), "--out", str(out), "--regions", str(REGIONS), "--keypoint", "tail"]) == 2
    err = capsys.readouterr().err
    assert "--keypoint" in err and "'tail' not in the tracks" in err and len(err.strip().splitlines()) == 1
    assert main(["cluster", str(POSE), "--out", str(out), "--regions", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml" in capsys.readouterr().err
    assert not out.exists()
