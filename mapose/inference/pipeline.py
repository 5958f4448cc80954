"""Streaming analysis of a video: frames -> model -> decoding -> tracking -> pose file.

Memory is bounded: frames are decoded by a background thread a few batches ahead
(:class:`~mapose.inference.frames.BatchReader`), model outputs are decoded batch by batch, and only
the compact per-frame instances are kept (and saved every ``chunk_size`` frames, so an interrupted
run resumes, see :mod:`mapose.inference.chunks`).  Tracking needs the whole video's detections,
which are small (a few numbers per animal per frame).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from mapose import __version__
from mapose.allocator import release_memory
from mapose.core.detections import Detections
from mapose.decode import decode_batch, filter_instances, to_detections
from mapose.decode.frame import (animal_extent_limit, edge_length_limits, model_min_keypoint_score,
                                 use_single_animal)
from mapose.config import CheckedConfig
from mapose.errors import ValidationError
from mapose.inference.chunks import ChunkStore
from mapose.inference.frames import BatchReader, Preprocess, probe_video
from mapose.inference.onnx_runtime import resolve_runtime, use_onnx, use_torch


@dataclass(frozen=True)
class DecodeOptions(CheckedConfig):
    """Options of :func:`mapose.decode.decode_frame` used by the analysis (see there)."""

    peak_threshold: float = 0.1
    max_animals: Optional[int] = None
    nms_radius: int = 1
    max_peaks: Optional[int] = 32
    keep_singletons: bool = True
    merge_radius: Optional[float] = None
    n_samples: int = 10
    min_sample_score: float = 0.05
    min_fraction: float = 0.8
    attach_score: Optional[float] = 0.3
    peak_weight: float = 1.0
    coincident_radius: Optional[float] = 1.0
    body_sides: bool = True
    """Use the side of the body each left/right part was labelled on (``model.body_sides``) to
    separate a pair left on one spot (:func:`mapose.decode.decode_frame`)."""
    single_animal: Optional[bool] = None
    """``None``: the model's ``single_animal`` (``inference.single_animal``) unless more than one
    animal is asked for (``max_animals`` > 1)."""
    min_keypoint_score: Optional[float] = None
    """Keypoints scored lower are written as missing; ``None``: the model's
    ``inference.min_keypoint_score`` (0 unless its training config set it)."""


@dataclass
class Timings:
    """Seconds spent in each stage of an analysis.

    ``read`` (video decoding) runs in a background thread and ``decode`` (peaks + assembly) in a
    worker thread by default, so both overlap ``model``; ``decode_wait`` is the time the main loop
    waited for decoded results (the part of ``decode`` that was not hidden).
    """

    read: float = 0.0
    model: float = 0.0
    decode: float = 0.0
    decode_wait: float = 0.0
    track: float = 0.0
    write: float = 0.0
    total: float = 0.0
    frames: int = 0
    resumed_from_frame: int = 0

    def fps(self) -> float:
        """End-to-end frames per second."""
        return self.frames / self.total if self.total > 0 else float("nan")

    def shares(self) -> dict[str, float]:
        """Fraction of the total wall time of each stage."""
        t = self.total if self.total > 0 else float("nan")
        return {k: getattr(self, k) / t
                for k in ("read", "model", "decode", "decode_wait", "track", "write")}


def _calibration_summary(model) -> Optional[dict]:
    cal = getattr(model, "calibration", None)
    return None if cal is None else cal.summary()


def file_checksum(path: str | Path) -> str:
    """sha256 of a video file (``mapose.io.video.video_checksum`` when that module exists)."""
    try:
        from mapose.io.video import video_checksum  # type: ignore[import-not-found]
    except ImportError:
        video_checksum = None
    if video_checksum is not None:
        return str(video_checksum(path))
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _config_dict(config: Any) -> Any:
    if config is None:
        return None
    try:
        from mapose.config import to_dict

        return to_dict(config)
    except Exception:  # a model from elsewhere with a plain dict/other config
        try:
            return asdict(config)
        except TypeError:
            return str(config)


def model_input_scale(model: Any, scale: Optional[float]) -> float:
    """The resize factor applied to video frames before ``model.predict``.

    ``scale`` when given.  Otherwise 1 for models whose ``predict`` resizes to their training scale
    itself (they have an ``input_scale`` attribute and a ``stride`` relative to the frames given to
    ``predict``), else the model config's ``data.input_scale``.
    """
    if scale is not None:
        return float(scale)
    if hasattr(model, "input_scale"):
        return 1.0
    cfg = getattr(model, "config", None)
    return float(getattr(getattr(cfg, "data", None), "input_scale", 1.0) or 1.0)


def resolve_precision(model: Any, precision: str = "auto") -> str:
    """``"fp32"`` or ``"bf16"`` for PyTorch: ``auto`` picks bf16 where the hardware computes it
    natively (CPUs with AVX512-BF16/AMX, recent GPUs) -- about twice as fast on such CPUs; the
    keypoints differ from fp32's by noise (on the 55 labelled fly frames, cross-validated: RMSE
    4.76 vs 4.77 px, OKS mAP 0.922 vs 0.920).  On a CPU, ``mapose analyze`` runs the network with
    ONNX Runtime in fp32 instead when it can (:mod:`mapose.inference.onnx_runtime`)."""
    import torch

    if precision not in ("auto", "fp32", "bf16"):
        raise ValidationError(f"precision {precision!r} unknown; allowed: auto, fp32, bf16")
    if precision != "auto":
        return precision
    dev = "cpu"
    if isinstance(model, torch.nn.Module):
        p = next(model.parameters(), None)
        dev = p.device.type if p is not None else "cpu"
    try:
        if dev == "cpu":
            ok = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        elif dev == "cuda":
            ok = bool(torch.cuda.is_bf16_supported())
        else:
            ok = False
    except (AttributeError, RuntimeError):
        ok = False
    return "bf16" if ok else "fp32"


def predict_video(
    model: Any,
    video: str | Path,
    *,
    batch_size: int = 8,
    crop: Optional[tuple[int, int, int, int]] = None,
    scale: Optional[float] = None,
    decode: DecodeOptions = DecodeOptions(),
    partial_dir: Optional[str | Path] = None,
    chunk_size: int = 500,
    progress: bool = True,
    on_chunk: Optional[Callable[[int], None]] = None,
    timings: Optional[Timings] = None,
    video_checksum: Optional[str] = None,
    threads: Optional[int] = None,
    channels_last: bool = True,
    precision: str = "auto",
    decode_in_thread: bool = True,
    min_keypoints: int = 1,
    backend: str = "auto",
    frames: Optional[tuple[int, Optional[int]]] = None,
) -> Detections:
    """Run a pose model over a video and decode every frame (streaming, resumable).

    Parameters
    ----------
    model
        A :class:`mapose.training.PoseModel` (or any object with ``skeleton``, ``stride``,
        ``checksum`` and ``predict(uint8 tensor (B, H, W[, C])) -> dict of tensors``).
    video
        Video file.
    batch_size
        Frames per model call.
    crop, scale
        ``(x, y, w, h)`` crop in video pixels and resize factor applied before the model (default:
        see :func:`model_input_scale`); keypoints are mapped back to the video's pixels.
    decode
        Decoding options.
    partial_dir
        Folder of chunked temporary results; ``None`` keeps everything in memory (no resume).
    chunk_size
        Frames per saved chunk (rounded up to a multiple of ``batch_size`` so that a resumed run
        feeds the model exactly the same batches).
    on_chunk
        Called with the chunk index after each chunk is saved.
    timings
        Accumulates stage times when given.
    video_checksum
        Checksum for the resume fingerprint (computed when ``None`` and ``partial_dir`` is set).
    threads
        Torch intra-op threads during the run (``None``: torch's default).
    channels_last
        Convert ``model`` (in place) to the channels-last memory format, which is faster for
        convolutions on CPU; the frames arrive channels-last already.
    precision
        ``"fp32"``, ``"bf16"`` (autocast) or ``"auto"`` (see :func:`resolve_precision`).
    decode_in_thread
        Decode batch ``i`` in a worker thread while the model runs batch ``i + 1`` (same results;
        ``Timings.decode`` then overlaps ``Timings.model``).
    min_keypoints
        Return only instances with at least this many keypoints (2 drops the singletons); applied
        chunk by chunk, so memory holds only the kept instances.
    backend
        What runs the network: ``"torch"``, ``"onnx"`` (ONNX Runtime, about twice as fast on a CPU)
        or ``"auto"`` (ONNX Runtime for a trained network on the CPU in fp32 when installed); see
        :mod:`mapose.inference.onnx_runtime`.
    frames
        ``(start, stop)``: analyse only frames ``start <= frame < stop`` (``stop`` ``None``: to the
        end); see :func:`frame_range`.

    Returns
    -------
    Detections
        All instances in video pixels, singletons included, at their frame numbers in the video;
        ``n_frames`` = the frame after the last one decoded.
    """
    import torch

    info = probe_video(video)
    pre = Preprocess(crop, model_input_scale(model, scale), info.grey)
    pre.check(info)
    skeleton, stride = model.skeleton, model.stride
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValidationError(f"batch_size must be >= 1, got {batch_size}")
    chunk = -(-int(chunk_size) // batch_size) * batch_size
    tm = timings if timings is not None else Timings()
    dec_kw = asdict(decode)
    dec_kw["single_animal"] = use_single_animal(getattr(model, "single_animal", False),
                                                decode.max_animals, decode.single_animal)
    if dec_kw.get("edge_limits") is None:
        dec_kw["edge_limits"] = edge_length_limits(model, model_input_scale(model, scale))
    if dec_kw.get("max_extent") is None:
        dec_kw["max_extent"] = animal_extent_limit(model, model_input_scale(model, scale))
    dec_kw["body_sides"] = getattr(model, "body_sides", None) if decode.body_sides else None
    dec_kw["min_keypoint_score"] = model_min_keypoint_score(model, decode.min_keypoint_score)
    backend, prec = resolve_runtime(model, backend, precision)
    dev_type = "cpu"
    if isinstance(model, torch.nn.Module):
        p0 = next(model.parameters(), None)
        dev_type = p0.device.type if p0 is not None else "cpu"
    first, total_frames = frame_range(frames, info.n_frames, info.path.name)
    store: Optional[ChunkStore] = None
    first_chunk = 0
    if partial_dir is not None:
        spec = {
            "video": info.path.name, "video_size": info.path.stat().st_size,
            "video_checksum": video_checksum or file_checksum(info.path),
            "model_checksum": str(getattr(model, "checksum", "")),
            "calibration": _calibration_summary(model),
            "skeleton": skeleton.to_dict(), "stride": stride, "crop": crop, "scale": pre.scale,
            "grey": pre.grey, "decode": dec_kw, "batch_size": batch_size, "chunk_size": chunk,
            "precision": prec, "tta": getattr(model, "tta", "none"), "backend": backend,
            "mapose": __version__,
        }
        if frames is not None:  # recorded only when asked for: partial results of whole videos stay valid
            spec["frames"] = [first, None if total_frames >= 2**62 else total_frames]
        store = ChunkStore(partial_dir, spec, chunk, first_frame=first)
        first_chunk, finished = store.open()
        if finished:
            return store.load(skeleton, info.fps, str(info.path), min_keypoints)
    start = first + first_chunk * chunk
    tm.resumed_from_frame = start if first_chunk else 0
    kept: list[Detections] = []
    buf_idx: list[np.ndarray] = []
    buf_res: list = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=(total_frames - first if total_frames < 2**62 else None), initial=start - first,
                   unit="frame", desc=info.path.name, dynamic_ncols=True)

    # the labels' systematic offsets measured after training (mapose.training.calibration)
    calibration = getattr(model, "calibration", None)

    def flush(c: int, n_read: int, last: bool) -> None:
        idx = np.concatenate(buf_idx) if buf_idx else np.zeros(0, np.int64)
        det = to_detections(buf_res, skeleton, idx, scale=pre.scale, origin=pre.origin,
                            fps=info.fps, source=str(info.path))
        if calibration is not None:
            det = dc_replace(det, keypoints=calibration.apply(det.keypoints))
        if store is not None:
            store.save(c, det.frame, det.keypoints, det.keypoint_scores, det.instance_scores,
                       n_read, last)
        else:
            kept.append(filter_instances(det, min_keypoints=min_keypoints))
        buf_idx.clear()
        buf_res.clear()
        if on_chunk is not None:
            on_chunk(c)

    reader = BatchReader(info, pre, start, total_frames, batch_size)
    state = {"c": first_chunk, "chunk_start": start, "next": start}
    prev_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    if channels_last and isinstance(model, torch.nn.Module) and backend == "torch":
        model.to(memory_format=torch.channels_last)

    def decode_timed(out_np):
        t = time.perf_counter()
        res = decode_batch(out_np, skeleton, stride, **dec_kw)
        return res, time.perf_counter() - t

    def collect(idx, res, dt) -> None:
        """Results of one batch, in frame order; saves a chunk when one is complete."""
        buf_res.extend(res)
        buf_idx.append(idx)
        tm.decode += dt
        state["next"] = int(idx[-1]) + 1
        tm.frames += len(idx)
        if bar is not None:
            bar.update(len(idx))
        if state["next"] - state["chunk_start"] >= chunk and state["next"] < total_frames:
            flush(state["c"], state["next"] - state["chunk_start"], last=False)
            state["c"], state["chunk_start"] = state["c"] + 1, state["next"]

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mapose-decode") \
        if decode_in_thread else None
    pending: deque = deque()
    try:
        if backend == "onnx":
            use_onnx(model, threads)  # exported once per checkpoint, kept in the model folder
        with torch.inference_mode():
            for idx, imgs in reader:
                t0 = time.perf_counter()
                with torch.autocast(dev_type, dtype=torch.bfloat16, enabled=prec == "bf16"):
                    out = model.predict(torch.from_numpy(imgs))
                out_np = {k: v.detach().float().cpu().numpy() for k, v in out.items()}
                tm.model += time.perf_counter() - t0
                if pool is None:
                    res, dt = decode_timed(out_np)
                    tm.decode_wait += dt
                    collect(idx, res, dt)
                    continue
                # Decode this batch while the model runs the next one (at most 2 in flight).
                pending.append((idx, pool.submit(decode_timed, out_np)))
                while len(pending) > 1:
                    i0, fut = pending.popleft()
                    t1 = time.perf_counter()
                    res, dt = fut.result()
                    tm.decode_wait += time.perf_counter() - t1
                    collect(i0, res, dt)
            while pending:
                i0, fut = pending.popleft()
                t1 = time.perf_counter()
                res, dt = fut.result()
                tm.decode_wait += time.perf_counter() - t1
                collect(i0, res, dt)
            flush(state["c"], state["next"] - state["chunk_start"], last=True)
    finally:
        for _, fut in pending:
            fut.cancel()
        if pool is not None:
            pool.shutdown(wait=True)
        tm.read += reader.read_seconds
        torch.set_num_threads(prev_threads)
        if backend == "onnx":
            use_torch(model)
        if bar is not None:
            bar.close()
    next_frame = max(state["next"], first)
    if store is not None:
        return store.load(skeleton, info.fps, str(info.path), min_keypoints)
    det = Detections.concatenate(kept)
    return Detections(frame=det.frame, keypoints=det.keypoints, keypoint_scores=det.keypoint_scores,
                      instance_scores=det.instance_scores, skeleton=skeleton, n_frames=next_frame,
                      fps=info.fps, source=str(info.path))


def frame_range(frames: Optional[tuple[int, Optional[int]]], n_frames: int, name: str = "the video"
                ) -> tuple[int, int]:
    """``(start, stop)`` of the frames to analyse: ``frames`` checked against a video of ``n_frames``
    frames (``0`` = unknown; ``stop`` is then ``2**62``, read to the end), clipped to its end.

    Raises
    ------
    ValidationError
        A negative start, a stop not after the start, or a start past the video's end.
    """
    end = n_frames if n_frames > 0 else 2**62
    if frames is None:
        return 0, end
    start, stop = frames
    start = int(start)
    if start < 0:
        raise ValidationError(f"the first frame to analyse must be >= 0, got {start}")
    if stop is not None and int(stop) <= start:
        raise ValidationError(f"frames {start}:{stop} hold no frame: the stop must be after the start")
    if start >= end:
        raise ValidationError(f"{name} has {n_frames} frames (0-{n_frames - 1}); frames {start}:"
                              f"{'' if stop is None else stop} are past its end")
    return start, end if stop is None else min(int(stop), end)


def parse_frame_range(text: str) -> tuple[int, Optional[int]]:
    """``"START:STOP"`` (Python slice: STOP not included; either may be left out) or ``"N"`` (one frame)
    as ``(start, stop)``; :class:`ValidationError` naming the expected form otherwise."""
    parts = str(text).strip().split(":")
    try:
        if len(parts) == 1:
            n = int(parts[0])
            return n, n + 1
        if len(parts) == 2:
            return (int(parts[0]) if parts[0].strip() else 0,
                    int(parts[1]) if parts[1].strip() else None)
    except ValueError:
        pass
    raise ValidationError(f"frames must be START:STOP (e.g. 1000:2000, 1000: or :500), got {text!r}")


@dataclass
class AnalysisResult:
    """What :func:`analyze_video` did: the output file, the frames analysed and stage timings."""

    output: Path
    n_frames: int
    #: animals detected (after ``min_keypoints``), before tracking
    n_detections: int
    timings: Timings
    resumed_from_frame: int = 0
    provenance: dict = field(default_factory=dict)
    #: animals in the output (frame x identity with a keypoint): detections the tracker did not leave out
    n_tracked: int = 0
    #: identities in the output
    n_identities: int = 0


def parse_n_animals(value: int | str | None, name: str = "n_animals") -> int | str:
    """A number of animals as given by a user: a whole number (at least 1), ``"auto"`` (also for
    ``None``) or ``"any"``; :class:`ValidationError` naming ``name`` otherwise."""
    if value is None or value in ("auto", "any"):
        return value or "auto"
    try:
        n = int(value)
        whole = n == float(value)
    except (TypeError, ValueError):
        whole = False
    if not whole:
        raise ValidationError(f"{name} must be a whole number, auto or any, got {value!r}")
    if n < 1:
        raise ValidationError(f"{name} must be at least 1, got {value}")
    return n


def resolve_n_animals(model: Any, n_animals: int | str | None = "auto",
                      decode: Optional[DecodeOptions] = None) -> Optional[int]:
    """Animals per frame and identities of an analysis (``None``: a count that varies).

    An integer (at least 1) is kept; ``"any"`` gives ``None``; ``"auto"`` or ``None``:
    ``decode.max_animals`` when set, else 1 for one-animal decoding (one identity for the whole
    video, not one per tracklet), else the most animals labelled in one of the model's training frames
    (``model.max_animals_per_frame``, as DeepLabCut tracks the individuals of its project), else
    ``None`` (models trained before that was recorded, or a one-animal model decoded as many).
    """
    n_animals = parse_n_animals(n_animals)
    if n_animals == "any":
        return None
    if n_animals != "auto":
        return n_animals
    if decode is not None and decode.max_animals is not None:
        return int(decode.max_animals)
    requested = decode.single_animal if decode is not None else None
    if use_single_animal(getattr(model, "single_animal", False), None, requested):
        return 1
    most = getattr(model, "max_animals_per_frame", None)
    if most is not None and (most > 1 or requested is None):
        return int(most)
    return None


def analyze_video(
    model: Any,
    video: str | Path,
    out: str | Path,
    *,
    n_animals: int | str | None = "auto",
    batch_size: int = 8,
    crop: Optional[tuple[int, int, int, int]] = None,
    scale: Optional[float] = None,
    decode: Optional[DecodeOptions] = None,
    min_keypoints: int = 2,
    chunk_size: int = 500,
    tracker: Any = None,
    threads: Optional[int] = None,
    precision: str = "auto",
    progress: bool = True,
    on_chunk: Optional[Callable[[int], None]] = None,
    model_dir: Optional[str | Path] = None,
    backend: str = "auto",
    frames: Optional[tuple[int, Optional[int]]] = None,
) -> AnalysisResult:
    """Analyse one video and write tracked poses to ``out`` (format from its extension).

    Steps: :func:`predict_video` (resumable through ``<out>.partial/``), drop instances with fewer
    than ``min_keypoints`` keypoints (the decoder's singletons), track with ``tracker`` (default
    :class:`mapose.tracking.Tracker` with ``n_animals``), record provenance in the attrs
    (``provenance`` JSON: mapose version, model checksum and config, video checksum, options), write
    atomically with :func:`mapose.io.write_tracks`, then remove the partial folder.

    Parameters
    ----------
    n_animals
        Maximum animals per frame (decoding) and number of identities (tracking); ``"auto"`` (or
        ``None``): as many as the model's training frames held at most, see :func:`resolve_n_animals`;
        ``"any"``: a count that varies (the tracker joins tracks across gaps and leaves out
        background and pieces of animals; see :class:`mapose.tracking.Tracker`).
    min_keypoints
        Instances with fewer keypoints are not tracked (nor loaded from the partial results).
    tracker
        Object with ``fit_track(detections, video=..., start=...) -> Tracks`` (``start`` given only with
        ``frames`` that start after frame 0).
    threads
        Torch intra-op threads (``None``: torch's default).
    precision
        Model arithmetic: ``auto``, ``fp32`` or ``bf16`` (see :func:`resolve_precision`).
    model_dir
        Recorded in the provenance.
    backend
        What runs the network (``auto``, ``torch``, ``onnx``; see :func:`predict_video`).
    frames
        ``(start, stop)``: analyse only frames ``start <= frame < stop`` (``stop`` ``None``: to the
        end). The output holds those frames, at their frame numbers in the video.

    Returns
    -------
    AnalysisResult
    """
    from mapose.io import format_for_output, write_tracks

    t_start = time.perf_counter()
    out = Path(out)
    format_for_output(out)  # fail early on an unknown extension
    n_animals = resolve_n_animals(model, n_animals, decode)
    dec = decode or DecodeOptions(max_animals=n_animals)
    if decode is not None and n_animals is not None and decode.max_animals is None:
        dec = DecodeOptions(**{**asdict(decode), "max_animals": n_animals})
    cutoff = model_min_keypoint_score(model, dec.min_keypoint_score)
    dec = DecodeOptions(**{**asdict(dec), "min_keypoint_score": cutoff})  # the provenance records it
    tm = Timings()
    vsum = file_checksum(video)
    partial = out.with_name(out.name + ".partial")
    det = predict_video(model, video, batch_size=batch_size, crop=crop, scale=scale, decode=dec,
                        partial_dir=partial, chunk_size=chunk_size, progress=progress,
                        on_chunk=on_chunk, timings=tm, video_checksum=vsum, threads=threads,
                        precision=precision, backend=backend, frames=frames)
    first = int(frames[0]) if frames is not None else 0
    used_backend, used_precision = resolve_runtime(model, backend, precision)
    chunk = -(-int(chunk_size) // int(batch_size)) * int(batch_size)
    t0 = time.perf_counter()
    animals = filter_instances(det, min_keypoints=min_keypoints)
    del det
    release_memory()
    if tracker is None:
        from mapose.tracking import Tracker

        tracker = Tracker(n_animals=n_animals)
    ds = tracker.fit_track(animals, video=str(video), **({"start": first} if first else {}))
    t1 = time.perf_counter()
    tm.track += t1 - t0
    provenance = {
        "mapose_version": __version__,
        "model_checksum": str(getattr(model, "checksum", "")),
        "model_dir": str(model_dir) if model_dir is not None else "",
        "calibration": _calibration_summary(model),
        "model_config": _config_dict(getattr(model, "config", None)),
        "video": str(video),
        "video_checksum": vsum,
        "options": {"n_animals": n_animals, "batch_size": batch_size, "crop": crop,
                    "scale": model_input_scale(model, scale), "min_keypoints": min_keypoints,
                    "decode": asdict(dec), "tracker": repr(tracker),
                    "precision": used_precision, "backend": used_backend,
                    "tta": getattr(model, "tta", "none")},
    }
    if frames is not None:
        provenance["options"]["frames"] = [first, int(animals.n_frames)]
    ds.attrs["provenance"] = json.dumps(provenance, sort_keys=True, default=str)
    ds.attrs["source_software"] = "mapose"
    ds.attrs["source_file"] = str(video)
    ds.attrs["video_path"] = str(video)
    write_tracks(ds, out)
    swaps = getattr(tracker, "swap_events_", None)
    if swaps is not None:  # the review queue of the dashboard, as `mapose track` writes it
        from mapose.io.tables import save_feature_table

        save_feature_table(swaps, Path(out).with_name(Path(out).name + ".swaps.csv"))
    tm.write += time.perf_counter() - t1
    ChunkStore(partial, {}, chunk).remove()
    tm.total += time.perf_counter() - t_start
    seen = np.isfinite(ds["position"].transpose("time", "individuals", ...).values)
    n_tracked = int(seen.reshape(seen.shape[0], seen.shape[1], -1).any(axis=2).sum())
    return AnalysisResult(out, animals.n_frames - first, len(animals), tm, tm.resumed_from_frame, provenance,
                          n_tracked=n_tracked, n_identities=int(ds.sizes["individuals"]))


__all__ = ["AnalysisResult", "DecodeOptions", "Timings", "analyze_video", "file_checksum", "frame_range",
           "model_input_scale", "parse_frame_range", "parse_n_animals", "predict_video", "resolve_n_animals",
           "resolve_precision"]
