"""The trained pose model: backbone + heads, input normalisation, ``predict``, save/load."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mapose.core.skeleton import Skeleton
from mapose.errors import ConfigError, MaposeError, MissingFileError
from mapose.models.backbone import FPNBackbone, normalisation_for
from mapose.training.config import TrainConfig
from mapose.training.heads import ROLES


def enabled_roles(cfg: TrainConfig) -> list[str]:
    """Head roles switched on in the config, in canonical order."""
    return [r for r in ROLES if getattr(cfg.heads, r).enabled]


#: Test-time augmentation: the views averaged by :meth:`PoseModel.predict`, each ``(quarter turns,
#: mirrored)``; mirrored views swap left/right body parts back (``Skeleton.symmetry``)
TTA_VIEWS = {
    "none": ((0, False),),
    "rot2": ((0, False), (2, False)),
    "rot4": tuple((k, False) for k in range(4)),
    "flip": ((0, False), (0, True)),
    "rot4flip": tuple((k, m) for m in (False, True) for k in range(4)),
}

#: Head roles whose channels are (x, y) vector pairs.
VECTOR_ROLES = ("paf", "offset")


def unturn_outputs(role: str, maps: torch.Tensor, k: int) -> torch.Tensor:
    """Outputs predicted for an image turned by ``torch.rot90(image, k, (-2, -1))``, expressed in
    the unturned image: the maps are turned back and, for vector fields (channels ``2i``, ``2i + 1``
    = x, y), each vector is turned back too."""
    k %= 4
    if k == 0:
        return maps
    maps = torch.rot90(maps, -k, (-2, -1))
    if role not in VECTOR_ROLES:
        return maps
    vx, vy = maps[:, 0::2], maps[:, 1::2]
    for _ in range(k):  # rot90 sends (x, y) to (y, W - 1 - x): a vector (u, v) becomes (v, -u)
        vx, vy = -vy, vx
    return torch.stack([vx, vy], dim=2).flatten(1, 2)


def mirror_maps(skeleton: Skeleton) -> tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]:
    """How a left/right mirror permutes output channels: ``(keypoints, edges, edge_signs)`` with
    ``new[k] = old[keypoints[k]]`` for heatmaps and offsets and ``new[e] = sign[e] * old[edges[e]]``
    for part-affinity fields (sign -1 where the mirrored edge is stored the other way round).
    ``edges`` and ``edge_signs`` are ``None`` when a mirrored edge is not an edge of the skeleton."""
    perm = skeleton.flip_permutation()
    index = {tuple(e): i for i, e in enumerate(skeleton.edges)}
    edges, signs = [], []
    for a, b in skeleton.edges:
        ma, mb = int(perm[a]), int(perm[b])
        if (ma, mb) in index:
            edges.append(index[(ma, mb)])
            signs.append(1.0)
        elif (mb, ma) in index:
            edges.append(index[(mb, ma)])
            signs.append(-1.0)
        else:
            return perm, None, None
    return perm, np.asarray(edges, dtype=np.int64), np.asarray(signs, dtype=np.float32)


def unmirror_outputs(role: str, maps: torch.Tensor, mirror) -> torch.Tensor:
    """Outputs predicted for ``torch.flip(image, (-1,))`` expressed in the unflipped image: maps
    flipped back, left/right channels swapped (``mirror`` from :func:`mirror_maps`), vector x
    components negated."""
    perm, edges, signs = mirror
    maps = torch.flip(maps, (-1,))
    if role == "heatmap":
        return maps[:, torch.as_tensor(perm)]
    b, c, h, w = maps.shape
    vec = maps.view(b, c // 2, 2, h, w)
    if role == "offset":
        vec = vec[:, torch.as_tensor(perm)]
    elif role == "paf" and edges is not None:
        sign = torch.as_tensor(signs, dtype=maps.dtype, device=maps.device).view(1, -1, 1, 1, 1)
        vec = vec[:, torch.as_tensor(edges)] * sign
    else:
        raise ValueError(f"no mirror rule for outputs {role!r}")
    return torch.stack([-vec[:, :, 0], vec[:, :, 1]], dim=2).reshape(b, c, h, w)


class PoseModel(nn.Module):
    """Backbone + one head per role.

    ``forward(x)`` takes normalised float images ``(B, 3, H, W)`` (H, W multiples of 32) and returns
    raw head outputs (logits for the heatmap); :meth:`predict` is the inference entry point.

    Attributes
    ----------
    skeleton, config
        The skeleton (channel order) and resolved :class:`TrainConfig`.
    stride
        Output stride in pixels of the images given to :meth:`predict` per output cell:
        ``config.model.stride / config.data.input_scale`` (a model trained on half-size frames with
        network stride 2 has ``stride == 4``: :meth:`predict` resizes internally).
    net_stride, input_scale
        Stride of the network on its own input, and the resize factor applied by :meth:`predict`.
    checksum
        sha256 of the checkpoint file the weights came from ("" when untrained).
    calibration
        Correction of decoded keypoints (video pixels) for the labels' systematic offsets, measured
        after training (:class:`mapose.training.calibration.Calibration`); ``None`` by default.
    tta
        Test-time augmentation of :meth:`predict`: a key of :data:`TTA_VIEWS` (see
        :class:`mapose.training.config.InferenceConfig`); starts as ``config.inference.tta``, ``auto``
        resolved by :func:`resolve_tta`.
    """

    def __init__(self, skeleton: Skeleton, config: TrainConfig, encoder_weights: Optional[str] = None):
        super().__init__()
        self.skeleton = skeleton
        self.config = config
        self.net_stride = int(config.model.stride)
        self.input_scale = float(config.data.input_scale)
        eff = self.net_stride / self.input_scale
        self.stride = int(round(eff)) if abs(eff - round(eff)) < 1e-9 else eff
        self.checksum = ""
        self.calibration = None
        self.tta = resolve_tta(config, skeleton)
        #: decode one animal per frame (``inference.single_animal``; ``auto`` is resolved from the
        #: training labels by :func:`resolve_single_animal` when the model is trained or loaded)
        self.single_animal = config.inference.single_animal is True
        #: most animals labelled in one training frame (recorded in split.json; None for models trained
        #: before it was recorded): ``mapose analyze`` tracks that many unless told otherwise
        self.max_animals_per_frame: Optional[int] = None
        #: longest labelled length of each edge in the training frames (pixels of the labelled
        #: frames; NaN: never labelled), recorded in split.json; assembly makes no connection
        #: longer than twice that (:func:`mapose.decode.frame.edge_length_limits`)
        self.edge_max_length_px: Optional[np.ndarray] = None
        #: farthest two labelled body parts of one animal in the training frames (pixels of the
        #: labelled frames), recorded in split.json; one-animal decoding takes no two parts farther
        #: apart than 1.5x that (:func:`mapose.decode.frame.animal_extent_limit`)
        self.animal_extent_px: Optional[float] = None
        #: ``(K, K)`` farthest labelled distance between each two body parts of one animal in the
        #: training frames (pixels of the labelled frames; NaN: never labelled together), recorded in
        #: split.json; one-animal decoding takes no two parts farther apart than 1.5x theirs
        self.part_distance_px: Optional[np.ndarray] = None
        #: :class:`mapose.decode.sides.BodySides`: the side of the body axis each left/right part is
        #: labelled on in the training frames (split.json); the assembly separates such a pair by it
        self.body_sides = None
        #: folder the model was loaded from (``None`` when built here)
        self.source_dir: Optional[str] = None
        #: what runs the network in :meth:`predict` instead of ``forward`` (an
        #: :class:`mapose.inference.onnx_runtime.OnnxNetwork`); ``None``: PyTorch
        self.runtime = None
        self.backbone = FPNBackbone(config.model.encoder, self.net_stride,
                                    config.model.decoder_channels, encoder_weights)
        self.heads = nn.ModuleDict({
            r: ROLES[r].make_module(self.backbone.out_channels, skeleton, config.model.head_channels)
            for r in enabled_roles(config) if ROLES[r].channels(skeleton) > 0  # no PAF without edges
        })
        mean, std = normalisation_for(config.model.encoder)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Grey levels 0..255 ``(B, 3, H, W)`` -> encoder input."""
        return (x - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.backbone(x)
        return {r: head(feats) for r, head in self.heads.items()}

    def network(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw head outputs of normalised images: ``forward``, or the attached ``runtime``."""
        return self(x) if self.runtime is None else self.runtime(x)

    @staticmethod
    def activate(raw: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Apply each head's decoder activation (contract outputs)."""
        return {r: ROLES[r].activate(v) for r, v in raw.items()}

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Outputs for uint8 images of any size.

        Parameters
        ----------
        images
            ``(B, H, W, 3)`` RGB or ``(B, H, W)`` / ``(B, H, W, 1)`` grey, uint8 (or float 0..255).

        Returns
        -------
        dict
            ``"heatmap"`` ``(B, K, h, w)`` in [0, 1], ``"paf"`` ``(B, 2E, h, w)``, ``"offset"``
            ``(B, 2K, h, w)`` (cells), with ``h = ceil(H / stride)``, ``w = ceil(W / stride)``.
        """
        if images.ndim == 3:
            images = images[..., None]
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise MaposeError(f"predict expects (B, H, W, 3) or (B, H, W) images; got {tuple(images.shape)}")
        if images.shape[-1] == 1:
            images = images.expand(-1, -1, -1, 3)
        was_training = self.training
        self.eval()
        dev = self.mean.device
        x = images.to(dev).permute(0, 3, 1, 2).float()
        big_h, big_w = x.shape[-2:]
        if self.input_scale != 1.0:  # pixel centres: x_small = (x + 0.5) * scale - 0.5
            size = (max(1, round(big_h * self.input_scale)), max(1, round(big_w * self.input_scale)))
            x = F.interpolate(x, size=size, mode="area" if self.input_scale < 1 else "bilinear")
        h, w = x.shape[-2:]
        x = self.normalise(F.pad(x, (0, (-w) % 32, 0, (-h) % 32)))
        views = TTA_VIEWS.get(self.tta)
        if views is None:
            raise ConfigError(f"tta {self.tta!r} unknown; allowed: {', '.join(TTA_VIEWS)}")
        mirror = None
        if any(m for _, m in views):
            unpaired = self.skeleton.unpaired_lateral_keypoints()
            if unpaired:
                raise ConfigError(
                    f"tta {self.tta!r} averages mirror images, but body parts {', '.join(unpaired[:8])} "
                    "look left/right-sided and the model's skeleton pairs none of them (a mirror would "
                    "trade them); use tta rot4, rot2 or none")
            mirror = mirror_maps(self.skeleton)
        out, count = {}, {}
        for k, mirrored in views:  # padded sides are multiples of the stride: turns and mirrors map cells onto cells
            xv = torch.flip(x, (-1,)) if mirrored else x
            o = self.activate(self.network(torch.rot90(xv, k, (-2, -1)) if k else xv))
            for r, v in o.items():
                v = unturn_outputs(r, v.float(), k)
                if mirrored:
                    if r == "paf" and mirror[1] is None:
                        continue  # mirrored edges that are no edges: fields from unmirrored views only
                    v = unmirror_outputs(r, v, mirror)
                out[r] = v if r not in out else out[r] + v
                count[r] = count.get(r, 0) + 1
        out = {r: v / count[r] if count[r] > 1 else v for r, v in out.items()}
        oh, ow = math.ceil(h / self.net_stride), math.ceil(w / self.net_stride)
        th, tw = math.ceil(big_h / self.stride), math.ceil(big_w / self.stride)
        if was_training:
            self.train()
        res = {}
        for k, v in out.items():
            v = v[..., :min(oh, th), :min(ow, tw)].float()
            res[k] = F.pad(v, (0, tw - v.shape[-1], 0, th - v.shape[-2]))
        return res


class EnsembleModel(nn.Module):
    """Networks trained independently on the same labels (``model.ensemble``): :meth:`predict`
    averages their heatmaps, part-affinity fields and offsets, each after its own test-time
    augmentation.  Otherwise it reads like a :class:`PoseModel` (``skeleton``, ``stride``,
    ``calibration``, ``tta``, ...); ``config`` is the ensemble's, ``checksum`` covers every member.
    """

    def __init__(self, members: list[PoseModel], config: TrainConfig):
        super().__init__()
        if not members:
            raise MaposeError("an ensemble needs at least one trained network")
        self.members = nn.ModuleList(members)
        first = members[0]
        self.skeleton = first.skeleton
        self.config = config
        self.net_stride, self.input_scale, self.stride = first.net_stride, first.input_scale, first.stride
        self.checksum = hashlib.sha256("".join(m.checksum for m in members).encode()).hexdigest()
        self.calibration = None
        self.single_animal = first.single_animal
        self.max_animals_per_frame: Optional[int] = None
        self.edge_max_length_px: Optional[np.ndarray] = None
        self.animal_extent_px: Optional[float] = None
        self.part_distance_px: Optional[np.ndarray] = None
        self.body_sides = None

    @property
    def tta(self) -> str:
        return self.members[0].tta

    @tta.setter
    def tta(self, value: str) -> None:
        for m in self.members:
            m.tta = value

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The members' :meth:`PoseModel.predict` outputs, averaged."""
        total: dict[str, torch.Tensor] = {}
        for m in self.members:
            for k, v in m.predict(images).items():
                total[k] = v if k not in total else total[k] + v
        return {k: v / len(self.members) for k, v in total.items()}


def build_untrained_model(skeleton: Skeleton, config: Optional[TrainConfig] = None) -> PoseModel:
    """A :class:`PoseModel` for ``skeleton``; the encoder gets the configured ImageNet weights
    (``packaged`` offline EfficientNet-Lite0/1/2 weights; Lite0 by default), the heads random
    weights.  With ``model.init`` the packaged weights are not read: :func:`init_from_trained`
    replaces them.  Eval mode."""
    from mapose.training.pretrained import load_packaged_into_smp_encoder, packaged_timm_name

    cfg = config or TrainConfig()
    weights = cfg.model.weights
    timm_name = packaged_timm_name(cfg.model.encoder) if weights == "packaged" and not cfg.model.init else None
    model = PoseModel(skeleton, cfg, encoder_weights="imagenet" if weights == "imagenet" else None)
    if timm_name:
        load_packaged_into_smp_encoder(model.backbone.encoder, timm_name)
    return model.eval()


#: Settings that must match for a trained model's weights to fit a new one (``model.init``).
ARCHITECTURE_KEYS = ("encoder", "stride", "decoder_channels", "head_channels")


def _channel_sources(role: str, new: Skeleton, old: Skeleton) -> list[tuple[int, int, float]]:
    """``(new channel, old channel, sign)`` of a head's output layer that mean the same thing in both
    skeletons: body parts matched by name, edges by their two parts' names (an edge stored the other
    way round in ``old`` has its field reversed: sign -1)."""
    if role == "paf":
        old_edges = {tuple(old.keypoints[i] for i in e): j for j, e in enumerate(old.edges)}
        out = []
        for j, (a, b) in enumerate(new.edges):
            na, nb = new.keypoints[a], new.keypoints[b]
            if (na, nb) in old_edges:
                jo, sign = old_edges[(na, nb)], 1.0
            elif (nb, na) in old_edges:
                jo, sign = old_edges[(nb, na)], -1.0
            else:
                continue
            out += [(2 * j, 2 * jo, sign), (2 * j + 1, 2 * jo + 1, sign)]
        return out
    per = 2 if role == "offset" else 1  # offsets: (dx, dy) per body part
    idx = {n: i for i, n in enumerate(old.keypoints)}
    return [(per * k + c, per * idx[n] + c, 1.0) for k, n in enumerate(new.keypoints) if n in idx
            for c in range(per)]


def init_from_trained(model: PoseModel, model_dir: str | Path) -> dict:
    """Start ``model`` from the weights of a trained model (fine-tuning, ``model.init``).

    The backbone and each head's hidden layer are copied whole; the output channels of body parts
    and edges the two skeletons share (by name) are copied one by one, so a body part added since
    keeps a fresh output channel and starts from the trained features.  The two models must share
    :data:`ARCHITECTURE_KEYS`.  Returns what was carried over: ``keypoints`` and ``edges`` (names),
    ``new_keypoints``, ``new_edges`` and ``heads`` (roles trained before).
    """
    src = load_model(model_dir, device="cpu")
    if isinstance(src, EnsembleModel):  # fine-tuning starts from one network: the first
        src = src.members[0]
    a, b = model.config.model, src.config.model
    diff = [f"model.{k}: {getattr(b, k)!r} there, {getattr(a, k)!r} here" for k in ARCHITECTURE_KEYS
            if getattr(a, k) != getattr(b, k)]
    if diff:
        raise ConfigError(f"model.init {model_dir}: its network differs from this one ({'; '.join(diff)}); "
                          "use the same model settings, or train without model.init")
    new, old = model.skeleton, src.skeleton
    shared = [n for n in new.keypoints if n in set(old.keypoints)]
    if not shared:
        raise ConfigError(f"model.init {model_dir}: its body parts ({', '.join(old.keypoints)}) share no name with "
                          f"these labels' ({', '.join(new.keypoints)})")
    with torch.no_grad():
        model.backbone.load_state_dict(src.backbone.state_dict())
        for role, head in model.heads.items():
            if role not in src.heads:
                continue
            old_head = src.heads[role]
            head.body.load_state_dict(old_head.body.state_dict())
            for c_new, c_old, sign in _channel_sources(role, new, old):
                head.out.weight[c_new] = sign * old_head.out.weight[c_old]
                head.out.bias[c_new] = sign * old_head.out.bias[c_old]
    edges = [f"{new.keypoints[i]}-{new.keypoints[j]}" for i, j in new.edges]
    carried_edges = {c // 2 for c, _, _ in _channel_sources("paf", new, old)}
    carried = [j in carried_edges for j in range(len(edges))]
    return {
        "keypoints": shared,
        "new_keypoints": [n for n in new.keypoints if n not in set(old.keypoints)],
        "edges": [e for e, c in zip(edges, carried) if c],
        "new_edges": [e for e, c in zip(edges, carried) if not c],
        "heads": [r for r in model.heads if r in src.heads],
    }


def read_checkpoint(path: str | Path, mmap: bool = False) -> dict:
    """The contents of a Lightning checkpoint file (on the CPU).  A file that is not a readable
    checkpoint (damaged, cut short, or another kind of file) raises :class:`~mapose.errors.FormatError`
    naming it."""
    from mapose.errors import FormatError

    p = Path(path)
    try:
        try:
            ckpt = torch.load(p, map_location="cpu", weights_only=False, mmap=mmap)
        except RuntimeError:
            if not mmap:
                raise
            ckpt = torch.load(p, map_location="cpu", weights_only=False)  # not a zip archive: say what it is
    except FileNotFoundError:
        raise MissingFileError(f"{p}: checkpoint not found") from None
    except Exception as exc:  # torch raises many kinds (pickle, zip, EOF, runtime) for a damaged file
        first = (str(exc).splitlines() or [""])[0].split(". ")[0]
        raise FormatError(f"{p}: cannot read this checkpoint; it is damaged or not a checkpoint written by "
                          f"'mapose train' ({type(exc).__name__}: {first})") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise FormatError(f"{p}: not a checkpoint written by 'mapose train' (it holds no network weights)")
    return ckpt


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def with_recorded_turns(cfg: TrainConfig, record: dict) -> TrainConfig:
    """A trained model's config with the turns its training used (``rotation_deg`` in
    ``split.json``, see :func:`mapose.training.train.fixed_view_turns`), which test-time augmentation follows."""
    used = record.get("rotation_deg")
    if used is None or float(used) == cfg.augment.rotation_deg:
        return cfg
    return dc_replace(cfg, augment=dc_replace(cfg.augment, rotation_deg=float(used)))


def resolve_tta(config: TrainConfig, skeleton: Skeleton) -> str:
    """``config.inference.tta``, with ``auto`` resolved from how the model was trained: ``rot4``
    when it saw every turn (``augment.rotation_deg`` >= 180), else ``flip`` when it saw mirror
    images (``augment.hflip`` > 0 and every left/right-looking body part paired, see
    :func:`mapose.training.train.mirror_safe_augmentation`), else ``none``."""
    tta = config.inference.tta
    if tta != "auto":
        return tta
    aug = config.augment
    if aug.enabled and aug.rotation_deg >= 180:
        return "rot4"
    if aug.enabled and aug.hflip > 0 and not skeleton.unpaired_lateral_keypoints():
        return "flip"
    return "none"


def resolve_single_animal(setting, max_animals_per_frame: Optional[int]) -> bool:
    """``inference.single_animal`` as a bool: ``auto`` is true when the training labels never hold
    more than one animal in a frame (unknown for models trained before this was recorded: false)."""
    if setting == "auto":
        return max_animals_per_frame is not None and max_animals_per_frame <= 1
    return bool(setting)


def resolve_device(device: str = "auto") -> str:
    """``"auto"``: the first CUDA GPU when torch sees one, else the CPU; any other torch device
    name is returned unchanged (``"cuda:1"``, ``"cpu"``, ``"mps"``)."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    return device


def check_device_available(device: str) -> None:
    """Raise :class:`ConfigError` when ``device`` (a resolved name) is a CUDA GPU this machine lacks."""
    dev = torch.device(device)
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0:
            raise ConfigError(f"device {device!r}: torch finds no CUDA GPU here; use cpu or auto")
        if dev.index is not None and dev.index >= n:
            raise ConfigError(f"device {device!r}: there are {n} CUDA GPU(s), numbered 0-{n - 1}")


def load_model(model_dir: str | Path, device: str = "cpu", checkpoint: str = "best",
               tta: Optional[str] = None) -> PoseModel | EnsembleModel:
    """Load a trained model from ``MODEL_DIR`` (``config.yaml``, ``skeleton.json``,
    ``checkpoints/<checkpoint>.ckpt``, and ``calibration.json`` when present), in eval mode on
    ``device`` (``"auto"``: a GPU when there is one); ``tta`` overrides the config's
    ``inference.tta``.  An ensemble (``model.ensemble`` > 1) loads each network from
    ``MODEL_DIR/members/<i>`` into an :class:`EnsembleModel`."""
    from mapose.config import load_yaml
    from mapose.io._files import require_model_folder

    d = require_model_folder(model_dir, "pose model")
    if not (d / "config.yaml").exists():
        raise MissingFileError(f"{d / 'config.yaml'}: not found; is {d} a model folder written by 'mapose train'?")
    cfg = load_yaml(d / "config.yaml", TrainConfig)
    from mapose.io._files import read_training_record

    record = read_training_record(d)
    if cfg.model.ensemble > 1:
        for i in range(cfg.model.ensemble):
            if not (d / "members" / str(i) / "result.json").exists():
                raise MissingFileError(
                    f"{d / 'members' / str(i)}: network {i + 1} of the ensemble of {cfg.model.ensemble} has not "
                    f"finished training; run the same 'mapose train ... --out {d}' again to resume it")
        model = EnsembleModel([load_model(d / "members" / str(i), "cpu", checkpoint)
                               for i in range(cfg.model.ensemble)], cfg)
    else:
        ckpt = d / "checkpoints" / f"{checkpoint}.ckpt"
        if not ckpt.exists() and checkpoint == "best":
            ckpt = d / "checkpoints" / "last.ckpt"
        for p in (d / "skeleton.json", ckpt):
            if not p.exists():
                raise MissingFileError(f"{p}: not found; is {d} a model folder written by 'mapose train'?")
        from mapose.io.skeletons import read_model_skeleton

        skeleton = read_model_skeleton(d)
        model = PoseModel(skeleton, with_recorded_turns(cfg, record))
        state = read_checkpoint(ckpt)["state_dict"]
        state = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
        model.load_state_dict(state)
        model.checksum = sha256_file(ckpt)
        model.source_dir = str(d)
    from mapose.training.calibration import read_calibration

    model.calibration = read_calibration(d)
    model.single_animal = resolve_single_animal(cfg.inference.single_animal,
                                                record.get("max_animals_per_frame"))
    most = record.get("max_animals_per_frame")
    model.max_animals_per_frame = int(most) if most else None
    lengths = record.get("edge_max_length_px")
    if lengths is not None and len(lengths) == model.skeleton.n_edges:
        model.edge_max_length_px = np.array([np.nan if v is None else v for v in lengths], dtype=np.float64)
    extent = record.get("animal_extent_px")
    model.animal_extent_px = None if extent is None else float(extent)
    distances = record.get("part_distance_px")
    k = model.skeleton.n_keypoints
    if distances is not None and len(distances) == k and all(len(row) == k for row in distances):
        model.part_distance_px = np.array([[np.nan if v is None else v for v in row] for row in distances],
                                          dtype=np.float64)
    from mapose.decode.sides import BodySides

    model.body_sides = BodySides.from_json(record.get("body_sides"), model.skeleton)
    if tta is not None:  # checked by predict
        model.tta = resolve_tta(model.config, model.skeleton) if tta == "auto" else tta
    device = resolve_device(device)
    check_device_available(device)
    return model.to(device).eval()


def skeleton_json(skeleton: Skeleton) -> str:
    return json.dumps(skeleton.to_dict(), indent=1)
