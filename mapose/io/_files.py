"""File helpers shared by the format modules and commands: existence checks, atomic writes, strict JSON,
which mapose folder a path is (pose model, clusters, classifier), damaged HDF5 and YAML errors in one line."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence, Union

import numpy as np

from mapose.errors import MaposeError, MissingFileError

PathLike = Union[str, os.PathLike]

#: First bytes of every HDF5 file (SLEAP, DeepLabCut .h5, NWB, JABS, netCDF-4).
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def is_hdf5(path: PathLike) -> bool:
    """True when ``path`` starts with the HDF5 signature (False for unreadable files)."""
    try:
        with open(path, "rb") as f:
            return f.read(8) == HDF5_MAGIC
    except OSError:
        return False


def parse_error_line(exc: BaseException) -> str:
    """One line about a YAML or JSON parse error: ``line L, column C: problem``.

    PyYAML's own message spans several lines (the context, a copy of the line and a caret); error
    messages in mapose are one line, naming the file and where in it the problem is."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is not None and problem:
        context = getattr(exc, "context", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        return f"{where}: {problem}" + (f" ({context})" if context else "")
    return " ".join(str(exc).split())


def check_hdf5_opens(path: PathLike) -> None:
    """Raise :class:`~mapose.errors.FormatError` when ``path`` has the HDF5 signature but HDF5 cannot
    open it (a file cut short by a copy or a full disk, or damaged), so that the message says so rather
    than "not a <format> file".  Files without the signature pass: each reader names its own format."""
    if not is_hdf5(path):
        return
    import h5py

    from mapose.errors import FormatError

    try:
        with h5py.File(path, "r"):
            pass
    except (OSError, ValueError) as exc:
        detail = " ".join(str(exc).split())
        raise FormatError(f"{path}: HDF5 file cannot be opened, it may be truncated or damaged "
                          f"({detail[:200]})") from None


def stored_skeleton(value: Any, keypoints: Sequence[str], path: PathLike):
    """The :class:`~mapose.core.Skeleton` mapose saved in a file's metadata (a dict or its JSON).

    Returns ``None`` when nothing is stored or when the file's data holds keypoints the stored skeleton
    lacks; a skeleton naming more keypoints, or in another order (Tracks saved after an xarray selection
    of keypoints), is restricted to the file's keypoints in their order.  Raises :class:`~mapose.errors.FormatError`
    naming the file when the stored value is not a valid skeleton.
    """
    from mapose.core.skeleton import Skeleton
    from mapose.errors import FormatError, MaposeError

    if not value:
        return None
    try:
        sk = Skeleton.from_json(value) if isinstance(value, str) else Skeleton.from_dict(value)
    except (MaposeError, KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{path}: the stored skeleton metadata is not a valid skeleton ({exc})") from None
    return sk.restricted_to(keypoints)


def check_fps(fps: Any, path: PathLike) -> Optional[float]:
    """``fps`` given to a reader as a float (None stays None, meaning: the file's own rate).

    Raises :class:`~mapose.errors.ConfigError` naming ``path`` when ``fps`` is not a positive,
    finite number of frames per second.
    """
    from mapose.errors import ConfigError

    if fps is None:
        return None
    try:
        value = float(fps)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(fps, bool) or not np.isfinite(value) or value <= 0:
        raise ConfigError(f"{path}: fps must be a positive number of frames per second; got {fps!r}")
    return value


def encode_frames(frames: np.ndarray) -> Any:
    """Compact JSON form of frame indices: ``{"start", "stop"}`` when consecutive, else a list."""
    frames = np.asarray(frames, np.int64)
    if len(frames) and np.array_equal(frames, np.arange(frames[0], frames[0] + len(frames))):
        return {"start": int(frames[0]), "stop": int(frames[0] + len(frames))}
    return [int(f) for f in frames]


def decode_frames(obj: Any) -> np.ndarray:
    """Inverse of :func:`encode_frames`."""
    if isinstance(obj, dict):
        return np.arange(int(obj["start"]), int(obj["stop"]), dtype=np.int64)
    return np.asarray(obj, dtype=np.int64).reshape(-1)


def require_file(path: PathLike, what: str = "file") -> Path:
    """Return ``path`` as a :class:`Path`, raising :class:`MissingFileError` if it does not exist."""
    p = Path(path)
    if not p.exists():
        raise MissingFileError(f"{p}: {what} not found")
    if p.is_dir():
        raise MissingFileError(f"{p}: is a folder; expected a {what}")
    return p


#: The folders mapose commands write, with the files that mark each (all must be present), so that a
#: folder given to the wrong command is named for what it is.
MODEL_FOLDERS = {
    "pose model": (("config.yaml", "skeleton.json"), "'mapose train --out'"),
    "behaviour clusters model": (("model.json", "arrays.npz"), "'mapose cluster --out', its model/ subfolder"),
    "behaviour clusters output": (("labels.csv", "summary.json"), "'mapose cluster --out'"),
    "behaviour classifier": (("manifest.json", "estimators.skops"), "'mapose classify train --out'"),
}


def folder_kind(folder: PathLike) -> Optional[str]:
    """Which of :data:`MODEL_FOLDERS` ``folder`` is (None: none of them, or not a folder)."""
    p = Path(folder)
    for kind, (marks, _) in MODEL_FOLDERS.items():
        if all((p / m).is_file() for m in marks):
            return kind
    return None


def require_model_folder(folder: PathLike, kind: str) -> Path:
    """Return ``folder`` as a :class:`Path` when it exists as a folder and is not another kind of
    mapose folder; raise :class:`MissingFileError` (absent, or a file) or :class:`FormatError` (a
    folder of another command, named) otherwise.  Missing files inside are left to the caller."""
    from mapose.errors import FormatError

    p = Path(folder)
    by = MODEL_FOLDERS[kind][1]
    if not p.exists():
        raise MissingFileError(f"{p}: not found; expected a {kind} folder (from {by})")
    if not p.is_dir():
        raise MissingFileError(f"{p}: is a file; expected a {kind} folder (from {by})")
    found = folder_kind(p)
    if found is not None and found != kind:
        raise FormatError(f"{p}: is a {found} folder (from {MODEL_FOLDERS[found][1]}); "
                          f"expected a {kind} folder (from {by})")
    return p


def free_path(path: PathLike) -> Path:
    """``path`` when nothing is there, else the first of ``<name>-2<suffixes>``, ``-3`` ... beside it
    that is free (``a.tracked.slp`` -> ``a-2.tracked.slp``): a new file never replaces one."""
    p = Path(path)
    if not p.exists():
        return p
    stem, suffix = p.name.split(".")[0], "".join(p.suffixes)
    i = 2
    while p.with_name(f"{stem}-{i}{suffix}").exists():
        i += 1
    return p.with_name(f"{stem}-{i}{suffix}")


def check_folder_path(folder: PathLike, what: str = "the folder") -> Path:
    """Raise :class:`MaposeError` when ``folder``, or the nearest of its parents that exists, is a
    file, so that no folder can be made there; creates nothing.  ``what`` names the folder in the
    message (an option such as ``--out``)."""
    folder = Path(folder)
    for p in (folder, *folder.parents):
        if p.exists():
            if not p.is_dir():
                where = "" if p == folder else f": {p}"
                raise MaposeError(f"{what} {folder}{where} is a file; expected a folder")
            break
    return folder


def ensure_folder(folder: PathLike, for_path: PathLike | None = None) -> Path:
    """Create ``folder`` (and its parents) for writing, raising :class:`MaposeError` naming the
    obstacle when it cannot be: a file where a folder should be, no permission, no space.
    ``for_path`` is the output the folder is for (named in the message)."""
    folder = Path(folder)
    what = f"cannot write {for_path}: the folder" if for_path is not None else "the folder"
    check_folder_path(folder, what)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MaposeError(f"{what} {folder} cannot be created ({exc.strerror or exc})") from None
    return folder


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
    if final.is_dir():
        raise MaposeError(f"cannot write {final}: it is a folder")
    ensure_folder(final.parent, final)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}",
                                        dir=final.parent)
    except OSError as exc:
        raise MaposeError(f"cannot write {final}: the folder {final.parent} does not accept new files "
                          f"({exc.strerror or exc})") from None
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


