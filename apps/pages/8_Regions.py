"""Regions of interest: draw zones and lines on a frame, then time inside, visits, latency, crossings."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the apps/ folder, for _common
from _common import (  # noqa: E402
    _mtime,
    downsample_index,
    identity_colours,
    load_tracks,
    read_frame,
    regions_file,
    session_inputs,
)

st.set_page_config(page_title="mapose · Regions", layout="wide")
st.title("Regions")
S = st.session_state
pose, video, ds = session_inputs()
MAX_DISPLAY = 720  # the frame is drawn at most this large, and shown at most as wide as its column
SHAPES = {"polygon": "click its corners", "rectangle": "click two opposite corners",
          "circle": "click the centre, then a point on the edge", "line": "click its points (crossings count)"}


def own_regions_path(pose_path: str) -> str:
    """``<pose stem>.regions.yaml`` beside the pose file."""
    p = Path(pose_path)
    return str(p.with_name(f"{p.name.split('.')[0]}.regions.yaml"))


def default_regions_path(pose_path: str) -> str:
    """The regions file of the pose file's video, else a new ``<pose stem>.regions.yaml`` beside it."""
    return regions_file(pose_path) or own_regions_path(pose_path)


@st.cache_data(show_spinner="Measuring…", max_entries=16)
def summary(pose_path: str, mtime: float, regions_key: tuple, _regions: list, keypoint: str, min_visit: float):
    """Region summary of the session (cached per file version, regions and options)."""
    from mapose.kinematics.regions import region_summary

    return region_summary(load_tracks(pose_path), _regions, keypoint, min_visit=min_visit)


def _store(regions: list, path: str) -> str:
    """Write ``regions`` to ``path``; with none left, the file is moved aside to
    ``<stem>.deleted<suffix>`` (``.deleted-2`` ... when earlier ones exist), still readable (a regions
    file holds at least one region).
    Returns what was done, for the page's message."""
    from mapose.io import write_regions

    p = Path(path)
    kept = ""
    if p.is_file() and S.get("reg_unreadable") == str(p):  # a file that could not be read is never replaced
        backup = _aside(p, "unreadable")
        p.replace(backup)
        S.pop("reg_unreadable", None)
        kept = f" ({p.name} could not be read; it is kept as {backup.name})"
    if regions:
        return f"saved {write_regions(regions, path)}{kept}"
    if not p.is_file():
        return "no regions to save" + kept
    backup = _aside(p, "deleted")
    p.replace(backup)
    return f"no regions left: removed {p} (its last version is kept as {backup})"


def _aside(p: Path, why: str) -> Path:
    """``<stem>.<why><suffix>`` beside ``p`` (``.<why>-2`` ... when earlier ones exist)."""
    backup, n = p.with_name(f"{p.stem}.{why}{p.suffix}"), 1
    while backup.exists():  # an earlier one is kept too
        n += 1
        backup = p.with_name(f"{p.stem}.{why}-{n}{p.suffix}")
    return backup


def _save_path(path: str) -> str:
    """Where Save writes: the file itself, or for a template (an arena found in each video) the
    pose file's own ``<stem>.regions.yaml``, so the template stays as it is."""
    from mapose.io.regions import needs_detection

    return own_regions_path(pose) if needs_detection(path) else path


def _load(path: str) -> None:
    from mapose.errors import MaposeError
    from mapose.io import read_regions
    from mapose.kinematics.arena import arena_finder

    old = S.get("reg_save_to")
    if old and S.get("reg_dirty"):  # keep what was drawn (or deleted) for the other file
        try:
            S["reg_msg"] = f"for the other file: {_store(S['reg_regions'], old)}"
        except (MaposeError, OSError) as exc:
            S["reg_msg"] = f"error: {exc}; the regions drawn for {old} are not saved (still shown here)"
            return
    S["reg_dirty"] = False
    S["reg_loaded_from"] = path
    S["reg_save_to"] = _save_path(path)
    S["reg_points"] = []
    S.pop("reg_unreadable", None)
    try:  # an arena asked for with detect: is found in this video (or these tracks)
        S["reg_regions"] = list(read_regions(path, arena_finder(ds, video))) if Path(path).is_file() else []
    except MaposeError as exc:
        S["reg_regions"] = []
        S["reg_msg"] = f"error: {exc}"
        if S["reg_save_to"] == path:  # Save will move it aside rather than write over it
            S["reg_unreadable"] = path


