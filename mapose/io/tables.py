"""Feature tables (pandas DataFrames) to and from Parquet / CSV, written atomically; :func:`read_table`
reads the CSV tables that other commands write (cluster labels, classifier metrics, predictions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

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


def read_table(path: PathLike, what: str, columns: Sequence[str] = (), **read_csv: Any) -> pd.DataFrame:
    """A CSV table written by a mapose command (``labels.csv`` of ``mapose cluster``, ``validation.csv``
    of a classifier, ...), read with ``pandas.read_csv(**read_csv)``.

    A missing, empty or damaged file, or one without the ``columns`` the caller needs, raises
    :class:`~mapose.errors.FormatError` naming the file and ``what`` it should be.
    """
    p = require_file(path, what)
    try:
        df = pd.read_csv(p, **read_csv)
    except pd.errors.EmptyDataError:
        raise FormatError(f"{p}: the {what} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise FormatError(f"{p}: cannot read the {what} ({str(exc).splitlines()[0]})") from None
    except OSError as exc:
        raise FormatError(f"{p}: cannot read the {what} ({exc.strerror or exc})") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise FormatError(f"{p}: not a {what}: it has no {', '.join(map(repr, missing))} column; its columns are "
                          f"{', '.join(map(str, list(df.columns)[:8]))}{' ...' if len(df.columns) > 8 else ''}")
    return df
