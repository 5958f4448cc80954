"""The network run by ONNX Runtime (``--backend onnx``, the CPU default) gives PyTorch's outputs;
``mapose export`` writes a network other programs can run."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from inference_synthetic import SKELETON, DotModel, write_video  # noqa: E402

from mapose.errors import ConfigError  # noqa: E402
from mapose.inference.onnx_runtime import (  # noqa: E402
    export_onnx,
    resolve_backend,
    use_onnx,
    use_torch,
)


def _model(tta="none"):
    from mapose.config import from_dict
    from mapose.training.config import TrainConfig
    from mapose.training.model import PoseModel

    cfg = from_dict(TrainConfig, {"model": {"weights": "none", "decoder_channels": 32, "head_channels": 16},
                                  "inference": {"tta": tta}})
    torch.manual_seed(0)
    return PoseModel(SKELETON, cfg).eval()


def _model_dir(root):
    from mapose.config import save_yaml
    from mapose.training.model import skeleton_json

    model = _model()
    d = root / "model"
    (d / "checkpoints").mkdir(parents=True)
    save_yaml(model.config, d / "config.yaml")
    (d / "skeleton.json").write_text(skeleton_json(SKELETON))
    torch.save({"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}},
               d / "checkpoints" / "best.ckpt")
    return d


def test_the_exported_network_gives_pytorchs_outputs_for_any_batch_and_size(tmp_path):
    net = _model()
    path = export_onnx(net, tmp_path / "net.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for shape in ((1, 3, 64, 64), (3, 3, 96, 160)):  # batch, height and width are free
        x = torch.randn(*shape)
        with torch.no_grad():
            ref = net(x)
        got = session.run(None, {"x": x.numpy()})
        assert [o.shape for o in got] == [tuple(ref[r].shape) for r in net.heads]
        for r, o in zip(net.heads, got):
            np.testing.assert_allclose(o, ref[r].numpy(), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("tta", ["none", "rot4"])
def test_predict_with_onnx_runtime_matches_pytorch(tmp_path, tta):
    net = _model(tta)
    net.source_dir = str(tmp_path)
    images = torch.randint(0, 255, (2, 90, 130, 3), dtype=torch.uint8)  # not multiples of 32: padded
    ref = net.predict(images)
    use_onnx(net, threads=1)
    exported = list((tmp_path / "onnx").glob("*.onnx"))
    assert len(exported) == 1 and net.runtime is not None
    for _ in range(2):  # a shape seen twice gets a graph of its own: the same outputs
        got = net.predict(images)
        for r in ref:
            np.testing.assert_allclose(got[r].numpy(), ref[r].numpy(), atol=1e-4)
    assert (2, 3, 96, 160) in net.runtime.sessions  # padded to multiples of 32
    # the export is kept: attaching again does not write it again
    stamp = exported[0].stat().st_mtime_ns
    use_onnx(use_torch(net))
    assert exported[0].stat().st_mtime_ns == stamp
    assert use_torch(net).runtime is None


def test_which_backend_runs_the_network():
    net = _model()
    assert resolve_backend(net, "auto", "fp32") == "onnx"  # a network on the CPU in fp32
    assert resolve_backend(net, "auto", "auto") == "onnx"  # in fp32, even where PyTorch would use bf16
    assert resolve_backend(net, "auto", "bf16") == "torch"
    assert resolve_backend(net, "torch", "fp32") == "torch"
    assert resolve_backend(DotModel(), "auto", "fp32") == "torch"  # not a mapose network
    with pytest.raises(ConfigError, match="computes in fp32"):
        resolve_backend(net, "onnx", "bf16")
    with pytest.raises(ConfigError, match="another kind"):
        resolve_backend(DotModel(), "onnx", "fp32")
    with pytest.raises(ConfigError, match="backend 'tensorrt' unknown"):
        resolve_backend(net, "tensorrt", "fp32")


def test_analyze_gives_the_same_tracks_with_either_backend(tmp_path, capsys):
    from mapose.cli import main
    from mapose.io import read_tracks

    video = tmp_path / "dots.avi"
    write_video(video, 16)
    model = _model_dir(tmp_path)
    outs = {}
    for backend in ("torch", "onnx"):
        outs[backend] = tmp_path / f"{backend}.h5"
        assert main(["analyze", str(video), "--model", str(model), "--out", str(outs[backend]), "--n-animals", "2",
                     "--batch-size", "4", "--threads", "1", "--no-progress", "--peak-threshold", "0.0105",
                     "--min-keypoints", "1", "--backend", backend, "--precision", "fp32"]) == 0
    assert "runs with ONNX Runtime" in capsys.readouterr().out
    a, b = read_tracks(outs["torch"]), read_tracks(outs["onnx"])
    assert np.isfinite(a["position"].values).any()  # the (untrained) model found something
    np.testing.assert_allclose(a["position"].values, b["position"].values, atol=1e-3)
    assert json.loads(b.attrs["provenance"])["options"]["backend"] == "onnx"
    assert json.loads(a.attrs["provenance"])["options"]["backend"] == "torch"
    assert any((model / "onnx").glob("*.onnx"))


def test_export_command_writes_a_network_other_programs_run(tmp_path, capsys):
    from mapose.cli import main
    from mapose.training.model import load_model

    model_dir = _model_dir(tmp_path)
    out = tmp_path / "net.onnx"
    assert main(["export", str(model_dir), "--out", str(out)]) == 0
    assert "heatmap (2 channels, stride 4)" in capsys.readouterr().out
    info = json.loads((tmp_path / "net.onnx.json").read_text())
    assert info["skeleton"]["keypoints"] == ["head", "tail"]
    assert info["outputs"]["heatmap"]["activation"] == "sigmoid"
    # following the description by hand gives what mapose's predict gives
    image = np.random.default_rng(0).integers(0, 255, (64, 96, 3)).astype(np.float32)
    mean, std = np.array(info["input"]["normalise"]["mean"]), np.array(info["input"]["normalise"]["std"])
    x = ((image - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)
    heatmap = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(["heatmap"], {"x": x})[0]
    ref = load_model(model_dir).predict(torch.from_numpy(image[None].astype(np.uint8)))["heatmap"]
    np.testing.assert_allclose(heatmap, ref.numpy(), atol=1e-4)
    assert main(["export", str(model_dir), "--out", str(tmp_path / "net.pt")]) == 2
    assert "ending in .onnx" in capsys.readouterr().err


def test_a_model_folder_that_cannot_be_written_exports_to_a_temporary_folder(tmp_path, monkeypatch):
    import tempfile

    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    net = _model()
    net.source_dir = str(blocker / "model")  # a folder inside a file: cannot be made
    use_onnx(net, threads=1)
    assert net.runtime.path.parent == tmp_path / "tmp" / "mapose-onnx"
    images = torch.randint(0, 255, (1, 64, 64, 3), dtype=torch.uint8)
    got = net.predict(images)["heatmap"]
    np.testing.assert_allclose(got.numpy(), use_torch(net).predict(images)["heatmap"].numpy(), atol=1e-4)


def test_each_network_of_an_ensemble_runs_in_onnx_runtime(tmp_path):
    from mapose.training.model import EnsembleModel

    members = [_model(), _model()]
    with torch.no_grad():
        for p in members[1].parameters():
            p.add_(0.01)  # two different networks
    for i, m in enumerate(members):
        m.source_dir = str(tmp_path / str(i))
    ensemble = EnsembleModel(members, members[0].config)
    assert resolve_backend(ensemble, "auto", "auto") == "onnx"
    images = torch.randint(0, 255, (2, 64, 96, 3), dtype=torch.uint8)
    ref = ensemble.predict(images)
    use_onnx(ensemble, threads=1)
    assert all(m.runtime is not None for m in members) and len(list(tmp_path.glob("*/onnx/*.onnx"))) == 2
    got = ensemble.predict(images)
    for r in ref:
        np.testing.assert_allclose(got[r].numpy(), ref[r].numpy(), atol=1e-4)
