"""Behaviour annotation: mark bouts of behaviours per animal (or pair) while stepping through the
video, saved as you go; compare with a classifier's predictions and jump to where they disagree."""

import functools
import sys
from pathlib import Path

import numpy as np
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the apps/ folder, for _common
from _common import read_frame, reopen_editor, session_inputs, video_info  # noqa: E402
from _keys import key_pressed  # noqa: E402

st.set_page_config(page_title="mapose · Behaviour annotation", layout="wide")
st.title("Behaviour annotation")
S = st.session_state

#: keyboard shortcuts of the page and what they do
SHORTCUTS = {
    "ArrowRight": "next frame", "ArrowLeft": "previous frame",
    "shift+ArrowRight": "10 frames on", "shift+ArrowLeft": "10 frames back",
    "s": "start a bout here", "e": "end the bout here (marks from its start to this frame)",
    "x": "erase the bout under this frame", "d": "next disagreement with the classifier",
    "r": "mark the frames from the bout start to here as reviewed",
    "u": "unmark them (not reviewed)",
    "1-9": "choose behaviour 1-9", "z": "undo (also Ctrl+Z)",
}
KEYS = [k for k in SHORTCUTS if k != "1-9"] + [str(d) for d in range(1, 10)] + ["ctrl+z"]


def _default_annotations(pose: str) -> str:
    p = Path(pose)
    return str(p.with_name(p.name.split(".")[0] + ".bouts.csv"))


def _default_predictions(pose: str) -> str:
    p = Path(pose)
    cand = p.parent / "behaviour_classifier" / "predictions" / f"{p.name.split('.')[0]}.csv"
    return str(cand) if cand.exists() else ""


@st.cache_data(show_spinner=False, max_entries=8)
def _predictions(path: str, mtime: float, n_frames: int) -> dict:
    """``{(behaviour, subject): 0/1 per frame}`` from a ``mapose classify predict`` CSV."""
    from mapose.io.annotations import read_annotations

    table = read_annotations(path, format="frames")
    table = table[table["frame"] < n_frames]
    out = {}
    for subj, rows in table.groupby("subject", sort=False):
        for b in [c for c in table.columns if c not in ("frame", "subject")]:
            v = np.zeros(n_frames, bool)
            v[rows["frame"].to_numpy()[rows[b].to_numpy() > 0]] = True
            out[(b, str(subj))] = v
    return out


def _editor(path: str, n_frames: int, subjects: list[str], fps):
    """The open AnnotationEditor (re-opened when the file, video length or subjects change), or None."""
    from mapose.behaviour.annotation_editor import AnnotationEditor

    ed, opened = reopen_editor("ann", (path, n_frames, tuple(subjects)),
                               lambda: AnnotationEditor(path, n_frames, subjects, fps=fps))
    if opened:
        S["ann_start"] = None
    return ed


def _do(action) -> None:
    from mapose.errors import MaposeError

    ed = S["ann_editor"]
    try:
        action(ed)
        if S.get("ann_autosave", True):
            S["ann_msg"] = f"saved {ed.save()}"
    except MaposeError as exc:
        S["ann_msg"] = f"error: {exc}"


def _go(frame: int, n_frames: int) -> None:
    S["ann_frame"] = int(np.clip(frame, 0, n_frames - 1))


def _end_bout(ed, behaviour: str, subject: str, frame: int) -> None:
    start = S.get("ann_start")
    if start is None:
        S["ann_msg"] = "error: start the bout first (s, or 'Start a bout here')"
        return
    S["ann_start"] = None
    _do(lambda e: e.mark(behaviour, subject, min(start, frame), max(start, frame) + 1))


def _review(ed, frame: int, on: bool) -> None:
    start = S.get("ann_start")
    if start is None:
        S["ann_msg"] = "error: mark where the stretch starts first (s, or 'Start here')"
        return
    S["ann_start"] = None
    who = S.get("ann_subject", "") if S.get("ann_review_own") else ""
    _do(lambda e: e.mark_annotated(min(start, frame), max(start, frame) + 1, on=on, subject=who))


def _next_disagreement(ed, preds: dict, behaviour: str, subject: str, frame: int):
    pred = preds.get((behaviour, subject))
    if pred is None:
        return None
    differ = np.flatnonzero(ed.frames_of(behaviour, subject) != pred)
    # the start of the next stretch where annotation and prediction differ
    starts = differ[np.concatenate([[True], np.diff(differ) > 1])] if len(differ) else differ
    later = starts[starts > frame]
    return int(later[0]) if len(later) else (int(starts[0]) if len(starts) else None)


