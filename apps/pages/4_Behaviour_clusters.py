"""Behaviour clusters: embedding, ethogram linked to the video (click a frame to see it with every animal's pose
and label), transitions, what sets each cluster apart; play a cluster's most typical bouts."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the apps/ folder, for _common
from _common import (  # noqa: E402
    MAX_POINTS,
    _mtime,
    optional_table,
    read_frame,
    regions_file,
    run_command,
    session_inputs,
)

st.set_page_config(page_title="mapose · Behaviour clusters", layout="wide")
st.title("Behaviour clusters")
pose, video, ds = session_inputs()


def default_folder(pose_path: str) -> str:
    p = Path(pose_path)
    return str(p.with_name(p.name.split(".")[0] + "_clusters"))


LABEL_COLUMNS = ("session", "subject", "frame", "cluster")


@st.cache_data(show_spinner=False, max_entries=4)
def load_results(folder: str, mtime: float):
    """The tables of ``mapose cluster``'s results folder and the problems of those that could not be
    read (``labels.csv`` itself must be readable: a MaposeError otherwise)."""
    from mapose.errors import MaposeError
    from mapose.io._files import read_json
    from mapose.io.tables import read_table

    f = Path(folder)
    labels = read_table(f / "labels.csv", "cluster labels table", LABEL_COLUMNS)
    problems: list = []
    stats = optional_table(f / "cluster_stats.csv", "cluster statistics table", problems=problems)
    bouts = optional_table(f / "typical_bouts.csv", "typical bouts table", ("cluster", "subject", "start", "stop"),
                           problems)
    trans = optional_table(f / "transitions.csv", "transition matrix", problems=problems, index_col=0)
    summary = {}
    if (f / "summary.json").exists():
        try:
            summary = read_json(f / "summary.json", "clustering summary")
        except MaposeError as exc:
            problems.append(str(exc))
    return labels, stats, bouts, trans, summary, problems


@st.cache_data(show_spinner=False, max_entries=4)
def load_dyads(folder: str, mtime: float):
    """``dyad_events.csv`` (pair mode: one row per pair of animals and frame) or None, and its problem."""
    problems: list = []
    table = optional_table(Path(folder) / "dyad_events.csv", "dyad events table",
                           ("session", "subject", "frame", "event", "actor"), problems, keep_default_na=False)
    return table, problems


@st.cache_data(show_spinner=False, max_entries=4)
def load_embedding(model_dir: str, mtime: float):
    from mapose.behaviour.clustering import load_model

    m = load_model(model_dir)
    emb, lab = np.asarray(m.embedding_), np.asarray(m.embedding_labels_)
    keep = np.linspace(0, len(emb) - 1, min(len(emb), MAX_POINTS)).astype(int) if len(emb) else []
    return pd.DataFrame({"x": emb[keep, 0], "y": emb[keep, 1], "cluster": lab[keep].astype(str)})


@st.cache_data(show_spinner="Measuring where each cluster happens…", max_entries=8)
def session_by_region(labels_path: str, mtime: float, pose_path: str, regions_path: str, regions_mtime: float,
                      video_path: str):
    """:func:`mapose.behaviour.regions.behaviour_by_region` for this session's rows of the labels,
    with the regions saved beside its pose file (an arena template is found in its video)."""
    from mapose.behaviour.regions import behaviour_by_region
    from mapose.cli._common import session_regions
    from mapose.io import read_tracks

    labels = pd.read_csv(labels_path)
    session = Path(pose_path).stem
    rows = labels[labels["session"].astype(str) == session]
    if rows.empty:
        return None
    tracks = read_tracks(pose_path)
    regions = session_regions(regions_path, tracks, video_path or None)
    return behaviour_by_region(rows, {session: tracks}, {session: regions})


@st.cache_data(show_spinner="Rendering bout…", max_entries=32)
def bout_strip(video_path: str, pose_path: str, mtime: float, start: int, stop: int, n: int = 6):
    """``n`` frames spread over a bout, pose drawn on them (rendered on demand, cached)."""
    from mapose.core import get_skeleton
    from mapose.io import read_tracks
    from mapose.viz.overlay import draw_poses

    tr = read_tracks(pose_path)
    frames = tr["frame"].values
    names = [str(i) for i in tr["individuals"].values]
    out = []
    for f in np.linspace(start, max(start, stop - 1), n).astype(int):
        t = int(np.clip(np.searchsorted(frames, f), 0, len(frames) - 1))
        pos = tr["position"].isel(time=t).transpose("individuals", "keypoints", "space").values
        conf = tr["confidence"].isel(time=t).transpose("individuals", "keypoints").values
        out.append((int(f), draw_poses(read_frame(video_path, int(f)), pos, conf, get_skeleton(tr), names=names)))
    return out


def _pick(key: str, selection) -> None:
    """Remember a click on the ethogram once: later reruns keep the chart's selection, and the slider
    must stay free to move."""
    points = (selection or {}).get("selection", {}).get("pick") or []
    if points and points != st.session_state.get(key + "_seen"):
        st.session_state[key + "_seen"] = points
        st.session_state["cl_frame"] = int(points[0]["frame"])


def frame_view(ds, pose: str, video: str, labels: pd.DataFrame, dyads, sel: pd.DataFrame, column: str) -> None:
    """The ethogram of one subject with the current frame marked, and that frame of the video with every
    animal's pose and label: click the ethogram to go to a frame, or move the slider."""
    import altair as alt

    frames = ds["frame"].values
    first, last = int(frames[0]), int(frames[-1])
    shared = int(frames[min(int(st.session_state.get("frame", 0)), len(frames) - 1)])  # the Session page's
    st.session_state.setdefault("cl_frame", shared)
    key = f"cl_etho_{column}"
    _pick(key, st.session_state.get(key))
    now = int(np.clip(st.session_state["cl_frame"], first, last))
    st.session_state["cl_frame"] = now
    step = max(1, len(sel) // MAX_POINTS)
    data = sel.iloc[::step][["frame", column]].assign(**{column: lambda d: d[column].astype(str)})
    pick = alt.selection_point(name="pick", fields=["frame"], on="click")
    x = alt.X("frame:Q", scale=alt.Scale(domain=[first, last + step]), title="frame")
    dots = alt.Chart(data).mark_circle(size=40).encode(x=x, y=f"{column}:N", color=f"{column}:N")
    rule = alt.Chart(pd.DataFrame({"frame": [now]})).mark_rule(color="black", strokeWidth=2).encode(x="frame:Q")
    # an invisible column over every (drawn) frame takes the clicks: anywhere above a frame selects it
    hits = alt.Chart(data.assign(end=data["frame"] + step)).mark_rect(opacity=0.001).encode(
        x=x, x2="end:Q", tooltip=["frame", column]).add_params(pick)
    rows = max(1, data[column].nunique())
    st.altair_chart((dots + rule + hits).properties(height=140 + 20 * rows), on_select="rerun", key=key,
                    width="stretch")
    st.slider("Frame", first, last, key="cl_frame", help="or click the ethogram above a frame")
    t = int(np.clip(np.searchsorted(frames, now), 0, len(frames) - 1))
    st.session_state["frame"] = t  # the Session page opens at the same frame
    mine = labels[(labels["session"].astype(str) == Path(pose).stem) & (labels["frame"] == now)]
    names = [str(i) for i in ds["individuals"].values]
    said = {str(r.subject): int(r.cluster) for r in mine.itertuples()}
    if dyads is not None:
        here = dyads[(dyads["session"].astype(str) == Path(pose).stem) & (dyads["frame"] == now)]
        pairs = [f"{r.subject}: event {r.event}" + (f", actor {r.actor}" if r.actor else "")
                 for r in here.itertuples()]
    else:
        pairs = []
    left, right = st.columns(2)
    with right:
        if not said:
            st.caption(f"frame {now}: no label of this session ({Path(pose).stem!r}) in these results")
        else:
            st.caption(f"frame {now}: " + " · ".join(f"{k} cluster {v}" for k, v in said.items())
                       + (" · " + " · ".join(pairs) if pairs else ""))
    with left:
        if video:
            from mapose.core import get_skeleton
            from mapose.viz.overlay import draw_poses

            pos = ds["position"].isel(time=t).transpose("individuals", "keypoints", "space").values
            conf = ds["confidence"].isel(time=t).transpose("individuals", "keypoints").values
            shown = [f"{n} · {said[n]}" if n in said else n for n in names]  # animal mode: each animal's cluster
            st.image(draw_poses(read_frame(video, now), pos, conf, get_skeleton(ds), names=shown),
                     caption=f"frame {now}", width="stretch")
        else:
            st.caption("give the video in the sidebar to see the frame")


if ds is not None:
    folder = st.text_input("Results folder of `mapose cluster`", value=default_folder(pose), key="cl_folder")
    from mapose.io._files import MODEL_FOLDERS, folder_kind

    kind = folder_kind(folder) if Path(folder).is_dir() else None
    if Path(folder).is_file() or kind not in (None, "behaviour clusters output"):
        st.error(f"{folder}: " + (f"is a {kind} folder (from {MODEL_FOLDERS[kind][1]})" if kind else "is a file")
                 + "; give the results folder of mapose cluster (or a new folder to cluster into)")
        st.stop()
    if not (Path(folder) / "labels.csv").exists():
        st.info("No clustering results in this folder yet. Run `mapose cluster POSE… --out FOLDER` "
                "or cluster this session here.")
        c1, c2 = st.columns(2)
        mode = c1.selectbox("Mode", ["pair", "animal"] if ds.sizes["individuals"] > 1 else ["animal"], key="cl_mode")
        seed = c2.number_input("Seed", 0, 2**31 - 1, 0, key="cl_seed")
        own_regions = regions_file(pose)
        if own_regions:
            st.caption(f"with the regions of `{own_regions}`: where each cluster happens is measured too")
        if st.button("Cluster this session", key="cl_run"):
            with st.spinner("Clustering (features → UMAP → HDBSCAN)…"):
                code, message = run_command(["cluster", pose, "--out", folder, "--mode", mode, "--seed", str(int(seed)),
                                             *(["--regions", own_regions] if own_regions else [])])
            if code != 0:
                st.error(message)
            else:
                st.rerun()
    else:
        from mapose.errors import MaposeError

        try:
            labels, stats, bouts, trans, summary, problems = load_results(
                folder, _mtime(str(Path(folder) / "labels.csv")))
        except MaposeError as exc:
            st.error(f"{exc}. Cluster again (`mapose cluster POSE… --out {folder}`) or give another results folder.")
            st.stop()
        for problem in problems:
            st.warning(f"{problem}; left out")
        sessions = sorted(labels["session"].astype(str).unique())
        if Path(pose).stem not in sessions:
            st.warning(f"these results hold no session named {Path(pose).stem!r} (the open pose file); they hold "
                       f"{', '.join(sessions[:5])}{' ...' if len(sessions) > 5 else ''}. The ethogram shows their rows "
                       "over this video's frames: open the pose file they were made from, or cluster this one.")
        n_clusters = int((labels["cluster"] >= 0).any() and labels.loc[labels.cluster >= 0, "cluster"].nunique())
        st.write(f"**{n_clusters}** clusters · mode **{summary.get('mode', '?')}** · "
                 f"{100 * float(np.mean(labels['cluster'] >= 0)):.1f} % of frames assigned · "
                 f"{labels['subject'].nunique()} subject(s)")
        left, right = st.columns(2)
        model_dir = Path(folder) / "model"
        with left:
            st.subheader("Embedding")
            embedding = None
            if model_dir.exists():
                try:
                    embedding = load_embedding(str(model_dir), _mtime(str(model_dir)))
                except MaposeError as exc:
                    st.warning(f"{exc}; the embedding is left out")
            if embedding is not None:
                st.scatter_chart(embedding, x="x", y="y", color="cluster", size=6)
            elif (Path(folder) / "embedding.png").exists():
                st.image(str(Path(folder) / "embedding.png"))
        with right:
            st.subheader("Transition graph")
            if (Path(folder) / "transitions.png").exists():
                st.image(str(Path(folder) / "transitions.png"))
            if trans is not None:
                with st.expander("Transition matrix"):
                    st.dataframe(trans.round(3), width="stretch")
        st.subheader("Ethogram")
        dyads, dyad_problems = load_dyads(folder, _mtime(str(Path(folder) / "dyad_events.csv")))
        for problem in dyad_problems:
            st.warning(f"{problem}; the pairs' events are left out")
        view = "ordered"
        if dyads is not None:
            view = st.radio("Rows", ["ordered", "pairs"], horizontal=True, key="cl_view",
                            format_func=lambda v: {"ordered": "each animal's side (A|B)",
                                                   "pairs": "each pair: events (a cluster and its mirror)"}[v])
        table, column = (dyads, "event") if view == "pairs" else (labels, "cluster")
        subjects = list(table["subject"].unique())
        subj = st.selectbox("Subject", subjects, key="cl_subject" if view == "ordered" else "cl_pair")
        sel = table[table["subject"] == subj]
        here = sel[sel["session"].astype(str) == Path(pose).stem]
        sel = here if len(here) else sel  # results of several sessions: this video's rows, as the frame shown
        frame_view(ds, pose, video, labels, dyads, sel, column)
        if view == "pairs":
            events = summary.get("dyad_events", {})
            shown = sel[sel["event"] >= 0]
            st.caption("Events: " + " · ".join(f"{e} = clusters {' ↔ '.join(map(str, v['clusters']))}"
                                               for e, v in events.items())
                       + f". Both animals' rows in one event on {100 * float(np.mean(sel['event'] >= 0)):.1f} % of "
                       "these frames (-1: no single event). The actor plays the part of the event's first cluster.")
            if len(shown):
                st.dataframe(shown.groupby(["event", "actor"]).size().unstack(fill_value=0)
                             .rename_axis(index="event", columns="actor: frames"), width="stretch")
        if stats is not None:
            with st.expander("Cluster statistics"):
                st.dataframe(stats, width="stretch")
        st.subheader("What each cluster is")
        profiles = Path(folder) / "cluster_profiles.csv"
        if profiles.exists():
            st.caption("The features that set the clusters most apart: colour = above (red) or below (blue) all "
                       "frames, in typical frame-to-frame differences; numbers = the cluster's median (for a "
                       "yes/no feature such as contact, its share of frames), in the features' units.")
            if (Path(folder) / "cluster_profiles.png").exists():
                st.image(str(Path(folder) / "cluster_profiles.png"))
            mirrors = optional_table(Path(folder) / "cluster_mirrors.csv", "cluster mirrors table",
                                     ("cluster", "mirror", "symmetric", "share"), more := [])
            for problem in more:
                st.warning(f"{problem}; left out")
            if mirrors is not None:
                seen = [(f"{r.cluster} (both)" if r.symmetric else f"{r.cluster} ↔ {r.mirror}")
                        + f" ({100 * r.share:.0f} % of frames)"
                        for r in mirrors.itertuples()
                        if r.cluster >= 0 and r.mirror >= 0 and (r.symmetric or r.cluster < r.mirror)]
                if seen:
                    st.caption("Pair clusters seen from the partner's side (one event, two rows A|B and B|A): "
                               + " · ".join(seen))
            with st.expander("Every feature (medians)"):
                table = optional_table(profiles, "cluster profiles table", ("feature", "cluster", "value"), more := [])
                if table is None:
                    st.warning(f"{more[0]}; left out")
                else:
                    st.dataframe(table.pivot(index="feature", columns="cluster", values="value").round(3),
                                 width="stretch")
        else:
            st.caption("Results from an older mapose: run `mapose cluster` again to describe each cluster by its "
                       "features.")
        st.subheader("Where each cluster happens")
        saved, own_regions = Path(folder) / "cluster_regions.csv", regions_file(pose)
        if saved.exists():
            if (Path(folder) / "cluster_regions.png").exists():
                st.image(str(Path(folder) / "cluster_regions.png"))
            with st.expander("Table (every session of the results)"):
                table = optional_table(saved, "cluster regions table", problems=(more := []))
                if table is None:
                    st.warning(f"{more[0]}; left out")
                else:
                    st.dataframe(table, width="stretch")
        elif own_regions:
            try:
                where = session_by_region(str(Path(folder) / "labels.csv"), _mtime(str(Path(folder) / "labels.csv")),
                                          pose, own_regions, _mtime(own_regions), video or "")
            except MaposeError as exc:
                st.error(f"cannot place the clusters in the regions of `{own_regions}`: {exc}")
            else:
                if where is None:
                    st.caption(f"the results hold no session named {Path(pose).stem!r}")
                else:
                    st.caption(f"this session, with the regions of `{own_regions}`: the share of each cluster's "
                               "frames inside each area, and (×) how that compares with the animals' time there")
                    st.dataframe(where.pivot(index="cluster", columns="region", values="fraction_inside").round(3),
                                 width="stretch")
                    with st.expander("Table"):
                        st.dataframe(where, width="stretch")
        else:
            st.caption("Draw regions on the Regions page (or give `--regions` to `mapose cluster`) to see where "
                       "each cluster happens.")
        st.subheader("Most typical bouts")
        if bouts is None or bouts.empty:
            st.caption("no typical bouts listed")
        else:
            clusters = sorted(bouts["cluster"].unique())
            c = st.selectbox("Cluster", clusters, key="cl_pick")
            rows = bouts[bouts["cluster"] == c].reset_index(drop=True)
            st.dataframe(rows, width="stretch")
            pick = st.selectbox("Bout", range(len(rows)), key="cl_bout",
                                format_func=lambda i: f"{rows.subject[i]} frames {rows.start[i]}–{rows.stop[i]}")
            if video:
                strip = bout_strip(video, pose, _mtime(pose), int(rows.start[pick]), int(rows.stop[pick]))
                cols = st.columns(len(strip))
                for col, (f, img) in zip(cols, strip):
                    col.image(img, caption=f"frame {f}", width="stretch")
            else:
                st.caption("give the video in the sidebar to see the bouts")