def json_ready(value: Any) -> Any:
    """``value`` with NaN and infinities as None (JSON null) and numpy scalars and arrays as Python
    numbers and lists, through dicts, lists and tuples: strict JSON readers (JavaScript, jq, R's
    jsonlite) refuse the ``NaN`` that :func:`json.dumps` writes by default."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_json(path: PathLike, value: Any, indent: int = 1) -> None:
    """Write ``value`` as strict JSON (see :func:`json_ready`) to ``path`` atomically."""
    import json

    atomic_write_text(path, json.dumps(json_ready(value), indent=indent, allow_nan=False) + "\n")


def read_json(path: PathLike, what: str = "JSON file") -> dict:
    """The mapping stored in the JSON file ``path``; a missing, unreadable or damaged file, or one
    that holds no mapping, raises a :class:`~mapose.errors.MaposeError` naming it and ``what``."""
    import json

    from mapose.errors import FormatError

    p = require_file(path, what)
    try:
        value = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormatError(f"{p}: cannot read the {what} (not valid JSON: {exc})") from None
    except OSError as exc:
        raise FormatError(f"{p}: cannot read the {what} ({exc.strerror or exc})") from None
    if not isinstance(value, dict):
        raise FormatError(f"{p}: the {what} holds {type(value).__name__}, not a mapping of keys")
    return value


def read_training_record(model_dir: str | Path) -> dict:
    """``split.json`` of a model folder (which frames trained it, what the labels showed); ``{}`` when the
    folder has none (models trained before it was written).  A damaged file raises
    :class:`~mapose.errors.FormatError` naming it."""
    p = Path(model_dir) / "split.json"
    return read_json(p, "training record (split.json)") if p.exists() else {}


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
