"""Behaviour annotations: human labels of behaviours over frames, from several tools.

Every reader returns the same *tidy per-frame table*: a :class:`pandas.DataFrame` with columns

- ``frame`` (int, 0-based frame index in the video),
- ``subject`` (str: an individual's name, ``"A|B"`` for the ordered pair A acting on B, or ``""``
  when the file does not say which animal -- the classifier then uses the only animal/pair),
- one int 0/1 column per behaviour (several behaviours may be 1 in the same frame).

There is one row per (frame, subject) for every frame ``0..n_frames-1`` (except for interval files
that say which frames were annotated: see ``(annotated)`` below).

Formats read by :func:`read_annotations` (sniffed from the content):

``"frames"``
    CSV with a ``frame`` column and one 0/1 column per behaviour (optional ``subject`` column;
    columns ending in ``_prob`` are ignored, so mapose's own prediction files read back).
``"intervals"``
    CSV with columns ``behaviour`` (or ``behavior``), ``start``, ``stop`` in frames, ``stop``
    exclusive (a bout covers frames ``start..stop-1``, like :mod:`mapose.behaviour.bouts`), and
    optionally ``animal``/``subject``/``individual`` plus ``target``/``other`` (the partner of a
    pair behaviour; the subject becomes ``"animal|target"``).  Rows of the behaviour
    ``(annotated)`` (:data:`ANNOTATED`) say which frames were looked at, for JAABA-style partial
    annotation: when a file has any, only those frames (for their subject, or for every subject
    when the subject is empty) and the frames of bouts are in the table, and the table's
    ``attrs["annotated_only"]`` is True -- a frame left out was not looked at, not "behaviour
    absent", and :func:`mapose.behaviour.classifier.training_table` leaves it out of training.
``"boris"``
    BORIS tabular exports (CSV/TSV): *aggregated events* (``Behavior``, ``Start (s)``,
    ``Stop (s)``) or *events* (``Time``, ``Behavior`` and ``Status``/``Behavior type`` rows
    ``START``/``STOP``/``POINT``).  Times are converted to frames with ``fps`` (argument, or the
    file's ``FPS`` column): frame ``t`` (covering ``[t/fps, (t+1)/fps)`` s) is labelled when
    ``start <= t/fps < stop``; a POINT event labels the single frame ``round(time * fps)``.
``"behaviordepot"``
    BehaviorDEPOT ``hBehavior`` MAT files: each field ``hBehavior.<B>.Vector`` (one 0/1 per
    frame) becomes behaviour ``<B>``; MATLAB v7.3 files are read with h5py, older ones with
    :func:`scipy.io.loadmat`.

To add a format: write ``_read_<name>(path, **options) -> tidy table`` and a test in
``_sniff``; :func:`read_annotations` dispatches on the name.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from mapose.config import as_number
from mapose.errors import FormatError, ValidationError
from mapose.io._files import PathLike, atomic_path, require_file

FORMATS = ("frames", "intervals", "boris", "behaviordepot")

#: behaviour name of interval rows that mark frames as annotated (looked at) rather than a bout
ANNOTATED = "(annotated)"

_SUBJECT_COLS = ("subject", "animal", "individual", "individuals", "actor")
_TARGET_COLS = ("target", "other", "partner", "recipient")
_BEHAVIOUR_COLS = ("behaviour", "behavior", "label", "event")


# ----------------------------------------------------------------------------- public API
def read_annotations(
    path: PathLike,
    *,
    format: Optional[str] = None,
    n_frames: Optional[int] = None,
    fps: Optional[float] = None,
    behaviours: Optional[Sequence[str]] = None,
) -> pd.DataFrame:
    """Read a behaviour annotation file into the tidy per-frame table.

    Parameters
    ----------
    path
        The annotation file.
    format
        One of :data:`FORMATS`; sniffed from the content when omitted.
    n_frames
        Number of frames of the video (output frames ``0..n_frames-1``).  Interval formats
        otherwise end at the last annotated frame; labels past ``n_frames`` raise an error.
    fps
        Frames per second, needed to turn BORIS times (seconds) into frames when the file has no
        ``FPS`` column.
    behaviours
        Keep only these behaviours (in this order); a name absent from the file becomes a column
        of zeros -- a video where the behaviour never happens is a valid annotation.

    Returns
    -------
    pandas.DataFrame
        Columns ``frame``, ``subject``, then one int 0/1 column per behaviour.

    Examples
    --------
    >>> table = read_annotations("session1_labels.csv", n_frames=9000)   # doctest: +SKIP
    >>> table.columns.tolist()                                           # doctest: +SKIP
    ['frame', 'subject', 'attack', 'investigation']
    """
    p = require_file(path, "annotation file")
    name = format or _sniff(p)
    if name not in FORMATS:
        raise FormatError(f"unknown annotation format {name!r}; known: {', '.join(FORMATS)}")
    if n_frames is not None:
        n = as_number(n_frames, "n_frames (frames of the video)", minimum=0)
        if not n.is_integer():
            raise ValidationError(f"n_frames must be a whole number of frames, got {n_frames}")
        n_frames = int(n)
    if name == "frames":
        table = _read_frames(p)
    elif name == "intervals":
        table = _read_intervals(p, n_frames)
    elif name == "boris":
        table = _read_boris(p, n_frames, fps)
    else:
        table = _read_behaviordepot(p)
    return _finish(table, p, n_frames, behaviours)


def write_annotations(table: pd.DataFrame, path: PathLike) -> None:
    """Write a per-frame table (annotations or predictions) as CSV, atomically.

    Parameters
    ----------
    table
        Any table with a ``frame`` column (e.g. the tidy annotation table, or a prediction table
        with ``B_prob`` and ``B`` columns).
    path
        Output ``.csv`` file.
    """
    if "frame" not in table.columns:
        raise ValidationError(f"a per-frame table needs a 'frame' column; has {list(table.columns)}")
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")


def write_table(table: pd.DataFrame, path: PathLike) -> None:
    """Write any table (bouts, metrics) as CSV atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")


