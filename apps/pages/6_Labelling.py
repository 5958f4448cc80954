"""Labelling: place and correct keypoints on the frames of a SLEAP project, saved as you go."""

import functools
import hashlib
import sys
from pathlib import Path

import numpy as np
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the apps/ folder, for _common
from _common import default_pose_path, reopen_editor, run_command  # noqa: E402
from _keys import key_pressed  # noqa: E402

st.set_page_config(page_title="mapose · Labelling", layout="wide")
st.title("Labelling")
S = st.session_state


def _default_path() -> str:
    p = S.get("pose_path") or default_pose_path()
    return p if p.endswith(".slp") else ""


def _editor():
    """The open LabelEditor (re-opened when the path changes), or None."""
    from mapose.data.label_editor import LabelEditor

    path = S.get("lab_path_input", "")
    if not path:
        return None
    ed, opened = reopen_editor("lab", path, lambda: LabelEditor(path))
    if opened:
        first = ed.next_frame(-1, "unlabelled")
        first = first if first is not None else ed.next_frame(-1, "predicted")
        _select_frame(first or 0)
    return ed


def _changed(ed) -> None:
    """After an edit: save when autosave is on."""
    if S.get("lab_autosave", True):
        out = ed.save()
        S["lab_msg"] = f"saved {out}"


def _select_frame(i) -> None:
    if i is not None:
        S["lab_frame"], S["lab_animal"], S["lab_part"], S["lab_centre_on"] = int(i), 0, 0, None


def _on_click(key: str, view, i: int) -> None:
    """Apply a click (place the selected body part) or a drag (move the point under the press) on
    the picture of frame ``i`` drawn through ``view``."""
    ed, ev = S.get("lab_editor"), S.get(key)
    if ed is None or not ev or S.get("lab_frame") != i:
        return
    # the picture is drawn to the column's width, not at the size it was made
    k = view.display_size[0] / float(ev.get("width") or view.display_size[0])
    x1, y1 = view.to_frame(ev["x1"] * k, ev["y1"] * k)
    x2, y2 = view.to_frame(ev["x2"] * k, ev["y2"] * k)
    shown = view.scale / k  # shown pixels per frame pixel
    moved = np.hypot(x2 - x1, y2 - y1) * shown > 4
    hit = ed.nearest_point(i, x1, y1, radius=10 / shown) if moved else None
    from mapose.errors import MaposeError

    try:
        if hit is not None:  # drag a point to where the mouse was released
            a = ed.place(i, hit[0], hit[1], x2, y2)
            S["lab_animal"], S["lab_part"] = a, hit[1]
        else:
            if S["lab_animal"] >= len(ed.instances(i)):
                S["lab_animal"] = ed.add_instance(i)
            part = S["lab_part"]
            S["lab_animal"] = ed.place(i, S["lab_animal"], part, x2, y2)
            if S.get("lab_advance", True):
                placed = np.isfinite(ed.instances(i)[S["lab_animal"]].points).all(axis=1)
                todo = [j for j in range(len(ed.keypoints)) if j > part and not placed[j]]
                S["lab_part"] = todo[0] if todo else part
        _changed(ed)
    except MaposeError as exc:
        S["lab_msg"] = f"error: {exc}"


def _do(action) -> None:
    from mapose.errors import MaposeError

    ed = S["lab_editor"]
    try:
        action(ed)
        _changed(ed)
    except MaposeError as exc:
        S["lab_msg"] = f"error: {exc}"


def _next_to_label(ed, i: int):
    nxt = ed.next_frame(i, "unlabelled")
    return nxt if nxt is not None else ed.next_frame(i, "predicted")


def _flagged(ed) -> list[int]:
    return sorted({j for j in range(len(ed)) if ed.issues(j)})


def _next_mistake(ed, i: int, flagged=None):
    flagged = _flagged(ed) if flagged is None else flagged
    later = [j for j in flagged if j > i] or flagged
    return later[0] if later and later != [i] else None


#: keyboard shortcuts of the page (``KeyboardEvent.key`` names) and what they do
SHORTCUTS = {
    "ArrowRight": "next frame", "ArrowLeft": "previous frame",
    "ArrowDown": "next body part", "ArrowUp": "previous body part",
    "0-9": "choose animal 0-9 (the number after the last: a new animal)",
    "h": "selected body part not visible", "a": "accept all predictions",
    "n": "next frame to label", "m": "next likely mistake",
    "z": "undo (also Ctrl+Z)", "s": "save now",
}
KEYS = [k for k in SHORTCUTS if k != "0-9"] + [str(d) for d in range(10)] + ["ctrl+z"]


