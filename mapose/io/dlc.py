"""DeepLabCut files: predictions and labelled data (``.h5`` / ``.csv``) and project ``config.yaml``.

Layout of a DeepLabCut table
----------------------------
Columns are a :class:`pandas.MultiIndex` with the levels ``(scorer, bodyparts, coords)``
(single-animal projects) or ``(scorer, individuals, bodyparts, coords)`` (multi-animal projects);
``coords`` is ``x, y, likelihood`` for predictions and ``x, y`` for labelled data.  Rows are frame
numbers (predictions) or image paths (labelled data ``CollectedData_<scorer>``), either one string
``labeled-data/<video>/img001.png`` or, since DeepLabCut 2.2, a three-level index
``('labeled-data', '<video>', 'img001.png')``.  ``.h5`` files are pandas HDF5 stores with the key
``df_with_missing``; ``.csv`` files hold the same table with one header row per column level.

Multi-animal projects may have an individual named ``single`` carrying the *unique* body parts
(for example a fixed landmark of the arena).  mapose keeps it as its own individual ``single``
with NaN for the multi-animal body parts (and NaN for the unique body parts of the other animals);
the list of unique body parts is kept in the ``Tracks`` attribute ``dlc_unique_bodyparts`` so that
writing the file back restores the original columns.

Missing values
--------------
DeepLabCut writes NaN for a missing point.  Some exporters (e.g. the MABe 2022 triplet files)
store integers with ``(0, 0)`` for a missing point and no likelihood; ``read_tracks`` takes the
option ``zero_is_missing``: ``True`` turns every exact ``(0, 0)`` pair into NaN, ``False`` keeps
them, and the default ``None`` enables it automatically when the file has no likelihood column and
holds at least one exact ``(0, 0)`` pair (the ``Tracks`` attribute ``dlc_zero_is_missing`` then
records that it was applied).

What a round trip keeps
-----------------------
``write_tracks`` always writes the four-level header with the key ``df_with_missing``.  For
``.h5`` the ``Tracks`` attributes (skeleton, fps, provenance, ...) are stored as JSON in the
store's metadata (attribute ``mapose_attrs`` of the ``df_with_missing`` node) and restored by
``read_tracks``; a ``.csv`` keeps only values and names (pass ``fps=`` when reading it).
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np
import xarray as xr

from mapose.core.detections import Detections
from mapose.core.labels import ImageRef, Labels
from mapose.core.skeleton import Skeleton
from mapose.core.tracks import make_tracks, validate_tracks
from mapose.errors import ConfigError, FormatError, MaposeError
from mapose.io._files import (
    HDF5_MAGIC,
    PathLike,
    atomic_path,
    atomic_write_text,
    check_fps,
    check_hdf5_opens,
    parse_error_line,
    require_file,
)

NAME = "dlc"
EXTENSIONS = (".h5", ".csv")

#: Key of the table inside DeepLabCut ``.h5`` files.
H5_KEY = "df_with_missing"
#: Attribute of the HDF5 node holding the JSON of the ``Tracks`` attributes.
META_ATTR = "mapose_attrs"
#: Name DeepLabCut gives the pseudo-individual that carries unique body parts.
UNIQUE_INDIVIDUAL = "single"
#: Individual name used for single-animal (three-level) files, as in ``movement``.
SINGLE_ANIMAL_NAME = "individual_0"

_LEVELS_3 = ("scorer", "bodyparts", "coords")
_LEVELS_4 = ("scorer", "individuals", "bodyparts", "coords")
_COORDS = ("x", "y", "likelihood")
_H5_SUFFIXES = (".h5", ".hdf5", ".hdf")


# ---------------------------------------------------------------------------------------------
# attrs <-> JSON (shared with other format modules that keep Tracks attributes as metadata)
# ---------------------------------------------------------------------------------------------
def _to_jsonable(value: Any) -> Any:
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, np.ndarray):
        return [_to_jsonable(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def encode_attrs(attrs: dict) -> str:
    """JSON text of a ``Tracks`` attribute dict (numpy scalars/arrays become plain values)."""
    return json.dumps({str(k): _to_jsonable(v) for k, v in attrs.items()})


#: Attributes every ``Tracks`` has (:func:`mapose.core.tracks.make_tracks` sets them from the file).
BASE_ATTRS = frozenset({"fps", "time_unit", "source_software", "source_file", "ds_type", "skeleton", "video_path"})


def extra_attrs(attrs: dict) -> str:
    """JSON text (:func:`encode_attrs`) of the attributes beyond :data:`BASE_ATTRS`, such as an
    analysis's ``provenance``, for formats that keep them as metadata."""
    return encode_attrs({k: v for k, v in attrs.items() if k not in BASE_ATTRS})


def restore_extra_attrs(ds, text: Any, what: str):
    """Put back what :func:`extra_attrs` stored (``None``: nothing); attributes already set win."""
    if text is not None:
        for k, v in decode_attrs(text, what).items():
            ds.attrs.setdefault(k, v)
    return ds


