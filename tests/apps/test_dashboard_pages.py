"""Dashboard pages run on the bundled sample with Streamlit's AppTest (no browser)."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

streamlit_testing = pytest.importorskip("streamlit.testing.v1")
AppTest = streamlit_testing.AppTest

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "apps"
POSE = ROOT / "data" / "flies_dreem" / "two_flies.slp"
VIDEO = ROOT / "data" / "flies_dreem" / "two_flies.mp4"


@pytest.fixture
def session(tmp_path, monkeypatch):
    """A private copy of the sample (pages may write beside the pose file)."""
    pose = tmp_path / POSE.name
    shutil.copy(POSE, pose)
    shutil.copy(VIDEO, tmp_path / VIDEO.name)
    monkeypatch.setenv("MAPOSE_DASHBOARD_PATH", str(pose))
    return pose


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(APPS / name), default_timeout=120)
    return at


def assert_ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_home():
    at = page("Home.py").run()
    assert_ok(at)
    assert "mapose dashboard" in at.title[0].value


def test_session_page_frame_viewer(session):
    at = page("pages/1_Session.py").run()
    assert_ok(at)
    assert at.sidebar.text_input(key="pose_input").value == str(session)
    assert at.sidebar.text_input(key="video_input").value.endswith("two_flies.mp4")
    assert len(at.get("image")) == 1  # the frame with the pose drawn on it
    assert "**128** frames" in at.markdown[0].value and "**2** animals" in at.markdown[0].value
    at.number_input(key="jump").set_value(100).run()
    assert_ok(at)
    assert at.slider(key="frame_slider").value == 100


def test_pages_warn_about_a_bad_video_or_an_empty_pose_file_instead_of_failing(session, monkeypatch):
    """A video that cannot be opened, one too short or of another size for the pose file, and a pose
    file without a single position: a warning on the page, which goes on without the video."""
    from mapose import io
    from mapose.core import make_tracks

    junk = session.with_name("junk.mp4")
    junk.write_text("not a video\n")
    far = io.read_tracks(session)
    far = far.assign(position=far["position"] + 5000.0)
    io.write_tracks(far, session.with_name("far.h5"))
    nan = session.with_name("nan.h5")
    io.write_tracks(make_tracks(np.full((50, 2, 3, 2), np.nan), keypoints=["head", "thorax", "abdomen"]), nan)
    for pose, video, words in ((session, junk, "cannot open as a video"),
                               (session.with_name("far.h5"), VIDEO, "is it the video of this pose file")):
        monkeypatch.setenv("MAPOSE_DASHBOARD_PATH", str(pose))
        monkeypatch.setenv("MAPOSE_DASHBOARD_VIDEO", str(video))
        for name in ("pages/1_Session.py", "pages/2_Tracking_review.py", "pages/7_Behaviour_annotation.py"):
            at = page(name).run()
            assert not at.exception, (name, [e.value for e in at.exception])
            assert any(words in w.value for w in at.sidebar.warning), (name, [w.value for w in at.sidebar.warning])
    monkeypatch.setenv("MAPOSE_DASHBOARD_PATH", str(nan))
    monkeypatch.delenv("MAPOSE_DASHBOARD_VIDEO")
    for name in ("pages/1_Session.py", "pages/3_Kinematics.py"):
        at = page(name).run()
        assert not at.exception, (name, [e.value for e in at.exception])
        assert any("holds no keypoint position in any frame" in w.value for w in at.warning), name


def test_a_folder_without_pose_files_never_opens_the_bundled_sample(tmp_path, monkeypatch):
    monkeypatch.setenv("MAPOSE_DASHBOARD_PATH", str(tmp_path))
    at = page("pages/1_Session.py").run()
    assert not at.exception
    assert at.sidebar.text_input(key="pose_input").value == ""  # not data/flies_dreem/two_flies.slp
    assert f"No pose file in {tmp_path}" in at.info[0].value


def test_tracking_review_retrack_and_swap_with_undo(session):
    from mapose import io

    at = page("pages/2_Tracking_review.py").run()
    assert_ok(at)
    at.button(key="retrack").click().run()
    assert_ok(at)
    tracked = session.with_name("two_flies.tracked.slp")
    assert tracked.exists() and tracked.with_name(tracked.name + ".swaps.csv").exists()
    assert at.session_state["pose_path"] == str(tracked)
    before = io.read_tracks(tracked)
    at.number_input(key="swap_from").set_value(64)
    at.selectbox(key="swap_a").set_value(str(before["individuals"].values[0]))
    at.selectbox(key="swap_b").set_value(str(before["individuals"].values[1]))
    at.button(key="do_swap").click().run()
    assert_ok(at)
    after = io.read_tracks(tracked)
    p0, p1 = before["position"].values, after["position"].values
    t = int(np.searchsorted(before["frame"].values, 64))
    np.testing.assert_array_equal(p1[:t], p0[:t])
    np.testing.assert_array_equal(p1[t:, :, :, 0], p0[t:, :, :, 1])
    at.button(key="undo").click().run()
    assert_ok(at)
    np.testing.assert_array_equal(io.read_tracks(tracked)["position"].values, p0)


def test_tracking_review_never_overwrites_labels_or_an_earlier_file(session):
    """A swap on a SLEAP project with labels placed by people is saved to a new file (writing tracks
    would turn the labels into predictions); re-tracking beside an existing file takes a new name."""
    from mapose import io

    original = session.read_bytes()
    at = page("pages/2_Tracking_review.py").run()
    assert_ok(at)
    names = [str(n) for n in io.read_tracks(session)["individuals"].values]
    at.number_input(key="swap_from").set_value(64)
    at.selectbox(key="swap_a").set_value(names[0])
    at.selectbox(key="swap_b").set_value(names[1])
    at.button(key="do_swap").click().run()
    assert_ok(at)
    corrected = session.with_name("two_flies.corrected.slp")
    assert session.read_bytes() == original and corrected.exists()
    assert at.session_state["pose_path"] == str(corrected)
    moved = io.read_tracks(corrected)["position"].values
    t = int(np.searchsorted(io.read_tracks(session)["frame"].values, 64))
    np.testing.assert_array_equal(moved[t:, :, :, 0], io.read_tracks(session)["position"].values[t:, :, :, 1])
    # re-tracking when <name>.tracked.slp is already there writes <name>-2.tracked.slp
    keep = session.with_name("two_flies.tracked.slp")
    keep.write_bytes(b"someone's file")
    at = page("pages/2_Tracking_review.py").run()
    at.button(key="retrack").click().run()
    assert_ok(at)
    assert keep.read_bytes() == b"someone's file" and session.with_name("two_flies-2.tracked.slp").exists()


def test_kinematics_page(session):
    at = page("pages/3_Kinematics.py").run()
    assert_ok(at)
    assert at.selectbox(key="a_feature").value == "speed"
    assert at.selectbox(key="p_feature").value == "centroid_dist"
    at.number_input(key="pxcm").set_value(10.0).run()
    assert_ok(at)


def test_kinematics_page_calibrates_from_an_area_of_known_size(session):
    from mapose import io
    from mapose.core.regions import Region

    floor = Region.rectangle("floor", 0, 0, 1000, 500).with_size([50, 25])
    io.write_regions([floor], session.with_name("regions.yaml"))
    at = page("pages/3_Kinematics.py").run()
    assert_ok(at)
    assert at.number_input(key="pxcm").value == pytest.approx(20.0)
    assert any("20 px/cm from region 'floor'" in c.value for c in at.caption)
    assert any("speeds in cm" in c.value for c in at.caption)


def test_regions_page_measures_draws_saves_and_deletes(tmp_path, monkeypatch):
    from mapose.io import read_regions

    src = ROOT / "data" / "flies_tutorial_pair"
    (tmp_path / "predictions").mkdir()
    pose = tmp_path / "predictions" / "predictions.slp"
    shutil.copy(src / "predictions" / "predictions.slp", pose)
    shutil.copy(src / "regions.yaml", tmp_path / "regions.yaml")
    monkeypatch.setenv("MAPOSE_DASHBOARD_PATH", str(pose))
    monkeypatch.setenv("MAPOSE_DASHBOARD_VIDEO", str(src / "video" / "fly_clip.mp4"))
    at = page("pages/8_Regions.py").run()
    assert_ok(at)
    assert at.text_input(key="reg_path").value == str(tmp_path / "regions.yaml")
    table = at.dataframe[0].value
    assert len(table) == 2 * 10 and table["visits"].sum() > 0
    assert at.selectbox(key="reg_keypoint").value == "centroid"
    # two clicks (video pixels) make a rectangle; it is measured at once and saved on request
    at.session_state["reg_points"] = [[180.0, 372.0], [316.0, 610.0]]
    at.run()
    at.radio(key="reg_shape").set_value("rectangle")
    at.text_input(key="reg_name").set_value("left_patch_again")
    at.button(key="reg_add").click().run()
    assert_ok(at)
    table = at.dataframe[0].value.set_index(["region", "individual"])
    assert len(table) == 2 * 11
    np.testing.assert_allclose(table.loc["left_patch_again", "time_inside"],
                               table.loc["patch_middle_left", "time_inside"])
    at.button(key="reg_save").click().run()
    assert_ok(at)
    assert [r.name for r in read_regions(tmp_path / "regions.yaml")][-1] == "left_patch_again"
    at.selectbox(key="reg_delete").set_value("midline")
    at.button(key="reg_do_delete").click().run()
    assert_ok(at)
    assert len(at.dataframe[0].value) == 2 * 10
    # a bad region is refused with its reason, and nothing is added
    at.session_state["reg_points"] = [[0.0, 0.0]]
    at.run()
    at.radio(key="reg_shape").set_value("circle")
    at.text_input(key="reg_name").set_value("dot")
    at.button(key="reg_add").click().run()
    assert "centre and a point on the edge" in at.error[0].value
    assert len(at.dataframe[0].value) == 2 * 10
    # opening another regions file first saves what was changed for this one (midline deleted)
    at.text_input(key="reg_path").set_value(str(tmp_path / "other.geojson")).run()
    assert_ok(at)
    assert "midline" not in [r.name for r in read_regions(tmp_path / "regions.yaml")]
    assert "No regions yet" in at.info[0].value


def _add_rectangle(at: AppTest, name: str) -> None:
    """Draw a rectangle on the Regions page (two clicks) and add it as ``name``."""
    at.session_state["reg_points"] = [[100.0, 100.0], [200.0, 200.0]]
    at.run()
    at.radio(key="reg_shape").set_value("rectangle")
    at.text_input(key="reg_name").set_value(name)
    at.button(key="reg_add").click().run()


def test_regions_page_never_writes_over_a_regions_file_it_could_not_read(tmp_path, monkeypatch):
    """A regions file with a typo (its regions are not shown) is moved aside when new regions are
    saved, not replaced by them."""
    from mapose.io import read_regions

    src = ROOT / "data" / "flies_tutorial_pair"
    pose = tmp_path / "predictions.slp"
    shutil.copy(src / "predictions" / "predictions.slp", pose)
    good = (src / "regions.yaml").read_text()
    broken = good.replace("}", "", 1)
    path = tmp_path / "regions.yaml"
    path.write_text(broken)
    monkeypatch.setenv("MAPOSE_DASHBOARD_PATH", str(pose))
    at = page("pages/8_Regions.py").run()
    assert at.text_input(key="reg_path").value == str(path)
    assert "not valid YAML" in at.error[0].value
    _add_rectangle(at, "new")
    at.button(key="reg_save").click().run()
    assert not at.exception
    assert [r.name for r in read_regions(path)] == ["new"]
    assert (tmp_path / "regions.unreadable.yaml").read_text() == broken  # the user's file, as it was
    assert any("could not be read; it is kept as regions.unreadable.yaml" in c.value for c in at.caption)


def test_regions_page_saves_deleting_every_region_by_moving_the_file_aside(tmp_path, monkeypatch):
    from mapose.core.regions import Region
    from mapose.io import read_regions, write_regions

    src = ROOT / "data" / "flies_tutorial_pair"
    pose = tmp_path / "predictions.slp"
    shutil.copy(src / "predictions" / "predictions.slp", pose)
    path = write_regions([Region.circle("a", 300, 300, 50), Region.circle("b", 600, 300, 50)],
                         tmp_path / "regions.yaml")
    monkeypatch.setenv("MAPOSE_DASHBOARD_PATH", str(pose))
    at = page("pages/8_Regions.py").run()
    assert_ok(at)
    assert at.text_input(key="reg_path").value == str(path)
    for name in ("a", "b"):
        at.selectbox(key="reg_delete").set_value(name)
        at.button(key="reg_do_delete").click().run()
        assert_ok(at)
    assert not at.button(key="reg_save").disabled  # deleting them all is a change to save
    at.button(key="reg_save").click().run()
    assert_ok(at)
    assert not path.exists()
    assert [r.name for r in read_regions(tmp_path / "regions.deleted.yaml")] == ["a", "b"]  # nothing lost
    assert any("no regions left" in c.value for c in at.caption)
    assert at.button(key="reg_save").disabled  # nothing more to save
    # drawn and deleted again: the earlier deleted version is kept beside the new one
    _add_rectangle(at, "c")
    at.button(key="reg_save").click().run()
    at.selectbox(key="reg_delete").set_value("c")
    at.button(key="reg_do_delete").click().run()
    at.button(key="reg_save").click().run()
    assert_ok(at)
    assert [r.name for r in read_regions(tmp_path / "regions.deleted.yaml")] == ["a", "b"]
    assert [r.name for r in read_regions(tmp_path / "regions.deleted-2.yaml")] == ["c"]


def test_regions_page_shows_the_arena_a_template_finds_and_keeps_the_template(tmp_path, monkeypatch):
    from mapose.io import read_regions

    src = ROOT / "data" / "flies_tutorial_pair"
    pose = tmp_path / "predictions.slp"
    shutil.copy(src / "predictions" / "predictions.slp", pose)
    template = tmp_path / "regions.yaml"
    text = ("regions:\n  - {name: arena, detect: tracks, shape: circle}\n"
            "  - {name: centre, inside: arena, area: 0.5}\n")
    template.write_text(text)
    monkeypatch.setenv("MAPOSE_DASHBOARD_PATH", str(pose))
    monkeypatch.setenv("MAPOSE_DASHBOARD_VIDEO", str(src / "video" / "fly_clip.mp4"))
    at = page("pages/8_Regions.py").run()
    assert_ok(at)
    assert at.text_input(key="reg_path").value == str(template)
    table = at.dataframe[0].value
    assert set(table["region"]) == {"arena", "centre"}
    assert (table[table["region"] == "arena"]["fraction_inside"] > 0.99).all()
    assert any("finds the arena in each video" in c.value for c in at.caption)
    at.selectbox(key="reg_delete").set_value("centre")
    at.button(key="reg_do_delete").click().run()
    at.button(key="reg_save").click().run()
    assert_ok(at)
    assert template.read_text() == text  # the template is kept
    assert [r.name for r in read_regions(tmp_path / "predictions.regions.yaml")] == ["arena"]


def test_regions_page_finds_the_arena_and_adds_zones_inside_it(tmp_path, monkeypatch):
    src = ROOT / "data" / "flies_tutorial_pair"
    pose = tmp_path / "predictions.slp"
    shutil.copy(src / "predictions" / "predictions.slp", pose)
    monkeypatch.setenv("MAPOSE_DASHBOARD_PATH", str(pose))
    monkeypatch.setenv("MAPOSE_DASHBOARD_VIDEO", str(src / "video" / "fly_clip.mp4"))
    at = page("pages/8_Regions.py").run()
    assert_ok(at)
    at.radio(key="reg_arena_src").set_value("video")
    at.button(key="reg_find").click().run()  # this clip shows no arena edge: refused, with what to do
    assert "no arena found" in at.error[0].value and "detect: tracks" in at.error[0].value
    at.radio(key="reg_arena_src").set_value("tracks")
    at.selectbox(key="reg_arena_shape").set_value("circle")
    at.button(key="reg_find").click().run()
    assert_ok(at)
    at.selectbox(key="reg_parent").set_value("arena")
    at.number_input(key="reg_centre_area").set_value(0.4)
    at.button(key="reg_add_centre").click().run()
    at.number_input(key="reg_wall_px").set_value(50.0)
    at.button(key="reg_add_wall").click().run()
    assert_ok(at)
    table = at.dataframe[0].value.set_index(["region", "individual"])
    assert sorted(set(table.index.get_level_values(0))) == ["arena", "centre", "wall"]
    assert (table.xs("arena")["fraction_inside"] > 0.99).all()
    at.button(key="reg_save").click().run()
    from mapose.io import read_regions

    saved = {r.name: r for r in read_regions(tmp_path / "predictions.regions.yaml")}
    assert saved["centre"].geometry.area == pytest.approx(0.4 * saved["arena"].geometry.area, rel=1e-6)
    # the dish's real size calibrates; a size that is not numbers is refused with its reason
    at.selectbox(key="reg_parent").set_value("arena")
    at.text_input(key="reg_size").set_value("four cm")
    at.button(key="reg_set_size").click().run()
    assert "must be numbers in cm" in at.error[0].value
    at.text_input(key="reg_size").set_value("4")
    at.button(key="reg_set_size").click().run()
    assert_ok(at)
    ppc = 2 * np.sqrt(saved["arena"].geometry.area / np.pi) / 4
    assert any(f"{ppc:.4g} px/cm" in c.value for c in at.caption)
    # saved as a template, the arena is found anew in each session and the zones follow it
    import yaml

    from mapose.io import read_tracks
    from mapose.kinematics.arena import arena_finder

    assert at.text_input(key="reg_template").value == str(tmp_path / "regions.yaml")
    at.button(key="reg_save_template").click().run()
    assert_ok(at)
    entries = yaml.safe_load((tmp_path / "regions.yaml").read_text())["regions"]
    assert entries == [{"name": "arena", "detect": "tracks", "shape": "circle", "size_cm": 4.0},
                       {"name": "centre", "inside": "arena", "area": 0.4},
                       {"name": "wall", "inside": "arena", "border": 50.0}]
    ds = read_tracks(pose)
    moved = read_regions(tmp_path / "regions.yaml", arena_finder(ds.assign(position=ds["position"] + 30.0)))
    assert moved[1].geometry.centroid.x == pytest.approx(saved["centre"].geometry.centroid.x + 30, abs=0.5)
    assert moved[0].pixels_per_cm() == pytest.approx(ppc, rel=0.01)


def test_regions_page_without_regions_says_how_to_start(session):
    at = page("pages/8_Regions.py").run()
    assert_ok(at)
    assert "No regions yet" in at.info[0].value
    assert at.button(key="reg_save").disabled


@pytest.mark.slow
def test_behaviour_clusters_page(session):
    from mapose.cli import main

    folder = session.with_name("two_flies_clusters")
    at = page("pages/4_Behaviour_clusters.py").run()
    assert_ok(at)
    assert at.text_input(key="cl_folder").value == str(folder)
    assert main(["cluster", str(session), "--out", str(folder), "--mode", "pair", "--seed", "0"]) == 0
    at = page("pages/4_Behaviour_clusters.py").run()
    assert_ok(at)
    assert "clusters · mode **pair**" in at.markdown[0].value
    assert at.selectbox(key="cl_subject").options == ["F|M", "M|F"]
    assert len(at.get("image")) >= 3  # transition graph, cluster profiles, frames of a typical bout
    assert any("set the clusters most apart" in c.value for c in at.caption)
    medians = next(d.value for d in at.dataframe if "contact" in d.value.index)  # what each cluster is
    assert sorted(medians.columns) == sorted(pd.read_csv(folder / "labels.csv")["cluster"].unique())
    mirrors = pd.read_csv(folder / "cluster_mirrors.csv")  # pair clusters named with their partner view
    assert set(mirrors["cluster"]) == set(medians.columns) and mirrors["share"].between(0, 1).all()
    assert any("seen from the partner's side" in c.value for c in at.caption)
    assert any("Draw regions on the Regions page" in c.value for c in at.caption)
    # one row per pair of flies: a cluster and its mirror as one event, with who plays which part
    import json

    labels = pd.read_csv(folder / "labels.csv")
    dyads = pd.read_csv(folder / "dyad_events.csv", keep_default_na=False)
    assert dyads["subject"].unique().tolist() == ["F&M"] and len(dyads) == len(labels) // 2
    assert set(dyads.loc[dyads.event >= 0, "actor"]) <= {"F", "M", ""}
    events = json.loads((folder / "summary.json").read_text())["dyad_events"]
    assert {str(e) for e in dyads["event"] if e >= 0} <= set(events)
    assert sorted(c for v in events.values() for c in v["clusters"]) == sorted(mirrors["cluster"][mirrors.cluster >= 0])
    assert sum(v["fraction"] for v in events.values()) == pytest.approx(float(np.mean(dyads["event"] >= 0)), abs=1e-3)
    assert (folder / "dyad_ethogram.png").read_bytes()[:4] == b"\x89PNG"
    at.radio(key="cl_view").set_value("pairs").run()
    assert_ok(at)
    assert at.selectbox(key="cl_pair").options == ["F&M"]
    assert any(c.value.startswith("Events: ") for c in at.caption)
    assert (dyads["event"] >= 0).any()  # this clip has events, so the page lists who plays which part
    by_actor = next(d.value for d in at.dataframe if d.value.columns.name == "actor: frames")
    assert int(by_actor.values.sum()) == int((dyads["event"] >= 0).sum())
    # the ethogram is linked to the video: a frame shows every pose and what each row says there
    at.slider(key="cl_frame").set_value(60).run()
    assert_ok(at)
    row = labels[labels.frame == 60].set_index("subject")["cluster"]
    event = dyads.set_index("frame").loc[60]
    said = next(c.value for c in at.caption if c.value.startswith("frame 60: "))
    assert f"F|M cluster {row['F|M']} · M|F cluster {row['M|F']} · F&M: event {event.event}" in said
    assert "frame 60" in [im.proto.imgs[0].caption for im in at.get("image")]
    assert at.session_state["frame"] == 60  # the Session page's frame (a time index; this clip starts at 0)
    at.selectbox(key="cl_pick").set_value(at.selectbox(key="cl_pick").options[-1]).run()
    assert_ok(at)
    # with regions drawn for this session, the page places the clusters in them
    from mapose import io
    from mapose.core.regions import Region

    io.write_regions([Region.rectangle("left_half", 0, 0, 512, 1024)], session.with_name("regions.yaml"))
    at = page("pages/4_Behaviour_clusters.py").run()
    assert_ok(at)
    tables = [d.value for d in at.dataframe]
    where = next(t for t in tables if "left_half" in t.columns)  # the share of each cluster's frames inside
    assert list(where.columns) == ["left_half"] and ((where >= 0) & (where <= 1)).all().all()
    labels = pd.read_csv(folder / "labels.csv")
    assert sorted(where.index) == sorted(labels["cluster"].unique())


@pytest.mark.slow
def test_classifiers_page_train_and_predict(session):
    from mapose import io

    # two sessions (the sample and a copy) annotated by a rule on the real tracks:
    # "close" = the flies' thoraxes nearer than their median distance
    ds = io.read_tracks(session)
    th = ds["position"].sel(keypoints="thorax").values  # (time, space, individuals)
    dist = np.hypot(*(th[:, :, 0] - th[:, :, 1]).T)
    close = (dist < np.nanmedian(dist)).astype(int)
    names = [str(n) for n in ds["individuals"].values]
    lines = ["frame,subject,close"]
    for pair in (f"{names[0]}|{names[1]}", f"{names[1]}|{names[0]}"):
        lines += [f"{f},{pair},{c}" for f, c in zip(ds["frame"].values, close)]
    ann = session.with_name("two_flies.annotations.csv")
    ann.write_text("\n".join(lines) + "\n")
    second = session.with_name("two_flies_b.slp")
    shutil.copy(session, second)
    ann_b = session.with_name("two_flies_b.annotations.csv")
    shutil.copy(ann, ann_b)
    from mapose.core.regions import Region

    io.write_regions([Region.rectangle("left_half", 0, 0, 512, 1024)], session.with_name("regions.yaml"))

    at = page("pages/5_Classifiers.py").run()
    assert_ok(at)
    assert at.text_area(key="clf_pairs").value == f"{session}, {ann}"
    at.text_area(key="clf_pairs").set_value(f"{session}, {ann}\n{second}, {ann_b}")
    at.selectbox(key="clf_mode").set_value("pair")
    at.number_input(key="clf_splits").set_value(2)
    at.checkbox(key="clf_importance").uncheck()
    at.run()
    at.checkbox(key="clf_regions").check()  # both videos have regions.yaml beside them
    assert_ok(at)
    at.button(key="clf_train").click().run(timeout=900)
    assert_ok(at)
    model = session.with_name("behaviour_classifier")
    assert (model / "validation.csv").exists()
    import json

    assert json.loads((model / "manifest.json").read_text())["features"]["regions"] == ["left_half"]
    assert any("Cross-validated metrics" in s.value for s in at.subheader)
    at.button(key="clf_predict").click().run(timeout=600)
    assert_ok(at)
    pred = model / "predictions" / "two_flies.csv"
    assert pred.exists()
    assert {"close_prob", "close"} <= set(pd.read_csv(pred).columns)
    where = next(d.value for d in at.dataframe if "enrichment" in d.value.columns)
    assert where[["behaviour", "region"]].values.tolist() == [["close", "left_half"]]
    # a failing command shows its own one-line message, not just an exit code
    skops = model / "estimators.skops"
    skops.write_bytes(skops.read_bytes()[:500])
    at.button(key="clf_predict").click().run(timeout=600)
    assert not at.exception
    assert any("estimators.skops" in e.value for e in at.error), [e.value for e in at.error]


@pytest.fixture
def todo(tmp_path, monkeypatch):
    """A labelling project made by the real `mapose extract-frames` (frames to label, with the human
    labels of the sample as predictions to correct)."""
    from mapose.cli import main

    video = tmp_path / f"{tmp_path.name}.mp4"  # unique: missing videos are looked for in sibling folders
    shutil.copy(VIDEO, video)
    out = tmp_path / "todo.slp"
    assert main(["extract-frames", str(video), "--out", str(out), "--tracks", str(POSE), "--n", "4"]) == 0
    monkeypatch.setenv("MAPOSE_DASHBOARD_PATH", str(out))
    return out


def test_labelling_page_accept_hide_and_negative_are_saved_at_once(todo):
    from mapose.data.label_editor import LabelEditor
    from mapose.io import read_labels

    at = page("pages/6_Labelling.py").run()
    assert_ok(at)
    assert at.sidebar.text_input(key="lab_path_input").value == str(todo)
    assert "**4** predicted" in at.markdown[0].value
    frame = at.session_state["lab_frame"]
    at.button(key="lab_accept_all").click().run()
    assert_ok(at)
    lab = read_labels(todo)  # saved after the change, without pressing Save
    gt = [i for i, g in enumerate(lab.ground_truth_images()) if g]
    assert len(gt) == 1 and (lab.instances.frame[lab.is_user] == gt[0]).sum() == 2
    assert "**1** labelled" in at.markdown[0].value
    assert at.session_state["lab_frame"] == frame
    at.sidebar.button(key="lab_undo").click().run()  # undo is saved too
    assert sum(read_labels(todo).ground_truth_images()) == 0 and "**4** predicted" in at.markdown[0].value
    at.button(key="lab_accept_all").click().run()

    at.radio(key="lab_part").set_value(0).run()  # head of animal 0
    at.button(key="lab_hide").click().run()
    assert_ok(at)
    lab = read_labels(todo)
    user = lab.instances.keypoints[lab.is_user & (lab.instances.frame == gt[0])]
    assert np.isnan(user[:, 0]).all(axis=1).sum() >= 1  # a head without a position

    at.button(key="lab_next_todo").click().run()
    assert at.session_state["lab_frame"] != frame
    at.button(key="lab_copy").click().run()  # start from the labelled frame's animals
    assert_ok(at)
    assert "**2** labelled" in at.markdown[0].value
    at.sidebar.button(key="lab_undo").click().run()
    at.button(key="lab_empty").click().run()
    assert_ok(at)
    assert "**1** empty" in at.markdown[0].value
    assert sum(read_labels(todo).ground_truth_images()) == 2  # the labelled frame and the negative
    at.number_input(key="lab_add_number").set_value(127).run()
    at.button(key="lab_add_frame").click().run()  # any frame of the video can be labelled
    assert_ok(at)
    assert "**1** unlabelled" in at.markdown[0].value
    assert "#127 (unlabelled)" in at.selectbox(key="lab_frame").format_func(at.session_state["lab_frame"])

    at.sidebar.checkbox(key="lab_autosave").uncheck().run()  # edits wait for "Save now" ...
    at.button(key="lab_empty").click().run()
    assert sum(read_labels(todo).ground_truth_images()) == 2
    at.sidebar.button(key="lab_save").click().run()
    assert sum(read_labels(todo).ground_truth_images()) == 3
    at.sidebar.button(key="lab_undo").click().run()
    other = LabelEditor(todo)  # another program saves the file meanwhile
    other.mark_empty(other.next_frame(-1, "predicted"))
    other.save()
    at.sidebar.button(key="lab_save").click().run()
    assert "changed on disk" in at.error[0].value  # not overwritten
    at.sidebar.button(key="lab_reopen").click().run()
    assert_ok(at)
    assert "**3** empty" in at.markdown[0].value  # their change, read again
    at.button(key="lab_empty").click().run()
    at.sidebar.text_input(key="lab_path_input").set_value(str(POSE)).run()  # ... or opening another file
    assert_ok(at)
    assert sum(read_labels(todo).ground_truth_images()) == 5  # 1 labelled + 4 empty


def test_labelling_page_names_a_file_it_cannot_open(tmp_path, session):
    at = page("pages/6_Labelling.py").run()
    at.sidebar.text_input(key="lab_path_input").set_value(str(tmp_path / "nope.slp")).run()
    assert not at.exception and "nope.slp" in at.error[0].value and "not found" in at.error[0].value
    at.sidebar.text_input(key="lab_path_input").set_value("").run()
    assert not at.exception and "extract-frames" in at.info[0].value


def test_labelling_page_pans_the_zoomed_view(todo):
    import re

    def shown():
        cap = next(c.value for c in at.caption if "Showing x" in c.value)
        return tuple(int(v) for v in re.search(r"x (\d+)–(\d+), y (\d+)–(\d+)", cap).groups())

    at = page("pages/6_Labelling.py").run()
    x0, x1, y0, y1 = shown()
    assert x1 - x0 < 1024  # zoomed in on the flies
    at.button(key="lab_pan_▶").click().run()
    assert_ok(at)
    assert shown() == (min(x0 + (x1 - x0) // 2, 1024 - (x1 - x0)), min(x1 + (x1 - x0) // 2, 1024), y0, y1)


def test_labelling_page_steps_through_likely_mistakes(session):
    at = page("pages/6_Labelling.py").run()  # the bundled sample: 128 frames labelled by a person
    assert_ok(at)
    button = at.button(key="lab_next_issue")
    assert "(3 frames)" in button.label  # as mapose check-labels finds in this file
    button.click().run()
    assert_ok(at)
    assert any("Likely mistake, animal" in w.value for w in at.warning)


def test_labelling_page_starts_a_project_from_a_video(tmp_path, session):
    from mapose.io import read_labels

    video = tmp_path / f"{tmp_path.name}_new.mp4"
    shutil.copy(VIDEO, video)
    at = page("pages/6_Labelling.py").run()
    at.sidebar.text_input(key="lab_new_video").set_value(str(video))
    at.sidebar.text_input(key="lab_new_parts").set_value("head, thorax , abdomen,head")
    at.sidebar.number_input(key="lab_new_n").set_value(4)
    at.sidebar.button(key="lab_new_go").click().run()
    assert "repeated" in at.sidebar.error[0].value  # the error of extract-frames, in one line
    at.sidebar.text_input(key="lab_new_parts").set_value("head,thorax,abdomen")
    at.sidebar.button(key="lab_new_go").click().run()
    assert_ok(at)
    out = video.with_name(video.stem + ".labels.slp")
    assert at.sidebar.text_input(key="lab_path_input").value == str(out)
    assert "**4** unlabelled · 3 body parts" in at.markdown[0].value
    assert read_labels(out).skeleton.keypoints == ("head", "thorax", "abdomen")


def test_behaviour_annotation_page_marks_erases_and_follows_the_classifier(session):
    """Bouts marked with the buttons are saved at once as an interval CSV that training reads; a
    classifier's predictions show, and 'Next disagreement' goes to where they differ."""
    from mapose.io.annotations import read_annotations

    out = session.with_name("two_flies.bouts.csv")
    pred = session.parent / "pred.csv"
    on = np.zeros(128, int)
    on[60:70] = 1
    pd.DataFrame({"frame": np.arange(128), "subject": "F|M", "chase_prob": on * 0.9, "chase": on}).to_csv(
        pred, index=False)
    at = page("pages/7_Behaviour_annotation.py").run()
    assert_ok(at)
    assert at.sidebar.text_input(key="ann_path").value == str(out)
    assert at.button(key="ann_end_here").disabled  # no behaviour yet
    at.text_input(key="ann_new_behaviour").set_value("chase")
    at.button(key="ann_add_behaviour").click().run()
    at.selectbox(key="ann_subject").set_value("F|M")
    at.slider(key="ann_frame").set_value(10).run()
    at.button(key="ann_start_here").click().run()
    at.slider(key="ann_frame").set_value(19).run()
    at.button(key="ann_end_here").click().run()
    assert_ok(at)
    table = read_annotations(out, n_frames=128)
    fm = table[table["subject"] == "F|M"]
    assert np.flatnonzero(fm["chase"].to_numpy()).tolist() == list(range(10, 20))
    assert "frame 19: chase (F → M)" in at.get("image")[0].proto.imgs[0].caption

    at.button(key="ann_erase").click().run()  # the bout under frame 19
    assert read_annotations(out, n_frames=128)["chase"].sum() == 0
    at.sidebar.button(key="ann_undo").click().run()
    assert read_annotations(out, n_frames=128)["chase"].sum() == 10

    at.sidebar.text_input(key="ann_pred_path").set_value(str(pred)).run()
    assert_ok(at)
    at.button(key="ann_next_disagree").click().run()
    assert at.slider(key="ann_frame").value == 60  # the classifier says chase, the annotation does not
    at.button(key="ann_next_disagree").click().run()
    assert at.slider(key="ann_frame").value == 10  # wraps to the first: annotated, not predicted

    # partial annotation: frames 0-49 reviewed, the rest left out of training
    assert at.button(key="ann_review").disabled
    at.slider(key="ann_frame").set_value(0).run()
    at.button(key="ann_start_here").click().run()
    at.slider(key="ann_frame").set_value(49).run()
    at.button(key="ann_review").click().run()
    assert_ok(at)
    assert any("50 of 128 frames reviewed for F → M, in 1 stretch(es) for everyone;" in c.value for c in at.caption)
    table = read_annotations(out, n_frames=128)
    assert table.attrs["annotated_only"] and table["frame"].max() == 49 and table["chase"].sum() == 10
    at.slider(key="ann_frame").set_value(80).run()
    assert at.get("image")[0].proto.imgs[0].caption.endswith("(not reviewed)")

    # frames 80-99 reviewed for the pair F → M only (say the others were out of view)
    at.button(key="ann_start_here").click().run()
    at.slider(key="ann_frame").set_value(99).run()
    at.checkbox(key="ann_review_own").check().run()
    at.button(key="ann_review").click().run()
    assert_ok(at)
    assert "(annotated),F|M,80,100" in out.read_text().splitlines()
    assert any("70 of 128 frames reviewed for F → M, in 1 stretch(es) for everyone and 1 for F → M only" in c.value
               for c in at.caption)
    assert not at.get("image")[0].proto.imgs[0].caption.endswith("(not reviewed)")
    table = read_annotations(out, n_frames=128)
    assert sorted(table.loc[table["subject"] == "F|M", "frame"]) == list(range(50)) + list(range(80, 100))
    at.selectbox(key="ann_subject").set_value("M|F").run()
    assert at.get("image")[0].proto.imgs[0].caption.endswith("(not reviewed)")  # not for M → F


