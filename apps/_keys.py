"""Keyboard shortcuts for dashboard pages: a Streamlit component (``apps/components/keys``) that
reports single key presses made anywhere on the page, except while typing in a text field."""

from pathlib import Path

import streamlit as st
import streamlit.components.v1 as components

_component = components.declare_component("mapose_keys", path=str(Path(__file__).parent / "components" / "keys"))


def key_pressed(keys, key: str = "keys"):
    """The key pressed since the last run, if it is one of ``keys`` (``KeyboardEvent.key`` names
    such as ``"ArrowRight"`` and ``"h"``, or ``"ctrl+z"``, ``"shift+ArrowRight"``); else None.
    Call it before the widgets the key changes, so their state can be set."""
    event = _component(keys=sorted(keys), key=key, default=None)
    seen = f"{key}_seen"
    if not event or st.session_state.get(seen) == event.get("at"):
        return None
    st.session_state[seen] = event.get("at")
    return event.get("key")
