"""Torch datasets and the LightningDataModule of pose training.

Labelled frames of one or several :class:`~mapose.core.labels.Labels` are decoded once into memory
(:class:`PoseSamples`), split into training and validation (:mod:`mapose.data.split`), augmented
(:mod:`mapose.data.augment`) and encoded into per-head targets (:mod:`mapose.data.targets`).

A batch is a dict of tensors: ``"image"`` ``(B, 3, H, W)`` float32 grey levels 0..255 (the model
normalises), and per head role the targets: ``"heatmap"`` ``(B, K, h, w)``, ``"paf"``
``(B, 2E, h, w)``, ``"offset"`` ``(B, 2K, h, w)`` with ``"offset_mask"`` ``(B, K, h, w)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

import cv2
import numpy as np

from mapose.core.labels import Labels
from mapose.core.skeleton import Skeleton, place_keypoints
from mapose.data.augment import random_view
from mapose.data.frames import load_images
from mapose.data.targets import encode_heatmap, encode_offsets, encode_paf, encode_unknown_weights, output_shape
from mapose.errors import ValidationError


@dataclass
class PoseSamples:
    """Labelled images in memory with their instances.

    Attributes
    ----------
    images
        ``(H, W, C)`` uint8 per labelled image (already resized by ``input_scale``).
    keypoints
        ``(n_i, K, 2)`` float64 per image, in pixels of the stored image (NaN = missing).
    videos, frames
        Video key (video path, or the folder of image files) and frame index of each image (for
        splits and reports; see :meth:`Labels.frame_keys`).
    sources
        Label file of each image.
    label_index
        Index of each image in its own :class:`Labels` (``images[...]``).
    unknown
        ``(n_i, K)`` bool per image: body parts whose place nobody labelled -- parts the image's
        label file does not name, or labels left out as likely mistakes -- as opposed to missing
        (NaN and not unknown: not in view).  Training leaves the unknown parts out of the loss
        around their animal instead of teaching that they are absent.  Empty when there are none.
    """

    skeleton: Skeleton
    images: list[np.ndarray]
    keypoints: list[np.ndarray]
    videos: list[str]
    frames: list[int]
    sources: list[str] = field(default_factory=list)
    label_index: list[int] = field(default_factory=list)
    input_scale: float = 1.0
    unknown: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, idx: Sequence[int]) -> "PoseSamples":
        idx = [int(i) for i in idx]
        return PoseSamples(
            self.skeleton,
            [self.images[i] for i in idx],
            [self.keypoints[i] for i in idx],
            [self.videos[i] for i in idx],
            [self.frames[i] for i in idx],
            [self.sources[i] for i in idx] if self.sources else [],
            [self.label_index[i] for i in idx] if self.label_index else [],
            self.input_scale,
            [self.unknown[i] for i in idx] if self.unknown else [],
        )

    def unknown_of(self, i: int) -> Optional[np.ndarray]:
        """``(n_i, K)`` unknown body parts of image ``i``, ``None`` when no image has any."""
        return self.unknown[i] if self.unknown else None


def scale_keypoints(kp: np.ndarray, scale: float) -> np.ndarray:
    """Keypoints of an image resized by ``scale`` (pixel centres at integers)."""
    return (np.asarray(kp, dtype=np.float64) + 0.5) * scale - 0.5


def samples_from_labels(
    labels_list: Sequence[Labels],
    skeleton: Optional[Skeleton] = None,
    input_scale: float = 1.0,
    user_only: bool = True,
    unknown: Optional[Sequence[Optional[np.ndarray]]] = None,
) -> PoseSamples:
    """Decode the images of several label files into one :class:`PoseSamples`.

    The label files may name different body parts, or the same in another order: their keypoints
    are placed by name into ``skeleton`` (default: the first file's skeleton extended by the others',
    :meth:`Skeleton.union`), and the parts a file does not name are marked unknown
    (:attr:`PoseSamples.unknown`).  ``unknown``: per label file, ``(n_instances, K_file)`` bool
    marking more unknown parts (labels left out as likely mistakes) or ``None``.

    Frames without any instance are kept as negatives (empty targets); with ``user_only``, frames
    that carry only predicted instances are skipped (see :meth:`Labels.ground_truth_images`).
    """
    if not labels_list:
        raise ValidationError("no label files given")
    sk = skeleton or labels_list[0].skeleton.union(lab.skeleton for lab in labels_list[1:])
    images, kps, videos, frames, sources, lidx, unk = [], [], [], [], [], [], []
    for n, lab in enumerate(labels_list):
        inst = lab.instances
        # every instance in the skeleton's order; unknown: the parts the file does not name, and marked ones
        names = lab.skeleton.keypoints
        placed = place_keypoints(inst.keypoints, names, sk, f"label file {lab.source or '(in memory)'}")
        marked = None if unknown is None else unknown[n]
        file_unknown = np.ones(placed.shape[:2], bool)
        file_unknown[:, sk.indices(names)] = False if marked is None else np.asarray(marked, bool)
        placed[file_unknown] = np.nan
        keep = lab.ground_truth_images() if user_only else np.ones(len(lab.images), bool)
        if not keep.any():
            what = (f"{len(lab.images)} frames hold only predicted instances" if len(lab.images)
                    else "it holds no frame")
            raise ValidationError(
                f"label file {lab.source or '(in memory)'}: no frame labelled by a person ({what}); "
                f"label some (mapose dashboard {lab.source or 'FILE'}, Labelling page; or in SLEAP), or leave "
                "this file out")
        imgs = load_images(lab, np.flatnonzero(keep))
        keys = lab.frame_keys()
        for i, ref in enumerate(lab.images):
            if not keep[i]:
                continue
            sel = inst.frame == i
            if user_only:
                sel &= lab.is_user
            kp, u = placed[sel], file_unknown[sel]
            img = imgs[i]
            if input_scale != 1.0:
                h, w = img.shape[:2]
                size = (max(1, round(w * input_scale)), max(1, round(h * input_scale)))
                interp = cv2.INTER_AREA if input_scale < 1 else cv2.INTER_LINEAR
                img = cv2.resize(img, size, interpolation=interp).reshape(size[1], size[0], -1)
                kp = scale_keypoints(kp, input_scale)
            images.append(img)
            kps.append(kp)
            videos.append(keys[i][0])
            frames.append(keys[i][1])
            sources.append(lab.source)
            lidx.append(i)
            unk.append(u)
    if not any(u.any() for u in unk):
        unk = []
    return PoseSamples(sk, images, kps, videos, frames, sources, lidx, input_scale, unk)


def _extent(points: np.ndarray) -> float:
    """Largest distance between two of ``points`` ``(n, 2)`` (0 for fewer than two)."""
    if len(points) < 2:
        return 0.0
    return float(np.max(np.linalg.norm(points[:, None] - points[None], axis=-1)))


def animal_size(samples: PoseSamples, quantile: float = 95.0) -> Optional[float]:
    """The ``quantile`` of the animals' sizes (largest distance between two of an instance's
    keypoints) in model-input pixels; ``None`` when no instance has two keypoints."""
    sizes = []
    for kp in samples.keypoints:
        for inst in np.asarray(kp, dtype=np.float64).reshape(-1, samples.skeleton.n_keypoints, 2):
            pts = inst[np.isfinite(inst).all(axis=1)]
            if len(pts) >= 2:
                sizes.append(_extent(pts))
    return float(np.percentile(sizes, quantile)) if sizes else None


def auto_crop_size(samples: PoseSamples, quantile: float = 95.0, multiple: int = 32, minimum: int = 64,
                   maximum: int = 256) -> int:
    """Training crop side that holds a whole animal in any orientation: the ``quantile`` of the
    animals' size (largest distance between two of an instance's keypoints), rounded up to
    ``multiple``, at least ``minimum`` and at most ``maximum``.  When no frame has both sides longer
    than that: whole frames (smaller frames are padded) if no frame has more than ``2 * maximum**2``
    pixels, else ``maximum``.  0 (whole frames) when no instance has two keypoints.  Animals larger
    than the crop are trained on part by part (see :class:`TrainDataset`): whole 400x400 frames
    cost a CPU 4 s per step (the mirror-mouse example made 139 steps in 10 minutes).

    Bigger crops are not better: with more background per crop the confidence maps peak lower (fewer
    keypoints pass the peak threshold) and short trainings stall -- on the sample flies 160-px crops
    found 93-94 % of the keypoints after 20 minutes (128 px: 98-99 %) and almost nothing after 4."""
    size = animal_size(samples, quantile)
    if size is None:
        return 0
    side = max(int(np.ceil(size / multiple)) * multiple, minimum)
    if side >= max(min(img.shape[:2]) for img in samples.images):  # no frame holds a bigger crop
        pixels = max(img.shape[0] * img.shape[1] for img in samples.images)
        return 0 if pixels <= 2 * maximum**2 else maximum
    return min(side, maximum)


def resolve_crop_size(crop_size, samples: PoseSamples) -> int:
    """``data.crop_size`` as a number: ``auto`` becomes :func:`auto_crop_size` of ``samples``."""
    return auto_crop_size(samples) if crop_size == "auto" else int(crop_size)


def auto_num_workers(num_workers, accelerator: str = "auto", cpus: Optional[int] = None,
                     gpu_available: Optional[bool] = None) -> int:
    """``data.num_workers`` as a number.  ``auto``: 0 when training runs on the CPU -- the model's
    step uses every core, and augmenting in other processes only takes cores from it -- and
    ``min(8, cpus - 2)`` when it runs on a GPU (``accelerator`` gpu/cuda, or auto with a GPU
    present), where augmentation in the training process would leave the GPU waiting."""
    if num_workers != "auto":
        return int(num_workers)
    import os

    if cpus is None:
        cpus = os.cpu_count() or 1
    return max(0, min(8, cpus - 2)) if trains_on_gpu(accelerator, gpu_available) else 0


def trains_on_gpu(accelerator: str = "auto", gpu_available: Optional[bool] = None) -> bool:
    """Whether Lightning's ``accelerator`` setting trains on an accelerator rather than the CPU
    (``gpu``/``cuda``/``mps``/``tpu``, or ``auto`` with a CUDA GPU or Apple's Metal device present):
    steps that wait for augmentation workers, and no CPU memory-format tuning."""
    import torch

    if gpu_available is None:
        mps = getattr(torch.backends, "mps", None)
        gpu_available = torch.cuda.is_available() or bool(mps is not None and mps.is_available())
    return accelerator in ("gpu", "cuda", "mps", "tpu") or (accelerator == "auto" and gpu_available)


def pad_to_multiple(image: np.ndarray, multiple: int = 32) -> np.ndarray:
    """Zero-pad an ``(H, W, C)`` image at the bottom/right to a multiple of ``multiple``."""
    h, w = image.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return image
    return np.pad(image, ((0, ph), (0, pw), (0, 0)))


@dataclass(frozen=True)
class TargetSpec:
    """What to encode for each enabled head (pixels unless stated)."""

    stride: int
    sigma: float
    paf_width: Optional[float] = None
    offset_radius: Optional[float] = None
    #: pixels around an animal's labelled keypoints where its unknown parts are left out of the loss
    unknown_margin: float = 0.0


def encode_sample(
    image: np.ndarray, keypoints: np.ndarray, skeleton: Skeleton, spec: TargetSpec,
    unknown: Optional[np.ndarray] = None,
) -> dict[str, np.ndarray]:
    """Image (``(H, W, C)`` uint8) + keypoints -> dict of float32 arrays (image CHW, 3 channels).

    With ``unknown`` (``(n, K)`` bool, for samples that have unknown body parts) it also holds the
    loss weights ``heatmap_weight`` ``(K, h, w)`` and ``paf_weight`` ``(E, h, w)``
    (:func:`mapose.data.targets.encode_unknown_weights`)."""
    h, w = output_shape(image.shape[0], image.shape[1], spec.stride)
    img = image if image.shape[2] == 3 else np.repeat(image[..., :1], 3, axis=2)
    out = {
        "image": np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32),
        "heatmap": encode_heatmap(keypoints, (h, w), spec.stride, spec.sigma),
    }
    if spec.paf_width is not None:
        out["paf"] = encode_paf(keypoints, np.array(skeleton.edges), (h, w), spec.stride, spec.paf_width)
    if spec.offset_radius is not None:
        out["offset"], out["offset_mask"] = encode_offsets(keypoints, (h, w), spec.stride, spec.offset_radius)
    if unknown is not None:
        hw, pw = encode_unknown_weights(keypoints, unknown, np.array(skeleton.edges), (h, w), spec.stride,
                                        spec.unknown_margin)
        out["heatmap_weight"] = hw
        if spec.paf_width is not None:
            out["paf_weight"] = pw
    return out


class TrainDataset:
    """Random augmented crops (map-style; ``length`` samples per epoch, drawn with replacement).

    Each item picks an image uniformly, centres the crop on a random labelled animal (or the image
    centre when it has none, or when ``crop_size == 0``) and augments.  An animal that fits in no
    crop (its two farthest keypoints further apart than the crop's diagonal) is seen part by part:
    the crop is centred on one of its labelled keypoints, drawn at random, so every crop holds
    labelled body parts (centred on such an animal's middle, a crop can miss all of them).

    ``balance_postures`` s > 0 draws animals in rare postures more often: each animal's share is
    multiplied by its posture rarity to the power s (:func:`mapose.data.posture.sampling_weights`).
    ``background_crops`` f > 0 centres a share f of the crops anywhere in the image instead, so the
    network also sees the background far from the animals (cage walls, vents, corners) that
    whole-frame inference shows it.
    """

    def __init__(self, samples: PoseSamples, spec: TargetSpec, augment: dict, crop_size: int,
                 length: int, seed: int = 0, balance_postures: float = 0.0, background_crops: float = 0.0):
        if len(samples) == 0:
            raise ValidationError("no training frames left after the split")
        self.samples, self.spec = samples, spec
        # the augmentation config as given (``to_dict(AugmentConfig)``) or its view parameters; the
        # choice of turns for a fixed view is made before (mapose.training.train.fixed_view_turns)
        self.augment = {k: v for k, v in augment.items() if k != "fixed_view_below_deg"}
        self.crop_size, self.length, self.seed = crop_size, length, seed
        self.background_crops = float(background_crops)
        self.image_p: Optional[np.ndarray] = None
        self.animal_p: list[np.ndarray] = []
        if balance_postures > 0:
            from mapose.data.posture import sampling_weights

            self.image_p, self.animal_p = sampling_weights(samples.keypoints, balance_postures)
        self.flip_perm = samples.skeleton.flip_permutation()
        import torch

        # epoch and label shift live in shared memory: augmentation workers that outlive an epoch
        # (persistent workers) see the values the training process sets
        self._state = torch.zeros(3, dtype=torch.float64).share_memory_()

    def __len__(self) -> int:
        return self.length

    @property
    def epoch(self) -> int:
        return int(self._state[0])

    def set_epoch(self, epoch: int) -> None:
        self._state[0] = int(epoch)

    @property
    def label_shift(self) -> np.ndarray:
        """(2,) model-input pixels added to every labelled keypoint (set by
        :class:`mapose.training.callbacks.LabelShift` to remove the labels' image-frame offset)."""
        return self._state[1:].numpy().copy()

    @label_shift.setter
    def label_shift(self, value) -> None:
        import torch

        self._state[1:] = torch.as_tensor(np.asarray(value, dtype=np.float64).reshape(2))

    def view(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The augmented ``(image, keypoints)`` of item ``index`` (deterministic given epoch/seed)."""
        return self.view_with_unknown(index)[:2]

    def view_with_unknown(self, index: int) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """:meth:`view` plus the ``(n, K)`` unknown body parts (``None`` when the samples have none)."""
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.image_p is None:
            i = int(rng.integers(len(self.samples)))
        else:
            i = int(rng.choice(len(self.samples), p=self.image_p))
        img, kp = self.samples.images[i], self.samples.keypoints[i] + self.label_shift
        h, w = img.shape[:2]
        if self.crop_size:
            out_size = (self.crop_size, self.crop_size)
            finite = [k for k in kp if np.isfinite(k).all(axis=1).any()]
            if self.background_crops > 0 and rng.random() < self.background_crops:
                half = self.crop_size / 2  # anywhere, the crop inside the image where it fits
                center = tuple(rng.uniform(min(half, m / 2), max(m - half, m / 2)) for m in (w, h))
            elif finite:
                if self.image_p is None:
                    inst = finite[int(rng.integers(len(finite)))]
                else:
                    inst = kp[int(rng.choice(len(kp), p=self.animal_p[i]))]
                pts = inst[np.isfinite(inst).all(axis=1)]
                if _extent(pts) > self.crop_size * np.sqrt(2):
                    center = tuple(pts[int(rng.integers(len(pts)))])
                else:
                    center = tuple(pts.mean(axis=0))
            else:
                center = ((w - 1) / 2, (h - 1) / 2)
        else:
            out_size = (w + (-w) % 32, h + (-h) % 32)
            center = ((w - 1) / 2, (h - 1) / 2)
        unknown = self.samples.unknown_of(i)
        out = random_view(img, kp, out_size, rng, self.flip_perm, center=center, unknown=unknown, **self.augment)
        return out if unknown is not None else (*out, None)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        img, kp, unknown = self.view_with_unknown(index)
        return encode_sample(img, kp, self.samples.skeleton, self.spec, unknown)


class EvalDataset:
    """Validation samples without augmentation: whole frames padded to a multiple of 32
    (``crop_size == 0``), or one ``crop_size`` crop centred on each labelled animal (the middle of
    its labelled keypoints), the view training gets (:func:`validation_crop_size`)."""

    def __init__(self, samples: PoseSamples, spec: TargetSpec, crop_size: int = 0):
        self.samples, self.spec, self.crop_size = samples, spec, int(crop_size)
        self.label_shift = np.zeros(2)  # as TrainDataset.label_shift
        self.items: list[tuple[int, Optional[tuple[float, float]]]] = []
        for i, kp in enumerate(samples.keypoints):
            if not self.crop_size:
                self.items.append((i, None))
                continue
            centers = [tuple(float(v) for v in inst[np.isfinite(inst).all(axis=1)].mean(axis=0))
                       for inst in kp if np.isfinite(inst).all(axis=1).any()]
            h, w = samples.images[i].shape[:2]
            for center in centers or [((w - 1) / 2, (h - 1) / 2)]:  # a frame without animals: its middle
                self.items.append((i, center))
        self.flip_perm = samples.skeleton.flip_permutation()

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, j: int) -> dict[str, np.ndarray]:
        i, center = self.items[j]
        img, kp = self.samples.images[i], self.samples.keypoints[i] + self.label_shift
        unknown = self.samples.unknown_of(i)
        if center is None:
            img = pad_to_multiple(img)
        else:
            c = self.crop_size
            img, kp = random_view(img, kp, (c, c), np.random.default_rng(0), self.flip_perm,
                                  center=center, enabled=False)  # no mirror: unknown keeps its order
        return encode_sample(img, kp, self.samples.skeleton, self.spec, unknown)

    @property
    def same_size(self) -> bool:
        """Whether every item has one shape (then they can share a batch)."""
        return bool(self.crop_size) or len({im.shape for im in self.samples.images}) <= 1


def validation_crop_size(val: PoseSamples, crop_size: int, samples_per_epoch: int,
                         val_crops: Union[bool, str] = "auto", share: float = 0.1) -> int:
    """Crop side for validation samples (0 = whole frames).

    ``val_crops`` ``True``: the training crops, one per labelled animal; ``False``: whole frames;
    ``auto``: whole frames unless running the network over them would cost more than ``share`` of an
    epoch's training (``samples_per_epoch`` crops, forward and backward, counted as three forward
    passes).  The sample flies (nine 384x384 frames) validate on whole frames in 3 % of an epoch;
    32 frames of 1024x1024 (``flies_dreem/three_flies.slp``) took 25 s per epoch on 2 CPU cores, as
    long as the epoch's 100 training steps.
    """
    if not crop_size or val_crops is False or len(val) == 0:
        return 0
    if val_crops is True:
        return int(crop_size)
    whole = sum(int(np.prod(im.shape[:2])) for im in val.images)
    return int(crop_size) if whole > share * 3 * samples_per_epoch * crop_size ** 2 else 0


def _collate(items: list[dict[str, np.ndarray]]):
    import torch

    keys = items[0].keys()
    shapes = {k: {it[k].shape for it in items} for k in keys}
    if any(len(s) > 1 for s in shapes.values()):
        raise ValidationError(
            "validation images of different sizes cannot share a batch; use batch size 1"
        )
    return {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in keys}


def make_datamodule(train: PoseSamples, val: Optional[PoseSamples], spec: TargetSpec, augment: dict,
                    crop_size: int, samples_per_epoch: int, batch_size: int, num_workers: int = 0,
                    seed: int = 0, val_crop_size: int = 0, balance_postures: float = 0.0,
                    background_crops: float = 0.0):
    """A ``LightningDataModule`` over in-memory samples (validation on whole frames, or on
    ``val_crop_size`` crops around each animal; batches hold one frame when frames differ in size)."""
    import pytorch_lightning as pl
    import torch
    from torch.utils.data import DataLoader

    class PoseDataModule(pl.LightningDataModule):
        def __init__(self) -> None:
            super().__init__()
            self.train_ds = TrainDataset(train, spec, augment, crop_size, samples_per_epoch, seed,
                                         balance_postures, background_crops)
            self.val_ds = (EvalDataset(val, spec, val_crop_size) if val is not None and len(val)
                           else None)

        def train_dataloader(self):
            if self.trainer is not None:  # the first epoch of a run, or of a resumed run
                self.train_ds.set_epoch(self.trainer.current_epoch)
            # workers live for the whole run; they read the epoch number (set by
            # DatasetEpoch at each epoch's start) and the label shift from shared memory
            return DataLoader(self.train_ds, batch_size=batch_size, shuffle=False,
                              num_workers=num_workers, collate_fn=_collate, drop_last=True,
                              persistent_workers=num_workers > 0,
                              pin_memory=num_workers > 0 and torch.cuda.is_available())

        def val_dataloader(self):
            if self.val_ds is None:
                return []
            bs = min(batch_size, len(self.val_ds)) if self.val_ds.same_size else 1
            return DataLoader(self.val_ds, batch_size=bs, shuffle=False, num_workers=0,
                              collate_fn=_collate)

    return PoseDataModule()