def test_behaviour_annotation_page_shows_a_close_up_of_long_videos(tmp_path, monkeypatch):
    """On a long video the whole-video strip holds several frames per column, so a close-up strip of
    the 1,000 frames around the current one follows it."""
    from mapose.core import make_tracks
    from mapose.io import write_tracks

    rng = np.random.default_rng(0)
    n = 5000
    pose = tmp_path / "long.nc"
    write_tracks(make_tracks(rng.normal(200, 20, (n, 2, 3, 2)), np.ones((n, 3, 2)),
                             keypoints=["head", "thorax", "abdomen"], individuals=["A", "B"], fps=30.0),
                 pose, format="netcdf")
    (tmp_path / "long.bouts.csv").write_text("behaviour,subject,start,stop\nchase,A|B,2400,2460\n")
    monkeypatch.setenv("MAPOSE_DASHBOARD_PATH", str(pose))
    at = page("pages/7_Behaviour_annotation.py").run()
    assert_ok(at)
    assert any(c.value == "Close-up: frames 0–999" for c in at.caption)
    at.slider(key="ann_frame").set_value(2450).run()
    assert_ok(at)
    assert any(c.value == "Close-up: frames 1950–2949" for c in at.caption)
    at.slider(key="ann_frame").set_value(4990).run()
    assert any(c.value == "Close-up: frames 4000–4999" for c in at.caption)


