"""File helpers shared by the format modules: existence checks and atomic writes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, Union

from mapose.errors import MissingFileError

PathLike = Union[str, os.PathLike]


def require_file(path: PathLike, what: str = "file") -> Path:
    """Return ``path`` as a :class:`Path`, raising :class:`MissingFileError` if it does not exist."""
    p = Path(path)
    if not p.exists():
        raise MissingFileError(f"{p}: {what} not found")
    if p.is_dir():
        raise MissingFileError(f"{p}: is a folder; expected a {what}")
    return p


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    A crash or exception leaves ``path`` untouched (no half-written output) and removes the
    temporary file.  The temporary name keeps the final suffix so libraries that look at the
    extension (pandas, h5py, OpenCV) behave the same.

    Examples
    --------
    >>> with atomic_path("out.csv") as tmp:          # doctest: +SKIP
    ...     df.to_csv(tmp)
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}",
                                    dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # let the writer create it (some writers refuse to open an existing file)
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"writer produced no file for {final}")
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