def _on_key(ed, key: str, behaviour, subject, preds, n_frames: int) -> None:
    f = int(S.get("ann_frame", 0))
    step = {"ArrowRight": 1, "ArrowLeft": -1, "shift+ArrowRight": 10, "shift+ArrowLeft": -10}
    if key in step:
        _go(f + step[key], n_frames)
    elif key.isdigit():
        if int(key) <= len(ed.behaviours):
            S["ann_behaviour"] = ed.behaviours[int(key) - 1]
    elif key in ("z", "ctrl+z"):
        if ed.can_undo:
            _do(lambda e: e.undo())
    elif key in ("r", "u"):
        _review(ed, f, on=key == "r")
    elif key == "s":
        S["ann_start"] = f
    elif behaviour is None:
        S["ann_msg"] = "error: add a behaviour first"
    elif key == "e":
        _end_bout(ed, behaviour, subject, f)
    elif key == "x":
        _do(lambda e: e.delete_bout(behaviour, subject, f))
    elif key == "d":
        nxt = _next_disagreement(ed, preds, behaviour, subject, f)
        if nxt is not None:
            _go(nxt, n_frames)


#: frames shown by the close-up strip under the whole-video one (videos longer than twice this get one)
ZOOM_FRAMES = 1000


def _strip_click(key: str, n_frames: int, width: int, first: int = 0, span: int = 0) -> None:
    """Go to the frame clicked on a strip of ``span`` frames from ``first`` (``span`` 0: the whole video)."""
    from mapose.viz.annotation_view import strip_frame

    ev = S.get(key)
    if ev:
        shown = float(ev.get("width") or width)
        _go(first + strip_frame(ev["x"] * width / shown, width, span or n_frames), n_frames)


pose, video, ds = session_inputs()
if ds is None:
    st.stop()
from mapose.behaviour.annotation_editor import pair_subjects  # noqa: E402
from mapose.io.annotations import ANNOTATED  # noqa: E402

names = [str(i) for i in ds["individuals"].values]
subjects = pair_subjects(names) if len(names) > 1 else names


def _strangers(found) -> str:
    """The subjects in ``found`` that are not this session's (``A|B`` shown as ``A → B``), or ""."""
    other = sorted(set(found) - set(subjects) - {""})
    return ", ".join(x.replace("|", " → ") for x in other[:4]) + (" ..." if len(other) > 4 else "")

frames = ds["frame"].values
n_frames = video_info(video)["n_frames"] if video else int(frames.max()) + 1
fps = ds.attrs.get("fps")

path = st.sidebar.text_input("Annotation file", value=S.get("ann_path_default") or _default_annotations(pose),
                             key="ann_path", help="an interval CSV written here (behaviour, subject, start, "
                             "stop); per-frame CSV, BORIS and BehaviorDEPOT files open too and are saved as "
                             "<name>.bouts.csv beside them")
pred_path = st.sidebar.text_input("Classifier predictions (optional)", value=_default_predictions(pose),
                                  key="ann_pred_path", help="a CSV of mapose classify predict")
st.sidebar.checkbox("Save after every change", value=True, key="ann_autosave")
with st.sidebar.expander("Keyboard shortcuts"):
    def _key_label(k: str) -> str:
        return k.replace("shift+", "Shift+").replace("ArrowRight", "→").replace("ArrowLeft", "←")

    st.markdown("\n".join(f"- `{_key_label(k)}` {v}" for k, v in SHORTCUTS.items()))
if not path:
    st.info("Enter the annotation file to write (or open) in the sidebar.")
    st.stop()
ed = _editor(path, n_frames, subjects, fps)
if ed is None:
    st.stop()
preds = {}
if pred_path:
    from mapose.errors import MaposeError

    if not Path(pred_path).is_file():
        st.sidebar.error(f"{pred_path}: predictions file not found" if not Path(pred_path).exists()
                         else f"{pred_path}: is a folder; expected a predictions CSV (mapose classify predict)")
    else:
        try:
            preds = _predictions(pred_path, Path(pred_path).stat().st_mtime, n_frames)
        except (MaposeError, OSError) as exc:
            st.sidebar.error(str(exc))
    strangers = _strangers({s for _, s in preds})
    if strangers:
        st.sidebar.warning(f"{Path(pred_path).name} predicts for animals this pose file does not have ({strangers}): "
                           "predictions for another session? They are not compared with your annotations.")
strangers = _strangers(ed.subjects)
if strangers:
    st.warning(f"{Path(path).name} annotates animals this pose file does not have ({strangers}): are these the "
               f"annotations of another session? This session's animals: {', '.join(names)}.")

