"""Annotating behaviours: bouts of named behaviours per animal (or ordered pair), edited frame by frame
and saved as an interval CSV that :func:`mapose.io.annotations.read_annotations` and
``mapose classify train`` read.

:class:`AnnotationEditor` is what the dashboard's *Behaviour annotation* page drives; it works
without Streamlit too::

    ed = AnnotationEditor("session1.bouts.csv", n_frames=9000, subjects=["A", "B", "A|B", "B|A"])
    ed.mark("chase", "A|B", 120, 185)      # frames 120..184: A chases B
    ed.mark("chase", "A|B", 150, 160, on=False)
    ed.save()

The file holds one row per bout -- ``behaviour, subject, start, stop`` in frames, ``stop`` exclusive,
``subject`` an animal's name or ``"A|B"`` for A acting on B -- plus a row with ``start == stop`` for
a behaviour that has no bout yet, so the list of behaviours survives.  Frames outside every bout
are "behaviour absent", as in every other annotation format mapose reads -- unless stretches are
marked as reviewed (:meth:`AnnotationEditor.mark_annotated`, rows of the behaviour ``(annotated)``):
then only those stretches and the bouts count, and frames nobody looked at stay out of classifier
training (JAABA's partial annotation of long videos).  An existing file of any
format :func:`read_annotations` knows (per-frame CSV, BORIS, BehaviorDEPOT) opens too; anything but
an interval CSV is saved beside it as ``<stem>.bouts.csv`` and never overwritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from mapose.errors import MaposeError, ValidationError
from mapose.io._files import PathLike, atomic_path
from mapose.io.annotations import ANNOTATED

#: edits that can be undone
MAX_UNDO = 200
#: columns of the file written
COLUMNS = ["behaviour", "subject", "start", "stop"]


class AnnotationEditor:
    """Behaviour bouts of one video, edited in place and saved atomically.

    Parameters
    ----------
    path
        The annotation file to open (read with :func:`mapose.io.annotations.read_annotations` when
        it exists) or to create.
    n_frames
        Frames of the video; bouts must lie within ``0..n_frames``.
    subjects
        Who may act: animal names and ``"A|B"`` pairs (default: those in the file, else ``[""]``,
        "the only animal").  Subjects found in the file are kept even when not listed.
    fps
        Frames per second, for BORIS files whose times are in seconds.
    """

    def __init__(self, path: PathLike, n_frames: int, subjects: Optional[Sequence[str]] = None,
                 fps: Optional[float] = None):
        from mapose.io.annotations import _sniff, read_annotations

        if int(n_frames) <= 0:
            raise ValidationError(f"the video has {n_frames} frames; nothing to annotate")
        self.path = Path(path)
        self.n_frames = int(n_frames)
        self.behaviours: list[str] = []
        self.subjects: list[str] = [str(s) for s in (subjects or [])]
        self._on: dict[tuple[str, str], np.ndarray] = {}
        self._undo: list[tuple[tuple[str, str], Optional[np.ndarray], list[str]]] = []
        self.dirty = False
        self.out = self.path
        fmt = _sniff(self.path) if self.path.exists() else None
        if fmt == "intervals":
            self._read_intervals()
        elif fmt is not None:
            table = read_annotations(self.path, n_frames=self.n_frames, fps=fps)
            for b in [c for c in table.columns if c not in ("frame", "subject")]:
                self.add_behaviour(b, _record=False)
            for subj, rows in table.groupby("subject", sort=False):
                self._add_subject(str(subj))
                frames = rows["frame"].to_numpy()
                for b in self.behaviours:
                    v = np.zeros(self.n_frames, bool)
                    v[frames[rows[b].to_numpy() > 0]] = True
                    if v.any():
                        self._on[(b, str(subj))] = v
            self.out = self.path.with_name(self.path.name.split(".")[0] + ".bouts.csv")
            if self.out.exists():
                raise MaposeError(f"{self.out} exists: it would be overwritten by the bouts of {self.path.name}; "
                                  f"open {self.out} to go on with it, or move it away")
        if not self.subjects:
            self.subjects = [""]
        self._stamp = self._file_stamp()

    # ------------------------------------------------------------------ reading
    def _read_intervals(self) -> None:
        """Open an interval CSV row by row (:data:`ANNOTATED` rows kept as the reviewed stretches)."""
        from mapose.io.annotations import read_intervals

        rows = read_intervals(self.path)
        late = rows["stop"] > self.n_frames
        if late.any():
            r = rows[late].iloc[0]
            raise ValidationError(f"{self.path}: {r['behaviour']!r} ends at frame {int(r['stop'])} but the video "
                                  f"has {self.n_frames} frames")
        for b in dict.fromkeys(rows["behaviour"]):
            if b != ANNOTATED:
                self.add_behaviour(b, _record=False)
        for (b, subj), part in rows.groupby(["behaviour", "subject"], sort=False):
            if b != ANNOTATED or subj:
                self._add_subject(str(subj))
            v = self._on.get((b, str(subj)))
            v = np.zeros(self.n_frames, bool) if v is None else v
            for a, e in zip(part["start"], part["stop"]):
                v[int(a):int(e)] = True
            if v.any():
                self._on[(b, str(subj))] = v

    def _file_stamp(self):
        try:
            st = self.out.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _add_subject(self, subject: str) -> None:
        if subject not in self.subjects:
            self.subjects.append(subject)

    def frames_of(self, behaviour: str, subject: str) -> np.ndarray:
        """``(n_frames,)`` bool: where ``subject`` shows ``behaviour``."""
        self._check(behaviour, subject)
        v = self._on.get((behaviour, subject))
        return v.copy() if v is not None else np.zeros(self.n_frames, bool)

    def at(self, frame: int) -> list[tuple[str, str]]:
        """The (behaviour, subject) pairs annotated at ``frame``."""
        f = self._frame(frame)
        return [(b, s) for (b, s), v in self._on.items() if v[f] and b != ANNOTATED]

    @property
    def partial(self) -> bool:
        """Whether stretches are marked as reviewed (else the whole video counts as annotated)."""
        return any(b == ANNOTATED for b, _ in self._on)

    def annotated(self, subject: str = "") -> np.ndarray:
        """``(n_frames,)`` bool: the frames that count as annotated for ``subject`` (``""``: for every
        subject): all of them without reviewed stretches, else the reviewed stretches (of everyone
        and of ``subject``) and ``subject``'s bouts."""
        if not self.partial:
            return np.ones(self.n_frames, bool)
        out = self._on.get((ANNOTATED, ""), np.zeros(self.n_frames, bool)).copy()
        if subject:
            for (b, s), v in self._on.items():  # its own reviewed stretches and its bouts
                if s == subject:
                    out |= v
        return out

    def mark_annotated(self, start: int, stop: int, on: bool = True, subject: str = "") -> None:
        """Mark frames ``start..stop-1`` as reviewed for every subject, or for ``subject`` only
        (``on=False``: not reviewed). Once any stretch is marked, frames outside the reviewed
        stretches and the bouts are left out of classifier training instead of counting as
        "behaviour absent"."""
        self.mark(ANNOTATED, subject, start, stop, on=on)

    def bouts(self, annotated: bool = False) -> pd.DataFrame:
        """One row per bout: ``behaviour, subject, start, stop`` (stop exclusive), in time order;
        with ``annotated`` the reviewed stretches too (behaviour :data:`ANNOTATED`)."""
        rows = []
        for (b, s), v in self._on.items():
            if b == ANNOTATED and not annotated:
                continue
            edges = np.flatnonzero(np.diff(np.concatenate([[0], v.astype(np.int8), [0]])))
            rows += [(b, s, int(a), int(e)) for a, e in zip(edges[::2], edges[1::2])]
        df = pd.DataFrame(rows, columns=COLUMNS)
        order = {b: i for i, b in enumerate(self.behaviours)}
        df["_b"] = df["behaviour"].map(order).fillna(-1)
        return (df.sort_values(["start", "_b", "subject"], kind="stable").drop(columns="_b")
                .reset_index(drop=True))

    def bout_at(self, behaviour: str, subject: str, frame: int) -> Optional[tuple[int, int]]:
        """``(start, stop)`` of the bout of ``behaviour`` by ``subject`` covering ``frame``, or None."""
        v = self.frames_of(behaviour, subject)
        f = self._frame(frame)
        if not v[f]:
            return None
        before = v[f::-1]  # frames f, f-1, ..., 0
        start = f - int(np.argmin(before)) + 1 if not before.all() else 0
        rest = v[f:]
        stop = f + (int(np.argmin(rest)) if not rest.all() else len(rest))
        return start, stop

    def rows(self) -> pd.DataFrame:
        """What :meth:`save` writes: the bouts and reviewed stretches, then a ``start == stop`` row
        for each behaviour without a bout (so the list of behaviours survives)."""
        b = self.bouts(annotated=True)
        have = set(b["behaviour"])
        empty = pd.DataFrame([(x, self.subjects[0], 0, 0) for x in self.behaviours if x not in have],
                             columns=COLUMNS)
        return pd.concat([b, empty], ignore_index=True) if len(empty) else b

    def table(self) -> pd.DataFrame:
        """The tidy per-frame table (``frame``, ``subject``, one 0/1 column per behaviour), as
        :func:`mapose.io.annotations.read_annotations` reads the saved file with ``n_frames``."""
        from mapose.io.annotations import annotated_frames_only, intervals_to_frames

        rows = self.rows()
        if not self.partial:
            t = intervals_to_frames(rows, self.n_frames, self.behaviours)
        else:
            t = annotated_frames_only(intervals_to_frames(rows, self.n_frames, self.behaviours + [ANNOTATED]), rows)
        attrs = t.attrs
        t = t.sort_values(["subject", "frame"], kind="stable").reset_index(drop=True)
        t.attrs = dict(attrs, annotated_only=self.partial)
        return t

    # ------------------------------------------------------------------ editing
    def _frame(self, frame) -> int:
        f = int(frame)
        if not 0 <= f < self.n_frames:
            raise ValidationError(f"frame {f} is outside the video (frames 0..{self.n_frames - 1})")
        return f

    def _check(self, behaviour: str, subject: str) -> None:
        if behaviour == ANNOTATED and subject == "":  # reviewed for every subject
            return
        if behaviour not in self.behaviours and behaviour != ANNOTATED:
            raise ValidationError(f"unknown behaviour {behaviour!r}; known: {', '.join(self.behaviours) or 'none yet'}")
        if subject not in self.subjects:
            raise ValidationError(f"unknown subject {subject!r}; known: {', '.join(map(repr, self.subjects))}")

    def add_behaviour(self, name: str, _record: bool = True) -> str:
        """Add a behaviour to the list (no bout yet); returns its cleaned name."""
        name = str(name).strip()
        if not name or name.lower() in ("frame", "subject") or "," in name or name.endswith("_prob") \
                or name == ANNOTATED:
            raise ValidationError(f"behaviour name {name!r}: give a name that is not empty, 'frame', "
                                  f"'subject' or {ANNOTATED!r}, has no comma and does not end in '_prob'")
        if name not in self.behaviours:
            if _record:
                self._push(None)
            self.behaviours.append(name)
            if _record:
                self.dirty = True
        return name

    def _push(self, key: Optional[tuple[str, str]]) -> None:
        old = self._on.get(key) if key is not None else None
        self._undo.append((key, None if old is None else old.copy(), list(self.behaviours)))
        del self._undo[:-MAX_UNDO]

    def mark(self, behaviour: str, subject: str, start: int, stop: int, on: bool = True) -> None:
        """Annotate frames ``start..stop-1`` as showing ``behaviour`` by ``subject`` (``on``), or
        clear them (``on=False``: splits or shortens bouts).  Bouts that touch merge."""
        self._check(behaviour, subject)
        a, b = int(start), int(stop)
        if a > b:
            a, b = b, a
        if a < 0 or b > self.n_frames:
            raise ValidationError(f"frames {a}..{b - 1} are outside the video (frames 0..{self.n_frames - 1})")
        if a == b:
            return
        key = (behaviour, subject)
        self._push(key)
        v = self._on.get(key)
        v = np.zeros(self.n_frames, bool) if v is None else v.copy()
        v[a:b] = bool(on)
        if v.any():
            self._on[key] = v
        else:
            self._on.pop(key, None)
        self.dirty = True

    def delete_bout(self, behaviour: str, subject: str, frame: int) -> Optional[tuple[int, int]]:
        """Remove the whole bout covering ``frame``; returns its ``(start, stop)`` or None."""
        bout = self.bout_at(behaviour, subject, frame)
        if bout is not None:
            self.mark(behaviour, subject, bout[0], bout[1], on=False)
        return bout

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def undo(self) -> bool:
        """Take back the last edit; False when there is none."""
        if not self._undo:
            return False
        key, old, behaviours = self._undo.pop()
        if key is not None:
            if old is None:
                self._on.pop(key, None)
            else:
                self._on[key] = old
        self.behaviours = behaviours
        self.dirty = True
        return True

    # ------------------------------------------------------------------ saving
    def save(self) -> Path:
        """Write the bouts to :attr:`out` atomically (interval CSV).  Refuses when another program
        changed that file since it was read or last saved here."""
        if self._file_stamp() != self._stamp:
            raise MaposeError(f"{self.out} was changed by another program since it was opened; reopen it "
                              "(your changes here are not saved)")
        rows = self.rows()
        with atomic_path(self.out) as tmp:
            rows.to_csv(tmp, index=False)
        self._stamp = self._file_stamp()
        self.dirty = False
        return self.out


def pair_subjects(individuals: Iterable[str]) -> list[str]:
    """Subjects for annotating a group: every animal, then every ordered pair ``"A|B"``."""
    names = [str(n) for n in individuals]
    return names + [f"{a}|{b}" for a in names for b in names if a != b]
