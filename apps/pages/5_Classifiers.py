"""Classifiers: load annotations, train behaviour classifiers, see cross-validated metrics and PR
curves, predict on sessions and look at the ethogram of predictions."""

import sys
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the apps/ folder, for _common
from _common import MAX_POINTS, _mtime, optional_table, regions_file, run_command, session_inputs  # noqa: E402

st.set_page_config(page_title="mapose · Classifiers", layout="wide")
st.title("Behaviour classifiers")
pose, video, ds = session_inputs()


def guess_annotations(pose_path: str) -> str:
    p = Path(pose_path)
    stem = p.name.split(".")[0]
    for cand in sorted(p.parent.glob(stem + "*")):
        if cand.suffix.lower() in (".csv", ".mat", ".tsv", ".txt") and \
                ("annot" in cand.name.lower() or cand.name.lower().endswith(".bouts.csv")):
            return str(cand)
    return ""


@st.cache_data(show_spinner=False, max_entries=16)
def annotation_summary(path: str, mtime: float) -> pd.DataFrame:
    from mapose.io.annotations import read_annotations

    table = read_annotations(path)
    beh = [c for c in table.columns if c not in ("frame", "subject")]
    return pd.DataFrame({"behaviour": beh, "frames": [int(table[b].sum()) for b in beh],
                         "fraction": [float(table[b].mean()) for b in beh]})


def parse_pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        if line.strip():
            parts = [x.strip() for x in line.split(",")]
            if len(parts) != 2:
                raise ValueError(f"expected 'pose file, annotation file' on each line, got {line!r}")
            pairs.append((parts[0], parts[1]))
    return pairs


