"""Feature tables (pandas DataFrames) to and from Parquet / CSV, written atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mapose.errors import FormatError, MaposeError
from mapose.io._files import PathLike, atomic_path, require_file

TABLE_EXTENSIONS = (".parquet", ".csv")


def _kind(path: PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_EXTENSIONS:
        raise MaposeError(f"{path}: unknown table extension {suffix!r}; expected one of {', '.join(TABLE_EXTENSIONS)}")
    return suffix


def save_feature_table(df: pd.DataFrame, path: PathLike) -> Path:
    """Write a feature table to ``.parquet`` or ``.csv`` (chosen by extension), atomically.

    Returns the path written.
    """
    kind = _kind(path)
    with atomic_path(path) as tmp:
        if kind == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False)
    return Path(path)


def read_feature_table(path: PathLike) -> pd.DataFrame:
    """Read a table written by :func:`save_feature_table` (``subject`` stays text)."""
    p = require_file(path, "feature table")
    kind = _kind(p)
    try:
        if kind == ".parquet":
            return pd.read_parquet(p)
        return pd.read_csv(p, dtype={"subject": "str"})
    except (OSError, ValueError) as exc:
        raise FormatError(f"{p}: cannot read feature table ({exc})") from None