behaviour = S.get("ann_behaviour")
if behaviour not in ed.behaviours:
    behaviour = S["ann_behaviour"] = ed.behaviours[0] if ed.behaviours else None
subject = S.get("ann_subject")
if subject not in ed.subjects:
    subject = S["ann_subject"] = ed.subjects[0]
S["ann_frame"] = int(np.clip(int(S.get("ann_frame", 0)), 0, n_frames - 1))
pressed = key_pressed(KEYS, key="ann_keys")
if pressed is not None:
    _on_key(ed, pressed, behaviour, subject, preds, n_frames)
    behaviour = S.get("ann_behaviour", behaviour)
f = int(S["ann_frame"])

st.sidebar.button("↶ Undo last change", key="ann_undo", disabled=not ed.can_undo,
                  on_click=_do, args=(lambda e: e.undo(),))
st.sidebar.button("Save now", key="ann_save", disabled=not ed.dirty,
                  on_click=_do, args=(lambda e: S.update(ann_msg=f"saved {e.save()}"),))
st.sidebar.caption(f"writes {ed.out}")
st.sidebar.button("Reopen from disk", key="ann_reopen", on_click=lambda: S.update(ann_open=None, ann_editor=None),
                  help="read the file again; changes not saved here are dropped")

bouts = ed.bouts()
st.write(f"**{len(bouts)}** bouts of **{len(ed.behaviours)}** behaviours · {n_frames} frames · "
         f"subjects: {', '.join(s or '(the animal)' for s in ed.subjects)}")

col_img, col_ctl = st.columns([3, 1])
with col_ctl:
    st.subheader("Behaviour")
    if ed.behaviours:
        st.radio("Behaviour", ed.behaviours, key="ann_behaviour", label_visibility="collapsed",
                 format_func=lambda b: f"{ed.behaviours.index(b) + 1}: {b}")
    with st.popover("New behaviour"):
        st.text_input("Name", key="ann_new_behaviour")
        st.button("Add", key="ann_add_behaviour", on_click=lambda: _do(
            lambda e: S.update(ann_behaviour=e.add_behaviour(S.get("ann_new_behaviour", "")))))
    st.subheader("Who")
    st.selectbox("Subject", ed.subjects, key="ann_subject", label_visibility="collapsed",
                 format_func=lambda s: s.replace("|", " → ") if s else "(the animal)")
    st.subheader("Bout")
    start = S.get("ann_start")
    c1, c2 = st.columns(2)
    c1.button("Start here", key="ann_start_here",
              on_click=lambda: S.update(ann_start=int(S["ann_frame"])))
    c2.button("End here", key="ann_end_here", disabled=behaviour is None or start is None,
              on_click=lambda: _end_bout(ed, S["ann_behaviour"], S["ann_subject"], int(S["ann_frame"])))
    if start is not None:
        st.caption(f"bout started at frame {start}; end it with 'End here' (e)")
    here = ed.bout_at(behaviour, subject, f) if behaviour is not None else None
    st.button(f"Erase bout {here[0]}–{here[1] - 1}" if here else "Erase bout here", key="ann_erase",
              disabled=here is None, on_click=lambda: _do(
                  lambda e: e.delete_bout(S["ann_behaviour"], S["ann_subject"], int(S["ann_frame"]))))
    st.subheader("Reviewed frames")
    looked = ed.annotated(subject)  # what counts for the subject being annotated
    who = subject.replace("|", " → ") if subject else "the animal"
    if ed.partial:
        stretches = ed.bouts(annotated=True)
        stretches = stretches[stretches["behaviour"] == ANNOTATED]
        everyone = int((stretches["subject"] == "").sum())
        own = int((stretches["subject"] == subject).sum()) if subject else 0
        st.caption(f"{int(looked.sum())} of {n_frames} frames reviewed for {who}, in {everyone} stretch(es) "
                   "for everyone"
                   + (f" and {own} for {who} only" if own else "")
                   + "; frames outside them and the bouts are left out of classifier training (grey on the strip)")
    else:
        st.caption("The whole video counts as annotated: frames outside the bouts are 'behaviour absent'. "
                   "Annotating part of a long video? Mark the stretches you reviewed (s, then r).")
    if len(ed.subjects) > 1:
        st.checkbox(f"for {who} only", key="ann_review_own",
                    help="mark the stretch reviewed for the chosen animal or pair only, e.g. when the others "
                         "are out of view; unchecked: for every animal and pair")
    r1, r2 = st.columns(2)
    r1.button("Reviewed: start → here", key="ann_review", disabled=start is None,
              on_click=lambda: _review(ed, int(S["ann_frame"]), True))
    r2.button("Not reviewed", key="ann_unreview", disabled=start is None,
              on_click=lambda: _review(ed, int(S["ann_frame"]), False))
    if preds:
        nxt = _next_disagreement(ed, preds, behaviour, subject, f) if behaviour is not None else None
        st.button("Next disagreement with the classifier", key="ann_next_disagree", disabled=nxt is None,
                  on_click=_go, args=(nxt if nxt is not None else f, n_frames),
                  help="where the classifier's 0/1 differs from your annotation of this behaviour and subject")