def _add() -> None:
    from mapose.core.regions import Region, check_regions
    from mapose.errors import MaposeError

    name = S.get("reg_name", "").strip()
    try:
        new = Region.from_points(name, S["reg_shape"], S["reg_points"])
        S["reg_regions"] = list(check_regions([*S["reg_regions"], new]))
    except MaposeError as exc:
        S["reg_msg"] = f"error: {exc}"
        return
    S["reg_points"] = []
    S["reg_dirty"] = True
    S["reg_msg"] = f"added {name}; save to keep it"


def _delete() -> None:
    S["reg_regions"] = [r for r in S["reg_regions"] if r.name != S.get("reg_delete")]
    S["reg_dirty"] = True


def _save() -> None:
    from mapose.errors import MaposeError

    try:
        S["reg_msg"] = _store(S["reg_regions"], S["reg_save_to"])
        S["reg_dirty"] = False
    except (MaposeError, OSError) as exc:
        S["reg_msg"] = f"error: {exc}"


def _put(region) -> None:
    """Add ``region``, replacing one of the same name."""
    S["reg_regions"] = [r for r in S["reg_regions"] if r.name != region.name] + [region]
    S["reg_dirty"] = True
    S["reg_msg"] = f"added {region!r}; save to keep it"


def _find_arena() -> None:
    from mapose.errors import MaposeError
    from mapose.kinematics.arena import arena_finder

    try:
        _put(arena_finder(ds, video)("arena", S["reg_arena_src"], S["reg_arena_shape"], 0.0))
    except MaposeError as exc:
        S["reg_msg"] = f"error: {exc}"


def _add_inside(kind: str) -> None:
    from mapose.errors import MaposeError

    parent = next(r for r in S["reg_regions"] if r.name == S["reg_parent"])
    try:
        _put(parent.shrunk("centre", S["reg_centre_area"]) if kind == "centre" else
             parent.band("wall", S["reg_wall_px"]))
    except MaposeError as exc:
        S["reg_msg"] = f"error: {exc}"


def _set_size() -> None:
    """The real size of the chosen area (``size_cm``: one number, or a rectangle's two sides)."""
    from mapose.errors import MaposeError

    name, text = S["reg_parent"], S.get("reg_size", "").strip()
    try:
        values = [float(v) for v in text.replace(",", " ").split()] if text else None
        region = next(r for r in S["reg_regions"] if r.name == name).with_size(values)
        ppc = f"{region.pixels_per_cm():.4g} px/cm" if values else "no calibration"
    except ValueError:
        S["reg_msg"] = f"error: the size of {name} must be numbers in cm (e.g. 45, or 40 30), got {text!r}"
        return
    except MaposeError as exc:
        S["reg_msg"] = f"error: {exc}"
        return
    S["reg_regions"] = [region if r.name == name else r for r in S["reg_regions"]]
    S["reg_dirty"] = True
    S["reg_msg"] = f"{name}: size {text or 'removed'} ({ppc}); save to keep it"


def _save_template() -> None:
    from mapose.errors import MaposeError
    from mapose.io import write_regions

    try:
        S["reg_msg"] = f"saved the template {write_regions(S['reg_regions'], S['reg_template'], template=True)}"
    except (MaposeError, OSError) as exc:
        S["reg_msg"] = f"error: {exc}"


def _on_click(key: str, frame_width: int) -> None:
    value = S.get(key)
    if value and "x" in value and value.get("width"):
        f = frame_width / value["width"]  # frame pixels per displayed pixel (the picture fits the column)
        # the centre of the displayed pixel, in frame pixels
        S["reg_points"] = [*S["reg_points"], [(value["x"] + 0.5) * f - 0.5, (value["y"] + 0.5) * f - 0.5]]


