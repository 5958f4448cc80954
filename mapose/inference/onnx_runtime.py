"""Running a trained pose network with ONNX Runtime, and exporting it to ONNX.

On a CPU, ONNX Runtime runs the network about twice as fast as PyTorch in fp32, and as fast as
PyTorch in bf16 on CPUs that compute bf16 natively (the fly model, 384 x 384 px frames, 4-turn
test-time augmentation, 2 cores with AMX: 108 ms per frame vs 256 ms fp32 and 149 ms bf16;
``benchmarks/onnx_backend.py``), with the keypoints of PyTorch's fp32 (within 1e-4 px).  It
holds more memory than PyTorch (about 0.6 GB more for that video).
``mapose analyze`` uses it by default on a CPU (``--backend auto``); everything around the
network (resizing, padding, test-time augmentation, decoding, calibration) is unchanged.

- :func:`use_onnx` attaches a runtime to a loaded model (each network of an ensemble); the
  network is exported once per checkpoint and kept in ``<model folder>/onnx/`` (or a temporary
  folder when the model folder cannot be written);
- :func:`export_onnx` writes a network as ONNX: raw head outputs (for :func:`use_onnx`) or, for
  other programs (``mapose export``), with activations, plus a JSON description of its input
  and outputs.

The exporter is PyTorch's TorchScript-based one (seconds per network); the newer torch.export
path took over 9 minutes on this network on a 2-core CPU.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import tempfile
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np

from mapose.errors import ConfigError, MaposeError

#: ``--backend`` choices: ``auto`` (ONNX Runtime on a CPU when installed, in fp32; else PyTorch)
BACKENDS = ("auto", "torch", "onnx")
#: ONNX opset of exported networks
OPSET = 17
#: the network's input: normalised float ``(B, 3, H, W)``, H and W multiples of this
INPUT_MULTIPLE = 32


def onnx_available() -> bool:
    """True when ``onnx`` (to export) and ``onnxruntime`` (to run) are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))


def _networks(model: Any) -> list:
    """The :class:`~mapose.training.model.PoseModel` networks of ``model`` (an ensemble's members)."""
    from mapose.training.model import EnsembleModel, PoseModel

    if isinstance(model, EnsembleModel):
        return list(model.members)
    if isinstance(model, PoseModel):
        return [model]
    return []


def _device(model: Any) -> str:
    p = next(model.parameters(), None) if hasattr(model, "parameters") else None
    return p.device.type if p is not None else "cpu"


def resolve_backend(model: Any, backend: str = "auto", precision: str = "auto") -> str:
    """``"torch"`` or ``"onnx"`` for ``model``: ``auto`` picks ONNX Runtime for a trained network on
    the CPU when it is installed and the precision asked for is ``auto`` or ``fp32`` (ONNX Runtime
    computes in fp32; on CPUs with native bf16 it is as fast as PyTorch in bf16, elsewhere about
    twice PyTorch's fp32 speed); ``onnx`` raises when it cannot be used."""
    if backend not in BACKENDS:
        raise ConfigError(f"backend {backend!r} unknown; allowed: {', '.join(BACKENDS)}")
    if backend == "torch":
        return "torch"
    usable = bool(_networks(model)) and _device(model) == "cpu" and precision in ("auto", "fp32")
    if backend == "auto":
        return "onnx" if usable and onnx_available() else "torch"
    if not _networks(model):
        raise ConfigError("backend onnx runs mapose's trained networks; this model is another kind")
    if _device(model) != "cpu":
        raise ConfigError("backend onnx runs on the CPU; this model is on a GPU (use --backend torch, or --device cpu)")
    if precision not in ("auto", "fp32"):
        raise ConfigError(f"backend onnx computes in fp32; precision {precision} needs --backend torch")
    if not onnx_available():
        raise ConfigError("backend onnx needs the packages onnx and onnxruntime: pip install onnx onnxruntime")
    return "onnx"