def _on_key(ed, key: str) -> None:
    """Do what ``key`` (one of :data:`KEYS`) stands for on the current frame."""
    i = min(int(S.get("lab_frame", 0)), len(ed) - 1)
    instances = ed.instances(i)
    a, part = int(S.get("lab_animal", 0)), int(S.get("lab_part", 0))
    if key in ("ArrowRight", "ArrowLeft"):
        _select_frame(ed.next_frame(i, step=1 if key == "ArrowRight" else -1))
    elif key == "n":
        _select_frame(_next_to_label(ed, i))
    elif key == "m":
        _select_frame(_next_mistake(ed, i))
    elif key in ("ArrowDown", "ArrowUp"):
        S["lab_part"] = (part + (1 if key == "ArrowDown" else -1)) % len(ed.keypoints)
    elif key.isdigit():
        S["lab_animal"] = min(int(key), len(instances))
        S["lab_centre_on"] = S["lab_animal"] if S["lab_animal"] < len(instances) else None
    elif key == "h":
        if a < len(instances) and np.isfinite(instances[a].points[part]).all():
            _do(lambda e: S.update(lab_animal=e.hide(i, a, part)))
    elif key == "a":
        if any(not s.user for s in instances):
            _do(lambda e: e.accept_all(i))
    elif key in ("z", "ctrl+z"):
        if ed.can_undo:
            _do(lambda e: e.undo())
    elif key == "s":
        if ed.dirty:
            _do(lambda e: S.update(lab_msg=f"saved {e.save()}"))


def _new_project() -> None:
    """Choose frames of a video to label (``mapose extract-frames``) and open the project written."""
    video, parts = S.get("lab_new_video", "").strip(), S.get("lab_new_parts", "").strip()
    tracks = S.get("lab_new_tracks", "").strip()
    if not video or not (parts or tracks):
        S["lab_msg"] = "error: give a video, and its body parts (or a pose file of it)"
        return
    out = str(Path(video).with_name(Path(video).stem + ".labels.slp"))
    argv = ["extract-frames", video, "--out", out, "--n", str(int(S.get("lab_new_n", 20)))]
    argv += ["--tracks", tracks] if tracks else ["--skeleton", parts]
    code, message = run_command(argv)
    if code:
        S["lab_msg"] = "error: " + message
        return
    S["lab_path_input"] = out
    S["lab_msg"] = f"chose frames of {Path(video).name} to label: {out}"


st.sidebar.header("Label file")
st.sidebar.text_input("SLEAP project (.slp) or label file", value=_default_path(), key="lab_path_input",
                      help="`mapose extract-frames VIDEO --out todo.slp` makes one with the frames worth "
                           "labelling. DeepLabCut and COCO label files open too and are saved as .slp beside them.")
with st.sidebar.expander("New project from a video"):
    st.text_input("Video", key="lab_new_video", help="a video file or a folder of images")
    st.text_input("Body parts", key="lab_new_parts", placeholder="head,thorax,abdomen",
                  help="names separated by commas, or a skeleton .yaml/.json, a DeepLabCut or Lightning "
                       "Pose config, a model folder")
    st.text_input("Pose file of the video (optional)", key="lab_new_tracks",
                  help="mapose analyze output (or SLEAP/DLC predictions): frames where it is least sure "
                       "are chosen, with its animals to correct")
    st.number_input("Frames to label", 1, 1000, 20, key="lab_new_n")
    st.button("Choose frames and open", key="lab_new_go", on_click=_new_project,
              help="as mapose extract-frames: diverse-looking frames (or the least sure ones with a pose "
                   "file), written to <video>.labels.slp beside the video")
if S.get("lab_msg", "").startswith("error"):
    st.sidebar.error(S.pop("lab_msg"))
ed = _editor()
if ed is None:
    if not S.get("lab_path_input"):
        st.info("Enter a SLEAP project in the sidebar: `mapose extract-frames VIDEO --out todo.slp "
                "[--tracks TRACKS]` writes one with the frames worth labelling (and predictions to correct).")
    st.stop()
if not ed.frames:
    st.warning(f"{ed.path} lists no frame to label. Add frames with `mapose extract-frames`.")
    st.stop()

pressed = key_pressed(KEYS, key="lab_keys")
if pressed is not None:
    _on_key(ed, pressed)
    if S.get("lab_msg", "").startswith("error"):
        st.sidebar.error(S.pop("lab_msg"))
with st.sidebar.expander("Keyboard shortcuts"):
    arrows = {"ArrowRight": "→", "ArrowLeft": "←", "ArrowDown": "↓", "ArrowUp": "↑"}
    st.markdown("\n".join(f"- `{arrows.get(k, k)}` {v}" for k, v in SHORTCUTS.items()))