if ds is not None:
    from mapose.errors import MaposeError

    st.subheader("1 · Training sessions")
    default_pairs = st.session_state.get("clf_pairs_default") or (
        f"{pose}, {guess_annotations(pose)}" if guess_annotations(pose) else "")
    text = st.text_area("One session per line: `pose file, annotation file` (annotations: CSV with a "
                        "`frame` column and one 0/1 column per behaviour, interval CSV, BORIS, "
                        "BehaviorDEPOT .mat)", value=default_pairs, key="clf_pairs", height=110)
    try:
        pairs = parse_pairs(text)
    except ValueError as exc:
        st.error(str(exc))
        pairs = []
    missing = [f for pr in pairs for f in pr if not Path(f).exists()]
    if missing:
        st.error("not found: " + ", ".join(missing))
        pairs = []
    for _, ann in pairs[:6]:
        st.caption(f"{Path(ann).name}")
        try:
            st.dataframe(annotation_summary(ann, _mtime(ann)), width="stretch", hide_index=True)
        except (MaposeError, OSError) as exc:  # an empty, damaged or unknown annotation file
            st.error(str(exc))

    st.subheader("2 · Train with grouped cross-validation")
    c1, c2, c3 = st.columns(3)
    mode = c1.selectbox("Features", ["animal", "pair"] if ds.sizes["individuals"] > 1 else ["animal"],
                        key="clf_mode")
    px = c2.number_input("Pixels per cm (0 = pixels)", 0.0, 10000.0, 0.0, key="clf_px")
    splits = c3.number_input("Cross-validation folds (by session)", 2, 20, min(5, max(2, len(pairs))),
                             key="clf_splits")
    model_dir = st.text_input("Model folder", value=str(Path(pose).with_name("behaviour_classifier")),
                              key="clf_model")
    from mapose.io._files import MODEL_FOLDERS, folder_kind

    kind = folder_kind(model_dir) if Path(model_dir).is_dir() else None
    if Path(model_dir).is_file() or kind not in (None, "behaviour classifier"):
        st.error(f"{model_dir}: " + (f"is a {kind} folder (from {MODEL_FOLDERS[kind][1]})" if kind else "is a file")
                 + "; give a behaviour classifier folder (or a new folder to train into)")
        st.stop()
    importance = st.checkbox("Permutation feature importance (slower)", value=True, key="clf_importance")
    found = [regions_file(p) for p, _ in pairs]
    use_regions = bool(pairs) and all(found) and st.checkbox(
        "Use each video's regions of interest (in_ / dist_ features)", value=False, key="clf_regions",
        help="the regions files beside the pose files (drawn on the Regions page); every video needs "
             "regions of the same names, and so will new videos to predict on")
    if st.button("Train", key="clf_train", disabled=len(pairs) < 2):
        args = ["classify", "train", "--pose", *[p for p, _ in pairs], "--annotations",
                *[a for _, a in pairs], "--out", model_dir, "--mode", mode, "--n-splits", str(int(splits))]
        if not importance:
            args.append("--no-importance")
        if px:
            args += ["--px-per-cm", str(px)]
        if use_regions:
            args += ["--regions", *found]
        with st.spinner("Training…"):
            code, message = run_command(args)
        if code:
            st.error(message)
        else:
            st.success(f"trained: {model_dir}")
    if len(pairs) < 2:
        st.caption("cross-validation is grouped by session: give at least two sessions")

    mdir = Path(model_dir)
    if (mdir / "validation.csv").exists():
        st.subheader("Cross-validated metrics (never tested on a session it was trained on)")
        validation = optional_table(mdir / "validation.csv", "cross-validation table", problems=(problems := []))
        if validation is None:
            st.warning(f"{problems[0]}; train again to measure it")
        else:
            st.dataframe(validation, width="stretch", hide_index=True)
        cols = st.columns(2)
        if (mdir / "pr_curves.png").exists():
            cols[0].image(str(mdir / "pr_curves.png"), caption="precision–recall curves")
        if (mdir / "feature_importance.png").exists():
            cols[1].image(str(mdir / "feature_importance.png"), caption="permutation importance")

        st.subheader("3 · Predict on the open session")
        results = mdir / "predictions"
        stem = Path(pose).name.split(".")[0]
        if st.button("Predict", key="clf_predict"):
            args = ["classify", "predict", "--model", str(mdir), "--pose", pose, "--out", str(results)]
            if px:
                args += ["--px-per-cm", str(px)]
            if regions_file(pose):
                args += ["--regions", regions_file(pose)]
            with st.spinner("Predicting…"):
                code, message = run_command(args)
            if code:
                st.error(message)
            else:
                st.success(f"predicted: {results}")
        pred_csv = results / f"{stem}.csv"
        pred = optional_table(pred_csv, "table of predictions", ("frame", "subject"), problems := [])
        if problems:
            st.warning(f"{problems[0]}; predict again")
        if pred is not None:
            probs = [c for c in pred.columns if c.endswith("_prob")]
            subj = st.selectbox("Subject", sorted(pred["subject"].astype(str).unique()), key="clf_subject")
            sel = pred[pred["subject"].astype(str) == subj].set_index("frame")[probs]
            st.line_chart(sel.iloc[:: max(1, len(sel) // MAX_POINTS)])
            if (results / f"{stem}_ethogram.png").exists():
                st.image(str(results / f"{stem}_ethogram.png"), caption="ethogram of predictions")
            bouts = optional_table(results / f"{stem}_bouts.csv", "table of predicted bouts", problems=problems)
            if bouts is not None:
                with st.expander("Predicted bouts"):
                    st.dataframe(bouts, width="stretch")
            where = optional_table(results / f"{stem}_regions.csv", "table of behaviours by region", problems=problems)
            for problem in problems:
                st.warning(f"{problem}; left out")
            if where is not None:
                st.caption("Where each behaviour happens: the share of its frames inside each area, the share of "
                           "the time there that it takes, and (enrichment) how many times more it happens there "
                           "than the animals' time there alone explains")
                st.dataframe(where.round(3), width="stretch", hide_index=True)