def test_classifiers_page_names_an_annotation_file_it_cannot_read(session):
    empty = session.with_name("two_flies.annotations.csv")
    empty.write_text("")
    at = page("pages/5_Classifiers.py").run()
    at.text_area(key="clf_pairs").set_value(f"{session}, {empty}").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("two_flies.annotations.csv: not an annotation format mapose reads" in e.value for e in at.error)


def test_tracking_review_names_a_swap_list_it_cannot_read(session):
    swaps = session.with_name(session.name + ".swaps.csv")
    for text, words in (("garbage\n", "not a swap list"),
                        ("frame,animal_a,animal_b,reason,confidence\n5000,track_0,track_1,gap,0.5\n", None)):
        swaps.write_text(text)
        at = page("pages/2_Tracking_review.py").run()
        assert not at.exception, [e.value for e in at.exception]
        if words:
            assert any(words in w.value for w in at.warning), [w.value for w in at.warning]


def test_cluster_and_classifier_pages_refuse_a_folder_of_another_kind(session, tmp_path):
    """A pose model or classifier folder given as the clusters results folder (or the other way
    round) is named, and nothing is written into it."""
    other = tmp_path / "pose_model"
    other.mkdir()
    (other / "config.yaml").write_text("model: {}\n")
    (other / "skeleton.json").write_text('{"keypoints": ["a"]}')
    before = sorted(p.name for p in other.iterdir())
    for name, key in (("pages/4_Behaviour_clusters.py", "cl_folder"), ("pages/5_Classifiers.py", "clf_model")):
        at = page(name).run()
        at.text_input(key=key).set_value(str(other)).run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("is a pose model folder (from 'mapose train --out')" in e.value for e in at.error), name
    assert sorted(p.name for p in other.iterdir()) == before