with col_img:
    st.slider("Frame", 0, n_frames - 1, key="ann_frame")
    b1, b2, b3, b4 = st.columns(4)
    for c, (label, d) in zip((b1, b2, b3, b4), (("◀◀ 10", -10), ("◀ 1", -1), ("1 ▶", 1), ("10 ▶▶", 10))):
        c.button(label, key=f"ann_step_{d}", on_click=_go, args=(f + d, n_frames))
    from streamlit_image_coordinates import streamlit_image_coordinates

    from mapose.viz.annotation_view import ethogram_strip

    marked = {(b, s): ed.frames_of(b, s) for b in ed.behaviours for s in ed.subjects}
    shown = [k for k, on in marked.items() if k == (behaviour, subject) or on.any() or k in preds]
    width = 1000
    colours = [ed.behaviours.index(b) for b, _ in shown]
    editing = shown.index((behaviour, subject)) if (behaviour, subject) in shown else None
    strip = ethogram_strip([marked[k] for k in shown], width=width,
                           predicted=[preds.get(k) for k in shown], cursor=f, colours=colours,
                           highlight=editing, annotated=looked if ed.partial else None)
    st.caption("Ethogram: " + " · ".join(f"row {r + 1}: {b} ({s.replace('|', ' → ') or 'the animal'})"
                                          for r, (b, s) in enumerate(shown))
               + (" — thin grey bars: the classifier's predictions" if preds else "")
               + ". Click to go to a frame.")
    strip_key = f"ann_strip_{len(shown)}"
    streamlit_image_coordinates(strip, key=strip_key, width="stretch",
                                on_click=functools.partial(_strip_click, strip_key, n_frames, width))
    if n_frames > 2 * ZOOM_FRAMES:  # a close-up of the frames around this one, where bout edges show
        lo = int(np.clip(f - ZOOM_FRAMES // 2, 0, n_frames - ZOOM_FRAMES))
        close = ethogram_strip([marked[k][lo:lo + ZOOM_FRAMES] for k in shown], width=width,
                               predicted=[None if preds.get(k) is None else preds[k][lo:lo + ZOOM_FRAMES]
                                          for k in shown], cursor=f - lo, colours=colours, highlight=editing,
                               annotated=looked[lo:lo + ZOOM_FRAMES] if ed.partial else None)
        st.caption(f"Close-up: frames {lo}–{lo + ZOOM_FRAMES - 1}")
        zoom_key = f"ann_zoom_{len(shown)}"
        streamlit_image_coordinates(close, key=zoom_key, width="stretch",
                                    on_click=functools.partial(_strip_click, zoom_key, n_frames, width, lo,
                                                               ZOOM_FRAMES))
    if video:
        from mapose.core import get_skeleton
        from mapose.viz.overlay import draw_poses

        img = read_frame(video, f)
        t = np.flatnonzero(frames == f)
        if len(t):
            pos = ds["position"].isel(time=int(t[0])).transpose("individuals", "keypoints", "space").values
            conf = ds["confidence"].isel(time=int(t[0])).transpose("individuals", "keypoints").values
            img = draw_poses(img, pos, conf, get_skeleton(ds), threshold=0.1, names=names)
        now = [f"{b} ({s.replace('|', ' → ') or 'the animal'})" for b, s in ed.at(f)]
        st.image(img, caption=f"frame {f}: " + (", ".join(now) if now else "no behaviour annotated")
                 + ("" if looked[f] else " (not reviewed)"), width=640)
    else:
        st.info("No video found for this pose file: give its path in the sidebar to see frames.")

    with st.expander(f"Bouts ({len(bouts)})"):
        if len(bouts):
            st.dataframe(bouts.assign(frames=bouts["stop"] - bouts["start"]), hide_index=True, width="stretch")
    if S.get("ann_msg"):
        (st.error if S["ann_msg"].startswith("error") else st.caption)(S.pop("ann_msg"))
