"""``mapose export MODEL_DIR --out model.onnx``: a trained network as ONNX, for other programs.

Writes the network with its activations (heat maps in 0..1, part-affinity fields, offsets) and,
beside it, ``model.onnx.json``: the input's layout and normalisation, each output's stride and
channels, and the skeleton (channel order).  An ensemble's networks are written as
``model.0.onnx``, ``model.1.onnx``, ... (average their outputs).  Runs in ONNX Runtime, OpenCV's
DNN module or TensorRT, without mapose or PyTorch: for closed-loop experiments, or to analyse on
machines where PyTorch cannot be installed.  ``mapose analyze`` needs none of this: on a CPU it
uses ONNX Runtime by itself (``--backend``).
"""

from __future__ import annotations

HELP = "export a trained network to ONNX (with a JSON description of its input and outputs)"


def add_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL_DIR", help="model folder written by mapose train")
    parser.add_argument("--out", required=True, help="ONNX file to write (.onnx)")
    parser.add_argument("--checkpoint", default="best", choices=("best", "last"))


def run(args) -> int:
    import json
    from pathlib import Path

    from mapose.cli._common import refuse_overwriting_inputs
    from mapose.errors import ConfigError
    from mapose.inference.onnx_runtime import write_export
    from mapose.training.model import load_model

    out = Path(args.out)
    if out.suffix.lower() != ".onnx":
        raise ConfigError(f"--out {out}: give a file ending in .onnx")
    refuse_overwriting_inputs(out, [Path(args.model) / "config.yaml"], "--out")
    model = load_model(args.model, device="cpu", checkpoint=args.checkpoint)
    for path in write_export(model, out):
        info = json.loads(Path(str(path) + ".json").read_text())
        outputs = ", ".join(f"{k} ({v['channels']} channels, stride {v['stride']})" for k, v in info["outputs"].items())
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and {path}.json: input x, float (B, 3, H, W) "
              f"normalised, H and W multiples of {info['input']['size_multiple']}; outputs {outputs}")
    return 0