if ds is not None:
    from streamlit_image_coordinates import streamlit_image_coordinates

    from mapose.viz.regions import draw_regions

    path = st.text_input("Regions file (.yaml or .geojson, pixels of the video)", value=default_regions_path(pose),
                         key="reg_path")
    if S.get("reg_loaded_from") != path:
        _load(path)
    regions = S["reg_regions"]
    frames = ds["frame"].values
    n_t = ds.sizes["time"]
    col_img, col_ctl = st.columns([3, 2])
    with col_ctl:
        t = st.slider("Frame", 0, max(n_t - 1, 0), 0, key="reg_frame")
        st.radio("Shape", list(SHAPES), key="reg_shape", horizontal=True)
        st.caption(f"On the frame, {SHAPES[S['reg_shape']]}; {len(S['reg_points'])} point(s) so far.")
        st.text_input("Name", key="reg_name", placeholder="e.g. centre, nest, door")
        c1, c2 = st.columns(2)
        c1.button("Add region", key="reg_add", on_click=_add, disabled=not S["reg_points"])
        c2.button("Clear points", key="reg_clear", on_click=lambda: S.update(reg_points=[]))
        if regions:
            c3, c4 = st.columns(2)
            c3.selectbox("Region", [r.name for r in regions], key="reg_delete")
            c4.button("Delete", key="reg_do_delete", on_click=_delete)
        with st.expander("Arena, and zones inside an area"):
            from mapose.kinematics.arena import SHAPES as ARENA_SHAPES

            a1, a2 = st.columns(2)
            a1.radio("Find the arena in", ["video", "tracks"] if video else ["tracks"], key="reg_arena_src",
                     horizontal=True, help="video: the floor or dish that stands out from the background; "
                     "tracks: the shape enclosing where the animals went")
            a2.selectbox("Shape", ARENA_SHAPES, key="reg_arena_shape")
            st.button("Find the arena", key="reg_find", on_click=_find_arena)
            inside = [r.name for r in regions if r.is_area]
            if inside:
                st.selectbox("Area", inside, key="reg_parent")
                z1, z2 = st.columns(2)
                z1.number_input("centre: share of its area", 0.05, 0.95, 0.5, 0.05, key="reg_centre_area")
                z1.button("Add centre", key="reg_add_centre", on_click=_add_inside, args=("centre",))
                z2.number_input("wall: band width (px)", 1.0, 10000.0, 40.0, 5.0, key="reg_wall_px")
                z2.button("Add wall", key="reg_add_wall", on_click=_add_inside, args=("wall",))
                chosen = next(r for r in regions if r.name == S["reg_parent"])
                s1, s2 = st.columns(2)
                s1.text_input("Its real size (cm)", key="reg_size", placeholder="e.g. 45, or 40 30",
                              help="a dish's diameter, a square's side, or a rectangle's two sides: calibrates "
                                   "distances and speeds to cm (empty: no size)")
                s2.button("Set size", key="reg_set_size", on_click=_set_size)
                if chosen.size_cm is not None:
                    st.caption(f"{chosen.name}: {' x '.join(f'{v:g}' for v in chosen.size_cm)} cm, "
                               f"{chosen.pixels_per_cm():.4g} px/cm")
            made = [r.name for r in regions if r.recipe]
            if made:
                st.text_input("Template for every video", value=str(Path(pose).parent / "regions.yaml"),
                              key="reg_template",
                              help="regions.yaml in a folder serves every pose file in it (or one folder down) "
                                   "that has no <stem>.regions.yaml of its own")
                st.button("Save as a template", key="reg_save_template", on_click=_save_template,
                          help="the arena is found anew in each video and the zones are made inside it; regions "
                               "drawn by hand are kept as drawn")
                st.caption(f"made in each video: {', '.join(made)}"
                           + (" (the template file exists and will be replaced)"
                              if Path(S["reg_template"]).is_file() else ""))
        if S["reg_save_to"] != path:
            st.caption(f"{Path(path).name} finds the arena in each video; what is shown was found in this one. "
                       f"Save writes it to {S['reg_save_to']} (the template is kept).")
        st.button("Save regions", key="reg_save", on_click=_save, type="primary",
                  disabled=not regions and not S.get("reg_dirty"),
                  help="with every region deleted, the file is renamed <name>.deleted.yaml (or .geojson)")
        if S.get("reg_msg"):
            (st.error if S["reg_msg"].startswith("error") else st.caption)(S.pop("reg_msg"))
    with col_img:
        pos = ds["position"].transpose("time", "individuals", "keypoints", "space").values
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # animals not seen in this frame
            centroids = np.nanmean(pos[t], axis=1)  # (individuals, 2)
        if video:
            img = read_frame(video, int(frames[t]))
        else:  # no video: a dark canvas as large as the tracked area
            hi = np.nanmax(pos.reshape(-1, 2), axis=0) if np.isfinite(pos).any() else np.array([640.0, 480.0])
            img = np.full((int(hi[1] * 1.05) + 1, int(hi[0] * 1.05) + 1, 3), 30, np.uint8)
            st.caption("no video: regions are drawn on a blank canvas the size of the tracked area")
        scale = min(1.0, MAX_DISPLAY / max(img.shape[:2]))
        picture = draw_regions(img, regions, np.asarray(S["reg_points"]).reshape(-1, 2), scale, centroids)
        key = f"reg_click_{len(S['reg_points'])}_{len(regions)}_{t}"
        streamlit_image_coordinates(picture, key=key, width="stretch", cursor="crosshair",
                                    on_click=lambda: _on_click(key, img.shape[1]))
        st.caption(f"frame {int(frames[t])}; white dots: each animal's centroid")

    areas = [r for r in regions if r.is_area]
    if regions:
        st.subheader("Time in regions")
        kps = ["centroid"] + [str(k) for k in ds["keypoints"].values]
        c1, c2 = st.columns(2)
        keypoint = c1.selectbox("Point tested", kps, key="reg_keypoint")
        unit = "s" if ds.attrs.get("fps") else "frames"
        min_visit = c2.number_input(f"Ignore exits and visits shorter than ({unit})", 0.0, 1e6, 0.0, key="reg_min")
        table = summary(pose, _mtime(pose), tuple((r.name, r.geometry.wkt) for r in regions), regions, keypoint,
                        float(min_visit))
        st.dataframe(table.round(3), width="stretch", hide_index=True)
        if areas:
            wide = table[table["kind"] == "area"].pivot(index="region", columns="individual", values="time_inside")
            st.bar_chart(wide, color=identity_colours(wide.shape[1]), stack=False)
            st.caption(f"time inside ({unit}); frames where an animal is not seen add nothing")
        st.download_button("Export the summary (CSV)", table.to_csv(index=False).encode(),
                           file_name=Path(pose).name.split(".")[0] + "_regions.csv", mime="text/csv", key="reg_dl")
    if areas:
        from mapose.kinematics.regions import region_occupancy

        st.subheader("Occupancy over time")
        which = st.selectbox("Area", [r.name for r in areas], key="reg_which")
        occ = region_occupancy(ds, [r for r in areas if r.name == which], keypoint)
        idx = downsample_index(n_t)
        names = [str(n) for n in ds["individuals"].values]
        df = pd.DataFrame(occ.values[idx, :, 0], columns=names, index=pd.Index(frames[idx], name="frame"))
        st.line_chart(df, color=identity_colours(len(names)))
        st.caption("1 = inside, 0 = outside, gaps where the animal is not seen")
    elif not regions:
        st.info("No regions yet: draw some on the frame, name them, add and save them, or give the path of a "
                "regions file (mapose's YAML or movement's GeoJSON).")