def decode_attrs(text: Any, what: str) -> dict:
    """Inverse of :func:`encode_attrs`; ``what`` names the file in the error message."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        out = json.loads(str(text))
    except json.JSONDecodeError as exc:
        raise FormatError(f"{what}: metadata {META_ATTR!r} is not valid JSON ({exc})") from None
    if not isinstance(out, dict):
        raise FormatError(f"{what}: metadata {META_ATTR!r} is not a JSON object")
    return out


# ---------------------------------------------------------------------------------------------
# sniffing
# ---------------------------------------------------------------------------------------------
def sniff(path: PathLike) -> bool:
    """True for a DeepLabCut table: a pandas HDF5 store (``.h5``) or a CSV whose first cell is
    ``scorer``.  SLEAP analysis, JABS and NWB HDF5 files hold no pandas node and are rejected."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    if head == HDF5_MAGIC:
        return _h5_pandas_key(p) is not None
    if p.suffix.lower() == ".csv" or head.lstrip(b"\xef\xbb\xbf")[:6].lower() == b"scorer":
        try:
            with open(p, newline="", encoding="utf-8-sig") as f:
                first = next(csv.reader(f), [])
        except (OSError, UnicodeDecodeError, csv.Error):
            return False
        return bool(first) and first[0].strip().lower() == "scorer"
    return False


def _h5_pandas_key(path: Path) -> Optional[str]:
    """Key of the pandas DataFrame in an HDF5 file (``df_with_missing`` preferred), else None."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            keys = [
                k for k, node in h5.items()
                if isinstance(node, h5py.Group)
                and _attr_str(node.attrs.get("pandas_type")) in ("frame", "frame_table")
            ]
    except (OSError, ValueError):
        return None
    if not keys:
        return None
    return H5_KEY if H5_KEY in keys else keys[0]


def _one_line(exc: BaseException, limit: int = 200) -> str:
    """``Type: message`` of an exception from a library, on one line and at most ``limit`` chars."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _attr_str(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return "" if v is None else str(v)