st.sidebar.button("↶ Undo last change", key="lab_undo", disabled=not ed.can_undo,
                  on_click=_do, args=(lambda e: e.undo(),))
st.sidebar.checkbox("Save after every change", value=True, key="lab_autosave")
st.sidebar.button("Save now", key="lab_save", disabled=not ed.dirty, on_click=_do,
                  args=(lambda e: S.update(lab_msg=f"saved {e.save()}"),))
st.sidebar.caption(f"writes {ed.out}")
st.sidebar.button("Reopen from disk", key="lab_reopen", help="read the file again (after saving it in another "
                  "program); changes not saved here are dropped",
                  on_click=lambda: S.update(lab_open=None, lab_editor=None))
counts = ed.counts()
st.write(" · ".join(f"**{n}** {s}" for s, n in counts.items() if n) + f" · {len(ed.keypoints)} body parts")

S["lab_frame"] = i = min(int(S.get("lab_frame", 0)), len(ed) - 1)
instances = ed.instances(i)
S["lab_animal"] = min(int(S.get("lab_animal", 0)), len(instances))
S["lab_part"] = min(int(S.get("lab_part", 0)), len(ed.keypoints) - 1)

col_img, col_ctl = st.columns([3, 1])
with col_ctl:
    st.subheader("Frame")
    fr = ed.frames[i]
    st.selectbox("Frame", range(len(ed)), key="lab_frame", label_visibility="collapsed",
                 format_func=lambda j: f"{ed.frame_name(j)} ({ed.status(j)})",
                 on_change=lambda: S.update(lab_animal=0, lab_part=0, lab_centre_on=None))
    b1, b2 = st.columns(2)
    b1.button("◀ Previous", key="lab_prev", on_click=_select_frame, args=(ed.next_frame(i, step=-1),),
              disabled=i == 0)
    b2.button("Next ▶", key="lab_next", on_click=_select_frame, args=(ed.next_frame(i),), disabled=i == len(ed) - 1)
    nxt = _next_to_label(ed, i)
    st.button("Next frame to label", key="lab_next_todo", on_click=_select_frame, args=(nxt,),
              disabled=nxt is None)
    flagged = _flagged(ed)
    mistake = _next_mistake(ed, i, flagged)
    st.button(f"Next likely mistake ({len(flagged)} frames)", key="lab_next_issue", on_click=_select_frame,
              args=(mistake,), disabled=mistake is None,
              help="left/right swaps, wrong sides, odd limb lengths, animals placed twice, parts left on "
                   "one pixel (as mapose check-labels), judged against every labelled animal")
    with st.popover("Add a frame of this video"):
        n_video = ed.video_length(fr.video)
        st.number_input("Frame number", min_value=0, max_value=max((n_video or 1) - 1, 0), step=1,
                        key="lab_add_number")
        st.button("Add and open", key="lab_add_frame", on_click=lambda: _do(
            lambda e: _select_frame(e.add_frame(fr.video, int(S["lab_add_number"])))))

    st.subheader("Animal")
    names = [f"{a}: {inst.track or 'no identity'} ({'labelled' if inst.user else f'predicted, score {inst.score:.2f}'})"
             for a, inst in enumerate(instances)] + ["+ new animal"]
    st.radio("Animal", range(len(names)), format_func=lambda a: names[a], key="lab_animal",
             label_visibility="collapsed", on_change=lambda: S.update(lab_centre_on=S["lab_animal"]))
    a = S["lab_animal"]
    have = a < len(instances)
    placed = np.isfinite(instances[a].points).all(axis=1) if have else np.zeros(len(ed.keypoints), bool)
    c1, c2 = st.columns(2)
    c1.button("Accept", key="lab_accept", disabled=not have or instances[a].user,
              on_click=_do, args=(lambda e: S.update(lab_animal=e.accept(i, a)),),
              help="take this prediction as a label")
    c2.button("Delete", key="lab_delete", disabled=not have,
              on_click=_do, args=(lambda e: (e.delete_instance(i, a), S.update(lab_animal=0)),))
    if any(not s.user for s in instances):
        st.button("Accept all predictions", key="lab_accept_all", on_click=_do, args=(lambda e: e.accept_all(i),))
    src = ed.source_frame(i) if not any(s.user for s in instances) else None
    if src is not None:
        st.button(f"Copy the animals of {ed.frame_name(src)}", key="lab_copy",
                  on_click=_do, args=(lambda e: e.copy_animals(i, src),),
                  help="start from the nearest labelled frame's animals and move what changed")
    if have:
        tracks = [""] + ed.tracks
        cur = instances[a].track
        st.selectbox("Identity", tracks, index=tracks.index(cur) if cur in tracks else 0,
                     format_func=lambda t: t or "none", key=f"lab_track_{i}_{a}_{cur}",
                     on_change=lambda k=f"lab_track_{i}_{a}_{cur}": _do(
                         lambda e: S.update(lab_animal=e.set_track(i, a, S[k]))))
        with st.popover("New identity"):
            st.text_input("Name", key="lab_new_track")
            st.button("Set", key="lab_set_new_track", on_click=lambda: _do(
                lambda e: S.update(lab_animal=e.set_track(i, a, S.get("lab_new_track", "").strip()))))

    st.subheader("Body part")
    parts = [f"{'✓' if placed[k] else '·'} {name}" for k, name in enumerate(ed.keypoints)]
    st.radio("Body part", range(len(parts)), format_func=lambda k: parts[k], key="lab_part",
             label_visibility="collapsed")
    st.checkbox("Go to the next body part after placing one", value=True, key="lab_advance")
    st.button("Not visible", key="lab_hide", disabled=not have or not placed[S["lab_part"]],
              on_click=_do, args=(lambda e: S.update(lab_animal=e.hide(i, a, S["lab_part"])),),
              help="remove the selected body part's position (occluded or out of view)")
    st.button("No animal in this frame", key="lab_empty", on_click=_do, args=(lambda e: e.mark_empty(i),),
              help="keep the frame as a negative example: every animal on it is removed")