def _heads_module(net, activated: bool):
    """The network as a module returning its heads as a tuple (the ONNX outputs), optionally activated."""
    import torch

    class Heads(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            out = self.net(x)
            if activated:
                out = self.net.activate(out)
            return tuple(out[r] for r in self.net.heads)

    return Heads().eval()


def export_onnx(net, path, activated: bool = False, shape: Optional[tuple[int, int, int, int]] = None) -> Path:
    """Write the network ``net`` (a :class:`~mapose.training.model.PoseModel`) to ``path`` as ONNX,
    atomically.  Input ``x``: normalised float ``(B, 3, H, W)`` (``(grey level - mean) / std`` per
    channel; H, W multiples of :data:`INPUT_MULTIPLE`); outputs: one per head (``heatmap``, ``paf``,
    ``offset``), ``(B, C, H / s, W / s)`` with ``s = net.net_stride``; logits for the heatmap
    unless ``activated``.  Batch size and picture size are free, or fixed to ``shape`` (a graph
    for one input shape runs about 20 % faster in ONNX Runtime)."""
    import torch

    from mapose.io._files import atomic_path

    names = list(net.heads)
    dynamic = None if shape else {"x": {0: "batch", 2: "height", 3: "width"},
                                  **{n: {0: "batch", 2: "out_height", 3: "out_width"} for n in names}}
    example = torch.zeros(*(shape or (1, 3, 2 * INPUT_MULTIPLE, 2 * INPUT_MULTIPLE)))
    was_training = net.training
    net.eval()
    try:
        with atomic_path(path) as tmp, warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice and tracer warnings
            torch.onnx.export(_heads_module(net, activated), (example,), str(tmp), input_names=["x"],
                              output_names=names, dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)
    except ImportError as exc:
        raise MaposeError(f"exporting to ONNX needs the package onnx ({exc}): pip install onnx") from None
    finally:
        net.train(was_training)
    return Path(path)


def describe(net, activated: bool = True) -> dict:
    """What a program needs to run an exported network: input layout and normalisation, output
    strides and activations, the skeleton."""
    from mapose.training.heads import ROLES

    mean = [float(v) for v in net.mean.flatten()]
    std = [float(v) for v in net.std.flatten()]
    return {
        "format": "mapose pose network", "opset": OPSET,
        "input": {"name": "x", "layout": "NCHW", "dtype": "float32", "channels": "RGB",
                  "normalise": {"mean": mean, "std": std, "formula": "(pixel - mean) / std, pixels 0..255"},
                  "size_multiple": INPUT_MULTIPLE,
                  "padding": "pad the right and bottom edges with black (0) to multiples of size_multiple, "
                             "then normalise; output cells beyond the picture are padding",
                  "resize_video_frames_by": float(net.input_scale)},
        "outputs": {r: {"stride": int(net.net_stride), "channels": int(ROLES[r].channels(net.skeleton)),
                        "activation": ("sigmoid" if r == "heatmap" else "none") if activated else "none (raw)"}
                    for r in net.heads},
        "skeleton": net.skeleton.to_dict(),
        "checksum": str(net.checksum),
    }


def _key(net) -> str:
    """A name for the network's weights: its checkpoint's checksum, else a hash of the weights."""
    import torch

    if net.checksum:
        return str(net.checksum)[:16]
    h = hashlib.sha256()
    for v in net.state_dict().values():
        if isinstance(v, torch.Tensor):
            h.update(v.detach().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def _cached_export(net, shape: Optional[tuple[int, ...]] = None) -> Path:
    """The network exported once (for any input shape, or for ``shape``):
    ``<model folder>/onnx/<key>[-BxCxHxW].onnx`` (a temporary folder when the model has no folder
    or it cannot be written)."""
    import torch

    fixed = "-" + "x".join(str(int(v)) for v in shape) if shape else ""
    name = f"{_key(net)}{fixed}-opset{OPSET}-torch{torch.__version__.split('+')[0]}.onnx"
    folders = []
    if getattr(net, "source_dir", None):
        folders.append(Path(net.source_dir) / "onnx")
    folders.append(Path(tempfile.gettempdir()) / "mapose-onnx")
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    problems = []
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return export_onnx(net, folder / name, shape=shape)
        except OSError as exc:  # a read-only model folder: the temporary folder next
            problems.append(f"{folder}: {exc.strerror or exc}")
    raise MaposeError(f"could not write the ONNX export of the network ({'; '.join(problems)})")


#: input shapes given a graph of their own per network, once seen twice (a video's full batches,
#: each turn of test-time augmentation); others (the last, shorter batch) run the graph for any shape
MAX_FIXED_SHAPES = 4


class OnnxNetwork:
    """Callable like the network's ``forward``: a float tensor ``(B, 3, H, W)`` in, a dict of raw
    head outputs (torch tensors) out, computed by ONNX Runtime on the CPU.  An input shape seen a
    second time gets a graph exported for that shape (faster; up to :data:`MAX_FIXED_SHAPES`);
    others run the graph for any shape."""

    def __init__(self, net, threads: Optional[int] = None):
        import onnxruntime as ort

        self.net, self.names = net, list(net.heads)
        self.options = ort.SessionOptions()
        if threads:
            self.options.intra_op_num_threads = int(threads)
        self.options.log_severity_level = 3  # no warnings on the console
        self.sessions: dict = {}
        self.paths: dict = {}
        self.seen: dict = {}
        self.path = self._session(None)[1]  # the graph for any shape, exported (or found) now

    def _session(self, shape):
        import onnxruntime as ort

        if shape not in self.sessions:
            path = _cached_export(self.net, shape)
            try:
                self.sessions[shape] = ort.InferenceSession(str(path), self.options,
                                                            providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime raises its own exception types
                raise MaposeError(f"{path}: ONNX Runtime cannot load it ({exc}); delete it to export it "
                                  "again") from None
            self.paths[shape] = path
        return self.sessions[shape], self.paths[shape]

    def __call__(self, x):
        import torch

        arr = np.ascontiguousarray(x.detach().float().cpu().numpy())
        shape = tuple(int(v) for v in arr.shape)
        self.seen[shape] = self.seen.get(shape, 0) + 1
        fixed = shape in self.sessions or (self.seen[shape] > 1 and len(self.sessions) - 1 < MAX_FIXED_SHAPES)
        session = self._session(shape if fixed else None)[0]
        outs = session.run(None, {"x": arr})
        return {n: torch.from_numpy(o) for n, o in zip(self.names, outs)}


def resolve_runtime(model: Any, backend: str = "auto", precision: str = "auto") -> tuple[str, str]:
    """``(backend, precision)`` that will run ``model``: ONNX Runtime computes in fp32, PyTorch in
    the precision :func:`mapose.inference.pipeline.resolve_precision` gives."""
    from mapose.inference.pipeline import resolve_precision

    used = resolve_backend(model, backend, precision)
    return used, ("fp32" if used == "onnx" else resolve_precision(model, precision))


def use_onnx(model: Any, threads: Optional[int] = None) -> Any:
    """Run ``model``'s networks with ONNX Runtime from now on (exported on first use); returns it."""
    import torch

    nets = _networks(model)
    if not nets:
        raise ConfigError("backend onnx runs mapose's trained networks; this model is another kind")
    threads = threads or torch.get_num_threads()
    for net in nets:
        net.runtime = OnnxNetwork(net, threads)
    return model


def use_torch(model: Any) -> Any:
    """Run ``model``'s networks with PyTorch again (undoes :func:`use_onnx`); returns it."""
    for net in _networks(model):
        net.runtime = None
    return model


def write_export(model: Any, out) -> list[Path]:
    """``mapose export``: each network of ``model`` as ONNX with activations, and its description
    beside it (``<out>.json``); an ensemble's networks as ``<stem>.<i>.onnx``."""
    from mapose.io._files import atomic_write_text

    out = Path(out)
    nets = _networks(model)
    if not nets:
        raise ConfigError("this model holds no network to export")
    paths = [out] if len(nets) == 1 else [out.with_name(f"{out.stem}.{i}{out.suffix}") for i in range(len(nets))]
    written = []
    for net, p in zip(nets, paths):
        export_onnx(net, p, activated=True)
        info = describe(net)
        if getattr(model, "calibration", None) is not None:
            info["calibration_note"] = ("the model corrects decoded keypoints for its labels' offsets "
                                        "(calibration.json in the model folder); apply it to positions in video pixels")
        if len(nets) > 1:
            info["ensemble"] = {"members": len(nets), "combine": "average the activated outputs"}
        atomic_write_text(p.with_name(p.name + ".json"), json.dumps(info, indent=1))
        written.append(p)
    return written
