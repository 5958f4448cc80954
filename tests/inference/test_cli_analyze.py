"""``mapose analyze``: output naming, and a real kill (SIGKILL) then resume through the CLI."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from inference_synthetic import write_video

from mapose.cli.analyze import output_paths
from mapose.errors import MaposeError


def test_output_paths_rules(tmp_path):
    assert output_paths(["a/v1.mp4"], "x.slp") == [Path("x.slp")]
    assert output_paths(["a/v1.mp4", "b/v2.avi"], str(tmp_path)) == [tmp_path / "v1.h5",
                                                                      tmp_path / "v2.h5"]
    assert output_paths(["v1.mp4"], "res/", ".nwb") == [Path("res/v1.nwb")]
    assert output_paths(["a/v1.mp4", "v2.mp4"], "r/{stem}.pose.slp") == [Path("r/v1.pose.slp"),
                                                                         Path("r/v2.pose.slp")]
    with pytest.raises(MaposeError, match="looks like one file"):
        output_paths(["v1.mp4", "v2.mp4"], "one.h5")
    with pytest.raises(MaposeError, match="same output"):
        output_paths(["a/v.mp4", "b/v.mp4"], "out/")


def _model_dir(root: Path) -> Path:
    """A model folder in the layout ``mapose.training.load_model`` reads (untrained weights)."""
    torch = pytest.importorskip("torch")
    from mapose.config import save_yaml
    from mapose.config import from_dict
    from mapose.training.config import TrainConfig
    from mapose.training.model import PoseModel, skeleton_json
    from inference_synthetic import SKELETON

    cfg = from_dict(TrainConfig, {"model": {"weights": "none", "decoder_channels": 32,
                                            "head_channels": 16}})
    torch.manual_seed(0)
    model = PoseModel(SKELETON, cfg)
    d = root / "model"
    (d / "checkpoints").mkdir(parents=True)
    save_yaml(cfg, d / "config.yaml")
    (d / "skeleton.json").write_text(skeleton_json(SKELETON))
    torch.save({"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}},
               d / "checkpoints" / "best.ckpt")
    return d


KILLER = """
import os, sys
import mapose.inference.pipeline as pipeline
original = pipeline.predict_video

def killed_after_two_chunks(*args, **kw):
    kw["on_chunk"] = lambda c: os.kill(os.getpid(), 9) if c == 1 else None
    return original(*args, **kw)

pipeline.predict_video = killed_after_two_chunks
from mapose.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_cli_kill_and_resume(tmp_path, capsys):
    """SIGKILL the command right after its second chunk is saved, run it again: same output."""
    from mapose.cli import main
    from mapose.io import read_tracks

    video = tmp_path / "dots.avi"
    write_video(video, 32)
    model = _model_dir(tmp_path)

    def args(out):
        return ["analyze", str(video), "--model", str(model), "--out", str(out), "--n-animals", "2",
                "--batch-size", "4", "--chunk-size", "8", "--threads", "1", "--no-progress",
                "--peak-threshold", "0.0101", "--min-keypoints", "1"]

    ref = tmp_path / "ref.h5"
    assert main(args(ref)) == 0  # uninterrupted, in this process

    out = tmp_path / "killed.h5"
    partial = tmp_path / "killed.h5.partial"
    r = subprocess.run([sys.executable, "-c", KILLER, *args(out)], capture_output=True, text=True,
                       timeout=600, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert not out.exists()  # nothing half-written
    assert sorted(p.name for p in partial.glob("chunk_*.npz")) == ["chunk_000000.npz",
                                                                    "chunk_000001.npz"]
    capsys.readouterr()
    assert main(args(out)) == 0  # the same command again
    assert "resumed at frame 16" in capsys.readouterr().out
    assert not partial.exists()
    a, b = read_tracks(ref), read_tracks(out)
    assert np.isfinite(a["position"].values).any()  # the (untrained) model found something
    np.testing.assert_array_equal(a["position"].values, b["position"].values)
    np.testing.assert_array_equal(a["confidence"].values, b["confidence"].values)
    assert a.attrs["provenance"] == b.attrs["provenance"]
    # the tracker's review queue is written beside the output for the dashboard
    from mapose.io.tables import read_feature_table
    from mapose.tracking import SWAP_COLUMNS

    swaps = read_feature_table(tmp_path / "killed.h5.swaps.csv")
    assert tuple(swaps.columns) == SWAP_COLUMNS
    # part of the video: those frames at their numbers; a range past the end fails before any work
    part = tmp_path / "part.h5"
    assert main(args(part) + ["--frames", "20:"]) == 0
    assert "12 frames" in capsys.readouterr().out
    assert read_tracks(part)["frame"].values.tolist() == list(range(20, 32))
    assert main(args(tmp_path / "late.h5") + ["--frames", "40:50"]) == 2
    assert "32 frames (0-31); frames 40:50 are past its end" in capsys.readouterr().err
    assert main(args(tmp_path / "odd.h5") + ["--frames", "ten"]) == 2
    assert "START:STOP" in capsys.readouterr().err