def intervals_to_frames(
    intervals: pd.DataFrame, n_frames: int, behaviours: Optional[Sequence[str]] = None
) -> pd.DataFrame:
    """Tidy per-frame table from a table of bouts.

    Parameters
    ----------
    intervals
        Columns ``behaviour``, ``start``, ``stop`` (frames, ``stop`` exclusive) and ``subject``.
    n_frames
        Number of frames of the video.
    behaviours
        Behaviour columns of the output (default: those in ``intervals``, sorted).

    Returns
    -------
    pandas.DataFrame
        Columns ``frame``, ``subject``, one 0/1 column per behaviour.
    """
    names = list(behaviours) if behaviours is not None else sorted(intervals["behaviour"].unique())
    subjects = list(dict.fromkeys(intervals["subject"].tolist())) or [""]
    parts = []
    for subj in subjects:
        rows = intervals[intervals["subject"] == subj]
        part = {"frame": np.arange(n_frames, dtype=np.int64), "subject": [subj] * n_frames}
        for b in names:
            v = np.zeros(n_frames, np.int64)
            for s, e in zip(rows.loc[rows["behaviour"] == b, "start"], rows.loc[rows["behaviour"] == b, "stop"]):
                v[int(s):int(e)] = 1
            part[b] = v
        parts.append(pd.DataFrame(part))
    return pd.concat(parts, ignore_index=True)


# ----------------------------------------------------------------------------- sniffing
def _sniff(p: Path) -> str:
    suffix = p.suffix.lower()
    if suffix == ".mat":
        return "behaviordepot"
    head = _header_columns(p)
    if head is None:
        raise FormatError(
            f"{p}: not an annotation format mapose reads ({', '.join(FORMATS)}); expected a CSV/TSV "
            f"table or a BehaviorDEPOT .mat file"
        )
    cols, _ = head
    low = [c.strip().lower() for c in cols]
    if "behavior" in low and ("start (s)" in low or "time" in low):
        return "boris"
    if any(c in low for c in _BEHAVIOUR_COLS) and "start" in low and "stop" in low:
        return "intervals"
    if "frame" in low:
        return "frames"
    raise FormatError(
        f"{p}: cannot tell the annotation format from the columns {cols}; expected a 'frame' "
        f"column with one 0/1 column per behaviour, 'behaviour,start,stop[,animal]' intervals, "
        f"or a BORIS export (Behavior, Start (s)/Stop (s) or Time/Status)"
    )


