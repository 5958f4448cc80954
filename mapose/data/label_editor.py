"""Placing and correcting keypoints on frames, saved to a SLEAP project: the model behind the
dashboard's Labelling page.

The editor works on the project through ``sleap-io``, so what SLEAP stores and mapose does not use
(provenance, tracking scores, the link from a corrected animal to the prediction it came from,
videos without labels) is written back unchanged.  It follows SLEAP's rules:

- a *user* instance is ground truth; a *predicted* instance is a suggestion to correct.  Editing a
  prediction turns it into a user instance (``from_predicted`` points at the prediction, which
  then stops being shown, as in SLEAP's GUI);
- a frame with at least one user instance is a labelled frame: every animal in it must be
  labelled, since training treats the rest of the image as background;
- a frame kept with no instance at all says "no animal here" (a negative example).  Only
  :meth:`LabelEditor.mark_empty` makes one: looking at a frame never changes the file.

Any label file mapose reads (DeepLabCut, COCO) opens too; it is saved as a ``.slp`` beside it,
never over it (``mapose convert OUT.slp CollectedData.csv --labels`` turns the result back into
a DeepLabCut project).

Coordinates are pixels of the full frame, pixel centres at integers; a missing point is NaN.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from mapose.core.skeleton import Skeleton
from mapose.data.frames import find_media, read_image
from mapose.errors import FormatError, MaposeError, ValidationError
from mapose.io._files import PathLike, free_path, require_file

#: Edits kept for :meth:`LabelEditor.undo`.
MAX_UNDO = 100

#: Frame status: labelled by a person, only predictions, nothing yet, or marked as showing no animal.
STATUSES = ("labelled", "predicted", "unlabelled", "empty")


@dataclass(frozen=True)
class EditorFrame:
    """One frame of the editor's list: ``video`` indexes :attr:`LabelEditor.videos`."""

    video: int
    frame: int


@dataclass(frozen=True)
class EditorInstance:
    """An animal shown on a frame: ``points`` ``(K, 2)`` (NaN = not placed), ``user`` False for a
    prediction not yet corrected, ``track`` its identity name (``""`` for none)."""

    points: np.ndarray
    user: bool
    track: str
    score: float


