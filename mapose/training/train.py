"""Training entry point: labels -> MODEL_DIR (config, skeleton, split, checkpoints, logs, plots)."""

from __future__ import annotations

import json
import time
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from mapose.core.skeleton import Skeleton, tree_edges
from mapose.errors import ConfigError, MaposeError
from mapose.training.config import FIXED_VIEW_ROTATION_DEG, TrainConfig


def say(message: str) -> None:
    """Print ``message`` in the first process only: in a multi-device run every process reads the
    labels and builds the data, and the messages would repeat once per device."""
    from pytorch_lightning.utilities.rank_zero import rank_zero_only

    if getattr(rank_zero_only, "rank", 0) == 0:
        print(message, flush=True)


class _NoAdverts:
    """A logging filter that drops Lightning's advertisement for its cloud logger."""

    @staticmethod
    def filter(record) -> bool:
        return "litlogger" not in str(record.msg)


#: Lightning's warnings that mapose answers itself.  On resuming: the log it would delete is kept aside
#: and joined back (:func:`joined_log`), the checkpoint folder is the one resumed from, and an epoch is
#: a random draw of crops, so resuming within one repeats nothing.  Without held-out frames
#: (``--val-fraction 0``): no validation is what was asked for, and :func:`say_split` says what it means.
ANSWERED_WARNINGS = (r"Experiment logs directory .* exists and is not empty",
                     r"Checkpoint directory .* exists and is not empty",
                     r"You're resuming from a checkpoint that ended before the epoch ended",
                     r"Total length of `\w+` across ranks is zero")