# ---------------------------------------------------------------------------------------------
# project config.yaml
# ---------------------------------------------------------------------------------------------
def read_project_config(path: PathLike) -> dict:
    """Read a DeepLabCut project ``config.yaml``.

    Returns
    -------
    dict
        ``bodyparts`` (list; for multi-animal projects the multi-animal plus unique body parts),
        ``multianimalbodyparts``, ``uniquebodyparts``, ``individuals`` (lists, empty when absent),
        ``skeleton`` (list of ``(name, name)`` edges), ``scorer`` (str), ``multianimalproject``
        (bool) and ``raw`` (the whole parsed YAML).
    """
    import yaml

    p = require_file(path, "DeepLabCut config.yaml")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not a readable YAML file, {parse_error_line(exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a YAML mapping (DeepLabCut config.yaml)")

    def names(key: str) -> list[str]:
        v = raw.get(key) or []
        if isinstance(v, str):  # "MULTI!" placeholder of multi-animal projects
            return []
        if not isinstance(v, (list, tuple)):
            raise ConfigError(f"{p}: {key!r} must be a list of names, got {type(v).__name__}")
        return [str(x) for x in v]

    multi = bool(raw.get("multianimalproject"))
    ma_bp = names("multianimalbodyparts")
    uniq = names("uniquebodyparts")
    bodyparts = names("bodyparts")
    if multi or (not bodyparts and ma_bp):
        bodyparts = ma_bp + [b for b in uniq if b not in ma_bp]
    if "bodyparts" not in raw and not ma_bp:
        raise ConfigError(f"{p}: no 'bodyparts' (or 'multianimalbodyparts') in the config")
    edges = []
    for e in raw.get("skeleton") or []:
        if not isinstance(e, (list, tuple)) or len(e) != 2:
            raise ConfigError(f"{p}: skeleton edge {e!r} is not a pair of body part names")
        edges.append((str(e[0]), str(e[1])))
    return {
        "bodyparts": bodyparts,
        "multianimalbodyparts": ma_bp,
        "uniquebodyparts": uniq,
        "individuals": names("individuals"),
        "skeleton": edges,
        "scorer": str(raw.get("scorer") or ""),
        "multianimalproject": multi,
        "raw": raw,
        "path": str(p),
    }


def skeleton_from_config(cfg: dict, keypoints: Optional[Sequence[str]] = None) -> Skeleton:
    """:class:`Skeleton` of a DeepLabCut project config (from :func:`read_project_config`).

    Edges come from ``skeleton``; left/right pairs are guessed from the names
    (:meth:`Skeleton.guess_symmetry`).  With ``keypoints`` (the body parts of a file of that
    project) the skeleton follows that order and keeps only edges between those names.
    """
    names = list(keypoints) if keypoints is not None else list(cfg["bodyparts"])
    if not names:
        raise ConfigError(f"{cfg.get('path', 'config')}: no body parts to build a skeleton from")
    known = set(names)
    edges = []
    for a, b in cfg.get("skeleton", []):
        if a in known and b in known and a != b:
            edges.append((a, b))
        elif keypoints is None:
            raise ConfigError(
                f"{cfg.get('path', 'config')}: skeleton edge ({a}, {b}) names a body part not in "
                f"bodyparts; known: {', '.join(names)}"
            )
    task = str(cfg.get("raw", {}).get("Task") or "")
    return Skeleton.from_names(names, edges, Skeleton.guess_symmetry(names), name=task)


def write_project_config(path: PathLike, skeleton: Skeleton, individuals: Sequence[str] = (),
                         scorer: str = "mapose") -> None:
    """Write a minimal DeepLabCut project ``config.yaml`` (atomically): the body parts, skeleton
    edges, individuals and scorer of a labelled-data project, what :func:`read_project_config`
    (and so :func:`read_labels`) takes the skeleton from.  DeepLabCut's own settings (video sets,
    training fractions, network) are left for DeepLabCut to fill in."""
    import yaml

    names = list(skeleton.keypoints)
    cfg: dict[str, Any] = {"Task": skeleton.name or "mapose", "scorer": scorer}
    if individuals:
        cfg.update(multianimalproject=True, individuals=[str(i) for i in individuals],
                   uniquebodyparts=[], multianimalbodyparts=names, bodyparts="MULTI!")
    else:
        cfg.update(multianimalproject=False, bodyparts=names)
    cfg["skeleton"] = [list(e) for e in skeleton.edge_names]
    atomic_write_text(path, yaml.safe_dump(cfg, sort_keys=False))


def find_project_config(path: PathLike, levels: int = 4) -> Optional[Path]:
    """The ``config.yaml`` of the DeepLabCut project holding ``path`` (searched in the file's
    folder and up to ``levels`` parents), or None."""
    p = Path(path).resolve().parent
    for _ in range(levels + 1):
        cand = p / "config.yaml"
        if cand.is_file():
            return cand
        if p.parent == p:
            break
        p = p.parent
    return None


# ---------------------------------------------------------------------------------------------
# reading the table
# ---------------------------------------------------------------------------------------------
@dataclass
class _Table:
    """A DeepLabCut table split into arrays."""

    index: list                 # row labels: int, str or tuple of str
    scorer: str
    multi_animal: bool
    individuals: list[str]
    bodyparts: list[str]        # union over individuals, file order
    unique: list[str]           # body parts only the 'single' individual has
    layout: dict[str, list[str]]
    xy: np.ndarray              # (R, I, K, 2), NaN where absent
    likelihood: Optional[np.ndarray]  # (R, I, K) or None
    meta: dict                  # mapose attrs stored in the file (h5), else {}


def _read_frame(path: Path):
    """``(DataFrame, meta)`` of a DeepLabCut ``.h5`` or ``.csv``."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head == HDF5_MAGIC:
        return _read_h5_frame(path)
    return _read_csv_frame(path), {}


def _read_h5_frame(path: Path):
    import pandas as pd

    key = _h5_pandas_key(path)
    if key is None:
        raise FormatError(
            f"{path}: HDF5 file holds no pandas table; expected a DeepLabCut file with the key "
            f"{H5_KEY!r}"
        )
    try:
        with pd.HDFStore(path, "r") as store:
            obj = store.get(key)
            storer_attrs = store.get_storer(key).attrs
            meta_text = getattr(storer_attrs, META_ATTR, None) if META_ATTR in storer_attrs else None
    except MaposeError:
        raise
    except Exception as exc:  # pytables raises many types for damaged files
        raise FormatError(f"{path}: cannot read the pandas table {key!r} ({_one_line(exc)})") from None
    if not isinstance(obj, pd.DataFrame):
        raise FormatError(f"{path}: node {key!r} is a {type(obj).__name__}; expected a DataFrame")
    meta = decode_attrs(meta_text, str(path)) if meta_text is not None else {}
    return obj, meta


def _read_csv_frame(path: Path):
    import pandas as pd

    header: list[list[str]] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            for row in reader:
                header.append(row)
                if not row or row[0].strip().lower() == "coords" or len(header) >= 4:
                    break
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FormatError(f"{path}: not a DeepLabCut CSV ({exc})") from None
    levels = tuple(r[0].strip().lower() if r else "" for r in header)
    if levels not in (_LEVELS_3, _LEVELS_4):
        raise FormatError(
            f"{path}: header rows start with {list(levels)}; expected a DeepLabCut CSV with rows "
            f"{list(_LEVELS_3)} or {list(_LEVELS_4)}"
        )
    width = len(header[0])
    if any(len(r) != width for r in header):
        raise FormatError(f"{path}: header rows have different numbers of columns "
                          f"({', '.join(str(len(r)) for r in header)})")
    n_index = 1
    while n_index < width and header[0][n_index] == "" and all(r[n_index] == "" for r in header):
        n_index += 1
    if n_index not in (1, 2, 3) or n_index >= width:
        raise FormatError(f"{path}: cannot find the data columns after {n_index} index columns")
    col_tuples = [tuple(r[j] for r in header) for j in range(n_index, width)]
    try:
        data = pd.read_csv(
            path, header=None, skiprows=len(header), dtype={i: str for i in range(n_index)},
            encoding="utf-8-sig", keep_default_na=False, **_EXACT_FLOATS,
            na_values={j: ["", "nan", "NaN", "NAN", "NA", "null"] for j in range(n_index, width)},
        )
    except pd.errors.EmptyDataError:
        data = pd.DataFrame(np.zeros((0, width)))
    except (pd.errors.ParserError, ValueError) as exc:
        raise FormatError(f"{path}: malformed DeepLabCut CSV rows ({_one_line(exc)})") from None
    if data.shape[1] != width:
        raise FormatError(f"{path}: data rows have {data.shape[1]} columns; header has {width}")
    _check_row_lengths(path, len(header), width)
    values = data.iloc[:, n_index:]
    bad = [j for j in range(values.shape[1]) if not pd.api.types.is_numeric_dtype(values.dtypes.iloc[j])]
    if bad:
        j = bad[0]
        col = values.iloc[:, j]
        num = pd.to_numeric(col, errors="coerce")
        row = int(np.flatnonzero(num.isna() & col.notna())[0])
        raise FormatError(
            f"{path}: column {'/'.join(col_tuples[j][1:])} holds {col.iloc[row]!r} in data row "
            f"{row + 1}; expected a number or an empty cell"
        )
    if n_index == 1:
        index = list(data.iloc[:, 0].fillna(""))
        index = [int(v) if re.fullmatch(r"\s*-?\d+\s*", v) else v for v in index]
    else:
        index = [tuple(str(v) for v in r) for r in data.iloc[:, :n_index].fillna("").itertuples(index=False)]
    frame = pd.DataFrame(
        values.to_numpy(dtype=np.float64),
        columns=pd.MultiIndex.from_tuples(col_tuples, names=list(levels)),
    )
    frame.index = pd.Index(index, tupleize_cols=False) if n_index == 1 else pd.MultiIndex.from_tuples(index)
    return frame


def _check_row_lengths(path: Path, n_header: int, width: int) -> None:
    """Raise :class:`FormatError` for a data row with fewer than ``width`` cells (pandas fills
    them with NaN silently), typically the last row of a file cut in the middle of a row.

    Counting separators is cheap; only when some line looks short is the file parsed again
    with :mod:`csv` to find the row exactly (quoted cells may hold commas or line breaks).
    """
    with open(path, "rb") as f:
        lines = (ln for i, ln in enumerate(f) if i >= n_header and ln.strip())
        if all(ln.count(b",") >= width - 1 for ln in lines):
            return
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))[n_header:]
    rows = [r for r in rows if len(r) > 1 or (r and r[0].strip())]  # pandas skips blank lines
    for i, row in enumerate(rows):
        if len(row) < width:
            where = "the last data row" if i == len(rows) - 1 else "data row"
            raise FormatError(
                f"{path}: {where} ({i + 1} of {len(rows)}) has {len(row)} of {width} columns; the "
                f"file is incomplete (truncated in the middle of a row?)"
            )


#: pandas < 3 needs the "round_trip" parser to read every float exactly (the default of pandas 3).
_EXACT_FLOATS = {"float_precision": "round_trip"} if int(__import__("pandas").__version__.split(".")[0]) < 3 else {}


def _split_table(df, path: Path, meta: dict) -> _Table:
    import pandas as pd

    cols = df.columns
    if not isinstance(cols, pd.MultiIndex) or cols.nlevels not in (3, 4):
        raise FormatError(
            f"{path}: columns are {list(cols[:6])}{' …' if len(cols) > 6 else ''}; expected a "
            f"DeepLabCut table with column levels {list(_LEVELS_3)} or {list(_LEVELS_4)}"
        )
    names = tuple(str(n).lower() if n is not None else None for n in cols.names)
    expected = _LEVELS_3 if cols.nlevels == 3 else _LEVELS_4
    if any(n is not None for n in names) and names != expected:
        raise FormatError(
            f"{path}: column levels are {list(cols.names)}; expected {list(_LEVELS_3)} or "
            f"{list(_LEVELS_4)}"
        )
    multi = cols.nlevels == 4
    where: dict[tuple[str, str], dict[str, int]] = {}
    layout: dict[str, list[str]] = {}
    for j, tup in enumerate(cols):
        if multi:
            _, ind, bp, coord = (str(t) for t in tup)
        else:
            _, bp, coord = (str(t) for t in tup)
            ind = SINGLE_ANIMAL_NAME
        if coord not in _COORDS:
            raise FormatError(
                f"{path}: column {'/'.join(str(t) for t in tup)} has coordinate {coord!r}; "
                f"expected one of {', '.join(_COORDS)}"
            )
        slot = where.setdefault((ind, bp), {})
        if coord in slot:
            raise FormatError(f"{path}: column {'/'.join(str(t) for t in tup)} appears twice")
        slot[coord] = j
        parts = layout.setdefault(ind, [])
        if bp not in parts:
            parts.append(bp)
    if not where:
        raise FormatError(f"{path}: the table has no columns; expected x, y[, likelihood] per body part")
    has_lk = set()
    for (ind, bp), slot in where.items():
        for c in ("x", "y"):
            if c not in slot:
                raise FormatError(f"{path}: body part {bp!r} of individual {ind!r} has no {c!r} column")
        has_lk.add("likelihood" in slot)
    if len(has_lk) > 1:
        raise FormatError(f"{path}: some body parts have a likelihood column and others do not")
    individuals = list(layout)
    normal = [i for i in individuals if i != UNIQUE_INDIVIDUAL] or individuals
    ref: list[str] = []
    for ind in normal:
        for bp in layout[ind]:
            if bp not in ref:
                ref.append(bp)
    for ind in normal:
        missing = [bp for bp in ref if bp not in layout[ind]]
        if missing:
            other = next(i for i in normal if missing[0] in layout[i])
            raise FormatError(
                f"{path}: body part {missing[0]!r} is missing for individual {ind!r} "
                f"(present for {other!r}); every individual must have the same body parts "
                f"(unique body parts belong to the individual {UNIQUE_INDIVIDUAL!r})"
            )
    unique = [bp for bp in layout.get(UNIQUE_INDIVIDUAL, []) if bp not in ref] if multi else []
    bodyparts = ref + unique
    try:
        vals = df.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{path}: table values are not numbers ({exc})") from None
    r, n_i, n_k = vals.shape[0], len(individuals), len(bodyparts)
    xy = np.full((r, n_i, n_k, 2), np.nan)
    lk = np.full((r, n_i, n_k), np.nan) if has_lk == {True} else None
    kidx = {bp: k for k, bp in enumerate(bodyparts)}
    for i, ind in enumerate(individuals):
        for bp in layout[ind]:
            slot = where[(ind, bp)]
            k = kidx[bp]
            xy[:, i, k, 0] = vals[:, slot["x"]]
            xy[:, i, k, 1] = vals[:, slot["y"]]
            if lk is not None:
                lk[:, i, k] = vals[:, slot["likelihood"]]
    index = [tuple(str(v) for v in x) if isinstance(x, tuple) else x for x in df.index.tolist()]
    index = [x.item() if isinstance(x, np.generic) else x for x in index]
    scorer = str(cols[0][0])
    return _Table(index, scorer, multi, individuals, bodyparts, unique, layout, xy, lk, meta)


_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def content_kind(path: PathLike) -> str:
    """``"labels"`` for labelled data (rows indexed by image paths, e.g. ``CollectedData_*``),
    ``"tracks"`` for predictions (rows indexed by frame number)."""
    table = _load_table(path)
    for entry in table.index[:20]:
        last = entry[-1] if isinstance(entry, tuple) else entry
        if isinstance(last, str) and last.lower().endswith(_IMAGE_SUFFIXES):
            return "labels"
    return "tracks"


def _load_table(path: PathLike) -> _Table:
    p = require_file(path, "DeepLabCut file")
    check_hdf5_opens(p)
    if not sniff(p):
        raise FormatError(
            f"{p}: not a DeepLabCut file; expected a pandas HDF5 store with the key {H5_KEY!r} or "
            f"a CSV whose header rows are {list(_LEVELS_4)} (or {list(_LEVELS_3)})"
        )
    df, meta = _read_frame(p)
    return _split_table(df, p, meta)


def _skeleton_for(table: _Table, path: Path, config: Union[None, bool, PathLike]) -> Skeleton:
    """Skeleton stored by mapose in the file, else from the project config, else names only."""
    kps = table.bodyparts
    text = table.meta.get("skeleton")
    if text:
        try:
            sk = Skeleton.from_json(text) if isinstance(text, str) else Skeleton.from_dict(text)
        except (MaposeError, KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"{path}: stored skeleton metadata is invalid ({exc})") from None
        if set(sk.keypoints) == set(kps):
            return sk
    cfg_path = None
    if config is None:
        cfg_path = find_project_config(path)
    elif config is not False and config is not True:
        cfg_path = Path(config)
    if cfg_path is not None:
        try:
            cfg = read_project_config(cfg_path)
        except ConfigError:
            if config is not None:  # a config the caller named must be valid
                raise
            return Skeleton.from_names(kps, symmetry=Skeleton.guess_symmetry(kps))
        if set(kps) <= set(cfg["bodyparts"]):
            return skeleton_from_config(cfg, kps)
    return Skeleton.from_names(kps, symmetry=Skeleton.guess_symmetry(kps))


def _frames_from_index(index: list, path: Path) -> np.ndarray:
    """Frame numbers of the rows: integers as they are; image names by their trailing number."""
    if all(isinstance(v, (int, np.integer)) for v in index):
        return np.asarray(index, dtype=np.int64)
    nums = []
    for v in index:
        name = v[-1] if isinstance(v, tuple) else str(v)
        m = re.search(r"(\d+)\D*$", Path(name).name)
        nums.append(int(m.group(1)) if m else None)
    if all(n is not None for n in nums) and len(set(nums)) == len(nums):
        return np.asarray(nums, dtype=np.int64)
    return np.arange(len(index), dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# Tracks
# ---------------------------------------------------------------------------------------------
def read_tracks(
    path: PathLike,
    fps: Optional[float] = None,
    zero_is_missing: Optional[bool] = None,
    config: Union[None, bool, PathLike] = None,
) -> xr.Dataset:
    """Read DeepLabCut predictions (``.h5`` or ``.csv``) into ``Tracks``.

    Parameters
    ----------
    path
        The file.  Rows are frames (an integer index is taken as the frame number in the video;
        image-path rows get the number in the image name, else their row number).
    fps
        Frames per second of the video; overrides the fps stored by mapose in an ``.h5``; when
        omitted, that stored fps is used, else ``time`` is in frames.  Must be positive.
    zero_is_missing
        Read exact ``(0, 0)`` positions as missing (NaN).  ``None`` (default) enables it when the
        file has no likelihood column and holds at least one exact ``(0, 0)`` pair.
    config
        DeepLabCut ``config.yaml`` giving the skeleton edges; ``None`` looks for one in the file's
        folder and its parents, ``False`` ignores it.

    Returns
    -------
    xarray.Dataset
        ``Tracks`` with positions in pixels; three-level files give one individual named
        ``individual_0``.
    """
    p = Path(path)
    fps = check_fps(fps, p)
    table = _load_table(p)
    frames = _frames_from_index(table.index, p)
    xy, lk = table.xy, table.likelihood
    order = np.argsort(frames, kind="stable")
    if np.any(order != np.arange(len(order))):
        frames, xy = frames[order], xy[order]
        lk = lk[order] if lk is not None else None
    if frames.size > 1 and np.any(np.diff(frames) == 0):
        dup = int(frames[np.flatnonzero(np.diff(frames) == 0)[0]])
        raise FormatError(f"{p}: frame {dup} appears in more than one row")
    if zero_is_missing is None:
        zero_is_missing = lk is None and bool(np.any((xy[..., 0] == 0) & (xy[..., 1] == 0)))
    if zero_is_missing:
        zero = (xy[..., 0] == 0) & (xy[..., 1] == 0)
        xy = xy.copy()
        xy[zero] = np.nan
    sk = _skeleton_for(table, p, config)
    perm = [table.bodyparts.index(k) for k in sk.keypoints]
    xy = xy[:, :, perm]
    lk = lk[:, :, perm] if lk is not None else None
    meta = dict(table.meta)
    fps_val = fps if fps is not None else meta.get("fps")
    attrs = {k: v for k, v in meta.items()
             if k not in ("fps", "time_unit", "skeleton", "source_file", "ds_type")}
    attrs.setdefault("source_software", "DeepLabCut")
    attrs["dlc_scorer"] = table.scorer
    for key in ("dlc_unique_bodyparts", "dlc_coords", "dlc_zero_is_missing"):
        attrs.pop(key, None)
    if table.unique:
        attrs["dlc_unique_bodyparts"] = json.dumps(table.unique)
    if lk is None:
        attrs["dlc_coords"] = "xy"
    if zero_is_missing:
        attrs["dlc_zero_is_missing"] = 1
    source_software = attrs.pop("source_software")
    video_path = attrs.pop("video_path", "")
    return make_tracks(
        xy.transpose(0, 3, 2, 1),
        None if lk is None else lk.transpose(0, 2, 1),
        skeleton=sk,
        individuals=table.individuals,
        fps=fps_val,
        frames=frames,
        source_software=source_software,
        source_file=str(p),
        video_path=video_path or "",
        attrs=attrs,
    )


def _columns_and_values(names_i, names_k, pos, conf, layout, with_lk, scorer):
    """Column tuples and (R, C) values for individuals ``names_i`` with body parts ``layout``."""
    cols, blocks = [], []
    kidx = {k: j for j, k in enumerate(names_k)}
    for i, ind in enumerate(names_i):
        for bp in layout[ind]:
            k = kidx[bp]
            cols.append((scorer, ind, bp, "x"))
            blocks.append(pos[:, i, k, 0])
            cols.append((scorer, ind, bp, "y"))
            blocks.append(pos[:, i, k, 1])
            if with_lk:
                cols.append((scorer, ind, bp, "likelihood"))
                blocks.append(conf[:, i, k])
    values = np.stack(blocks, axis=1) if blocks else np.zeros((pos.shape[0], 0))
    return cols, values


def _layout(individuals: list[str], keypoints: list[str], unique: Sequence[str],
            empty: np.ndarray) -> dict[str, list[str]]:
    """Body parts written for each individual.  ``empty[i, k]`` is True where individual ``i``
    has no value at all for body part ``k``; only empty columns are ever left out."""
    layout = {ind: list(keypoints) for ind in individuals}
    if UNIQUE_INDIVIDUAL not in individuals or not unique:
        return layout
    u = [k for k in keypoints if k in set(unique)]
    s = individuals.index(UNIQUE_INDIVIDUAL)
    others = [i for i in range(len(individuals)) if i != s]
    kidx = {k: j for j, k in enumerate(keypoints)}
    drop_u = all(empty[i, kidx[k]] for i in others for k in u)
    multi = [k for k in keypoints if k not in set(u)]
    drop_m = all(empty[s, kidx[k]] for k in multi)
    for i in others:
        if drop_u:
            layout[individuals[i]] = multi
    if drop_m:
        layout[UNIQUE_INDIVIDUAL] = u
    return layout


def write_tracks(
    ds: xr.Dataset,
    path: PathLike,
    scorer: Optional[str] = None,
    likelihood: Optional[bool] = None,
    unique_bodyparts: Optional[Sequence[str]] = None,
) -> None:
    """Write ``Tracks`` as a DeepLabCut predictions file (``.h5`` or ``.csv``), atomically.

    The header always has four levels ``(scorer, individuals, bodyparts, coords)``; ``.h5``
    files use the key ``df_with_missing`` (pandas "table" format, as DeepLabCut; "fixed" format,
    which ``pd.read_hdf`` reads too, for Tracks with no frames or too many columns for a table)
    and keep the ``Tracks`` attributes as JSON metadata.  Row labels are the ``frame`` numbers.

    Parameters
    ----------
    scorer
        Value of the ``scorer`` level; default: the scorer read from a DeepLabCut file, else
        ``"mapose"``.
    likelihood
        Write ``likelihood`` columns (the confidence).  Default: yes, unless the ``Tracks`` came
        from a file without them (attribute ``dlc_coords == "xy"``) and every confidence is NaN.
    unique_bodyparts
        Body parts that belong only to the individual ``single`` (DeepLabCut unique body parts);
        default: the attribute ``dlc_unique_bodyparts``.  Their columns are left out for the other
        individuals (and the multi-animal ones for ``single``) only where they hold no value.
    """
    import pandas as pd

    validate_tracks(ds)
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in _H5_SUFFIXES and suffix != ".csv":
        raise FormatError(f"{p}: DeepLabCut files end in .h5 or .csv; got {suffix or 'no suffix'!r}")
    keypoints = [str(k) for k in ds["keypoints"].values]
    individuals = [str(i) for i in ds["individuals"].values]
    pos = ds["position"].transpose("time", "individuals", "keypoints", "space").values.astype(np.float64)
    conf = ds["confidence"].transpose("time", "individuals", "keypoints").values.astype(np.float64)
    scorer = scorer or str(ds.attrs.get("dlc_scorer") or "mapose")
    if likelihood is None:
        likelihood = not (ds.attrs.get("dlc_coords") == "xy" and bool(np.all(np.isnan(conf))))
    if unique_bodyparts is None:
        unique_bodyparts = json.loads(ds.attrs.get("dlc_unique_bodyparts") or "[]")
    unknown = [b for b in unique_bodyparts if b not in keypoints]
    if unknown:
        raise MaposeError(f"unique body parts {unknown} are not keypoints of the Tracks; known: "
                          f"{', '.join(keypoints)}")
    empty = np.isnan(pos).all(axis=(0, 3)) & np.isnan(conf).all(axis=0)  # (I, K)
    layout = _layout(individuals, keypoints, unique_bodyparts, empty)
    cols, values = _columns_and_values(individuals, keypoints, pos, conf, layout, likelihood, scorer)
    df = pd.DataFrame(
        values,
        index=pd.Index(ds["frame"].values.astype(np.int64)),
        columns=pd.MultiIndex.from_tuples(cols, names=list(_LEVELS_4)),
    )
    attrs = dict(ds.attrs)
    attrs["dlc_scorer"] = scorer
    _write_frame(df, p, attrs, table=True)


def _write_frame(df, path: Path, attrs: Optional[dict], table: bool) -> None:
    """Write ``df`` as ``.csv`` or as an ``.h5`` store under :data:`H5_KEY`.

    ``table`` asks for the pandas "table" format (what DeepLabCut writes).  The "fixed" format is
    used instead when the table format cannot hold the frame: no rows (pandas writes nothing for an
    empty table) or so many columns that their names overflow the 64 kB HDF5 attribute in which
    PyTables keeps them (thousands of columns).  ``pd.read_hdf``, and so DeepLabCut, reads both.
    """
    if path.suffix.lower() == ".csv":
        with atomic_path(path) as tmp:
            df.to_csv(tmp)
        return
    import tables

    with atomic_path(path) as tmp:
        written = False
        if table and len(df):
            try:
                df.to_hdf(tmp, key=H5_KEY, mode="w", format="table")
                written = True
            except tables.HDF5ExtError:  # "Can't set attribute 'non_index_axes'" (over 64 kB)
                pass
        if not written:
            df.to_hdf(tmp, key=H5_KEY, mode="w", format="fixed")
        if attrs is not None:
            import pandas as pd

            with pd.HDFStore(tmp, "a") as store:
                setattr(store.get_storer(H5_KEY).attrs, META_ATTR, encode_attrs(attrs))


# ---------------------------------------------------------------------------------------------
# Labels (CollectedData_<scorer>.h5 / .csv)
# ---------------------------------------------------------------------------------------------
def _project_root(path: Path) -> Path:
    """Folder above ``labeled-data`` when the file lies in it, else the file's folder."""
    p = path.resolve()
    for parent in p.parents:
        if parent.name == "labeled-data":
            return parent.parent
    return p.parent


def read_labels(path: PathLike, config: Union[None, bool, PathLike] = None) -> Labels:
    """Read DeepLabCut labelled data (``CollectedData_<scorer>.h5/.csv``) into :class:`Labels`.

    Image paths are kept as written (``labeled-data/<video>/img001.png``), relative to
    ``Labels.root``, the project folder (the folder above ``labeled-data``).  Multi-animal files
    give identities (``Labels.individuals``, the unique-body-part individual ``single``
    included); an individual with every point missing on an image gives no instance there.
    Keypoint scores are 1 for labelled points (the likelihood when the file has one).
    """
    p = Path(path)
    table = _load_table(p)
    if len(table.index) and all(_is_frame_number(v) for v in table.index):
        raise FormatError(
            f"{p}: holds pose tracks of a video (its rows are frame numbers, not labelled images), not labelled "
            f"frames; read it as tracks, or make a labelling project of frames of its video with "
            f"'mapose extract-frames VIDEO --tracks {p.name}'"
        )
    sk = _skeleton_for(table, p, config)
    perm = [table.bodyparts.index(k) for k in sk.keypoints]
    xy = table.xy[:, :, perm]
    lk = table.likelihood[:, :, perm] if table.likelihood is not None else None
    images = []
    for v in table.index:
        if isinstance(v, tuple):
            name = "/".join(s for s in v if s != "")
        else:
            name = str(v).replace("\\", "/")  # projects labelled on Windows
        images.append(ImageRef(image=name))
    seen = np.isfinite(xy).any(axis=(2, 3))  # (R, I)
    rows, inds = np.nonzero(seen)
    kp = xy[rows, inds]
    visible = np.isfinite(kp).all(axis=-1)
    if lk is not None:
        scores = lk[rows, inds]
    else:
        scores = np.where(visible, 1.0, np.nan)
    det = Detections(
        frame=rows,
        keypoints=kp,
        keypoint_scores=scores,
        instance_scores=np.ones(len(rows)),
        skeleton=sk,
        n_frames=len(images),
        track_id=inds if table.multi_animal else None,
        track_names=tuple(table.individuals) if table.multi_animal else (),
        source=str(p),
    )
    return Labels(
        skeleton=sk,
        images=tuple(images),
        instances=det,
        individuals=tuple(table.individuals) if table.multi_animal else (),
        is_user=np.ones(len(rows), bool),
        root=str(_project_root(p)),
        source=str(p),
    )


def _is_frame_number(entry) -> bool:
    """Whether a row name of a DeepLabCut table is a frame number (a tracks file) rather than an image."""
    if isinstance(entry, tuple):
        return False
    return isinstance(entry, (int, np.integer)) or (isinstance(entry, str) and entry.strip().isdigit())


def _image_name(ref: ImageRef, digits: int) -> str:
    if ref.image:
        return ref.image.replace("\\", "/")
    return f"labeled-data/{Path(ref.video).stem}/img{ref.frame:0{digits}d}.png"


def image_paths(labels: Labels) -> list[str]:
    """The image path :func:`write_labels` writes for each labelled frame, relative to the project
    folder: image files as they are, video frames as ``labeled-data/<video stem>/img<frame>.png``."""
    digits = max(3, len(str(max((r.frame for r in labels.images), default=0))))
    return [_image_name(r, digits) for r in labels.images]


def scorer_from_name(path: PathLike) -> str:
    """The scorer a labelled-data file's name gives (``CollectedData_<scorer>.csv``), else ``mapose``."""
    stem = Path(path).name.split(".")[0]
    scorer = stem[len("CollectedData_"):] if stem.startswith("CollectedData_") else ""
    return scorer or "mapose"


def label_individuals(labels: Labels) -> list[str]:
    """The individuals :func:`write_labels` names in the file's header: the labels' own identities,
    then ``individual<n>`` up to the most animals in one image; empty for a single-animal file
    (no identities and at most one animal per image)."""
    det = labels.instances
    n_img = len(labels.images)
    counts = np.bincount(det.frame, minlength=n_img) if len(det) else np.zeros(n_img, int)
    if not labels.individuals and counts.max(initial=0) <= 1:
        return []
    names = list(labels.individuals)
    need = max(int(counts.max(initial=0)), len(names))
    names += [f"individual{j + 1}" for j in range(len(names), need) if f"individual{j + 1}" not in names]
    while len(names) < need:
        names.append(f"individual{len(names) + 1}_")
    return names


def write_labels(
    labels: Labels,
    path: PathLike,
    scorer: Optional[str] = None,
    index_style: str = "auto",
    likelihood: bool = False,
    unique_bodyparts: Optional[Sequence[str]] = None,
) -> None:
    """Write :class:`Labels` as a DeepLabCut ``CollectedData`` file (``.h5`` or ``.csv``).

    Labels without identities and at most one animal per image give a single-animal file
    (levels ``scorer, bodyparts, coords``); otherwise a multi-animal file (with ``individuals``;
    instances without identity fill the unused individual slots of their image, named
    ``individual<n>`` when the labels name none).

    Parameters
    ----------
    scorer
        Value of the ``scorer`` level (DeepLabCut names the file ``CollectedData_<scorer>``); default:
        the one the file name gives (:func:`scorer_from_name`), as DeepLabCut expects.
    index_style
        ``"multi"``: the DeepLabCut >= 2.2 index ``('labeled-data', video, image)``;
        ``"path"``: one path string per row; ``"auto"`` (default): ``"multi"`` when every path has
        exactly three parts starting with ``labeled-data``, else ``"path"``.  Images given as a
        video frame are named ``labeled-data/<video stem>/img<frame>.png``.
    likelihood
        Also write ``likelihood`` columns (the keypoint scores).
    unique_bodyparts
        Body parts of the individual ``single`` only (DeepLabCut unique body parts).  Default:
        those labelled for ``single`` and for no other individual.
    """
    import pandas as pd

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in _H5_SUFFIXES and suffix != ".csv":
        raise FormatError(f"{p}: DeepLabCut files end in .h5 or .csv; got {suffix or 'no suffix'!r}")
    if index_style not in ("auto", "multi", "path"):
        raise MaposeError(f"index_style {index_style!r} unknown; expected auto, multi or path")
    scorer = scorer_from_name(p) if scorer is None else scorer
    det = labels.instances
    keypoints = list(labels.skeleton.keypoints)
    n_img = len(labels.images)
    tid = det.track_id if det.track_id is not None else np.full(len(det), -1)
    names = label_individuals(labels)
    multi = bool(names)
    if not multi:
        names = [SINGLE_ANIMAL_NAME]
    n_i, n_k = len(names), len(keypoints)
    pos = np.full((n_img, n_i, n_k, 2), np.nan)
    conf = np.full((n_img, n_i, n_k), np.nan)
    for f, sl in det.iter_frames():
        used = set(int(t) for t in tid[sl] if t >= 0)
        free = [j for j in range(n_i) if j not in used]
        for j in range(sl.start, sl.stop):
            slot = int(tid[j]) if multi and tid[j] >= 0 else (free.pop(0) if multi else 0)
            if not np.all(np.isnan(pos[f, slot])):
                raise MaposeError(f"image {_image_name(labels.images[f], 3)!r} has two instances "
                                  f"of individual {names[slot]!r}")
            pos[f, slot] = det.keypoints[j]
            conf[f, slot] = det.keypoint_scores[j]
    if multi and UNIQUE_INDIVIDUAL in names and unique_bodyparts is None:
        s = names.index(UNIQUE_INDIVIDUAL)
        fin = np.isfinite(pos).all(axis=-1).any(axis=0)  # (I, K)
        others = [i for i in range(n_i) if i != s]
        unique_bodyparts = [k for j, k in enumerate(keypoints)
                            if fin[s, j] and not any(fin[i, j] for i in others)]
    empty = np.isnan(pos).all(axis=(0, 3))
    if likelihood:
        empty &= np.isnan(conf).all(axis=0)
    layout = _layout(names, keypoints, unique_bodyparts or [], empty) if multi else {names[0]: keypoints}
    cols, values = _columns_and_values(names, keypoints, pos, conf, layout, likelihood, scorer)
    paths = image_paths(labels)
    parts = [tuple(x.split("/")) for x in paths]
    style = index_style
    if style == "auto":
        style = "multi" if paths and all(len(t) == 3 and t[0] == "labeled-data" for t in parts) else "path"
    if style == "multi":
        bad = [x for x, t in zip(paths, parts) if len(t) != 3]
        if bad:
            raise MaposeError(f"image path {bad[0]!r} does not have the three parts "
                              f"labeled-data/<video>/<image> needed by index_style='multi'")
        index = pd.MultiIndex.from_tuples(parts) if parts else pd.Index([])
    else:
        index = pd.Index(paths, dtype=object)
    if multi:
        columns = pd.MultiIndex.from_tuples(cols, names=list(_LEVELS_4))
    else:
        columns = pd.MultiIndex.from_tuples([(c[0], c[2], c[3]) for c in cols], names=list(_LEVELS_3))
    df = pd.DataFrame(values, index=index, columns=columns)
    _write_frame(df, p, {"skeleton": labels.skeleton.to_json()}, table=False)
