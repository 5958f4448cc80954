"""mapose dashboard — home page.  Start with ``mapose dashboard [PATH]``."""

import streamlit as st

from mapose import __version__

st.set_page_config(page_title="mapose", layout="wide")
st.title("mapose dashboard")
st.caption(f"mapose {__version__} — multi-animal pose, identities, kinematics and behaviour")
st.markdown(
    """
Pick a page in the sidebar:

- **Session** — video with the pose drawn on it, frame slider and jump-to-frame, per-animal
  confidence over time, trajectories.
- **Tracking review** — likely identity swaps found by the tracker as a review queue; jump to each,
  swap two animals from a frame onward, save (with undo).
- **Kinematics** — speed, distances, facing angles over time, per animal and per pair; export.
- **Behaviour clusters** — embedding, ethogram and transition graph of a `mapose cluster` result;
  play the most typical bouts of a cluster.
- **Classifiers** — train behaviour classifiers from annotations, see cross-validated metrics,
  predict on sessions.
- **Labelling** — place and correct keypoints on the frames of a SLEAP project (from
  `mapose extract-frames`): click to place, drag to move, accept predictions, undo, likely
  mistakes flagged; saved as you go.

The pose file and video chosen in the sidebar are shared by every page.
"""
)