def quiet_lightning() -> None:
    """Keep what Lightning prints to what the user can act on: no advertisement for its cloud
    logger, no deprecation warning raised inside Lightning by the torch it runs on, no warning
    that mapose answers itself (:data:`ANSWERED_WARNINGS`)."""
    import logging
    import warnings

    log = logging.getLogger("pytorch_lightning.utilities.rank_zero")
    if not any(isinstance(f, _NoAdverts) for f in log.filters):
        log.addFilter(_NoAdverts())
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)` is deprecated")
    for message in ANSWERED_WARNINGS:
        warnings.filterwarnings("ignore", message=message)


def _with_symmetry(skeleton: Skeleton, pairs: Optional[Sequence[tuple[str, str]]] = None
                   ) -> tuple[Skeleton, bool]:
    """Skeleton with the given left/right ``pairs`` (names; ``data.symmetry``), else the file's,
    else pairs guessed from names.  The flag says whether pairs were guessed."""
    if pairs is not None:
        return Skeleton.from_names(skeleton.keypoints, skeleton.edge_names, pairs, skeleton.name), False
    if skeleton.symmetry:
        return skeleton, False
    pairs = Skeleton.guess_symmetry(skeleton.keypoints)
    if not pairs:
        return skeleton, False
    return Skeleton.from_names(skeleton.keypoints, skeleton.edge_names, pairs, skeleton.name), True


def _with_edges(skeleton: Skeleton, keypoints: Sequence[np.ndarray]) -> Skeleton:
    """Skeleton with :func:`tree_edges` when the labels name no edges (and it has 2+ keypoints)."""
    if skeleton.n_edges or skeleton.n_keypoints < 2:
        return skeleton
    edges = tree_edges(keypoints, skeleton.n_keypoints)
    if edges:
        names = ", ".join(f"{skeleton.keypoints[a]}-{skeleton.keypoints[b]}" for a, b in edges)
        say(f"the labels name no skeleton edges; linking the body parts nearest each other: {names}")
    return Skeleton(skeleton.keypoints, tuple(edges), skeleton.symmetry, skeleton.name)


def prepare_samples(labels_paths: Sequence[str | Path], cfg: TrainConfig):
    """Read label files, decode images, split. Returns ``(skeleton, samples, val_mask)``.

    Label files that name different body parts are trained together on all of them; the parts a
    file does not name are unknown there (:attr:`mapose.data.dataset.PoseSamples.unknown`)."""
    from mapose.data.dataset import samples_from_labels
    from mapose.data.split import split_frames
    from mapose.io import read_labels

    labels = [read_labels(p) for p in labels_paths]
    unknown = [report_label_issues(lab, path, cfg.data.suspect_labels) for path, lab in zip(labels_paths, labels)]
    skeleton = labels[0].skeleton.union(lab.skeleton for lab in labels[1:])
    say_body_parts(labels_paths, labels, skeleton)
    skeleton, _ = _with_symmetry(skeleton, cfg.data.symmetry)
    samples = samples_from_labels(labels, skeleton, cfg.data.input_scale, unknown=unknown)
    edged = _with_edges(skeleton, samples.keypoints)
    if edged is not skeleton:
        skeleton, samples = edged, dc_replace(samples, skeleton=edged)
    s = cfg.split
    val = split_frames(samples.videos, samples.frames, s.method, threshold=s.threshold,
                       val_videos=s.val_videos, n_blocks=s.n_blocks, val_fraction=s.val_fraction,
                       seed=s.seed, val_blocks=s.val_blocks)
    return skeleton, samples, val


def say_body_parts(paths, labels, skeleton: Skeleton) -> None:
    """One line per label file that lacks some of the body parts trained on (named by another)."""
    for path, lab in zip(paths, labels):
        lacks = [k for k in skeleton.keypoints if k not in lab.skeleton.keypoints]
        if lacks:
            say(f"{path} does not label {', '.join(lacks)} ({len(lacks)} of the {skeleton.n_keypoints} body parts "
                "the label files name): training leaves them out of the loss around its animals rather than "
                "teaching that they are absent")


def report_label_issues(labels, path, suspect_labels: str = "keep") -> Optional[np.ndarray]:
    """One line naming the likely labelling mistakes of a label file (:mod:`mapose.data.label_checks`),
    if any.  Returns the body parts to leave out of training, ``(n_instances, K)`` bool: the flagged
    ones with ``suspect_labels`` ``leave_out``, else ``None``."""
    from mapose.data.label_checks import check_labels, summary, suspect_keypoint_mask

    issues = check_labels(labels)
    if not issues:
        return None
    see = f"See them with: mapose check-labels {path} --images DIR"
    if suspect_labels == "leave_out":
        mask = suspect_keypoint_mask(labels, issues)
        say(f"{path}: {len(issues)} likely labelling mistakes ({summary(issues)}); training without the "
            f"{int(mask.sum())} labelled body parts they name (data.suspect_labels leave_out). {see}")
        return mask
    say(f"{path}: {len(issues)} likely labelling mistakes ({summary(issues)}); training on them as they are "
        f"(data: {{suspect_labels: leave_out}} trains without them). {see}")
    return None


def mirror_safe_augmentation(aug: dict, skeleton: Skeleton) -> dict:
    """``aug`` without mirror flips when body parts look one-sided but no symmetry pair names them
    (a mirrored left paw would be taught as a left paw on the right); says so."""
    unpaired = skeleton.unpaired_lateral_keypoints()
    if not unpaired or not (aug.get("hflip") or aug.get("vflip")):
        return aug
    shown = ", ".join(unpaired[:8]) + (", ..." if len(unpaired) > 8 else "")
    say(f"body parts {shown} look left/right-sided but no symmetry pair names them: training "
        "without mirror flips. Pair them in the config to train with mirrors, e.g. data: "
        "{symmetry: [[leftName, rightName], ...]}")
    return {**aug, "hflip": 0.0, "vflip": 0.0}


def split_record(samples, val: np.ndarray, cfg: TrainConfig) -> dict:
    """JSON-able record of the split (label file, video, frame index of every frame) and the most
    labelled animals in one frame (``max_animals_per_frame``, for ``inference.single_animal``)."""
    def rows(mask):
        return [
            {"labels": samples.sources[i], "video": samples.videos[i], "frame": int(samples.frames[i]),
             "label_index": int(samples.label_index[i])}
            for i in np.flatnonzero(mask)
        ]
    from mapose.config import to_dict
    n_animals = [int(np.isfinite(k).any(axis=(1, 2)).sum()) if len(k) else 0 for k in samples.keypoints]
    return {"split": to_dict(cfg.split), "train": rows(~val), "val": rows(val),
            "max_animals_per_frame": max(n_animals, default=0)}


#: Fewer labelled training frames than this get a word on what to expect (transfer learning, as
#: DeepLabCut showed, needs some 50-200 frames of varied postures).
FEW_TRAINING_FRAMES = 20


def say_split(record: dict, skeleton: Skeleton) -> None:
    """Say how many labelled frames train and validate, and what too few of either means."""
    n_train, n_val = len(record["train"]), len(record["val"])
    method = record["split"].get("method", "?")
    say(f"labelled frames: {n_train} for training, {n_val} held out for validation (split: {method}); "
        f"{skeleton.n_keypoints} body parts, up to {record['max_animals_per_frame']} animals per frame")
    if n_train < FEW_TRAINING_FRAMES:
        say(f"only {n_train} frames to train on: expect keypoints far from where they should be in "
            "postures and places these frames do not show; some 50-200 labelled frames of varied postures "
            "is what fine-tuning needs ('mapose extract-frames VIDEO --out todo.slp' picks them)")
    if n_val == 0:
        say("no frame held out: the best checkpoint is the last one, and 'mapose evaluate' can only score "
            "frames the model trained on (--frames train), which flatters it")


def say_untrained_parts(samples, skeleton: Skeleton, mask: np.ndarray) -> list[str]:
    """Name the body parts that no frame in ``mask`` (the training frames) labels, which the model
    cannot learn (a part added to the skeleton and labelled only in held-out frames); returns them."""
    kp = _animals(samples, mask)
    seen = np.isfinite(kp).all(axis=2).any(axis=0) if len(kp) else np.zeros(skeleton.n_keypoints, bool)
    never = [k for k, s in zip(skeleton.keypoints, seen) if not s]
    if never and len(never) < skeleton.n_keypoints:
        say(f"no training frame labels {', '.join(never)}: the model will not learn to find "
            f"{'it' if len(never) == 1 else 'them'}; label {'it' if len(never) == 1 else 'them'} in some "
            "training frames")
    return never


def _animals(samples, mask: np.ndarray) -> np.ndarray:
    """``(N, K, 2)`` the labelled animals of the frames in ``mask`` (N may be 0)."""
    kp = [np.asarray(samples.keypoints[i], dtype=np.float64) for i in np.flatnonzero(mask)]
    kp = [k for k in kp if len(k)]
    return np.concatenate(kp) if kp else np.zeros((0, 0, 2))


def edge_max_lengths(samples, skeleton: Skeleton, mask: np.ndarray) -> np.ndarray:
    """Longest labelled length of each skeleton edge over the frames in ``mask``, in pixels of the
    labelled frames (NaN for an edge whose two body parts are never labelled together).  The
    assembly makes no longer connection than twice that (:func:`mapose.decode.frame.edge_length_limits`)."""
    kp = _animals(samples, mask)
    if not len(kp) or not skeleton.n_edges:
        return np.full(skeleton.n_edges, np.nan)
    src, dst = np.asarray(skeleton.edges).T
    d = np.hypot(*(kp[:, src] - kp[:, dst]).transpose(2, 0, 1))  # (animals, E)
    seen = np.isfinite(d).any(axis=0)
    longest = np.where(seen, np.where(np.isfinite(d), d, -np.inf).max(axis=0), np.nan)
    return longest / float(samples.input_scale or 1.0)


def part_distances(samples, mask: np.ndarray) -> np.ndarray:
    """``(K, K)`` farthest distance between each two labelled body parts of one animal over the
    frames in ``mask``, in pixels of the labelled frames (NaN for two parts never labelled together).
    One-animal decoding takes no two parts farther apart than 1.5x theirs
    (:func:`mapose.decode.frame.animal_extent_limit`)."""
    kp = _animals(samples, mask)
    k = kp.shape[1]
    d = np.hypot(*(kp[:, :, None] - kp[:, None, :]).transpose(3, 0, 1, 2))  # (animals, K, K)
    seen = np.isfinite(d).any(axis=0) if len(d) else np.zeros((k, k), dtype=bool)
    far = np.where(np.isfinite(d), d, -np.inf).max(axis=0, initial=-np.inf)
    return np.where(seen, far, np.nan) / float(samples.input_scale or 1.0)


def animal_extent(distances: np.ndarray) -> float | None:
    """Farthest distance between two labelled body parts of one animal (the largest of
    :func:`part_distances`; ``None`` without an animal of two labelled parts)."""
    best = float(np.nanmax(distances, initial=0.0))
    return best if best > 0 else None


#: below this spread of headings (degrees) training suggests small turns (:func:`heading_spread_deg`)
NARROW_HEADINGS_DEG = 35.0


def heading_spread_deg(samples, mask: np.ndarray) -> float | None:
    """How far the labelled animals of the frames in ``mask`` turn: the circular standard deviation,
    in degrees, of each animal's rotation onto their mean shape (generalised Procrustes,
    :func:`mapose.training.calibration.fit_template`); ``None`` with fewer than 10 animals of 3
    labelled parts.  Measured on all labelled frames: 77 for the bundled two flies, 96 for SLEAP's
    three flies, 43 for DeepLabCut's open-field mouse, 28 for its reaching mouse (a side view), 3 for
    Lightning Pose's head-fixed mirror mouse."""
    from mapose.training.calibration import MIN_KEYPOINTS_FOR_ORIENTATION, fit_template, rotations

    kp = _animals(samples, mask)
    kp = kp[np.isfinite(kp).all(-1).sum(1) >= MIN_KEYPOINTS_FOR_ORIENTATION]
    if len(kp) < 10:
        return None
    rot, valid = rotations(fit_template(list(kp)), kp)
    angle = np.arctan2(rot[valid, 1, 0], rot[valid, 0, 0])
    r = float(np.abs(np.exp(1j * angle).mean()))
    return float(np.degrees(np.sqrt(-2.0 * np.log(max(r, 1e-12)))))


def fixed_view_turns(cfg: TrainConfig, headings: float | None) -> TrainConfig:
    """``cfg`` with the turns training uses: limited to ±``FIXED_VIEW_ROTATION_DEG`` when the labelled
    animals' headings spread less than ``augment.fixed_view_below_deg`` (the camera fixes their
    direction); says so, and suggests small turns when the spread is merely narrow."""
    aug = cfg.augment
    if headings is None or not aug.enabled or aug.rotation_deg <= FIXED_VIEW_ROTATION_DEG:
        return cfg
    if headings < aug.fixed_view_below_deg:
        say(f"the labelled animals all face the same way (headings spread {headings:.0f} degrees, under "
            f"augment.fixed_view_below_deg {aug.fixed_view_below_deg:g}): the camera fixes their direction, "
            f"so training turns frames by up to {FIXED_VIEW_ROTATION_DEG:g} degrees instead of "
            f"{aug.rotation_deg:g}. If the animals can face other ways in the videos, label such frames or "
            "set augment: {fixed_view_below_deg: 0}")
        return dc_replace(cfg, augment=dc_replace(aug, rotation_deg=FIXED_VIEW_ROTATION_DEG))
    if headings < NARROW_HEADINGS_DEG and aug.rotation_deg >= 90:
        say(f"the labelled animals all face about the same way (headings spread {headings:.0f} degrees). "
            "If the camera fixes their direction (a side view, a head-fixed animal, crops aligned to the "
            "animal), small turns may learn faster: augment: {rotation_deg: 25} (10 CPU-minutes: "
            "DeepLabCut's reaching mouse median error 7.1 instead of 9.9 px). If they turn freely, keep "
            "full turns and label frames where they face other ways.")
    return cfg


def body_sides(samples, skeleton: Skeleton, mask: np.ndarray):
    """The side of the body axis each left/right part is labelled on in the frames in ``mask``
    (:func:`mapose.decode.sides.learn_body_sides`; ``None`` without such a rule)."""
    from mapose.decode.sides import learn_body_sides

    kp = _animals(samples, mask)
    return learn_body_sides(kp, skeleton) if len(kp) else None


def target_spec(cfg: TrainConfig):
    from mapose.data.dataset import TargetSpec

    h = cfg.heads
    return TargetSpec(
        stride=cfg.model.stride,
        sigma=h.heatmap.sigma * cfg.data.input_scale,
        paf_width=h.paf.width * cfg.data.input_scale if h.paf.enabled else None,
        offset_radius=h.offset.radius if h.offset.enabled else None,
    )


#: where the training log of the runs before a resume is kept (Lightning's CSV logger deletes
#: ``metrics.csv`` when it starts again in the same folder)
EARLIER_LOG = "metrics.earlier.csv"


def _read_log(path: Path):
    import pandas as pd

    try:
        df = pd.read_csv(path) if path.is_file() else None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
        return None  # a log cut short by the interrupt: nothing of it is kept
    return df if df is not None and "step" in df.columns else None


def joined_log(csv_dir: Path):
    """The training log of every run in ``csv_dir``: the rows kept from before resumes
    (:data:`EARLIER_LOG`) up to the step the current run started from, then ``metrics.csv``."""
    import pandas as pd

    earlier, current = _read_log(csv_dir / EARLIER_LOG), _read_log(csv_dir / "metrics.csv")
    if earlier is None or current is None or current.empty:
        return current if earlier is None else earlier
    return pd.concat([earlier[earlier["step"] < current["step"].min()], current], ignore_index=True)


def _check_resumable(last: Path) -> None:
    """Refuse to resume from a damaged checkpoint, naming it (Lightning would stop with a traceback)."""
    from mapose.errors import FormatError
    from mapose.training.model import read_checkpoint

    try:
        read_checkpoint(last, mmap=True)
    except FormatError as exc:
        raise FormatError(f"{exc}; cannot resume training from it: delete {last} to train again from the "
                          "start in this folder, or train into a new --out folder") from None


def _keep_log_before_resume(csv_dir: Path) -> None:
    """Before a resumed run: keep the log so far in :data:`EARLIER_LOG`, as the CSV logger will delete
    ``metrics.csv`` (every resume adds its run; steps after the checkpoint resumed from are dropped later)."""
    import os

    from mapose.io._files import atomic_path

    if os.environ.get("LOCAL_RANK", "0") != "0" or not (csv_dir / "metrics.csv").is_file():
        return  # other processes of a multi-device run leave the files to the first one
    log = joined_log(csv_dir)
    if log is not None:
        with atomic_path(csv_dir / EARLIER_LOG) as tmp:
            log.to_csv(tmp, index=False)


def _join_log_after_run(csv_dir: Path) -> None:
    """After a resumed run: ``metrics.csv`` holds every run again."""
    from mapose.io._files import atomic_path

    if not (csv_dir / EARLIER_LOG).is_file():
        return
    log = joined_log(csv_dir)
    if log is not None:
        with atomic_path(csv_dir / "metrics.csv") as tmp:
            log.to_csv(tmp, index=False)
    (csv_dir / EARLIER_LOG).unlink()


def train(
    labels_paths: Sequence[str | Path],
    out_dir: str | Path,
    config: Optional[TrainConfig] = None,
    minutes: Optional[float] = None,
    progress: bool = True,
) -> dict:
    """Train a pose model and write ``MODEL_DIR``.

    Parameters
    ----------
    labels_paths
        One or more label files (any format :func:`mapose.io.read_labels` reads).  They may name
        different body parts (matched by name): the model finds all of them, and each file trains
        the parts it labels (:func:`prepare_samples`).
    out_dir
        Model folder. If it already holds ``checkpoints/last.ckpt``, training resumes from it with
        the saved ``config.yaml`` (same schedule and wall-clock budget).
    config
        Training config (defaults when None).
    minutes
        Wall-clock budget in minutes over all sessions (overrides ``optim.minutes``).
    progress
        Show Lightning's progress bar.

    Returns
    -------
    dict
        ``model_dir``, ``best_checkpoint``, ``best_val_loss``, ``steps``, ``elapsed_s``,
        ``training_curve``, ``n_train``, ``n_val``, ``resumed``, ``calibration`` (the label offset
        measured on the training frames, :mod:`mapose.training.calibration`; ``None`` when off),
        ``init`` (what ``model.init`` carried over, :func:`~mapose.training.model.init_from_trained`;
        ``None`` without it or on resuming),
        ``global_rank``.  An ensemble (``model.ensemble`` > 1) trains its networks one after
        another into ``MODEL_DIR/members/<i>`` (a finished one is kept when resuming) and adds
        ``members`` (each network's result); ``steps`` and ``elapsed_s`` are their sums,
        ``best_checkpoint`` and ``best_val_loss`` lists with one entry per network.
        In a multi-device run (``trainer.strategy: ddp``) each process returns;
        only the first (``global_rank`` 0) calibrates and plots, the others return just
        ``model_dir`` and ``global_rank``.
    """
    import pytorch_lightning as pl
    import torch
    from pytorch_lightning.callbacks import ModelCheckpoint
    from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

    from mapose.allocator import keep_freed_memory
    from mapose.config import load_yaml, save_yaml, to_dict
    from mapose.data.dataset import (TrainDataset, animal_size, auto_num_workers, make_datamodule,
                                     resolve_crop_size, trains_on_gpu, validation_crop_size)
    from mapose.io._files import atomic_write_text, ensure_folder
    from mapose.training.callbacks import BudgetSchedule, DatasetEpoch, progress_bar
    from mapose.training.heads import resolve_heatmap_loss
    from mapose.training.model import build_untrained_model, resolve_single_animal, skeleton_json
    from mapose.training.module import PoseLightningModule
    from mapose.training.plots import save_augmentation_preview, save_training_curve

    out = Path(out_dir)
    ckdir = out / "checkpoints"
    last = ckdir / "last.ckpt"
    resumed = last.exists() or (out / "members").is_dir()
    cfg = config or TrainConfig()
    if resumed:
        saved = load_yaml(out / "config.yaml", TrainConfig)
        if config is not None:  # the time budget may change on resuming, nothing else
            same_budget = dc_replace(config, optim=dc_replace(config.optim, minutes=saved.optim.minutes))
            if to_dict(saved) != to_dict(same_budget):
                raise ConfigError(
                    f"{out} holds a run with another config; resume with the same config or choose a "
                    "new --out folder"
                )
        cfg = saved
        if last.exists():
            _check_resumable(last)
    if minutes is not None:
        cfg = dc_replace(cfg, optim=dc_replace(cfg.optim, minutes=float(minutes)))
    if not labels_paths:
        raise MaposeError("give at least one label file (--labels)")
    if cfg.model.ensemble > 1:
        return _train_ensemble(labels_paths, out, cfg, progress, resumed)

    keep_freed_memory()  # fewer page faults per step (mapose.allocator)
    pl.seed_everything(cfg.optim.seed, workers=True, verbose=False)
    skeleton, samples, val = prepare_samples(labels_paths, cfg)
    ensure_folder(out)
    save_yaml(cfg, out / "config.yaml")
    atomic_write_text(out / "skeleton.json", skeleton_json(skeleton))
    record = split_record(samples, val, cfg)
    edge_lengths = edge_max_lengths(samples, skeleton, ~val)
    record["edge_max_length_px"] = [round(float(v), 3) if np.isfinite(v) else None for v in edge_lengths]
    distances = part_distances(samples, ~val)
    extent = animal_extent(distances)
    record["animal_extent_px"] = None if extent is None else round(extent, 3)
    record["part_distance_px"] = [[round(float(v), 1) if np.isfinite(v) else None for v in row]
                                  for row in distances]
    headings = heading_spread_deg(samples, ~val)
    record["heading_spread_deg"] = None if headings is None else round(headings, 1)
    cfg = fixed_view_turns(cfg, headings)
    record["rotation_deg"] = cfg.augment.rotation_deg
    sides = body_sides(samples, skeleton, ~val)
    record["body_sides"] = sides.to_json(skeleton) if sides is not None else None
    atomic_write_text(out / "split.json", json.dumps(record, indent=1))
    say_split(record, skeleton)
    say_untrained_parts(samples, skeleton, ~val)
    train_s = samples.subset(np.flatnonzero(~val))
    val_s = samples.subset(np.flatnonzero(val)) if val.any() else None

    spec = target_spec(cfg)
    aug = mirror_safe_augmentation(to_dict(cfg.augment), skeleton)
    aug["scale"] = tuple(aug["scale"])
    crop = resolve_crop_size(cfg.data.crop_size, train_s)
    if cfg.data.crop_size == "auto":
        say(f"training crops: {f'{crop} px' if crop else 'whole frames'} (data.crop_size auto, from the "
            "animals' size)")
    size = animal_size(train_s)
    if samples.unknown:  # unknown parts lie within about an animal's length of its labelled ones
        spec = dc_replace(spec, unknown_margin=float(size or crop or 64))
    heatmap_loss = resolve_heatmap_loss(cfg.heads.heatmap.loss, size, crop)
    if cfg.heads.heatmap.loss == "auto" and heatmap_loss == "focal":
        say(f"the animals ({size:.0f} px) are larger than the {crop}-px crops, which hold only some body parts "
            "each: training the confidence maps with the focal loss (heads.heatmap.loss auto)")
    preview = TrainDataset(train_s, spec, aug, crop, 16, seed=cfg.optim.seed,
                           background_crops=cfg.data.background_crops)
    save_augmentation_preview([preview.view(i) for i in range(16)], out / "augmentation_preview.png")

    workers = auto_num_workers(cfg.data.num_workers, cfg.trainer.accelerator)
    if cfg.data.num_workers == "auto" and workers:
        say(f"augmenting in {workers} worker processes (data.num_workers auto, training on a GPU)")
    val_crop = (validation_crop_size(val_s, crop, cfg.data.samples_per_epoch, cfg.data.val_crops)
                if val_s is not None else 0)
    if val_crop and cfg.data.val_crops == "auto":
        say(f"validating on {val_crop}-px crops around each animal (data.val_crops auto: whole frames "
            "would take more than a tenth of each epoch)")
    dm = make_datamodule(train_s, val_s, spec, aug, crop, cfg.data.samples_per_epoch,
                         cfg.optim.batch_size, workers, cfg.optim.seed, val_crop,
                         cfg.data.balance_postures, cfg.data.background_crops)
    if cfg.data.balance_postures > 0:
        ds = dm.train_ds
        drawn = np.concatenate([ds.image_p[i] * p for i, p in enumerate(ds.animal_p)])
        drawn = drawn[drawn > 0] / drawn[drawn > 0].mean()
        say(f"drawing training animals by posture rarity (data.balance_postures {cfg.data.balance_postures:g}): "
            f"{drawn.max():.1f}x to {drawn.min():.2f}x as often as the average animal")
    model = build_untrained_model(skeleton, cfg).train()
    model.edge_max_length_px = edge_lengths
    model.animal_extent_px = extent
    model.part_distance_px = distances
    model.body_sides = sides
    init = None
    if cfg.model.init and not resumed:  # a resumed run gets every weight from its checkpoint
        from mapose.training.model import init_from_trained

        init = init_from_trained(model, cfg.model.init)
        fresh = init["new_keypoints"] + init["new_edges"]
        say(f"starting from the trained model {cfg.model.init} (model.init): {len(init['keypoints'])} of "
            f"{skeleton.n_keypoints} body parts and {len(init['edges'])} of {skeleton.n_edges} edges carried "
            "over" + (f"; new, from fresh outputs: {', '.join(fresh)}" if fresh else ""))
    model.single_animal = resolve_single_animal(cfg.inference.single_animal,
                                                record["max_animals_per_frame"])
    model.max_animals_per_frame = record["max_animals_per_frame"] or None
    if model.single_animal and cfg.inference.single_animal == "auto":
        say("one labelled animal per frame: the model will decode one animal per frame "
            "(inference.single_animal auto)")
    module = PoseLightningModule(
        model, channels_last=cfg.trainer.channels_last_for(trains_on_gpu(cfg.trainer.accelerator)),
        heatmap_loss=heatmap_loss)
    has_val = val_s is not None
    ckpt_cb = ModelCheckpoint(dirpath=ckdir, filename="best", monitor="val/loss" if has_val else None,
                              mode="min", save_top_k=1, save_last=True, enable_version_counter=False,
                              auto_insert_metric_name=False)
    sched = BudgetSchedule(cfg.optim.lr, cfg.optim.minutes, cfg.optim.max_steps,
                           cfg.optim.warmup_steps, cfg.optim.final_lr_fraction)
    callbacks = [ckpt_cb, sched, DatasetEpoch(dm.train_ds)]
    if progress:
        callbacks.append(progress_bar(sched))
    if cfg.optim.ema_decay > 0:
        from mapose.training.callbacks import ema_weights

        callbacks.append(ema_weights(cfg.optim.ema_decay))
    if cfg.data.calibrate_offset and 0 < cfg.data.calibrate_at < 1:
        from mapose.training.calibration import training_frames
        from mapose.training.callbacks import LabelShift

        images, gts = training_frames(labels_paths, out / "split.json", skeleton=skeleton)
        callbacks.append(LabelShift(sched, [dm.train_ds, dm.val_ds], images, gts,
                                    cfg.data.calibrate_at, cfg.data.input_scale, ckpt_cb))
    if resumed:
        _keep_log_before_resume(out / "logs" / "csv")  # before the loggers exist
    t = cfg.trainer
    devices = int(t.devices) if str(t.devices).isdigit() else t.devices
    quiet_lightning()
    trainer = pl.Trainer(
        accelerator=t.accelerator, devices=devices, strategy=t.strategy, precision=t.precision,
        max_epochs=-1, max_steps=cfg.optim.max_steps,
        callbacks=callbacks, logger=[CSVLogger(out / "logs", name="", version="csv", flush_logs_every_n_steps=10),
                                            TensorBoardLogger(out / "logs", name="", version="tb")],
        log_every_n_steps=max(1, min(5, cfg.data.samples_per_epoch // cfg.optim.batch_size)),  # short epochs too
        check_val_every_n_epoch=t.val_every_epochs, num_sanity_val_steps=0,
        enable_progress_bar=progress, enable_model_summary=False,
        default_root_dir=out,
    )
    t0 = time.monotonic()
    trainer.fit(module, datamodule=dm, ckpt_path=str(last) if resumed else None)
    trainer.save_checkpoint(last, weights_only=False)  # resumable; every process takes part; the first one writes
    if not has_val or not (ckdir / "best.ckpt").exists():
        trainer.save_checkpoint(ckdir / "best.ckpt", weights_only=False)
    if not trainer.is_global_zero:  # other processes of a multi-device run: the first one finishes
        return {"model_dir": str(out), "global_rank": int(trainer.global_rank)}
    calibration = None
    if cfg.data.calibrate_offset:
        from mapose.training.calibration import calibrate_model

        full = calibrate_model(out, labels_paths)  # the whole record is in calibration.json
        calibration = {k: full[k] for k in ("mode", "applied", "label_offset_px", "cv_median_px")}
    _join_log_after_run(out / "logs" / "csv")
    curve = out / "training_curve.png"
    save_training_curve(out / "logs" / "csv" / "metrics.csv", curve)
    best = ckpt_cb.best_model_score
    return {
        "model_dir": str(out),
        "best_checkpoint": str(ckdir / "best.ckpt"),
        "best_val_loss": float(best) if best is not None else None,
        "steps": int(trainer.global_step),
        "elapsed_s": round(sched.elapsed(), 1),
        "session_s": round(time.monotonic() - t0, 1),
        "training_curve": str(curve),
        "n_train": int((~val).sum()),
        "n_val": int(val.sum()),
        "heatmap_loss": heatmap_loss,
        "resumed": resumed,
        "threads": torch.get_num_threads(),
        "calibration": calibration,
        "init": init,
        "global_rank": 0,
    }


def member_config(cfg: TrainConfig, i: int) -> TrainConfig:
    """The config of network ``i`` of an ensemble: one network, seed ``optim.seed + i``, its share
    of the wall-clock budget."""
    n = cfg.model.ensemble
    return dc_replace(cfg, model=dc_replace(cfg.model, ensemble=1),
                      optim=dc_replace(cfg.optim, seed=cfg.optim.seed + i, minutes=cfg.optim.minutes / n))


def _train_ensemble(labels_paths, out: Path, cfg: TrainConfig, progress: bool, resumed: bool) -> dict:
    """Train the networks of an ensemble one after another, then calibrate and plot the whole."""
    import shutil

    from mapose.config import save_yaml
    from mapose.io._files import atomic_path, ensure_folder, read_json, write_json
    from mapose.training.plots import save_training_curve

    n = cfg.model.ensemble
    ensure_folder(out)
    save_yaml(cfg, out / "config.yaml")
    results = []
    for i in range(n):
        member = out / "members" / str(i)
        done = member / "result.json"
        if done.exists():
            results.append(read_json(done, f"result of ensemble network {i + 1}"))
            continue
        mcfg = member_config(cfg, i)
        budget = f", {mcfg.optim.minutes:g} minutes" if mcfg.optim.minutes else ""
        say(f"ensemble: network {i + 1} of {n} (seed {mcfg.optim.seed}{budget}) -> {member}")
        res = train(labels_paths, member, mcfg, minutes=mcfg.optim.minutes or None, progress=progress)
        if res.get("global_rank", 0):  # other processes of a multi-device run: the first one finishes
            results.append(res)
            continue
        write_json(done, res)
        results.append(res)
    if any(r.get("global_rank", 0) for r in results):
        return {"model_dir": str(out), "global_rank": int(results[-1]["global_rank"])}
    first = out / "members" / "0"
    for name in ("skeleton.json", "split.json", "augmentation_preview.png"):  # the same for every network
        if (first / name).exists():
            with atomic_path(out / name) as tmp:
                shutil.copyfile(first / name, tmp)
    calibration = None
    if cfg.data.calibrate_offset:
        from mapose.training.calibration import calibrate_model

        full = calibrate_model(out, labels_paths)  # measured on the averaged outputs
        calibration = {k: full[k] for k in ("mode", "applied", "label_offset_px", "cv_median_px")}
    curve = out / "training_curve.png"
    save_training_curve([out / "members" / str(i) / "logs" / "csv" / "metrics.csv" for i in range(n)], curve)
    return {
        "model_dir": str(out),
        "best_checkpoint": [r["best_checkpoint"] for r in results],
        "best_val_loss": [r["best_val_loss"] for r in results],
        "steps": int(sum(r["steps"] for r in results)),
        "elapsed_s": round(sum(r["elapsed_s"] for r in results), 1),
        "training_curve": str(curve),
        "n_train": results[0]["n_train"],
        "n_val": results[0]["n_val"],
        "heatmap_loss": results[0].get("heatmap_loss"),
        "resumed": resumed,
        "calibration": calibration,
        "members": results,
        "global_rank": 0,
    }
