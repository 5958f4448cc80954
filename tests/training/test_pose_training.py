"""Training on a tiny synthetic set: loss falls; CLI train writes MODEL_DIR, resumes, evaluates."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from mapose.config import from_dict, to_dict
from mapose.errors import FormatError
from mapose.data.dataset import TrainDataset, _collate, samples_from_labels
from mapose.training.callbacks import BudgetSchedule, lr_factor
from mapose.training.config import TrainConfig
from mapose.training.model import build_untrained_model
from mapose.training.module import PoseLightningModule
from mapose.training.train import target_spec

TINY = {
    "data": {"crop_size": 64, "samples_per_epoch": 8},
    "model": {"decoder_channels": 32, "head_channels": 16},
    "heads": {"heatmap": {"sigma": 3.0}},
    "optim": {"batch_size": 4, "lr": 0.003, "warmup_steps": 1},
}


def test_loss_falls_on_synthetic_set(synthetic_labels):
    torch.manual_seed(0)
    cfg = from_dict(TrainConfig, {**TINY, "augment": {"enabled": False}})
    samples = samples_from_labels([synthetic_labels])
    ds = TrainDataset(samples, target_spec(cfg), to_dict(cfg.augment), 64, 4)
    batch = _collate([ds[i] for i in range(4)])
    module = PoseLightningModule(build_untrained_model(samples.skeleton, cfg).train())
    opt = torch.optim.AdamW(module.parameters(), lr=3e-3)
    losses = []
    for _ in range(20):
        loss = module._losses(batch)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.75 * losses[0], losses
    assert np.mean(losses[-5:]) < np.mean(losses[:5])


def test_channels_last_training_computes_the_same_step(synthetic_labels):
    from mapose.data.dataset import trains_on_gpu

    cfg = from_dict(TrainConfig, {**TINY, "augment": {"enabled": False}})
    samples = samples_from_labels([synthetic_labels])
    ds = TrainDataset(samples, target_spec(cfg), to_dict(cfg.augment), 64, 4)
    batch = _collate([ds[i] for i in range(4)])
    losses, grads = {}, {}
    for layout in (False, True):
        torch.manual_seed(0)
        module = PoseLightningModule(build_untrained_model(samples.skeleton, cfg).train(), channels_last=layout)
        first_conv = next(p for p in module.parameters() if p.ndim == 4 and p.shape[-1] > 1)
        assert first_conv.is_contiguous(memory_format=torch.channels_last) == layout
        module.eval()  # no dropout, whose random masks follow the memory order
        loss = module._losses(batch)["loss"]
        loss.backward()
        losses[layout] = float(loss.detach())
        grads[layout] = torch.cat([p.grad.flatten() for p in module.parameters()])
    # the same arithmetic in another memory order: loss and gradients equal up to float rounding
    assert losses[True] == pytest.approx(losses[False], rel=1e-5)
    assert (grads[True] - grads[False]).norm() < 1e-5 * grads[False].norm()
    # trainer.channels_last auto: on the CPU only
    auto = from_dict(TrainConfig, {}).trainer
    assert auto.channels_last == "auto" and auto.channels_last_for(on_gpu=False)
    assert not auto.channels_last_for(on_gpu=True)
    assert from_dict(TrainConfig, {"trainer": {"channels_last": True}}).trainer.channels_last_for(on_gpu=True)
    assert not trains_on_gpu("auto", gpu_available=False) and trains_on_gpu("auto", gpu_available=True)
    assert trains_on_gpu("gpu", gpu_available=False) and not trains_on_gpu("cpu", gpu_available=True)
    assert trains_on_gpu("mps", gpu_available=False) and trains_on_gpu("tpu", gpu_available=False)


def test_lr_schedule_warmup_then_cosine():
    assert lr_factor(0, 0.0, 10, 0.0) == pytest.approx(0.1)
    assert lr_factor(50, 0.0, 10, 0.0) == pytest.approx(1.0)
    assert lr_factor(50, 0.5, 10, 0.0) == pytest.approx(0.5)
    assert lr_factor(50, 1.0, 10, 0.02) == pytest.approx(0.02)
    cb = BudgetSchedule(1e-3, minutes=1.0)
    cb.elapsed_before = 30.0
    state = cb.state_dict()
    cb2 = BudgetSchedule(1e-3, minutes=1.0)
    cb2.load_state_dict(state)
    assert cb2.progress(0) == pytest.approx(0.5, abs=0.01)  # budget counts across resumes


def test_progress_bar_shows_the_budget_not_an_epoch_count():
    from mapose.training.callbacks import budget_status, progress_bar

    timed = BudgetSchedule(1e-3, minutes=20.0, max_steps=100000)
    timed.elapsed_before = 125.0
    assert budget_status(timed, 749).startswith("2:05 of 20:00, step 749")
    assert budget_status(BudgetSchedule(1e-3, max_steps=3000), 12) == "step 12 of 3000"
    long = BudgetSchedule(1e-3, minutes=90.0)
    long.elapsed_before = 3725.0
    assert budget_status(long, 1).startswith("1:02:05 of 1:30:00")
    bar = progress_bar(timed)
    # training runs until its budget ends (max_epochs -1): Lightning itself would write "Epoch 14/-2"
    assert bar._get_train_description(14).strip() == "Epoch 14"


def _info_lines(main, folder) -> list[str]:
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["info", str(folder)]) == 0
    return buf.getvalue().splitlines()


@pytest.mark.slow
def test_cli_train_resume_evaluate(synthetic_labels, tmp_path, monkeypatch, capsys):
    import yaml

    import mapose.io as mio
    from mapose.cli import main

    # the CLI reads label files through mapose.io.read_labels: serve the in-memory synthetic set

    monkeypatch.setattr(mio, "read_labels", lambda p, format=None, **kw: synthetic_labels)
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text(yaml.safe_dump({**TINY, "split": {"method": "frame_threshold", "threshold": 4}}))
    out = tmp_path / "model"
    args = ["train", "--labels", "synthetic.slp", "--out", str(out), "--config", str(cfg_path),
            "--max-steps", "3", "--no-progress"]
    assert main(args) == 0
    for name in ("config.yaml", "skeleton.json", "split.json", "checkpoints/best.ckpt",
                 "checkpoints/last.ckpt", "training_curve.png", "augmentation_preview.png"):
        assert (out / name).exists(), name
    split = json.loads((out / "split.json").read_text())
    assert {r["frame"] for r in split["val"]} == {4, 5}
    assert split["max_animals_per_frame"] == 2  # two animals per frame: assembled, not single-animal
    # the weight average (optim.ema_decay) is what the best checkpoint holds; raw weights ride along
    best = torch.load(out / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=False)
    raw, averaged = best["current_model_state"], best["state_dict"]
    assert raw.keys() == averaged.keys()
    assert any(not torch.equal(raw[k], averaged[k]) for k in raw if raw[k].is_floating_point())
    log = out / "logs" / "csv" / "metrics.csv"
    first_log = pd.read_csv(log)
    assert first_log["step"].max() >= 2
    # same command again: resumes from last.ckpt (max_steps already reached -> stops at once)
    assert main(args) == 0
    # the training log of the first run is still there (Lightning's CSV logger deletes metrics.csv on
    # starting again; it is kept aside and joined back)
    pd.testing.assert_frame_equal(pd.read_csv(log)[first_log.columns], first_log)
    assert not (log.parent / "metrics.earlier.csv").exists()
    # 'mapose info' describes the folder from its files (it holds PNGs, so it is not a folder of images)
    capsys_out = _info_lines(main, out)
    assert "pose model folder (from 'mapose train --out')" in capsys_out[0]
    assert any(ln.startswith("labelled frames: ") and "2 held out (split: frame_threshold 4)" in ln
               for ln in capsys_out)
    assert any(ln.startswith("training:   3 steps at the last checkpoint") and "checkpoints: best, last" in ln
               for ln in capsys_out), capsys_out
    from mapose.training import load_model

    model = load_model(out)
    assert len(model.checksum) == 64 and model.stride == 4
    assert model.max_animals_per_frame == 2  # what 'mapose analyze' tracks without --n-animals
    res_path = tmp_path / "eval.json"
    assert main(["evaluate", "--model", str(out), "--labels", "synthetic.slp", "--json",
                 str(res_path)]) == 0
    res = json.loads(res_path.read_text())
    for key in ("rmse_px", "median_px", "pck3", "pck5", "map_oks", "map_oks_strict", "per_keypoint"):
        assert key in res
    assert res["frames"] == [4, 5]  # only frames the model never saw
    assert res["tta"] == "rot4"  # the config's default test-time augmentation
    assert main(["evaluate", "--model", str(out), "--labels", "synthetic.slp", "--json",
                 str(tmp_path / "eval_plain.json"), "--tta", "none"]) == 0
    assert json.loads((tmp_path / "eval_plain.json").read_text())["tta"] == "none"
    # keypoints scored below a cutoff count as not found (the model's own cutoff, 0, by default)
    assert res["min_keypoint_score"] == 0.0
    assert main(["evaluate", "--model", str(out), "--labels", "synthetic.slp", "--json",
                 str(tmp_path / "eval_cut.json"), "--min-keypoint-score", "0.5"]) == 0
    cut = json.loads((tmp_path / "eval_cut.json").read_text())
    assert cut["min_keypoint_score"] == 0.5 and cut["detected"] <= res["detected"]
    # the label calibration was measured after training, on the training frames only
    cal = json.loads((out / "calibration.json").read_text())
    assert cal["frames"] == 4 and cal["checkpoint"] == "best" and cal["mode"] in ("none", "offset", "offset+body")
    assert (res["calibration"] is None) == (not cal["applied"])

    # an applied offset is added to every prediction of the loaded model
    from mapose.training.evaluate import predict_frames

    imgs = [np.asarray(cv2.imread(r.image, cv2.IMREAD_GRAYSCALE))[..., None]
            for r in synthetic_labels.images[4:]]
    (out / "calibration.json").unlink()
    before, _, _ = predict_frames(load_model(out), imgs, keep_singletons=True, peak_threshold=0.0)
    (out / "calibration.json").write_text(json.dumps(
        {"label_offset_px": [1.5, -2.0], "applied": True, "body_offsets_px": None, "template": None}))
    shifted = load_model(out)
    np.testing.assert_allclose(shifted.calibration.offset, [1.5, -2.0])
    after, _, _ = predict_frames(shifted, imgs, keep_singletons=True, peak_threshold=0.0)
    assert sum(len(b) for b in before) > 0
    for b, a in zip(before, after):
        assert a.shape == b.shape and np.array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose((a - b)[np.isfinite(b).all(-1)], np.broadcast_to(
            [1.5, -2.0], (int(np.isfinite(b).all(-1).sum()), 2)), atol=1e-9)
    (out / "calibration.json").write_text("{not json")
    with pytest.raises(FormatError, match="calibration.json"):
        load_model(out)

    # damaged files of the model folder are named by loading, 'mapose info' and resuming ('mapose train')
    from mapose.errors import SkeletonError

    (out / "calibration.json").unlink()
    for name, error in (("skeleton.json", SkeletonError), ("split.json", FormatError),
                        ("checkpoints/best.ckpt", FormatError)):
        good = (out / name).read_bytes()
        (out / name).write_bytes(good[: len(good) // 2])  # cut short, as by a full disk or a broken copy
        with pytest.raises(error, match=name.split("/")[-1]):
            load_model(out)
        (out / name).write_bytes(good)
    last = out / "checkpoints" / "last.ckpt"
    good = last.read_bytes()
    last.write_bytes(good[: len(good) // 2])
    assert main(["info", str(out)]) == 2
    assert "last.ckpt: cannot read this checkpoint; it is damaged" in capsys.readouterr().err
    assert main(args) == 2
    assert f"cannot resume training from it: delete {last}" in capsys.readouterr().err
    last.write_bytes(good)
    (out / "split.json").write_text('{"train": [1,')
    assert main(["info", str(out)]) == 2
    assert "split.json: cannot read the training record (split.json) (not valid JSON" in capsys.readouterr().err


def _rot(a):
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def test_calibration_body_offsets_turn_with_the_animal():
    from mapose.training.calibration import Calibration, rotation_to

    template = np.array([[10.0, 0.0], [0.0, 0.0], [-10.0, 0.0], [-5.0, 4.0]])
    body = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])  # "head labelled 1 px forward"
    inst = template @ _rot(np.pi / 2).T + [100.0, 50.0]  # the animal turned by 90 degrees
    np.testing.assert_allclose(rotation_to(template, inst), _rot(np.pi / 2), atol=1e-12)
    out = Calibration(np.array([0.5, 0.0]), body, template).apply(inst[None])
    np.testing.assert_allclose(out[0] - inst, [[0.5, 1.0], [0.5, 0.0], [0.5, 0.0], [0.5, 0.0]], atol=1e-12)
    partial = inst.copy()
    partial[1:] = np.nan  # too few keypoints for an orientation: only the image-frame offset
    np.testing.assert_allclose(Calibration(np.array([0.5, 0.0]), body, template).apply(partial[None])[0, 0],
                               inst[0] + [0.5, 0.0])


def test_calibration_recovers_image_and_body_offsets_and_leaves_unbiased_models_alone():
    from mapose.training.calibration import estimate_calibration, read_calibration

    rng = np.random.default_rng(0)
    shape = rng.uniform(-30, 30, (8, 2))
    c = np.array([1.8, -2.2])  # labels sit here relative to what the model finds (image frame)
    b = rng.normal(0, 1.5, (8, 2))  # and per keypoint in the animal's frame
    gts, unbiased, biased = [], [], []
    for _ in range(40):
        g = np.stack([shape @ _rot(a).T + rng.uniform(80, 300, 2) for a in rng.uniform(-np.pi, np.pi, 2)])
        p = g + rng.normal(0, 1.0, g.shape)
        gts.append(g)
        unbiased.append(p)
        rots = [_rot(np.arctan2(*(gi[0] - gi[1])[::-1]) - np.arctan2(*(shape[0] - shape[1])[::-1])) for gi in g]
        biased.append(np.stack([pi - c - b @ r.T for pi, r in zip(p, rots)]))
    biased[0][0, :2] += 40.0  # gross errors do not move the fit
    est = estimate_calibration(gts, biased)
    assert est["mode"] == "offset+body" and est["applied"]
    np.testing.assert_allclose(est["label_offset_px"], c, atol=0.3)
    # body offsets are expressed in the fitted template's frame: same lengths as the truth
    np.testing.assert_allclose(np.hypot(*np.asarray(est["body_offsets_px"]).T), np.hypot(*b.T), atol=0.4)
    cv = est["cv_median_px"]
    assert cv["offset+body"] < cv["offset"] < cv["none"]
    none = estimate_calibration(gts, unbiased)
    assert none["mode"] == "none" and not none["applied"]
    assert estimate_calibration(gts[:1], [g[:0] for g in gts[:1]])["mode"] == "none"  # nothing matched
    # round trip through calibration.json
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "calibration.json").write_text(json.dumps(est))
        cal = read_calibration(d)
        np.testing.assert_allclose(cal.offset, est["label_offset_px"])
        assert cal.body.shape == (8, 2) and cal.template.shape == (8, 2)
    # applying it to the biased predictions brings them back to the labels (noise 1 px)

    def median_error(preds):
        from mapose.training.metrics import matched_errors

        e = np.concatenate([matched_errors(g, p).ravel() for g, p in zip(gts, preds)])
        return float(np.median(e[np.isfinite(e)]))

    corrected = [cal.apply(p) for p in biased]
    assert median_error(biased) > 2.5
    assert median_error(corrected) < 1.1 * median_error(unbiased)




def test_ema_average_follows_the_ramped_decay():
    from torch.optim.swa_utils import AveragedModel

    from mapose.training.callbacks import ema_multi_avg_fn

    net = torch.nn.Linear(3, 2)
    avg = AveragedModel(net, multi_avg_fn=ema_multi_avg_fn(0.9), use_buffers=True)
    expected = None
    for n in range(30):
        with torch.no_grad():
            net.weight.fill_(float(n))
        avg.update_parameters(net)
        if expected is None:
            expected = 0.0  # the first update copies the weights
        else:
            d = min(0.9, (1 + n) / (10 + n))  # n earlier updates averaged
            expected = d * expected + (1 - d) * n
        np.testing.assert_allclose(avg.module.weight.detach().numpy(), expected, rtol=1e-5)
    assert 20 < expected < 29  # lags behind the raw weights (29)


def _train_tiny(labels, tmp_path, monkeypatch, name):
    import yaml

    import mapose.io as mio
    from mapose.cli import main

    monkeypatch.setattr(mio, "read_labels", lambda p, format=None, **kw: labels)
    cfg_path = tmp_path / f"{name}.yaml"
    cfg_path.write_text(yaml.safe_dump({**TINY, "split": {"method": "frame_threshold", "threshold": 4},
                                        "optim": {**TINY["optim"], "ema_decay": 0.0}}))
    out = tmp_path / name
    assert main(["train", "--labels", "x.slp", "--out", str(out), "--config", str(cfg_path),
                 "--max-steps", "2", "--no-progress"]) == 0
    return out


def test_val_fraction_holds_out_blocks_or_nothing(synthetic_labels, tmp_path, monkeypatch, capsys):
    import yaml

    import mapose.io as mio
    from mapose.cli import main

    monkeypatch.setattr(mio, "read_labels", lambda p, format=None, **kw: synthetic_labels)
    cfg_path = tmp_path / "tiny.yaml"
    cfg_path.write_text(yaml.safe_dump({**TINY, "optim": {**TINY["optim"], "ema_decay": 0.0},
                                        "data": {**TINY["data"], "calibrate_offset": False}}))
    n_frames = len(np.unique(synthetic_labels.instances.frame))
    for fraction, n_val in (("0", 0), ("0.5", n_frames // 2)):
        out = tmp_path / f"model_{fraction}"
        assert main(["train", "--labels", "x.slp", "--out", str(out), "--config", str(cfg_path),
                     "--val-fraction", fraction, "--max-steps", "1", "--no-progress"]) == 0
        split = json.loads((out / "split.json").read_text())
        assert len(split["val"]) == n_val, (fraction, split["val"])
        assert (out / "checkpoints" / "best.ckpt").exists()
        said = capsys.readouterr().out
        assert f"labelled frames: {n_frames - n_val} for training, {n_val} held out for validation" in said
        assert f"only {n_frames - n_val} frames to train on" in said  # a handful: what to expect is said
        assert ("no frame held out: the best checkpoint is the last one" in said) == (n_val == 0)
    # without held-out frames, 'mapose evaluate' says how to score the training frames
    assert main(["evaluate", "--model", str(tmp_path / "model_0"), "--labels", "x.slp", "--json",
                 str(tmp_path / "e.json")]) == 2
    assert "--frames" in capsys.readouterr().err
    assert main(["train", "--labels", "x.slp", "--out", str(tmp_path / "bad"), "--val-fraction", "1.5"]) == 2
    assert "split.val_fraction 1.5 must be above 0 and below 1" in capsys.readouterr().err
    # the default holds out one contiguous block in ten
    assert from_dict(TrainConfig, {}).split.val_fraction == 0.1


def test_labels_without_edges_get_a_tree_of_the_nearest_body_parts(synthetic_labels, tmp_path, monkeypatch):
    from mapose.core.detections import Detections
    from mapose.core.labels import Labels
    from mapose.core.skeleton import Skeleton
    from mapose.training import load_model
    from mapose.core.skeleton import tree_edges

    # head-thorax and thorax-tail are 9 px apart, head-tail 18: the tree is the chain
    assert tree_edges(synthetic_labels.instances.keypoints[None], 3) == [(0, 1), (1, 2)]
    # never labelled together: not linked
    kp = np.array([[[0.0, 0.0], [5.0, 0.0], [np.nan, np.nan]], [[np.nan, np.nan], [5.0, 0.0], [9.0, 0.0]]])
    assert tree_edges([kp], 3) == [(0, 1), (1, 2)]
    assert tree_edges([kp[:1]], 3) == [(0, 1)]

    lab = synthetic_labels
    bare = Skeleton(lab.skeleton.keypoints)
    det = lab.instances
    no_edges = Labels(bare, lab.images, Detections(frame=det.frame, keypoints=det.keypoints,
                      keypoint_scores=det.keypoint_scores, instance_scores=det.instance_scores,
                      skeleton=bare, n_frames=det.n_frames), root=lab.root, source=lab.source)
    out = _train_tiny(no_edges, tmp_path, monkeypatch, "tree")
    saved = json.loads((out / "skeleton.json").read_text())
    assert saved["edges"] == [["head", "thorax"], ["thorax", "tail"]]
    assert "paf" in load_model(out).heads

    # one keypoint per animal: no edge at all, so no part-affinity head; the model still finds animals
    one = Skeleton(("thorax",))
    single = Labels(one, lab.images, Detections(frame=det.frame, keypoints=det.keypoints[:, 1:2],
                    keypoint_scores=det.keypoint_scores[:, 1:2], instance_scores=det.instance_scores,
                    skeleton=one, n_frames=det.n_frames), root=lab.root, source=lab.source)
    out1 = _train_tiny(single, tmp_path, monkeypatch, "single")
    model = load_model(out1)
    assert "paf" not in model.heads
    outputs = model.predict(torch.zeros(1, 64, 64, dtype=torch.uint8))
    assert set(outputs) == {"heatmap", "offset"} and outputs["heatmap"].shape == (1, 1, 16, 16)


def test_single_animal_labels_make_a_single_animal_model(synthetic_labels, tmp_path, monkeypatch):
    """Frames with one labelled animal: the model decodes one animal per frame (each keypoint at
    its best peak) unless told otherwise, recorded in split.json, overridable by config and CLI."""
    import yaml

    from mapose.cli import main
    from mapose.core.labels import Labels
    from mapose.training import load_model

    lab = synthetic_labels
    det = lab.instances
    first = np.flatnonzero(np.r_[True, det.frame[1:] != det.frame[:-1]])  # first animal of each frame
    one = Labels(lab.skeleton, lab.images, det.select(first),
                 root=lab.root, source=lab.source)
    assert len(one.instances.frame) == 6
    out = _train_tiny(one, tmp_path, monkeypatch, "one")
    assert json.loads((out / "split.json").read_text())["max_animals_per_frame"] == 1
    assert load_model(out).single_animal
    res = {}
    for mode in ("auto", "multi"):
        path = tmp_path / f"eval_{mode}.json"
        assert main(["evaluate", "--model", str(out), "--labels", "x.slp", "--json", str(path),
                     "--decode", mode, "--peak-threshold", "0"]) == 0
        res[mode] = json.loads(path.read_text())
    assert res["auto"]["single_animal"] is True and res["multi"]["single_animal"] is False
    # single-animal decoding returns exactly one animal with every keypoint when any peak exists
    assert res["auto"]["detected"] == 1.0
    # a config that says no keeps the assembly for a model trained on one animal per frame
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    cfg["inference"]["single_animal"] = False
    (out / "config.yaml").write_text(yaml.safe_dump(cfg))
    assert not load_model(out).single_animal


def test_augmentation_workers_and_device_follow_the_hardware():
    from mapose.data.dataset import auto_num_workers
    from mapose.errors import ConfigError
    from mapose.training.config import load_train_config
    from mapose.training.model import resolve_device

    # CPU training: the model step uses every core, so augmentation stays in the process
    assert auto_num_workers("auto", "auto", cpus=16, gpu_available=False) == 0
    assert auto_num_workers("auto", "cpu", cpus=16, gpu_available=True) == 0
    # GPU training: up to 8 workers, two cores left for the training process
    assert auto_num_workers("auto", "auto", cpus=16, gpu_available=True) == 8
    assert auto_num_workers("auto", "gpu", cpus=4, gpu_available=False) == 2
    assert auto_num_workers("auto", "cuda", cpus=2, gpu_available=True) == 0
    assert auto_num_workers(3, "cpu", cpus=2, gpu_available=False) == 3  # a number is kept
    assert load_train_config().data.num_workers == "auto"
    with pytest.raises(ConfigError, match="num_workers"):
        load_train_config(None, {"data": {"num_workers": -1}})
    with pytest.raises(ConfigError, match="single_animal"):
        load_train_config(None, {"inference": {"single_animal": "yes"}})
    assert resolve_device("cpu") == "cpu" and resolve_device("cuda:1") == "cuda:1"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")


def test_allocator_settings_apply_on_glibc():
    import platform

    from mapose.allocator import keep_freed_memory, release_memory

    applied = keep_freed_memory()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert applied
    release_memory()  # trims without error whatever the settings


def test_trainer_devices_take_counts_lists_and_text():
    from mapose.training.config import load_train_config

    for value in (2, "0,1", [0, 1], "auto"):
        assert load_train_config(None, {"trainer": {"devices": value}}).trainer.devices == value


def _train_on_two_processes(tmp_path, minutes: float, model: dict | None = None):
    """``mapose train`` with ``trainer: {strategy: ddp, devices: 2}`` on the CPU (the multi-GPU code
    path with the gloo backend) on the synthetic set; returns the model folder, stdout and report."""
    import subprocess
    import sys

    import yaml

    from mapose.io import write_labels

    from tests.training.conftest import make_synthetic

    labels_path = tmp_path / "labels.json"
    write_labels(make_synthetic(tmp_path), labels_path, format="coco")
    cfg_path = tmp_path / "ddp.yaml"
    cfg_path.write_text(yaml.safe_dump({**TINY, "model": {**TINY["model"], **(model or {})},
                                        "split": {"method": "frame_threshold", "threshold": 4},
                                        "trainer": {"accelerator": "cpu", "devices": 2, "strategy": "ddp"}}))
    out = tmp_path / "model"
    proc = subprocess.run(
        [sys.executable, "-m", "mapose", "train", "--labels", str(labels_path), "--out", str(out),
         "--config", str(cfg_path), "--minutes", str(minutes), "--no-progress"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stdout, json.loads(proc.stdout[proc.stdout.index("{\n"):])


def test_two_processes_train_on_one_budget_and_report_once(tmp_path):
    """``trainer: {strategy: ddp, devices: 2}``: both processes stop after the same step under a
    wall-clock budget (one stopping alone would hang the other), the first writes the model folder
    and one report."""
    out, stdout, report = _train_on_two_processes(tmp_path, 0.25)
    assert stdout.count('"model_dir"') == 1, stdout
    assert report["global_rank"] == 0 and report["steps"] > 0
    last = torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert last["global_step"] == report["steps"]
    assert last["callbacks"]["BudgetSchedule"]["elapsed_s"] >= 15.0
    for name in ("checkpoints/best.ckpt", "training_curve.png", "calibration.json", "split.json"):
        assert (out / name).exists(), name


def test_an_ensemble_trains_each_network_on_two_processes(tmp_path):
    """``model: {ensemble: 2}`` on two processes: both train network 1, then network 2, each on half
    the budget; the first process writes one report."""
    out, stdout, report = _train_on_two_processes(tmp_path, 0.4, {"ensemble": 2})
    assert stdout.count('"members"') == 1 and report["global_rank"] == 0
    assert '"global_rank": 1' not in stdout  # the second process reports nothing
    assert report["steps"] == sum(m["steps"] for m in report["members"])
    for i in range(2):
        last = torch.load(out / "members" / str(i) / "checkpoints" / "last.ckpt", map_location="cpu",
                          weights_only=False)
        assert last["global_step"] == report["members"][i]["steps"] > 0
        assert 12.0 <= last["callbacks"]["BudgetSchedule"]["elapsed_s"] < 24.0  # half of 24 s each
    for name in ("calibration.json", "split.json", "training_curve.png"):
        assert (out / name).exists(), name


def test_persistent_augmentation_workers_follow_epoch_and_label_shift(synthetic_labels):
    """Workers that live for the whole run (GPU training) draw each epoch's augmentations and
    apply a label shift set in the training process after they started."""
    from torch.utils.data import DataLoader

    samples = samples_from_labels([synthetic_labels], synthetic_labels.skeleton, 1.0)
    cfg = from_dict(TrainConfig, TINY)
    aug = to_dict(cfg.augment)
    aug["scale"] = tuple(aug["scale"])
    ds = TrainDataset(samples, target_spec(cfg), aug, 64, 4, seed=0)
    loader = DataLoader(ds, batch_size=4, num_workers=1, persistent_workers=True, collate_fn=_collate)
    batches = []
    for epoch, shift in ((0, (0.0, 0.0)), (1, (0.0, 0.0)), (1, (3.0, -2.0))):
        ds.set_epoch(epoch)
        ds.label_shift = shift
        (batch,) = list(loader)
        expected = _collate([ds[i] for i in range(4)])  # the same items made in this process
        for key in ("image", "heatmap"):
            torch.testing.assert_close(batch[key], expected[key], msg=f"epoch {epoch} shift {shift} {key}")
        batches.append(batch)
    assert not torch.equal(batches[0]["image"], batches[1]["image"])  # a new epoch, new views
    # shifted labels: the crop, centred on the animal's labels, moves over the image
    assert not torch.equal(batches[1]["image"], batches[2]["image"])
    np.testing.assert_allclose(ds.label_shift, [3.0, -2.0])


def test_one_sided_body_parts_without_pairs_are_not_mirrored(capsys):
    from mapose.core.skeleton import Skeleton
    from mapose.errors import SkeletonError
    from mapose.training.train import _with_symmetry, mirror_safe_augmentation

    # Lightning Pose's mirror-mouse names: no pair can be guessed from them
    names = ["paw1LH_top", "paw2LF_top", "paw3RF_top", "paw4RH_top", "nose_top", "obsLow_bot", "tailBase_top"]
    assert Skeleton.lateral_keypoints(names) == names[:4]
    assert Skeleton.guess_symmetry(names) == []
    bare = Skeleton.from_names(names)
    aug = {"hflip": 0.5, "vflip": 0.1, "rotation": 180.0}
    off = mirror_safe_augmentation(aug, bare)
    assert off == {"hflip": 0.0, "vflip": 0.0, "rotation": 180.0}
    assert "paw1LH_top, paw2LF_top, paw3RF_top, paw4RH_top look left/right-sided" in capsys.readouterr().out
    # pairs given in the config (data.symmetry) make mirrors safe again
    paired, guessed = _with_symmetry(bare, [("paw1LH_top", "paw4RH_top"), ("paw2LF_top", "paw3RF_top")])
    assert not guessed and paired.symmetry == ((0, 3), (1, 2))
    assert mirror_safe_augmentation(aug, paired) == aug
    # names the labels do not hold are refused by name
    with pytest.raises(SkeletonError, match="paw9"):
        _with_symmetry(bare, [("paw1LH_top", "paw9")])
    # guessed pairs (wingL/wingR) and midline parts keep the flips
    fly = _with_symmetry(Skeleton.from_names(["head", "wingL", "wingR"]))[0]
    assert fly.symmetry == ((1, 2),) and mirror_safe_augmentation(aug, fly) == aug
    cfg = from_dict(TrainConfig, {"data": {"symmetry": [["a", "b"]]}})
    assert cfg.data.symmetry == (("a", "b"),)


def test_calibration_frames_are_evenly_spaced_within_a_pixel_budget(tmp_path):
    from mapose.io import read_labels
    from mapose.training.calibration import CALIBRATION_PIXELS, training_frames

    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "data" / "flies_centered_pair" / "labels.train.slp"
    labels = read_labels(path)
    train = [{"labels": str(path), "video": v, "frame": int(f)} for v, f in labels.frame_keys()
             if f < 700]
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": train}))
    images, gts = training_frames([path], split)
    assert len(images) == len(train) == 46  # 46 frames of 384 x 384: within the budget
    assert 46 * 384 * 384 <= CALIBRATION_PIXELS
    few, few_gts = training_frames([path], split, max_pixels=10 * 384 * 384)
    assert len(few) == 10 and len(few_gts) == 10
    # evenly spaced: the first and last training frames are kept, the rest in between
    assert np.array_equal(few[0], images[0]) and np.array_equal(few[-1], images[-1])
    assert all(any(np.array_equal(g, h, equal_nan=True) for h in gts) for g in few_gts)


def test_training_messages_are_printed_by_the_first_process_only(capsys, monkeypatch):
    from pytorch_lightning.utilities.rank_zero import rank_zero_only

    from mapose.core.skeleton import Skeleton
    from mapose.training.train import mirror_safe_augmentation

    bare = Skeleton.from_names(["pawL", "pawR_x", "nose"])
    aug = {"hflip": 0.5, "vflip": 0.0}
    monkeypatch.setattr(rank_zero_only, "rank", 1, raising=False)  # a second device's process
    assert mirror_safe_augmentation(aug, bare)["hflip"] == 0.0
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(rank_zero_only, "rank", 0, raising=False)
    mirror_safe_augmentation(aug, bare)
    assert "look left/right-sided" in capsys.readouterr().out


def test_training_output_leaves_out_lightnings_advert_and_internal_deprecations(caplog):
    """What Lightning prints during `mapose train` is what the user can act on: its advert for a
    cloud logger and a deprecation warning raised inside Lightning itself are dropped; its other
    messages are kept."""
    import logging
    import warnings

    from pytorch_lightning.utilities.rank_zero import rank_zero_info

    from mapose.training.train import quiet_lightning

    quiet_lightning()
    quiet_lightning()  # idempotent
    assert sum(type(f).__name__ == "_NoAdverts"
               for f in logging.getLogger("pytorch_lightning.utilities.rank_zero").filters) == 1
    with caplog.at_level(logging.INFO, logger="pytorch_lightning.utilities.rank_zero"):
        rank_zero_info("💡 Tip: For seamless cloud logging, try installing [litlogger](https://pypi.org/)")
        rank_zero_info("GPU available: False, used: False")
    assert [r.getMessage() for r in caplog.records] == ["GPU available: False, used: False"]
    with warnings.catch_warnings(record=True) as seen:
        quiet_lightning()
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use `isinstance(treespec, TreeSpec)`")
        # resuming: mapose keeps the log Lightning says it deletes, and resumes in its own checkpoint folder
        warnings.warn("Experiment logs directory /m/logs/csv exists and is not empty. Previous log files in this "
                      "directory will be deleted when the new ones are saved!")
        warnings.warn("Checkpoint directory /m/checkpoints exists and is not empty.")
        warnings.warn("You're resuming from a checkpoint that ended before the epoch ended and your dataloader "
                      "is not resumable.")
        warnings.warn("Total length of `list` across ranks is zero. Please make sure this was your intention.")
        warnings.warn("something else")
    assert [str(w.message) for w in seen] == ["something else"]


def test_fine_tuning_starts_from_a_trained_models_weights(synthetic_labels, tmp_path, monkeypatch, capsys):
    """``--init MODEL_DIR``: a new skeleton with the same parts in another order, its edges stored the
    other way round, and one new part predicts what the trained model predicts for the shared parts
    (fields reversed), and trains on."""
    from mapose.core.skeleton import Skeleton
    from mapose.errors import ConfigError
    from mapose.training.model import init_from_trained, load_model

    src = _train_tiny(synthetic_labels, tmp_path, monkeypatch, "first")
    old = load_model(src, tta="none")
    sk = Skeleton.from_names(["tail", "thorax", "head", "wing"],
                             [("tail", "thorax"), ("thorax", "head"), ("thorax", "wing")])
    cfg = from_dict(TrainConfig, {**TINY, "model": {**TINY["model"], "init": str(src)}})
    new = build_untrained_model(sk, cfg)
    new.tta = "none"
    got = init_from_trained(new, src)
    assert got["keypoints"] == ["tail", "thorax", "head"] and got["new_keypoints"] == ["wing"]
    assert got["edges"] == ["tail-thorax", "thorax-head"] and got["new_edges"] == ["thorax-wing"]
    img = torch.from_numpy(cv2.imread(synthetic_labels.images[0].image, cv2.IMREAD_GRAYSCALE))[None]
    a, b = old.predict(img), new.eval().predict(img)
    torch.testing.assert_close(b["heatmap"][0, [2, 1, 0]], a["heatmap"][0])  # head, thorax, tail
    assert not torch.allclose(b["heatmap"][0, 3], a["heatmap"][0, 0], atol=1e-3)  # wing: fresh
    # edge thorax->head was head->thorax (channels 0-1): field reversed; tail-thorax was thorax-tail
    torch.testing.assert_close(b["paf"][0, 2:4], -a["paf"][0, 0:2])
    torch.testing.assert_close(b["paf"][0, 0:2], -a["paf"][0, 2:4])
    torch.testing.assert_close(b["offset"][0, 4:6], a["offset"][0, 0:2])  # head's (dx, dy)

    other = from_dict(TrainConfig, {**TINY, "model": {"decoder_channels": 64, "head_channels": 16}})
    with pytest.raises(ConfigError, match=r"model.decoder_channels: 32 there, 64 here"):
        init_from_trained(build_untrained_model(sk, other), src)

    # from the command line: the run says what it carried over and trains on
    import yaml

    from mapose.cli import main

    cfg_path = tmp_path / "first.yaml"
    out = tmp_path / "second"
    assert main(["train", "--labels", "x.slp", "--out", str(out), "--config", str(cfg_path), "--init", str(src),
                 "--max-steps", "2", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "3 of 3 body parts and 2 of 2 edges carried over" in printed
    assert yaml.safe_load((out / "config.yaml").read_text())["model"]["init"] == str(src.resolve())
    assert main(["train", "--labels", "x.slp", "--out", str(tmp_path / "third"), "--init",
                 str(tmp_path / "nowhere"), "--max-steps", "1", "--no-progress"]) == 2
    assert "nowhere/config.yaml: trained model (--init" in capsys.readouterr().err
    assert not (tmp_path / "third").exists()  # refused before the model folder is made


def test_posture_balanced_training_says_how_much_it_favours_rare_animals(synthetic_labels, tmp_path,
                                                                        monkeypatch, capsys):
    import yaml

    import mapose.io as mio
    from mapose.cli import main

    monkeypatch.setattr(mio, "read_labels", lambda p, format=None, **kw: synthetic_labels)
    cfg_path = tmp_path / "tiny.yaml"
    cfg_path.write_text(yaml.safe_dump({**TINY, "optim": {**TINY["optim"], "ema_decay": 0.0},
                                        "data": {**TINY["data"], "calibrate_offset": False,
                                                 "balance_postures": 1.0}}))
    out = tmp_path / "balanced"
    assert main(["train", "--labels", "x.slp", "--out", str(out), "--config", str(cfg_path),
                 "--max-steps", "1", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "drawing training animals by posture rarity (data.balance_postures 1)" in printed
    assert yaml.safe_load((out / "config.yaml").read_text())["data"]["balance_postures"] == 1.0
    # the longest labelled length of each edge over the training frames is recorded for the assembly
    from mapose.training import load_model

    split = json.loads((out / "split.json").read_text())
    train_frames = {r["label_index"] for r in split["train"]}
    det = synthetic_labels.instances
    kp = det.keypoints[np.isin(det.frame, list(train_frames))]
    sk = synthetic_labels.skeleton
    expected = [float(np.nanmax(np.hypot(*(kp[:, a] - kp[:, b]).T))) for a, b in sk.edges]
    np.testing.assert_allclose(split["edge_max_length_px"], expected, atol=1e-3)
    np.testing.assert_allclose(load_model(out).edge_max_length_px, expected, atol=1e-3)
    # and the farthest two labelled parts of one animal, for one-animal decoding
    pairs = np.hypot(*(kp[:, :, None] - kp[:, None, :]).transpose(3, 0, 1, 2))
    assert split["animal_extent_px"] == pytest.approx(float(np.nanmax(pairs)), abs=1e-3)
    assert load_model(out).animal_extent_px == pytest.approx(split["animal_extent_px"])
    # and the farthest of each two parts (rounded to 0.1 px)
    with np.errstate(invalid="ignore"):
        farthest = np.nanmax(pairs, axis=0)
    np.testing.assert_allclose(np.array(split["part_distance_px"], dtype=float), farthest, atol=0.05)
    np.testing.assert_allclose(load_model(out).part_distance_px, farthest, atol=0.05)
    # no left/right pairs in this skeleton: no side rule (mapose.decode.sides)
    assert split["body_sides"] is None and load_model(out).body_sides is None


def test_an_ensemble_trains_its_networks_in_turn_and_averages_them(synthetic_labels, tmp_path, monkeypatch,
                                                                   capsys):
    """``--ensemble 2``: two networks with seeds 0 and 1 under MODEL_DIR/members, each a model of its
    own; the loaded ensemble predicts their mean; resuming keeps a finished network; evaluate works."""
    import yaml

    import mapose.io as mio
    from mapose.cli import main
    from mapose.errors import ConfigError, MissingFileError
    from mapose.training.model import EnsembleModel, load_model
    from mapose.training.train import member_config

    monkeypatch.setattr(mio, "read_labels", lambda p, format=None, **kw: synthetic_labels)
    cfg_path = tmp_path / "ens.yaml"
    cfg_path.write_text(yaml.safe_dump({**TINY, "split": {"method": "frame_threshold", "threshold": 4}}))
    out = tmp_path / "ens"
    args = ["train", "--labels", "x.slp", "--out", str(out), "--config", str(cfg_path), "--ensemble", "2",
            "--max-steps", "2", "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "network 1 of 2 (seed 0)" in printed and "network 2 of 2 (seed 1)" in printed
    assert json.loads(printed[printed.index("{\n"):])["steps"] == 4  # 2 steps per network
    for name in ("config.yaml", "skeleton.json", "split.json", "calibration.json", "training_curve.png",
                 "members/0/checkpoints/best.ckpt", "members/1/checkpoints/last.ckpt", "members/1/result.json"):
        assert (out / name).exists(), name
    member = yaml.safe_load((out / "members" / "1" / "config.yaml").read_text())
    assert member["optim"]["seed"] == 1 and member["model"]["ensemble"] == 1
    assert yaml.safe_load((out / "config.yaml").read_text())["model"]["ensemble"] == 2
    from mapose.training.plots import save_training_curve

    logs = [tmp_path / "missing.csv", out / "members" / "1" / "logs" / "csv" / "metrics.csv"]
    assert save_training_curve(logs, tmp_path / "curve.png") and (tmp_path / "curve.png").exists()
    assert not save_training_curve(logs[:1], tmp_path / "none.png")  # no log yet: no plot

    model = load_model(out, tta="none")
    assert isinstance(model, EnsembleModel) and len(model.members) == 2 and model.tta == "none"
    nets = [load_model(out / "members" / str(i), tta="none") for i in range(2)]
    img = torch.from_numpy(cv2.imread(synthetic_labels.images[4].image, cv2.IMREAD_GRAYSCALE))[None]
    a, b, both = nets[0].predict(img), nets[1].predict(img), model.predict(img)
    assert not torch.allclose(a["heatmap"], b["heatmap"])  # two networks, not one twice
    assert both.keys() == a.keys()
    for k in both:
        torch.testing.assert_close(both[k], (a[k] + b[k]) / 2)
    assert len(model.checksum) == 64 and model.checksum not in (nets[0].checksum, nets[1].checksum)

    # interrupted while training network 2: the same command keeps network 1 and finishes network 2
    first = out / "members" / "0" / "checkpoints" / "last.ckpt"
    stamp = first.stat().st_mtime_ns
    (out / "members" / "1" / "result.json").unlink()
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "network 1 of 2" not in printed and "network 2 of 2" in printed
    assert first.stat().st_mtime_ns == stamp
    assert main(["evaluate", "--model", str(out), "--labels", "x.slp", "--json", str(tmp_path / "e.json")]) == 0
    res = json.loads((tmp_path / "e.json").read_text())
    assert res["ensemble"] == 2 and res["frames"] == [4, 5] and res["model_checksum"] == model.checksum

    # another ensemble size is another config; an unfinished ensemble says what to do
    assert main([*args[:-5], "--ensemble", "3", "--max-steps", "2", "--no-progress"]) == 2
    assert "holds a run with another config" in capsys.readouterr().err
    (out / "members" / "1" / "result.json").unlink()
    with pytest.raises(MissingFileError, match="network 2 of the ensemble of 2 has not finished training"):
        load_model(out)
    # the wall-clock budget is shared
    cfg = from_dict(TrainConfig, {"model": {"ensemble": 4}, "optim": {"minutes": 20.0, "seed": 3}})
    assert [(member_config(cfg, i).optim.seed, member_config(cfg, i).optim.minutes) for i in (0, 3)] == \
        [(3, 5.0), (6, 5.0)]
    with pytest.raises(ConfigError, match="model.ensemble 0 must be 1"):
        from_dict(TrainConfig, {"model": {"ensemble": 0}})


@pytest.mark.parametrize("turn_deg, extra, used, tta, said", [
    (360, {}, 180.0, "rot4", None),  # animals facing every way: full turns
    (20, {}, 25.0, "flip", "the camera fixes their direction"),  # a fixed view: small turns
    (20, {"fixed_view_below_deg": 0}, 180.0, "rot4", "may learn faster: augment: {rotation_deg: 25}"),
    (60, {}, 180.0, "rot4", "may learn faster: augment: {rotation_deg: 25}"),  # narrow: only suggested
])
def test_training_turns_frames_a_little_when_the_labelled_animals_all_face_one_way(
        tmp_path, monkeypatch, capsys, turn_deg, extra, used, tta, said):
    """Animals labelled facing every way (360) train with full turns.  Animals within a 20-degree arc
    (headings spread about 6 degrees: a side view, a head-fixed animal) train with turns of up to 25
    degrees (``augment.fixed_view_below_deg``), recorded in split.json, so the loaded model averages
    no quarter turns it never saw; ``fixed_view_below_deg: 0`` keeps full turns and only suggests small
    ones, as does a merely narrow spread (60-degree arc).  The config saved keeps what was asked, so
    the same command resumes."""
    import yaml

    import mapose.io as mio
    from mapose.cli import main
    from mapose.config import load_yaml
    from mapose.training.model import load_model
    from tests.training.conftest import make_synthetic

    labels = make_synthetic(tmp_path, n_images=10, turn=np.radians(turn_deg))
    monkeypatch.setattr(mio, "read_labels", lambda p, format=None, **kw: labels)
    cfg_path = tmp_path / "tiny.yaml"
    cfg_path.write_text(yaml.safe_dump({**TINY, "augment": extra}))
    out = tmp_path / "model"
    args = ["train", "--labels", "x.slp", "--out", str(out), "--config", str(cfg_path), "--no-progress"]
    assert main(args + ["--max-steps", "1"]) == 0
    printed = capsys.readouterr().out
    record = json.loads((out / "split.json").read_text())
    assert record["rotation_deg"] == used
    spread = record["heading_spread_deg"]
    assert spread > 60 if turn_deg == 360 else (spread < 10 if turn_deg == 20 else 10 < spread < 35)
    if said is None:
        assert "face" not in printed
    else:
        assert said in printed
    assert ("turns frames by up to 25 degrees instead of 180" in printed) == (used == 25.0)
    assert load_yaml(out / "config.yaml", TrainConfig).augment.rotation_deg == 180.0
    assert load_model(out).tta == tta  # flip: trained on mirror images too
    assert main(args + ["--max-steps", "1"]) == 0  # the same command resumes (nothing left to do)
    assert json.loads((out / "split.json").read_text())["rotation_deg"] == used


@pytest.mark.parametrize("length, loss", [(18, "bce"), (44, "focal")])
def test_animals_larger_than_the_crops_train_their_maps_with_the_focal_loss(tmp_path, monkeypatch, capsys,
                                                                            length, loss):
    """``heads.heatmap.loss auto``: 18-px animals fit the 32-px crops (bce); 44-px animals do not, so
    each crop holds only some of their parts and the confidence maps train with the focal loss."""
    import yaml

    import mapose.io as mio
    from mapose.cli import main
    from tests.training.conftest import make_synthetic

    labels = make_synthetic(tmp_path, n_images=4, size=96, length=length)
    monkeypatch.setattr(mio, "read_labels", lambda p, format=None, **kw: labels)
    cfg_path = tmp_path / "tiny.yaml"
    cfg_path.write_text(yaml.safe_dump({**TINY, "data": {**TINY["data"], "crop_size": 32}}))
    out = tmp_path / "model"
    assert main(["train", "--labels", "x.slp", "--out", str(out), "--config", str(cfg_path),
                 "--max-steps", "1", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed[printed.index("{\n"):])["heatmap_loss"] == loss
    assert ("focal loss" in printed) == (loss == "focal")
    assert yaml.safe_load((out / "config.yaml").read_text())["heads"]["heatmap"]["loss"] == "auto"


def test_the_focal_loss_is_chosen_only_when_animals_outgrow_the_crops():
    from mapose.training.heads import resolve_heatmap_loss

    assert resolve_heatmap_loss("auto", 500.0, 256) == "focal"  # a 500-px animal in 256-px crops
    assert resolve_heatmap_loss("auto", 90.0, 128) == "bce"
    assert resolve_heatmap_loss("auto", 500.0, 0) == "bce"  # whole frames hold whole animals
    assert resolve_heatmap_loss("auto", None, 128) == "bce"  # no animal with two labelled parts
    assert resolve_heatmap_loss("bce", 500.0, 256) == "bce"  # an explicit choice stays
    assert resolve_heatmap_loss("focal", 90.0, 128) == "focal"


def test_the_training_log_of_interrupted_runs_is_joined(tmp_path):
    """Two interrupts: each resumed run adds its rows; the rows an interrupted run logged after the
    checkpoint the next run resumed from are dropped (that run redid those steps)."""
    from mapose.training.train import EARLIER_LOG, _join_log_after_run, _keep_log_before_resume, joined_log

    log = tmp_path / "metrics.csv"
    pd.DataFrame({"step": [10, 20, 30, 40], "train_loss": [4.0, 3.0, 2.0, 1.5]}).to_csv(log, index=False)
    _keep_log_before_resume(tmp_path)  # interrupted at 40, resumes from the checkpoint at 30
    pd.DataFrame({"step": [31, 41, 50], "train_loss": [1.9, 1.6, 1.4]}).to_csv(log, index=False)
    _keep_log_before_resume(tmp_path)  # interrupted again, resumes from 41
    pd.DataFrame({"step": [42, 60], "train_loss": [1.5, 1.2], "val_loss": [None, 1.3]}).to_csv(log, index=False)
    assert joined_log(tmp_path)["step"].tolist() == [10, 20, 30, 31, 41, 42, 60]
    _join_log_after_run(tmp_path)
    joined = pd.read_csv(log)
    assert joined["step"].tolist() == [10, 20, 30, 31, 41, 42, 60]
    assert joined["val_loss"].notna().sum() == 1 and not (tmp_path / EARLIER_LOG).exists()
    log.write_text("")  # a log cut short: the earlier rows stay
    pd.DataFrame({"step": [1]}).to_csv(tmp_path / EARLIER_LOG, index=False)
    assert joined_log(tmp_path)["step"].tolist() == [1]
