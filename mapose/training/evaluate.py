"""Score a trained model on labelled frames: full multi-animal inference (model -> peaks + PAF
assembly in :mod:`mapose.decode`), Hungarian matching, metrics of :mod:`mapose.training.metrics`,
and images of the worst frames."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from mapose.core.labels import Labels
from mapose.errors import ConfigError, FormatError
from mapose.io._files import read_json


def select_frames(labels: Labels, frames: str, split_json: Optional[Path]) -> np.ndarray:
    """Indices of the labelled images to evaluate.

    ``frames``: ``val`` (default: every labelled frame whose (video file name, frame) is not in the
    model's training split -- frames the model never saw), ``train``, ``all``, or a video-frame
    range ``A:B`` (``A <= frame < B``, either side may be empty).  Only images whose instances are
    ground truth count (:meth:`Labels.ground_truth_images`: not those with predictions only).
    """
    n = len(labels.images)
    keys = [(Path(v).name, f) for v, f in labels.frame_keys()]
    truth = labels.ground_truth_images()
    if frames in ("val", "train"):
        if split_json is None or not split_json.exists():
            raise ConfigError(f"--frames {frames} needs the model's split.json ({split_json})")
        rec = read_json(split_json, "training record (split.json)")
        try:
            trained = {(Path(r["video"]).name, int(r["frame"])) for r in rec["train"]}
        except (KeyError, TypeError, ValueError):
            raise FormatError(f"{split_json}: not a training record written by 'mapose train' (no list of "
                              "training frames with their video and frame)") from None
        src = Path(labels.source).resolve() if labels.source else None
        if src is not None and any(Path(r.get("labels", "")).resolve() == src for r in rec["train"]) \
                and not trained.intersection(keys):
            raise ConfigError(f"{split_json} lists training frames of {labels.source} that do not match its "
                              "frames (a model trained by an older mapose, or an edited label file); "
                              "choose frames with --frames A:B")
        sel = [i for i, k in enumerate(keys) if (k in trained) == (frames == "train")]
    elif frames == "all":
        sel = list(range(n))
    elif ":" in frames:
        a, b = frames.split(":", 1)
        try:
            lo = int(a) if a.strip() else -np.inf
            hi = int(b) if b.strip() else np.inf
        except ValueError:
            raise ConfigError(f"--frames {frames!r}: expected val, train, all or A:B") from None
        if (np.isfinite(lo) and lo < 0) or (np.isfinite(hi) and hi <= 0) or hi <= lo:
            raise ConfigError(f"--frames {frames!r}: video frames A:B need 0 <= A < B (A or B may be left out)")
        sel = [i for i, k in enumerate(keys) if lo <= k[1] < hi]
    else:
        raise ConfigError(f"--frames {frames!r}: expected val, train, all or A:B (video frames)")
    sel = [i for i in sel if truth[i]]
    if not sel:
        raise ConfigError(f"--frames {frames}: no labelled frame selected (of {n}; "
                          f"{int(truth.sum())} with instances placed by a person or none at all)")
    return np.array(sel, dtype=np.int64)


def predict_frames(model, images: list[np.ndarray], batch_size: int = 4, **decode_kw):
    """Run ``model`` on ``(H, W, C)`` uint8 images (at the model's input scale) and decode.

    Returns lists of keypoints ``(n, K, 2)`` (pixels of the given images, corrected by the model's
    ``calibration`` when it has one), keypoint scores and instance scores.
    """
    import torch

    from mapose.decode import decode_batch
    from mapose.decode.frame import (animal_extent_limit, edge_length_limits, model_min_keypoint_score,
                                     use_single_animal)

    decode_kw["single_animal"] = use_single_animal(getattr(model, "single_animal", False),
                                                   decode_kw.get("max_animals"),
                                                   decode_kw.get("single_animal"))
    decode_kw["min_keypoint_score"] = model_min_keypoint_score(model, decode_kw.get("min_keypoint_score"))
    if decode_kw.get("edge_limits") is None:
        decode_kw["edge_limits"] = edge_length_limits(model)
    if decode_kw.get("max_extent") is None:
        decode_kw["max_extent"] = animal_extent_limit(model)
    sides = decode_kw.get("body_sides", True)  # True: the model's; False: none
    decode_kw["body_sides"] = getattr(model, "body_sides", None) if sides is True else (sides or None)
    kps, kss, iss = [], [], []
    calibration = getattr(model, "calibration", None)
    i = 0
    while i < len(images):
        shape = images[i].shape
        j = i
        while j < len(images) and j - i < batch_size and images[j].shape == shape:
            j += 1
        batch = torch.from_numpy(np.stack(images[i:j]))
        out = {k: v.cpu().numpy() for k, v in model.predict(batch).items()}
        for kp, ks, ins in decode_batch(out, model.skeleton, model.stride, **decode_kw):
            kps.append(kp if calibration is None else calibration.apply(kp))
            kss.append(ks)
            iss.append(ins)
        i = j
    return kps, kss, iss


def predict_labelled(
    model_dir: str | Path,
    labels_path: str | Path,
    frames: str = "val",
    checkpoint: str = "best",
    max_animals: Optional[int] = None,
    peak_threshold: float = 0.1,
    device: str = "cpu",
    tta: Optional[str] = None,
    single_animal: Optional[bool] = None,
    min_keypoint_score: Optional[float] = None,
) -> dict:
    """Run ``MODEL_DIR`` on the chosen labelled frames (:func:`select_frames`) of a label file.

    Returns a dict: ``model``, ``labels``, ``images`` (the evaluated images), ``frames`` (their
    video frame numbers), ``single_animal`` (the decoding used) and, per image, ``gts`` (the
    person-placed instances, ``(n, K, 2)``), ``keypoints``, ``keypoint_scores`` and
    ``instance_scores`` (the predictions; keypoints scored below ``min_keypoint_score``, by default the
    model's ``inference.min_keypoint_score``, missing).  :func:`evaluate_model` scores them;
    ``benchmarks/cross_validate.py`` pools them over folds.
    """
    from mapose.core.skeleton import place_keypoints
    from mapose.data.frames import load_images
    from mapose.decode.frame import use_single_animal
    from mapose.io import read_labels
    from mapose.training.model import load_model

    model = load_model(model_dir, device=device, checkpoint=checkpoint, tta=tta)
    labels = read_labels(labels_path)
    sel = select_frames(labels, frames, Path(model_dir) / "split.json")
    imgs_all = load_images(labels, sel)
    imgs = [imgs_all[i] for i in sel]
    # predict() resizes by the model's input_scale itself; keypoints come back in frame pixels
    single = use_single_animal(model.single_animal, max_animals, single_animal)
    kps, kss, iss = predict_frames(model, imgs, max_animals=max_animals, peak_threshold=peak_threshold,
                                   keep_singletons=False, single_animal=single,
                                   min_keypoint_score=min_keypoint_score)
    # in the model's keypoint order: a label file may name fewer body parts, or order them differently
    kp = place_keypoints(labels.instances.keypoints, labels.skeleton.keypoints, model.skeleton,
                         f"label file {labels_path}")
    gts = [kp[(labels.instances.frame == i) & labels.is_user] for i in sel]
    keys = labels.frame_keys()
    return {"model": model, "labels": labels, "images": imgs, "frames": [int(keys[i][1]) for i in sel],
            "single_animal": single, "gts": gts, "keypoints": kps, "keypoint_scores": kss,
            "instance_scores": iss}


def evaluate_model(
    model_dir: str | Path,
    labels_path: str | Path,
    frames: str = "val",
    checkpoint: str = "best",
    max_animals: Optional[int] = None,
    peak_threshold: float = 0.1,
    worst_dir: Optional[str | Path] = None,
    n_worst: int = 4,
    device: str = "cpu",
    tta: Optional[str] = None,
    pcutoff: float = 0.6,
    single_animal: Optional[bool] = None,
    min_keypoint_score: Optional[float] = None,
) -> dict:
    """Evaluate ``MODEL_DIR`` on frames of a label file; see :mod:`mapose.training.metrics` for the
    metric definitions.  Returns the metrics dict (plus ``frames``: the evaluated video frames).
    ``tta`` overrides the model's test-time augmentation (``config.inference.tta``); ``pcutoff``
    is the keypoint score of the RMSE with p-cutoff (DeepLabCut's default 0.6); ``single_animal``
    forces one-animal decoding on or off (``None``: the model's ``inference.single_animal``);
    ``min_keypoint_score``: keypoints scored lower count as not found (``None``: the model's
    ``inference.min_keypoint_score``).  A label file may name fewer body parts than the model
    (``not_scored``: the model's parts it lacks)."""
    from mapose.decode.frame import model_min_keypoint_score
    from mapose.training.metrics import pose_metrics

    run = predict_labelled(model_dir, labels_path, frames, checkpoint, max_animals, peak_threshold,
                           device, tta, single_animal, min_keypoint_score)
    model, gts, kps = run["model"], run["gts"], run["keypoints"]
    res = pose_metrics(gts, kps, run["instance_scores"], model.skeleton.keypoints,
                       keypoint_scores=run["keypoint_scores"], pcutoff=pcutoff)
    res["frames"] = run["frames"]
    res["model_checksum"] = model.checksum
    res["tta"] = model.tta
    res["ensemble"] = int(model.config.model.ensemble)
    res["single_animal"] = run["single_animal"]
    res["min_keypoint_score"] = model_min_keypoint_score(model, min_keypoint_score)
    res["calibration"] = None if model.calibration is None else model.calibration.summary()
    res["labels"] = str(labels_path)
    res["not_scored"] = [k for k in model.skeleton.keypoints if k not in run["labels"].skeleton.keypoints]
    if worst_dir is not None:
        res["worst_frame_images"] = save_worst_frames(
            run["images"], gts, kps, res["per_frame_mean_px"], res["frames"], Path(worst_dir), n_worst)
    return res


def save_worst_frames(images, gts, preds, per_frame, frame_ids, out: Path, n: int) -> list[str]:
    """Write the ``n`` frames with the largest mean error: GT green circles, predictions red
    crosses, matched pairs joined by yellow lines."""
    import cv2

    from mapose.io._files import atomic_path
    from mapose.training.metrics import match_instances

    score = np.array([np.inf if v is None else v for v in per_frame])
    order = np.argsort(-score)[:n]
    paths = []
    for rank, i in enumerate(order):
        img = images[i]
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.shape[2] == 1 else img[..., ::-1].copy()
        up = 2
        img = cv2.resize(img, (img.shape[1] * up, img.shape[0] * up), interpolation=cv2.INTER_NEAREST)
        g, p = np.asarray(gts[i]), np.asarray(preds[i])
        for gi, pi in match_instances(g, p):
            for a, b in zip(g[gi], p[pi]):
                if np.isfinite(a).all() and np.isfinite(b).all():
                    cv2.line(img, tuple(int(v) for v in a * up), tuple(int(v) for v in b * up), (0, 220, 255), 1)
        for inst in g:
            for a in inst:
                if np.isfinite(a).all():
                    cv2.circle(img, tuple(int(v) for v in a * up), 4, (0, 200, 0), 1)
        for inst in p:
            for b in inst:
                if np.isfinite(b).all():
                    cv2.drawMarker(img, tuple(int(v) for v in b * up), (0, 0, 255), cv2.MARKER_TILTED_CROSS, 7, 1)
        txt = f"frame {frame_ids[i]}: mean err {score[i]:.1f} px (green GT, red prediction)"
        cv2.putText(img, txt, (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
        path = out / f"worst{rank + 1}_frame{frame_ids[i]}.png"
        with atomic_path(path) as tmp:
            cv2.imwrite(str(tmp), img)
        paths.append(str(path))
    return paths