def _edit(method):
    """Mark an editing method: its changes can be undone as one step (:meth:`LabelEditor.undo`)
    and make the editor dirty; a call that raises changes nothing and leaves no undo step."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if self._depth:  # inside another edit: part of its step
            return method(self, *args, **kwargs)
        frame = args[0] if method.__name__ != "_add_frame" else None
        snap = self._snapshot(frame)
        self._depth += 1
        try:
            out = method(self, *args, **kwargs)
        except BaseException:
            self._restore(snap)
            raise
        finally:
            self._depth -= 1
        self._undo.append(snap)
        del self._undo[:-MAX_UNDO]
        self.dirty = True
        self.revision += 1
        return out

    return wrapper


class LabelEditor:
    """Edit the keypoints of a label file frame by frame, and save it as a SLEAP ``.slp`` project.

    Parameters
    ----------
    path
        A SLEAP ``.slp`` project (for instance from ``mapose extract-frames``, whose suggestions
        are the frames to label), or any label file :func:`mapose.io.read_labels` reads.
    out
        Where :meth:`save` writes (a ``.slp``).  Default: ``path`` itself for a ``.slp``;
        ``<stem>.slp`` beside any other label file (``<stem>-2.slp`` ... when that name is taken: an
        existing file is never replaced); ``<stem>.labels.slp`` beside a package with
        embedded frames (saving over it would drop them).

    Attributes
    ----------
    frames : list of EditorFrame
        Labelled frames and suggestions, by video then frame number; :meth:`add_frame` appends.
    skeleton : Skeleton
        The project's skeleton.
    dirty : bool
        True when there are edits not yet saved.

    Examples
    --------
    >>> ed = LabelEditor("todo.slp")                         # doctest: +SKIP
    >>> i = ed.next_frame(status="unlabelled")               # doctest: +SKIP
    >>> a = ed.add_instance(i)                               # doctest: +SKIP
    >>> a = ed.place(i, a, "head", 120.5, 88.0)              # doctest: +SKIP
    >>> ed.save()                                            # doctest: +SKIP
    """

    def __init__(self, path: PathLike, out: Optional[PathLike] = None) -> None:
        import sleap_io as sio

        from mapose.io import detect_format, read_labels
        from mapose.io import slp as slp_io

        self.path = require_file(path, "label file")
        fmt = detect_format(self.path)
        if fmt == "slp":
            self._labels = slp_io._load(self.path)
            self._embedded = any(
                str((v.backend_metadata or {}).get("filename", v.filename)) == "."
                or (v.backend_metadata or {}).get("has_embedded_images") for v in self._labels.videos
            )
            default_out = self.path
        else:
            labels = read_labels(self.path, format=fmt)
            self._labels = slp_io.to_sio_labels(labels)
            self._embedded = False
            default_out = self.path.with_name(self.path.name.split(".")[0] + ".slp")
        if self._embedded:  # saving over a package would drop its frames
            default_out = self.path.with_name(self.path.name.split(".")[0] + ".labels.slp")
        self._format = fmt
        if out is None and default_out != self.path:
            default_out = free_path(default_out)  # a file already beside it (an earlier save?) is kept
        self.out = Path(out) if out is not None else default_out
        self._sk = slp_io._pick_skeleton(self._labels, self.path)
        self.skeleton: Skeleton = slp_io._to_skeleton(self._sk)
        if not self._labels.skeletons:
            self._labels.skeletons.append(self._sk)
        self.videos = list(self._labels.videos)
        self._video_info = [slp_io._video_info(v, self.path, probe=False) for v in self.videos]
        self._vid_index = {id(v): i for i, v in enumerate(self.videos)}
        keys = {(self._vid_index[id(lf.video)], int(lf.frame_idx)) for lf in self._labels.labeled_frames}
        keys |= {(self._vid_index[id(s.video)], int(s.frame_idx)) for s in self._labels.suggestions
                 if id(s.video) in self._vid_index}
        self.frames = [EditorFrame(v, f) for v, f in sorted(keys)]
        self._lf = {(self._vid_index[id(lf.video)], int(lf.frame_idx)): lf for lf in self._labels.labeled_frames}
        self._readers: dict[int, Any] = {}
        self._images: dict[EditorFrame, np.ndarray] = {}
        self.dirty = False
        self._sio = sio
        self._undo: list[dict] = []
        self._depth = 0
        self.revision = 0  # counts edits and undos: what was computed from the labels is stale when it changes
        self._issues: tuple[int, dict[int, list]] = (-1, {})

    # ------------------------------------------------------------------ looking
    def __len__(self) -> int:
        return len(self.frames)

    @property
    def keypoints(self) -> tuple[str, ...]:
        return self.skeleton.keypoints

    @property
    def tracks(self) -> list[str]:
        """Identity names defined in the project."""
        return [t.name for t in self._labels.tracks]

    def video_name(self, i: int) -> str:
        """Name of the video (or image folder) of frame ``i``, for display."""
        info = self._video_info[self.frames[i].video]
        if info["images"] is not None:
            return Path(info["images"][0]).parent.name or "images"
        return Path(str(info.get("original") or info["path"])).name

    def frame_name(self, i: int) -> str:
        """Frame ``i`` for display: ``clip.mp4 #120``, or the image file of an image list
        (``labeled-data/clip/img0120.png``)."""
        fr = self.frames[self._check_frame(i)]
        images = self._video_info[fr.video]["images"]
        if images is not None and 0 <= fr.frame < len(images):
            return str(images[fr.frame]).replace("\\", "/")
        return f"{self.video_name(i)} #{fr.frame}"

    def _labeled_frame(self, i: int, create: bool = False):
        fr = self.frames[self._check_frame(i)]
        lf = self._lf.get((fr.video, fr.frame))
        if lf is None and create:
            lf = self._sio.LabeledFrame(video=self.videos[fr.video], frame_idx=fr.frame, instances=[])
            self._labels.labeled_frames.append(lf)
            self._lf[(fr.video, fr.frame)] = lf
        return lf

    def _drop_frame(self, lf) -> None:
        """Remove an emptied frame from the file; it stays listed (as a suggestion)."""
        self._labels.labeled_frames = [x for x in self._labels.labeled_frames if x is not lf]
        self._lf = {k: v for k, v in self._lf.items() if v is not lf}
        if not any(s.video is lf.video and int(s.frame_idx) == int(lf.frame_idx) for s in self._labels.suggestions):
            self._labels.suggestions.append(self._sio.SuggestionFrame(video=lf.video, frame_idx=int(lf.frame_idx)))

    def _check_frame(self, i: int) -> int:
        if not 0 <= int(i) < len(self.frames):
            raise ValidationError(f"frame {i} is not in the list of {len(self.frames)} frames")
        return int(i)

    def status(self, i: int) -> str:
        """One of :data:`STATUSES` for frame ``i``."""
        lf = self._labeled_frame(i)
        if lf is None:
            return "unlabelled"
        if any(not isinstance(x, self._sio.PredictedInstance) for x in lf.instances):
            return "labelled"
        if lf.instances:
            return "predicted"
        return "empty"

    def next_frame(self, start: int = -1, status: Optional[str] = None, step: int = 1) -> Optional[int]:
        """Index of the next frame after ``start`` (before it with ``step=-1``) with ``status``
        (any when None), or None when there is none."""
        if status is not None and status not in STATUSES:
            raise ValidationError(f"unknown frame status {status!r}; expected one of {', '.join(STATUSES)}")
        i = int(start) + step
        while 0 <= i < len(self.frames):
            if status is None or self.status(i) == status:
                return i
            i += step
        return None

    def counts(self) -> dict[str, int]:
        """Number of frames per status."""
        out = dict.fromkeys(STATUSES, 0)
        for i in range(len(self.frames)):
            out[self.status(i)] += 1
        return out

    def image(self, i: int) -> np.ndarray:
        """Frame ``i`` as ``(H, W, 3)`` uint8 RGB (the last few are kept decoded)."""
        fr = self.frames[self._check_frame(i)]
        if fr in self._images:
            self._images[fr] = self._images.pop(fr)  # most recently used last
            return self._images[fr]
        img = self._decode(fr)
        self._images[fr] = img
        while len(self._images) > 4:
            self._images.pop(next(iter(self._images)))
        return img

    def _decode(self, fr: EditorFrame) -> np.ndarray:
        info = self._video_info[fr.video]
        if info["images"] is not None:
            if not 0 <= fr.frame < len(info["images"]):
                raise FormatError(f"{self.path}: frame {fr.frame} outside the image list of "
                                  f"{len(info['images'])}")
            img = read_image(self._media(info["images"][fr.frame]))
            return np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img
        return self._reader(fr.video)[fr.frame]

    def _reader(self, video: int):
        """The open VideoReader of video ``video`` (a movie or a SLEAP package's frames)."""
        from mapose.io.video import VideoReader

        if video not in self._readers:
            path = self._video_info[video]["path"]
            if "#" not in str(path):
                path = self._media(path)
            self._readers[video] = VideoReader(path)
        return self._readers[video]

    def _media(self, name: str) -> Path:
        return find_media(name, [self.path.parent], str(self.path))

    def _shown(self, lf) -> list:
        """Instances shown on a frame: user instances, then predictions no user instance replaces."""
        if lf is None:
            return []
        users = [x for x in lf.instances if not isinstance(x, self._sio.PredictedInstance)]
        used = {id(u.from_predicted) for u in users if u.from_predicted is not None}
        preds = [x for x in lf.instances if isinstance(x, self._sio.PredictedInstance) and id(x) not in used]
        return users + preds

    def instances(self, i: int) -> list[EditorInstance]:
        """The animals shown on frame ``i``: user instances first, then uncorrected predictions."""
        out = []
        for inst in self._shown(self._labeled_frame(i)):
            pts = inst.points
            xy = np.array(pts["xy"], np.float64)
            xy[~np.asarray(pts["visible"], bool)] = np.nan
            xy[~np.isfinite(xy).all(axis=1)] = np.nan
            user = not isinstance(inst, self._sio.PredictedInstance)
            out.append(EditorInstance(points=xy, user=user, track=inst.track.name if inst.track else "",
                                      score=1.0 if user else float(inst.score)))
        return out

    def nearest_point(self, i: int, x: float, y: float, radius: float) -> Optional[tuple[int, int]]:
        """``(instance, keypoint)`` of the placed point nearest to ``(x, y)`` within ``radius``
        pixels, or None."""
        best, best_d = None, float(radius)
        for a, inst in enumerate(self.instances(i)):
            d = np.hypot(inst.points[:, 0] - x, inst.points[:, 1] - y)
            if np.isfinite(d).any() and np.nanmin(d) <= best_d:
                best_d = float(np.nanmin(d))
                best = (a, int(np.nanargmin(d)))
        return best

    # ------------------------------------------------------------------ editing
    def _keypoint(self, part) -> int:
        if isinstance(part, (int, np.integer)):
            if not 0 <= int(part) < len(self.keypoints):
                raise ValidationError(f"keypoint {part} out of range: the skeleton has {len(self.keypoints)}")
            return int(part)
        if part not in self.keypoints:
            raise ValidationError(f"unknown body part {part!r}; the skeleton has {', '.join(self.keypoints)}")
        return self.keypoints.index(part)

    def _user_instance(self, i: int, a: int):
        """The user instance shown as number ``a`` on frame ``i`` (a prediction becomes one)."""
        lf = self._labeled_frame(i)
        shown = self._shown(lf)
        if not 0 <= int(a) < len(shown):
            raise ValidationError(f"frame {i} shows {len(shown)} animal(s); there is no animal {a}")
        inst = shown[int(a)]
        if isinstance(inst, self._sio.PredictedInstance):
            xy = np.array(inst.points["xy"], np.float64)
            xy[~np.asarray(inst.points["visible"], bool)] = np.nan
            user = self._sio.Instance.from_numpy(xy, skeleton=inst.skeleton, track=inst.track)
            user.from_predicted = inst
            lf.instances.insert(sum(not isinstance(x, self._sio.PredictedInstance) for x in lf.instances), user)
            inst = user
        return inst

    def _index_of(self, i: int, inst) -> int:
        return next(a for a, s in enumerate(self._shown(self._labeled_frame(i))) if s is inst)

    @_edit
    def place(self, i: int, a: int, part, x: float, y: float) -> int:
        """Put keypoint ``part`` (name or index) of animal ``a`` of frame ``i`` at ``(x, y)``.

        A prediction becomes a user instance; returns the animal's index afterwards (user
        instances are listed first, so a corrected prediction moves up).
        """
        k = self._keypoint(part)
        x, y = float(x), float(y)
        if not (np.isfinite(x) and np.isfinite(y)):
            raise ValidationError(f"keypoint position ({x}, {y}) is not a finite number")
        inst = self._user_instance(i, a)
        inst.points["xy"][k] = (x, y)
        inst.points["visible"][k] = True
        return self._index_of(i, inst)

    @_edit
    def hide(self, i: int, a: int, part) -> int:
        """Mark keypoint ``part`` of animal ``a`` of frame ``i`` as not visible (no position)."""
        k = self._keypoint(part)
        inst = self._user_instance(i, a)
        inst.points["xy"][k] = (np.nan, np.nan)
        inst.points["visible"][k] = False
        return self._index_of(i, inst)

    @_edit
    def accept(self, i: int, a: int) -> int:
        """Take animal ``a`` of frame ``i`` as it is (a prediction becomes a user instance)."""
        inst = self._user_instance(i, a)
        return self._index_of(i, inst)

    def accept_all(self, i: int) -> int:
        """Accept every prediction shown on frame ``i`` (one undo step); returns how many."""
        return self._accept_all(i) if any(not s.user for s in self.instances(i)) else 0

    @_edit
    def _accept_all(self, i: int) -> int:
        n = 0
        while True:
            shown = self.instances(i)
            pred = [a for a, s in enumerate(shown) if not s.user]
            if not pred:
                return n
            self.accept(i, pred[0])
            n += 1

    @_edit
    def add_instance(self, i: int, track: str = "") -> int:
        """Add an animal with no points placed to frame ``i``; returns its index."""
        lf = self._labeled_frame(i, create=True)
        k = len(self.keypoints)
        inst = self._sio.Instance.from_numpy(np.full((k, 2), np.nan), skeleton=self._sk)
        lf.instances.insert(sum(not isinstance(x, self._sio.PredictedInstance) for x in lf.instances), inst)
        a = self._index_of(i, inst)
        if track:
            self.set_track(i, a, track)
        return a

    def source_frame(self, i: int) -> Optional[int]:
        """The labelled frame of the same video nearest before frame ``i`` (else nearest after),
        whose animals :meth:`copy_animals` would copy; None when there is none."""
        fr = self.frames[self._check_frame(i)]
        same = [j for j, f in enumerate(self.frames) if f.video == fr.video and j != i
                and self.status(j) == "labelled"]
        before = [j for j in same if self.frames[j].frame < fr.frame]
        after = [j for j in same if self.frames[j].frame > fr.frame]
        return before[-1] if before else (after[0] if after else None)

    @_edit
    def copy_animals(self, i: int, source: int) -> int:
        """Copy the labelled animals of frame ``source`` onto frame ``i`` as labels to adjust
        (identities kept); returns how many were copied."""
        if self.status(source) != "labelled":
            raise ValidationError(f"frame {source} has no labelled animal to copy")
        n = 0
        for inst in self.instances(source):
            if inst.user:
                a = self.add_instance(i, track=inst.track)
                for k in np.flatnonzero(np.isfinite(inst.points).all(axis=1)):
                    self.place(i, a, int(k), *inst.points[k])
                n += 1
        return n

    @_edit
    def delete_instance(self, i: int, a: int) -> None:
        """Remove animal ``a`` from frame ``i`` (a user instance, or a prediction judged wrong).

        A frame left with no instance becomes unlabelled again (a suggestion), not a negative
        example (see :meth:`mark_empty`)."""
        lf = self._labeled_frame(i)
        shown = self._shown(lf)
        if not 0 <= int(a) < len(shown):
            raise ValidationError(f"frame {i} shows {len(shown)} animal(s); there is no animal {a}")
        inst = shown[int(a)]
        src = getattr(inst, "from_predicted", None)
        # the prediction a deleted user instance replaced was judged too: it is not shown again
        lf.instances = [x for x in lf.instances if x is not inst and x is not src]
        for other in lf.instances:  # nothing may point at a removed prediction
            if getattr(other, "from_predicted", None) is inst:
                other.from_predicted = None
        if not lf.instances:
            self._drop_frame(lf)

    @_edit
    def mark_empty(self, i: int) -> None:
        """Record that frame ``i`` shows no animal (every instance on it is removed)."""
        lf = self._labeled_frame(i, create=True)
        lf.instances.clear()

    @_edit
    def set_track(self, i: int, a: int, name: str) -> int:
        """Give animal ``a`` of frame ``i`` the identity ``name`` (created when new; ``""`` clears)."""
        inst = self._user_instance(i, a)
        if not name:
            inst.track = None
        else:
            track = next((t for t in self._labels.tracks if t.name == name), None)
            if track is None:
                track = self._sio.Track(name=str(name))
                self._labels.tracks.append(track)
            inst.track = track
        return self._index_of(i, inst)

    def add_frame(self, video: int, frame: int) -> int:
        """Add frame ``frame`` of video ``video`` to the list (as a SLEAP suggestion); returns its
        index in :attr:`frames` (the existing one when listed already)."""
        if not 0 <= int(video) < len(self.videos):
            raise ValidationError(f"video {video} out of range: the project has {len(self.videos)}")
        key = EditorFrame(int(video), int(frame))
        return self.frames.index(key) if key in self.frames else self._add_frame(key)

    @_edit
    def _add_frame(self, key: EditorFrame) -> int:
        if key.frame < 0:
            raise ValidationError(f"frame {key.frame} is negative")
        n = self.video_length(key.video)
        if n is not None and key.frame >= n:
            raise ValidationError(f"frame {key.frame} is past the end of the video ({n} frames)")
        self._labels.suggestions.append(self._sio.SuggestionFrame(video=self.videos[key.video],
                                                                  frame_idx=key.frame))
        self.frames.append(key)
        self.frames.sort(key=lambda f: (f.video, f.frame))
        return self.frames.index(key)

    def video_length(self, video: int) -> Optional[int]:
        """Number of frames of video ``video`` (None when it cannot be opened)."""
        info = self._video_info[int(video)]
        if info["images"] is not None:
            return len(info["images"])
        try:
            return self._reader(int(video)).n_frames
        except (MaposeError, OSError):
            return None

    # ------------------------------------------------------------------ undo
    def _snapshot(self, i: Optional[int]) -> dict:
        """What an edit of frame ``i`` may change: the lists of frames, suggestions and identities,
        and that frame's instances (objects, points, identities, links).  Edits change one frame
        only, so a step costs that frame, not the project."""
        lf = self._labeled_frame(i) if i is not None else None
        return {
            "labeled_frames": list(self._labels.labeled_frames),
            "suggestions": list(self._labels.suggestions),
            "tracks": list(self._labels.tracks),
            "frames": list(self.frames),
            "instances": [] if lf is None else [
                (lf, [(x, x.points.copy(), x.track, getattr(x, "from_predicted", None)) for x in lf.instances])],
        }

    def _restore(self, snap: dict) -> None:
        self._labels.labeled_frames = list(snap["labeled_frames"])
        self._labels.suggestions = list(snap["suggestions"])
        self._labels.tracks = list(snap["tracks"])
        self.frames = list(snap["frames"])
        for lf, insts in snap["instances"]:
            lf.instances = [x for x, *_ in insts]
            for x, pts, track, src in insts:
                x.points[:] = pts
                x.track = track
                if not isinstance(x, self._sio.PredictedInstance):
                    x.from_predicted = src
        self._lf = {(self._vid_index[id(lf.video)], int(lf.frame_idx)): lf for lf in self._labels.labeled_frames}

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def undo(self) -> bool:
        """Take back the last edit (any of the editing methods); returns False when there is none.
        The project is dirty afterwards: :meth:`save` writes the state undone to."""
        if not self._undo:
            return False
        self._restore(self._undo.pop())
        self.dirty = True
        self.revision += 1
        return True

    # ------------------------------------------------------------------ checks
    def to_labels(self):
        """The project as :class:`~mapose.core.Labels`, as training would read it once saved."""
        from mapose.io.slp import from_sio_labels

        return from_sio_labels(self._labels, self.path)

    def issues(self, i: Optional[int] = None) -> list:
        """Likely labelling mistakes (:func:`mapose.data.label_checks.check_labels`: left/right
        swaps, wrong sides, odd limb lengths, animals placed twice, parts left on one pixel) among
        the labelled animals of frame ``i``, or of every frame when None.  ``LabelIssue.animal``
        indexes :meth:`instances` (labelled animals are listed first).  The check looks at the
        whole project, so it learns what is usual from every labelled animal; it runs again only
        after an edit."""
        from mapose.data.label_checks import check_labels

        if self._issues[0] != self.revision:
            labels = self.to_labels()
            where = {(r.video, r.frame) if r.video else (r.image, -1): j for j, r in enumerate(labels.images)}
            by_image = {}
            for fr_i, fr in enumerate(self.frames):
                info = self._video_info[fr.video]
                key = (info["path"], fr.frame) if info["images"] is None else (info["images"][fr.frame], -1)
                if key in where:
                    by_image[where[key]] = fr_i
            per_frame: dict[int, list] = {}
            for issue in check_labels(labels):
                if issue.image in by_image:
                    per_frame.setdefault(by_image[issue.image], []).append(issue)
            self._issues = (self.revision, per_frame)
        per_frame = self._issues[1]
        if i is None:
            return [x for j in sorted(per_frame) for x in per_frame[j]]
        return list(per_frame.get(self._check_frame(i), []))

    # ------------------------------------------------------------------ saving
    def problems(self, i: int) -> list[str]:
        """What would make frame ``i`` a poor training example, in words (empty when none)."""
        lf = self._labeled_frame(i)
        if lf is None or self.status(i) != "labelled":
            return []
        out = []
        left = sum(not s.user for s in self.instances(i))
        if left:
            out.append(f"{left} predicted animal(s) not yet accepted or deleted: training treats "
                       "an animal that is not labelled as background")
        for a, inst in enumerate(self.instances(i)):
            if inst.user and not np.isfinite(inst.points).all(axis=1).any():
                out.append(f"animal {a} has no point placed")
        return out

    @property
    def out(self) -> Path:
        """Where :meth:`save` writes; a file changed by another program since it was set (or last
        saved here) is not overwritten."""
        return self._out

    @out.setter
    def out(self, path: PathLike) -> None:
        self._out = Path(path)
        self._check_out()
        self._out_stamp = _stamp(self._out)

    def _check_out(self) -> None:
        same = self.out.resolve() == self.path.resolve()
        if same and self._embedded:
            raise ValidationError(
                f"{self.path}: frames are embedded in this SLEAP package and saving over it would drop "
                "them; save to another file (it refers to the package's source videos)")
        if same and self._format != "slp":
            raise ValidationError(f"{self.path}: the output must be a .slp file, not the {self._format} input")
        if self.out.suffix.lower() != ".slp":
            raise ValidationError(f"{self.out}: the labels are saved as a SLEAP project; name it .slp")

    def save(self) -> Path:
        """Write the project to :attr:`out` atomically; returns the path.

        A package with embedded frames (``.pkg.slp``) is saved to another file, which refers to the
        package's source videos (as SLEAP does)."""
        from mapose.io._files import atomic_path

        self._check_out()
        if _stamp(self.out) != self._out_stamp:
            raise MaposeError(
                f"{self.out} changed on disk since it was opened here (saved by another program or "
                "window); not overwritten. Open it again to see those changes (the edits made here "
                "since then are lost), or save to another file")
        for lf in self._labels.labeled_frames:
            ids = {id(x) for x in lf.instances}
            for inst in lf.instances:
                if getattr(inst, "from_predicted", None) is not None and id(inst.from_predicted) not in ids:
                    inst.from_predicted = None
        with atomic_path(self.out) as tmp:
            self._sio.save_slp(self._labels, str(tmp), verbose=False)
        self._out_stamp = _stamp(self.out)
        self.dirty = False
        return self.out


def _stamp(path: Path) -> Optional[tuple[int, int]]:
    """``(modification time in ns, size)`` of ``path``, None when it does not exist."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size