def _cluster_labels(session, name: str) -> pd.DataFrame:
    """A results table of `mapose cluster` (pair mode) written by hand for session ``name``."""
    frames = np.arange(128)
    return pd.concat([pd.DataFrame({"session": name, "subject": subject, "frame": frames, "cluster": frames // 40})
                      for subject in ("F|M", "M|F")])


def test_clusters_page_names_damaged_result_files(session):
    """An empty labels table stops the page with its name; a damaged summary, typical-bouts table,
    mirrors table or model beside readable labels is named and left out; results of another session
    are said to be so."""
    folder = session.with_name("two_flies_clusters")
    folder.mkdir()
    labels = folder / "labels.csv"
    labels.write_text("")
    at = page("pages/4_Behaviour_clusters.py").run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any("labels.csv: the cluster labels table is empty" in e for e in errors), errors

    _cluster_labels(session, "two_flies").to_csv(labels, index=False)
    (folder / "summary.json").write_text("{not json")
    (folder / "typical_bouts.csv").write_text("a,b\n1,2\n")
    (folder / "cluster_profiles.csv").write_text("feature,cluster,value\nspeed,0,1.5\n")
    (folder / "cluster_mirrors.csv").write_text("")
    (folder / "model").mkdir()
    for name in ("manifest.json", "estimators.skops"):  # a classifier where the clusters model should be
        (folder / "model" / name).write_text("{}")
    at = page("pages/4_Behaviour_clusters.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    warned = " | ".join(w.value for w in at.warning)
    assert "summary.json: cannot read the clustering summary (not valid JSON" in warned
    assert ("typical_bouts.csv: not a typical bouts table: it has no 'cluster', 'subject', 'start', 'stop' column"
            in warned)
    assert "cluster_mirrors.csv: the cluster mirrors table is empty" in warned
    assert "model: is a behaviour classifier folder" in warned and "the embedding is left out" in warned
    assert "no session named" not in warned
    assert at.selectbox(key="cl_subject").options == ["F|M", "M|F"]

    _cluster_labels(session, "another_video").to_csv(labels, index=False)
    at = page("pages/4_Behaviour_clusters.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("these results hold no session named 'two_flies'" in w.value and "another_video" in w.value
               for w in at.warning), [w.value for w in at.warning]


def test_classifiers_page_names_damaged_result_files(session):
    model = session.with_name("behaviour_classifier")
    (model / "predictions").mkdir(parents=True)
    (model / "validation.csv").write_text("")
    (model / "predictions" / "two_flies.csv").write_text("frame,close_prob\n0,0.5\n")
    at = page("pages/5_Classifiers.py").run()
    assert not at.exception, [e.value for e in at.exception]
    warned = " | ".join(w.value for w in at.warning)
    assert "validation.csv: the cross-validation table is empty; train again" in warned
    assert "two_flies.csv: not a table of predictions: it has no 'subject' column" in warned


def test_behaviour_annotation_page_names_annotations_of_other_animals(session):
    ann = session.with_name("other.bouts.csv")
    ann.write_text("behaviour,subject,start,stop\nchase,track_0|track_1,10,20\n")
    at = page("pages/7_Behaviour_annotation.py")
    at.session_state["ann_path_default"] = str(ann)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("other.bouts.csv annotates animals this pose file does not have (track_0 → track_1)" in w.value
               for w in at.warning), [w.value for w in at.warning]
    at.sidebar.text_input(key="ann_pred_path").set_value(str(session.with_name("nope.csv"))).run()
    assert any(e.value.endswith("nope.csv: predictions file not found") for e in at.sidebar.error)