def _sep(line: str) -> str:
    return "\t" if line.count("\t") > line.count(",") else ","


def _header_columns(p: Path, max_lines: int = 60) -> Optional[tuple[list[str], int]]:
    """Column names and header row of a delimited table (BORIS puts metadata rows above it)."""
    try:
        with open(p, encoding="utf-8-sig", errors="replace") as fh:
            lines = [fh.readline() for _ in range(max_lines)]
    except (OSError, UnicodeError):
        return None
    lines = [ln for ln in lines if ln]
    if not lines or "\x00" in "".join(lines):
        return None
    for i, ln in enumerate(lines):
        sep = _sep(ln)
        cells = [c.strip().strip('"') for c in ln.rstrip("\r\n").split(sep)]
        low = [c.lower() for c in cells]
        if "behavior" in low and ("start (s)" in low or "time" in low):
            return cells, i
    sep = _sep(lines[0])
    return [c.strip().strip('"') for c in lines[0].rstrip("\r\n").split(sep)], 0


def _read_csv(p: Path, skiprows: int = 0) -> pd.DataFrame:
    with open(p, encoding="utf-8-sig", errors="replace") as fh:
        for _ in range(skiprows):
            fh.readline()
        first = fh.readline()
    try:
        df = pd.read_csv(p, sep=_sep(first), skiprows=skiprows, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise FormatError(f"{p}: cannot parse as a table ({exc})") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _find_col(df: pd.DataFrame, names: Sequence[str]) -> Optional[str]:
    low = {c.lower(): c for c in df.columns}
    for n in names:
        if n in low:
            return low[n]
    return None


def _subjects(df: pd.DataFrame, p: Path) -> pd.Series:
    scol = _find_col(df, _SUBJECT_COLS)
    tcol = _find_col(df, _TARGET_COLS)
    if scol is None:
        if tcol is not None:
            raise FormatError(f"{p}: has a {tcol!r} column but no animal/subject column")
        return pd.Series([""] * len(df), index=df.index)
    subj = df[scol].astype(object).fillna("").astype(str).str.strip()
    subj = subj.where(~subj.str.lower().isin(["no focal subject", "nan"]), "")
    if tcol is not None:
        tgt = df[tcol].astype(object).fillna("").astype(str).str.strip()
        subj = subj.where(tgt == "", subj + "|" + tgt)
    return subj


# ----------------------------------------------------------------------------- readers
def _read_frames(p: Path) -> pd.DataFrame:
    df = _read_csv(p)
    fcol = _find_col(df, ("frame",))
    if fcol is None:
        raise FormatError(f"{p}: per-frame annotations need a 'frame' column; has {list(df.columns)}")
    subj = _subjects(df, p)
    skip = {fcol} | {c for c in df.columns if c.lower() in _SUBJECT_COLS + _TARGET_COLS}
    skip |= {c for c in df.columns if c.endswith("_prob") or c.lower().startswith("unnamed:")}
    behaviours = [c for c in df.columns if c not in skip]
    if not behaviours:
        raise FormatError(f"{p}: no behaviour columns beside {sorted(skip)}")
    frame = pd.to_numeric(df[fcol], errors="coerce")
    if frame.isna().any() or (frame < 0).any() or (frame != np.round(frame)).any():
        bad = df.loc[frame.isna() | (frame < 0) | (frame != np.round(frame)), fcol].iloc[0]
        raise FormatError(f"{p}: frame column holds {bad!r}; expected integer frame indices >= 0")
    out = pd.DataFrame({"frame": frame.astype(np.int64), "subject": subj.values})
    for b in behaviours:
        v = pd.to_numeric(df[b], errors="coerce")
        blank = df[b].isna() | (df[b].astype(str).str.strip() == "")  # empty cell = not annotated
        bad = ~(v.isin([0, 1]) | blank)
        if bad.any():
            raise FormatError(
                f"{p}: behaviour column {b!r} holds {df.loc[bad, b].tolist()[0]!r} (row "
                f"{int(np.flatnonzero(bad.to_numpy())[0]) + 2}); expected 0 or 1"
            )
        out[b] = v.fillna(0).astype(np.int64).values
    dup = out.duplicated(["frame", "subject"])
    if dup.any():
        r = out[dup].iloc[0]
        raise FormatError(f"{p}: frame {int(r['frame'])} of subject {r['subject']!r} appears twice")
    return out


def _intervals_table(df: pd.DataFrame, p: Path, bcol: str, start: np.ndarray, stop: np.ndarray,
                     ) -> pd.DataFrame:
    out = pd.DataFrame({
        "behaviour": df[bcol].astype(str).str.strip().values,
        "subject": _subjects(df, p).values,
        "start": start,
        "stop": stop,
    })
    bad = (out["start"] < 0) | (out["stop"] < out["start"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise FormatError(
            f"{p}: interval {out.loc[i, 'behaviour']!r} has start {out.loc[i, 'start']} and stop "
            f"{out.loc[i, 'stop']}; expected 0 <= start <= stop (frames, stop exclusive)"
        )
    return out


def _to_frames(intervals: pd.DataFrame, p: Path, n_frames: Optional[int]) -> pd.DataFrame:
    last = int(intervals["stop"].max()) if len(intervals) else 0
    if n_frames is None:
        n_frames = last
    elif last > n_frames:
        i = int(intervals["stop"].to_numpy().argmax())
        raise FormatError(
            f"{p}: behaviour {intervals['behaviour'].iloc[i]!r} ends at frame {last} but the video "
            f"has {n_frames} frames"
        )
    return intervals_to_frames(intervals, int(n_frames))


def read_intervals(path: PathLike) -> pd.DataFrame:
    """An interval CSV as it is: ``behaviour, subject, start, stop`` (frames, ``stop`` exclusive),
    one row per line of the file, :data:`ANNOTATED` rows and ``start == stop`` rows included."""
    p = require_file(path, "annotation file")
    df = _read_csv(p)
    bcol = _find_col(df, _BEHAVIOUR_COLS)
    scol, ecol = _find_col(df, ("start",)), _find_col(df, ("stop",))
    if bcol is None or scol is None or ecol is None:
        raise FormatError(
            f"{p}: interval annotations need columns behaviour, start, stop; has {list(df.columns)}"
        )
    vals = []
    for c in (scol, ecol):
        v = pd.to_numeric(df[c], errors="coerce")
        bad = v.isna() | (v != np.round(v))
        if bad.any():
            raise FormatError(
                f"{p}: column {c!r} holds {df.loc[bad, c].iloc[0]!r}; expected integer frame indices"
            )
        vals.append(v.to_numpy(np.int64))
    return _intervals_table(df, p, bcol, vals[0], vals[1])


def _read_intervals(p: Path, n_frames: Optional[int]) -> pd.DataFrame:
    intervals = read_intervals(p)
    looked = intervals["behaviour"] == ANNOTATED
    if not looked.any():
        return _to_frames(intervals, p, n_frames)
    return annotated_frames_only(_to_frames(intervals, p, n_frames), intervals)


def annotated_frames_only(table: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """Keep the rows of a per-frame table (from :func:`intervals_to_frames` of ``intervals``,
    :data:`ANNOTATED` column included) whose frame was annotated for its subject: inside an
    :data:`ANNOTATED` interval of that subject or of ``""`` (every subject), or inside a bout of the
    subject.  Subjects named only by :data:`ANNOTATED` rows keep their annotated frames, all zeros;
    ``""`` stays a subject only when bouts name no one.  The result's ``attrs["annotated_only"]`` is
    True and ``attrs["annotated_for_all"]`` lists the ``(start, stop)`` intervals annotated for every
    subject (so that animals without any bout count there too)."""
    frames = table["frame"].to_numpy()
    subj = table["subject"].to_numpy()
    everyone = intervals[(intervals["behaviour"] == ANNOTATED) & (intervals["subject"] == "")]
    named = [s for s in dict.fromkeys(table["subject"].tolist()) if s != ""]
    if named and "" in set(subj):
        keep_rows = subj != ""
        table, frames, subj = table[keep_rows], frames[keep_rows], subj[keep_rows]
    keep = np.zeros(len(table), bool)
    behaviours = [c for c in table.columns if c not in ("frame", "subject", ANNOTATED)]
    if behaviours:
        keep |= table[behaviours].to_numpy().any(axis=1)
    keep |= table[ANNOTATED].to_numpy() > 0
    for s, e in zip(everyone["start"], everyone["stop"]):
        keep |= (frames >= s) & (frames < e)
    out = table[keep].drop(columns=[ANNOTATED]).reset_index(drop=True)
    out.attrs["annotated_only"] = True
    out.attrs["annotated_for_all"] = [(int(a), int(b)) for a, b in zip(everyone["start"], everyone["stop"])]
    return out


def _sec_to_frame(t: np.ndarray, fps: float) -> np.ndarray:
    # first frame whose start time t/fps is >= the given time (tolerant to float rounding)
    return np.ceil(np.asarray(t, float) * fps - 1e-6).astype(np.int64)


def _read_boris(p: Path, n_frames: Optional[int], fps: Optional[float]) -> pd.DataFrame:
    head = _header_columns(p)
    df = _read_csv(p, skiprows=head[1] if head else 0)
    bcol = _find_col(df, ("behavior", "behaviour"))
    if bcol is None:
        raise FormatError(f"{p}: BORIS export without a 'Behavior' column; has {list(df.columns)}")
    fcol = _find_col(df, ("fps", "media fps"))
    if fps is None and fcol is not None:
        f = pd.to_numeric(df[fcol], errors="coerce").dropna()
        if len(f):
            fps = float(f.iloc[0])
    if fps is None or not math.isfinite(fps) or fps <= 0:
        raise FormatError(
            f"{p}: BORIS times are in seconds and the file has no FPS column; give the video's "
            f"frames per second (fps=..., or --fps on the command line)"
        )
    start_col, stop_col = _find_col(df, ("start (s)",)), _find_col(df, ("stop (s)",))
    if start_col is not None and stop_col is not None:  # aggregated events
        start = pd.to_numeric(df[start_col], errors="coerce")
        stop = pd.to_numeric(df[stop_col], errors="coerce")
        if start.isna().any() or stop.isna().any():
            raise FormatError(f"{p}: non-numeric {start_col!r}/{stop_col!r} values")
        s, e = _sec_to_frame(start, fps), _sec_to_frame(stop, fps)
        point = (e <= s)  # POINT behaviours have start == stop: label one frame
        e = np.where(point, np.round(start.to_numpy() * fps).astype(np.int64) + 1, e)
        s = np.where(point, e - 1, s)
        return _to_frames(_intervals_table(df, p, bcol, s, e), p, n_frames)
    tcol = _find_col(df, ("time",))
    stcol = _find_col(df, ("status", "behavior type"))
    if tcol is None or stcol is None:
        raise FormatError(
            f"{p}: BORIS export needs 'Start (s)'/'Stop (s)' (aggregated) or 'Time' and "
            f"'Status'/'Behavior type' (events); has {list(df.columns)}"
        )
    df = df.assign(_subject=_subjects(df, p).values,
                   _time=pd.to_numeric(df[tcol], errors="coerce"),
                   _status=df[stcol].astype(str).str.strip().str.upper())
    if df["_time"].isna().any():
        raise FormatError(f"{p}: non-numeric times in column {tcol!r}")
    rows = []
    open_: dict[tuple[str, str], float] = {}
    events = df.sort_values("_time", kind="stable")[[bcol, "_subject", "_time", "_status"]]
    for b, subj, t, st in events.itertuples(index=False):
        key = (str(b).strip(), subj)
        if st == "POINT":
            f0 = int(round(t * fps))
            rows.append((key[0], subj, f0, f0 + 1))
        elif st == "START":
            if key in open_:
                raise FormatError(f"{p}: {key[0]!r} of {subj or 'the subject'!r} starts twice (at "
                                  f"{open_[key]} s and {t} s) without a STOP")
            open_[key] = t
        elif st == "STOP":
            if key not in open_:
                raise FormatError(f"{p}: {key[0]!r} of {subj or 'the subject'!r} stops at {t} s "
                                  f"without a START")
            t0 = open_.pop(key)
            rows.append((key[0], subj, int(_sec_to_frame([t0], fps)[0]), int(_sec_to_frame([t], fps)[0])))
        else:
            raise FormatError(f"{p}: unknown event status {st!r}; expected START, STOP or POINT")
    if open_:
        (b, subj), t = next(iter(open_.items()))
        raise FormatError(f"{p}: {b!r} of {subj or 'the subject'!r} starts at {t} s and never stops")
    iv = pd.DataFrame(rows, columns=["behaviour", "subject", "start", "stop"])
    return _to_frames(iv, p, n_frames)


def _read_behaviordepot(p: Path) -> pd.DataFrame:
    vectors: dict[str, np.ndarray] = {}
    import h5py

    if h5py.is_hdf5(p):  # MATLAB v7.3
        with h5py.File(p, "r") as h:
            if "hBehavior" not in h:
                raise FormatError(
                    f"{p}: no 'hBehavior' struct (BehaviorDEPOT annotations); top-level variables: "
                    f"{', '.join(k for k in h.keys() if not k.startswith('#'))}"
                )
            g = h["hBehavior"]
            for name in g.keys():
                item = g[name]
                if hasattr(item, "keys") and "Vector" in item:
                    vectors[name] = np.asarray(item["Vector"]).reshape(-1)
    else:
        from scipy.io import loadmat

        try:
            m = loadmat(p, squeeze_me=True, struct_as_record=False)
        except (ValueError, NotImplementedError, OSError) as exc:
            raise FormatError(f"{p}: not a readable MATLAB file ({exc})") from None
        if "hBehavior" not in m:
            raise FormatError(
                f"{p}: no 'hBehavior' struct (BehaviorDEPOT annotations); variables: "
                f"{', '.join(k for k in m if not k.startswith('__'))}"
            )
        hb = m["hBehavior"]
        for name in getattr(hb, "_fieldnames", []):
            item = getattr(hb, name)
            if hasattr(item, "_fieldnames") and "Vector" in item._fieldnames:
                vectors[name] = np.asarray(item.Vector).reshape(-1)
    if not vectors:
        raise FormatError(f"{p}: hBehavior holds no behaviour with a 'Vector' field")
    lengths = {k: v.shape[0] for k, v in vectors.items()}
    if len(set(lengths.values())) != 1:
        raise FormatError(f"{p}: behaviour vectors have different lengths {lengths}")
    n = next(iter(lengths.values()))
    out = pd.DataFrame({"frame": np.arange(n, dtype=np.int64), "subject": [""] * n})
    for k, v in vectors.items():
        v = np.asarray(v, dtype=float)
        if not np.all(np.isin(v, (0.0, 1.0))):
            raise FormatError(f"{p}: hBehavior.{k}.Vector holds values other than 0/1")
        out[k] = v.astype(np.int64)
    return out


def _finish(table: pd.DataFrame, p: Path, n_frames: Optional[int],
            behaviours: Optional[Sequence[str]]) -> pd.DataFrame:
    names = [c for c in table.columns if c not in ("frame", "subject")]
    if behaviours is not None:
        for b in behaviours:
            if b not in table.columns:
                table[b] = 0
        names = list(behaviours)
    attrs = dict(table.attrs)
    sparse = bool(attrs.get("annotated_only"))
    if n_frames is not None:
        late = table["frame"] >= n_frames
        if late.any() and table.loc[late, names].to_numpy().any():
            raise FormatError(
                f"{p}: labels at frame {int(table.loc[late, 'frame'].max())} but the video has "
                f"{n_frames} frames"
            )
        table = table[~late]
        if not sparse:
            # complete every subject to frames 0..n_frames-1 (unlisted frames = behaviour absent)
            subjects = list(dict.fromkeys(table["subject"].tolist())) or [""]
            full = pd.MultiIndex.from_product([subjects, np.arange(n_frames)], names=["subject", "frame"])
            table = (table.set_index(["subject", "frame"])[names].reindex(full, fill_value=0)
                     .reset_index())
    table = table.sort_values(["subject", "frame"], kind="stable").reset_index(drop=True)
    table = table[["frame", "subject"] + names]
    for b in names:
        table[b] = table[b].astype(np.int64)
    table["subject"] = table["subject"].astype(str)
    table.attrs.update(attrs, annotated_only=sparse)
    return table
