"""Checks of the pandas tables the analysis passes between steps (feature tables, label tables,
annotations, predictions): a table of another kind, or none at all, is named before any work."""

from __future__ import annotations

from typing import Any, Sequence

from mapose.errors import ValidationError


def check_table(table: Any, what: str, columns: Sequence[str] = (), made_by: str = "") -> None:
    """Raise :class:`ValidationError` unless ``table`` is a pandas DataFrame with ``columns``.

    ``what`` names the table in the message (``"the feature table"``); ``made_by`` says where such a
    table comes from (``"mapose.kinematics.feature_table"``).
    """
    import pandas as pd

    where = f" (from {made_by})" if made_by else ""
    if not isinstance(table, pd.DataFrame):
        raise ValidationError(f"{what} is a {type(table).__name__}; expected a table (pandas DataFrame){where}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        shown = ", ".join(map(str, list(table.columns)[:8])) + (" ..." if table.shape[1] > 8 else "")
        raise ValidationError(f"{what} has no {', '.join(map(repr, missing))} column{where}; it has {shown or 'none'}")