with col_img:
    from streamlit_image_coordinates import streamlit_image_coordinates

    from mapose.errors import MaposeError
    from mapose.viz.label_view import draw_label_frame, fit_view

    try:
        img = ed.image(i)
    except MaposeError as exc:
        st.error(str(exc))
        st.stop()
    zoom = st.select_slider("Zoom", ["fit", 1, 1.5, 2, 3, 4, 6, 8], value="fit", key="lab_zoom",
                            format_func=lambda z: "fit the animals" if z == "fit" else f"{z}×")
    # The view stays put while points are placed; it follows a change of frame, zoom or animal,
    # and the pan buttons.
    view_key = (S.get("lab_open"), i, zoom, S.get("lab_centre_on"))
    view = S.get("lab_view")
    size = (img.shape[1], img.shape[0])
    if view is None or S.get("lab_view_key") != view_key:
        on = S.get("lab_centre_on")
        pts = instances[on].points if on is not None and on < len(instances) else \
            np.concatenate([s.points for s in instances]) if instances else np.zeros((0, 2))
        view = fit_view(size, pts, None if zoom == "fit" else zoom, max_display=720)
        S["lab_view_key"] = view_key
    pan = S.pop("lab_pan", None)
    if pan is not None:
        view = view.shifted(pan[0] * view.width / 2, pan[1] * view.height / 2, size)
    S["lab_view"] = view
    if view.width < size[0] or view.height < size[1]:
        cols = st.columns([1, 1, 1, 1, 6])
        for c, (label, d) in zip(cols, [("◀", (-1, 0)), ("▲", (0, -1)), ("▼", (0, 1)), ("▶", (1, 0))]):
            c.button(label, key=f"lab_pan_{label}", on_click=lambda d=d: S.update(lab_pan=d),
                     help="move the view by half its size")
    # one picture widget per file, frame and view: a click always maps through the view it was drawn with
    click_key = "lab_click_" + hashlib.sha1(repr((S.get("lab_open"), i, view)).encode()).hexdigest()[:12]
    track_ix = {t: j for j, t in enumerate(ed.tracks)}
    picture = draw_label_frame(
        img, view, ed.skeleton, [s.points for s in instances], [s.user for s in instances],
        [track_ix.get(s.track, j) for j, s in enumerate(instances)],
        selected=(a, S["lab_part"]) if have else None,
    )
    st.caption(f"Click to place **{ed.keypoints[S['lab_part']]}** of animal "
               f"{a if have else '(new)'}; drag a point to move it. Showing x {view.x0}–{view.x0 + view.width}, "
               f"y {view.y0}–{view.y0 + view.height} of the frame.")
    # "stretch": the picture fits the column whatever the window's width ("content" does not shrink it)
    streamlit_image_coordinates(picture, key=click_key, click_and_drag=True, width="stretch",
                                on_click=functools.partial(_on_click, click_key, view, i),
                                image_format="JPEG", jpeg_quality=92, cursor="crosshair")
    for p in ed.problems(i):
        st.warning(p)
    for issue in ed.issues(i):
        st.warning(f"Likely mistake, animal {issue.animal}: {issue.message}")
    if S.get("lab_msg"):
        (st.error if S["lab_msg"].startswith("error") else st.caption)(S.pop("lab_msg"))
