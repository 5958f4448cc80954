"""``mapose regions`` end to end on the bundled SLEAP tutorial fly tracks and its food patches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mapose.cli import main
from mapose.io import read_regions, read_tracks
from mapose.io.tables import read_feature_table
from mapose.kinematics.regions import region_summary

DATA = Path(__file__).resolve().parents[2] / "data" / "flies_tutorial_pair"
POSE, REGIONS, VIDEO = DATA / "predictions" / "predictions.slp", DATA / "regions.yaml", DATA / "video" / "fly_clip.mp4"


def test_regions_summary_per_frame_table_and_plots(tmp_path, capsys):
    out, per_frame, plots = tmp_path / "summary.csv", tmp_path / "frames.parquet", tmp_path / "plots"
    rc = main(["regions", str(POSE), "--regions", str(REGIONS), "--out", str(out), "--per-frame", str(per_frame),
               "--plots", str(plots), "--video", str(VIDEO)])
    assert rc == 0
    text = capsys.readouterr().out
    summary = read_feature_table(out)
    assert len(summary) == 2 * 10 and set(summary["kind"]) == {"area", "line"}
    expected = region_summary(read_tracks(POSE), read_regions(REGIONS))
    np.testing.assert_allclose(summary["time_inside"], expected["time_inside"], equal_nan=True)
    areas = summary[summary["kind"] == "area"]
    # each fly is in at most one patch at a time, so its times in patches add up to at most the clip
    assert (areas.groupby("individual")["time_inside"].sum() <= 1350 / 25.0).all()
    assert areas["visits"].sum() > 0 and "times in s" in text and "visit(s)" in text
    frames = read_feature_table(per_frame)
    assert len(frames) == 2 * 1350 and {"in_patch_centre", "dist_patch_centre", "dist_midline"} <= set(frames.columns)
    got = frames.groupby("subject")["in_patch_centre"].sum() / 25.0
    want = areas[areas["region"] == "patch_centre"].set_index("individual")["time_inside"]
    np.testing.assert_allclose(got.sort_index(), want.sort_index())
    for name in ("regions.png", "time_in_regions.png"):
        assert (plots / name).stat().st_size > 5000


def test_min_visit_merges_jitter_and_the_default_says_so(tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert main(["regions", str(POSE), "--regions", str(REGIONS), "--out", str(out)]) == 0
    raw = read_feature_table(out)
    assert "--min-visit 0.2 ignores them" in capsys.readouterr().out
    assert main(["regions", str(POSE), "--regions", str(REGIONS), "--out", str(out), "--min-visit", "0.2"]) == 0
    clean = read_feature_table(out)
    assert clean["visits"].sum() < raw["visits"].sum()
    assert clean["crossings"].sum() < raw["crossings"].sum()


def test_features_take_regions_too(tmp_path):
    out = tmp_path / "f.parquet"
    assert main(["features", str(POSE), "--regions", str(REGIONS), "--out", str(out), "--mode", "animal"]) == 0
    df = read_feature_table(out)
    assert {"in_patch_centre", "dist_patch_centre", "dist_midline"} <= set(df.columns)


@pytest.mark.parametrize("extra, message", [
    (["--keypoint", "wing"], "keypoint 'wing' not in the tracks; known: head, thorax, abdomen"),
    (["--min-visit", "-1"], "--min-visit must be >= 0"),
    (["--out", "x.txt"], "expected a .parquet or .csv file"),
    (["--save-regions", "x.txt"], "--save-regions x.txt: expected a .yaml"),
])
def test_regions_errors_are_one_line(tmp_path, capsys, extra, message):
    args = ["regions", str(POSE), "--regions", str(REGIONS), "--out", str(tmp_path / "s.csv")] + extra
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_missing_or_misplaced_regions(tmp_path, capsys):
    assert main(["regions", str(POSE), "--regions", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "s.csv")]) == 2
    assert "regions file" in capsys.readouterr().err
    far = tmp_path / "far.yaml"
    far.write_text("regions:\n  - {name: elsewhere, rectangle: [5000, 5000, 6000, 6000]}\n")
    assert main(["regions", str(POSE), "--regions", str(far), "--out", str(tmp_path / "s.csv")]) == 0
    assert "no region of" in capsys.readouterr().out


def test_one_open_field_template_finds_the_arena_of_each_session(tmp_path, capsys):
    """A template with the arena taken from the tracks and zones made inside it: measured on the
    real fly tracks, saved as measured, and the same numbers from the saved plain regions."""
    template = tmp_path / "open_field.yaml"
    template.write_text("regions:\n"
                        "  - {name: arena, detect: tracks, shape: polygon, margin: 5}\n"
                        "  - {name: centre, inside: arena, area: 0.5}\n"
                        "  - {name: wall, inside: arena, border: 60}\n")
    out, measured = tmp_path / "s.csv", tmp_path / "measured.yaml"
    assert main(["regions", str(POSE), "--regions", str(template), "--out", str(out),
                 "--save-regions", str(measured)]) == 0
    assert f"wrote {measured}" in capsys.readouterr().out
    summary = read_feature_table(out).set_index(["region", "individual"])
    # the arena holds the flies (all but the 0.1 % of positions trimmed as strays)
    assert (summary.xs("arena")["fraction_inside"] > 0.99).all()
    for fly in summary.xs("arena").index:
        inner = summary.loc[("centre", fly), "time_inside"] + summary.loc[("wall", fly), "time_inside"]
        assert inner <= summary.loc[("arena", fly), "time_inside"] + 1e-9  # centre and wall do not overlap here
    again = region_summary(read_tracks(POSE), read_regions(measured))
    np.testing.assert_allclose(summary["time_inside"].to_numpy(),
                               again.set_index(["region", "individual"])["time_inside"].to_numpy())


def test_an_arena_the_video_does_not_show_is_a_one_line_error(tmp_path, capsys):
    template = tmp_path / "t.yaml"
    template.write_text("regions:\n  - {name: arena, detect: video}\n")
    assert main(["regions", str(POSE), "--regions", str(template), "--out", str(tmp_path / "s.csv"),
                 "--video", str(VIDEO)]) == 2
    err = capsys.readouterr().err
    assert "region 'arena': no arena found" in err and "detect: tracks" in err and err.count("\n") == 1
    assert not (tmp_path / "s.csv").exists()


def test_features_and_classifiers_find_the_arena_of_each_pose_file(tmp_path):
    from mapose.cli._common import regions_per_file

    template = tmp_path / "t.yaml"
    template.write_text("regions:\n  - {name: arena, detect: tracks}\n  - {name: centre, inside: arena, area: 0.3}\n")
    out = tmp_path / "f.parquet"
    assert main(["features", str(POSE), "--regions", str(template), "--out", str(out), "--mode", "animal"]) == 0
    df = read_feature_table(out)
    assert df["in_arena"].mean() > 0.99 and 0 < df["in_centre"].mean() < 0.9
    ds = read_tracks(POSE)
    shifted = ds.assign(position=ds["position"] + 100.0)  # the same session filmed 100 px lower right
    a, b = regions_per_file([str(template)], [ds, shifted])
    assert b[0].bounds == pytest.approx(tuple(v + 100 for v in a[0].bounds), abs=1e-6)


def test_an_arena_of_known_size_calibrates_the_measurements(tmp_path, capsys):
    """A dish 'known' to be 5 cm across, found from the real fly tracks: distances come out in cm
    (pixels / px_per_cm), times are unchanged, and mapose features writes the calibration it used."""
    from mapose.kinematics.arena import arena_from_tracks

    template = tmp_path / "t.yaml"
    template.write_text("regions:\n  - {name: arena, detect: tracks, shape: circle, size_cm: 5}\n"
                        "  - {name: centre, inside: arena, area: 0.5}\n")
    ppc = arena_from_tracks(read_tracks(POSE), shape="circle").with_size(5).pixels_per_cm()
    plain, cm = tmp_path / "px.csv", tmp_path / "cm.csv"
    px_only = tmp_path / "px.yaml"
    px_only.write_text(template.read_text().replace(", size_cm: 5", ""))
    assert main(["regions", str(POSE), "--regions", str(px_only), "--out", str(plain)]) == 0
    assert main(["regions", str(POSE), "--regions", str(template), "--out", str(cm)]) == 0
    assert f"calibration: {ppc:.4g} px/cm from region 'arena'" in capsys.readouterr().out
    a, b = read_feature_table(plain), read_feature_table(cm)
    np.testing.assert_allclose(b["time_inside"], a["time_inside"])
    np.testing.assert_allclose(b["distance_inside"], a["distance_inside"] / ppc, rtol=1e-6)

    out = tmp_path / "f.parquet"
    assert main(["features", str(POSE), "--regions", str(template), "--out", str(out), "--mode", "animal"]) == 0
    from mapose.config import load_yaml
    from mapose.kinematics import FeaturesRunConfig

    saved = load_yaml(tmp_path / "f.config.yaml", FeaturesRunConfig)
    assert saved.calibration.px_per_cm == pytest.approx(ppc)


def test_classifiers_take_each_sessions_calibration_from_its_regions(capsys):
    from mapose.cli.classify import _with_region_sizes
    from mapose.core.regions import Region
    from mapose.errors import ValidationError

    sized = (Region.circle("dish", 100, 100, 100).with_size(10), Region.circle("nest", 50, 50, 10))
    got = _with_region_sizes([None, 3.0, None], [sized, sized, ()], ["a.h5", "b.h5", "c.h5"])
    assert got == [pytest.approx(20, rel=1e-3), 3.0, None]  # --px-per-cm wins where given
    assert "a.h5: 20 px/cm from region 'dish'" in capsys.readouterr().out
    with pytest.raises(ValidationError, match="give it for one area only"):
        _with_region_sizes([None], [(sized[0], sized[1].with_size(2))], ["a.h5"])


def test_the_video_beside_a_pose_file_is_found_for_its_arena(tmp_path, capsys):
    """A DeepLabCut-style pose file records no video; the video named like it beside it is used."""
    import cv2

    from mapose.core import make_tracks
    from mapose.io import write_tracks
    from mapose.io.video import VideoWriter

    xs = 60 + 6 * np.arange(30.0)
    with VideoWriter(tmp_path / "sessA.mp4", fps=10, size=(320, 240)) as writer:
        for x in xs:
            img = np.full((240, 320, 3), 20, np.uint8)
            cv2.rectangle(img, (40, 30), (280, 210), (190, 190, 190), -1)
            cv2.circle(img, (int(x), 120), 12, (10, 10, 10), -1)  # a dark animal crossing the floor
            writer.write(img)
    pos = np.stack([xs, np.full(30, 120.0)], axis=1)[:, :, None, None]  # (time, space, keypoint, animal)
    pose = tmp_path / "sessADLC_resnet50_arenaNov1shuffle1_1000.h5"
    write_tracks(make_tracks(pos, np.ones((30, 1, 1)), keypoints=["body"], fps=10.0), pose, format="dlc")
    assert not read_tracks(pose).attrs.get("video_path")
    template = tmp_path / "t.yaml"
    template.write_text("regions:\n  - {name: floor, detect: video, shape: rectangle}\n")
    measured = tmp_path / "measured.yaml"
    assert main(["regions", str(pose), "--regions", str(template), "--out", str(tmp_path / "s.csv"),
                 "--save-regions", str(measured)]) == 0
    assert "sessA.mp4 (the video beside it)" in capsys.readouterr().out
    assert read_regions(measured)[0].bounds == pytest.approx((40, 30, 280, 210), abs=2)
