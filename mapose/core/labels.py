"""The :class:`Labels` type: human (or predicted) keypoints on individual images, for training."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from mapose.core.detections import Detections
from mapose.core.skeleton import Skeleton
from mapose.errors import ValidationError


@dataclass(frozen=True)
class ImageRef:
    """Where a labelled image comes from: a frame of a video, or an image file.

    Paths are kept as the label file wrote them (often relative); :meth:`Labels.resolve` turns
    them into existing files.
    """

    video: str = ""
    frame: int = -1
    image: str = ""

    def __post_init__(self) -> None:
        if not self.video and not self.image:
            raise ValidationError("an ImageRef needs a video (with a frame index) or an image path")
        if self.video and self.frame < 0:
            raise ValidationError(f"ImageRef for video {self.video!r} needs a frame index >= 0")


@dataclass(frozen=True, repr=False)
class Labels:
    """Labelled frames: instances placed on images, with optional identities.

    Parameters
    ----------
    skeleton
        The skeleton of every instance.
    images
        One :class:`ImageRef` per labelled frame.
    instances
        :class:`Detections` whose ``frame`` is an index into ``images`` (so ``n_frames`` equals
        ``len(images)``), ``track_id`` the identity index into ``individuals`` (-1 = none).
    individuals
        Identity names (empty when the labels carry no identities).
    is_user
        ``(N,)`` bool: True where an instance was placed by a person, False where predicted.
    root
        Folder against which relative image/video paths are resolved.
    """

    skeleton: Skeleton
    images: tuple[ImageRef, ...]
    instances: Detections
    individuals: tuple[str, ...] = ()
    is_user: Optional[np.ndarray] = None
    root: str = ""
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "images", tuple(self.images))
        object.__setattr__(self, "individuals", tuple(str(i) for i in self.individuals))
        if self.instances.n_frames != len(self.images):
            raise ValidationError(
                f"Labels has {len(self.images)} images but instances.n_frames is {self.instances.n_frames}"
            )
        self.skeleton.check_same_keypoints(self.instances.skeleton, "label instances")
        n = len(self.instances)
        is_user = np.ones(n, bool) if self.is_user is None else np.asarray(self.is_user, bool).reshape(-1)
        if is_user.shape != (n,):
            raise ValidationError(f"Labels.is_user has shape {is_user.shape}; expected ({n},)")
        object.__setattr__(self, "is_user", is_user)
        tid = self.instances.track_id
        if tid is not None and n and tid.max() >= len(self.individuals):
            raise ValidationError(
                f"instance identity {int(tid.max())} has no name; individuals: {list(self.individuals)}"
            )

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        """One line (the images and instances are summarised, not listed)."""
        n_user = int(self.is_user.sum())
        ids = f", individuals {list(self.individuals)}" if self.individuals else ""
        src = f", from {self.source!r}" if self.source else ""
        return (f"Labels({len(self.images)} images, {len(self.instances)} instances ({n_user} placed by a "
                f"person), {self.skeleton.n_keypoints} keypoints{ids}{src})")

    def resolve(self, path: str) -> Path:
        """Absolute path of an image/video path written in the label file."""
        p = Path(path)
        if not p.is_absolute() and self.root:
            p = Path(self.root) / p
        return p

    def frame_instances(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints ``(n, K, 2)`` and track ids ``(n,)`` of labelled frame ``i``."""
        sel = self.instances.frame == i
        tid = self.instances.track_id
        return self.instances.keypoints[sel], (tid[sel] if tid is not None else np.full(sel.sum(), -1))

    def ground_truth_images(self) -> np.ndarray:
        """``(n_images,)`` bool: images whose instances are ground truth for training and evaluation.

        An image counts when a person placed at least one instance on it, or when it holds no
        instance at all (an image labelled as showing no animal: a negative).  Images that carry only
        predicted instances -- a SLEAP project's unreviewed predictions, suggested frames not yet
        labelled -- do not count: their animals are not labelled, so they are neither positives
        nor negatives.
        """
        n = len(self.images)
        frames = self.instances.frame
        has_any = np.bincount(frames, minlength=n)[:n] > 0
        has_user = np.bincount(frames[self.is_user], minlength=n)[:n] > 0
        return has_user | ~has_any

    def ground_truth(self) -> "Labels":
        """The labels without what is not ground truth: images that hold only predictions, and
        predicted instances beside a person's (formats without predictions, DeepLabCut's and
        COCO's, would store them as labels)."""
        from dataclasses import replace

        keep = self.ground_truth_images()
        new_index = np.cumsum(keep) - 1
        sel = self.is_user & keep[self.instances.frame]
        det = self.instances.select(sel)
        det = replace(det, frame=new_index[det.frame], n_frames=int(keep.sum()))
        return replace(self, images=tuple(r for r, k in zip(self.images, keep) if k), instances=det,
                       is_user=np.ones(len(det), bool))

    def frame_keys(self) -> list[tuple[str, int]]:
        """``(video, frame)`` of every image, for splitting by video and by time.

        Video frames give their video path and frame index.  Image files are grouped by folder (a
        DeepLabCut ``labeled-data/<video>`` folder holds the frames of one video) and numbered by the
        digits that end their name (``img0042.png`` -> 42, DeepLabCut's frame index); a folder whose
        names do not all end in distinct numbers is numbered in name order instead.
        """
        import re

        keys: list[tuple[str, int]] = [("", -1)] * len(self.images)
        folders: dict[str, list[int]] = {}
        for i, ref in enumerate(self.images):
            if ref.video:
                keys[i] = (ref.video, int(ref.frame))
            else:
                folders.setdefault(str(Path(ref.image.replace("\\", "/")).parent), []).append(i)
        for folder, idx in folders.items():
            names = [Path(self.images[i].image.replace("\\", "/")).stem for i in idx]
            nums = [re.search(r"(\d+)$", n) for n in names]
            if all(nums) and len({int(m.group(1)) for m in nums}) == len(idx):
                for i, m in zip(idx, nums):
                    keys[i] = (folder, int(m.group(1)))
            else:
                for rank, j in enumerate(sorted(range(len(idx)), key=lambda j: names[j])):
                    keys[idx[j]] = (folder, rank)
        return keys

    def videos(self) -> list[str]:
        """Distinct video paths referenced by the labelled frames (in first-seen order)."""
        return list(dict.fromkeys(r.video for r in self.images if r.video))
