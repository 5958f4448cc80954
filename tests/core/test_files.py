import pytest

from mapose.io import atomic_path
from mapose.errors import MissingFileError
from mapose.io import require_file


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(out) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    with atomic_path(out) as tmp:
        tmp.write_text("ok")
    assert out.read_text() == "ok" and list(tmp_path.iterdir()) == [out]


def test_require_file_names_the_file(tmp_path):
    with pytest.raises(MissingFileError, match="nope.h5: pose file not found"):
        require_file(tmp_path / "nope.h5", "pose file")


def test_stored_skeleton_policy(tmp_path):
    from mapose.core import Skeleton
    from mapose.errors import FormatError
    from mapose.io._files import stored_skeleton

    sk = Skeleton.from_names(["a", "b", "c"], edges=[("a", "b")])
    assert stored_skeleton(sk.to_json(), ["a", "b", "c"], tmp_path / "f.nc") == sk
    assert stored_skeleton(sk.to_dict(), ["a", "b", "c"], tmp_path / "f.nc").edge_names == [("a", "b")]
    assert stored_skeleton(None, ["a", "b", "c"], tmp_path / "f.nc") is None
    # other order, or some of its keypoints (Tracks saved after ds.sel(keypoints=...)): edges kept by name
    assert stored_skeleton(sk.to_json(), ["b", "c", "a"], tmp_path / "f.nc").edge_names == [("a", "b")]
    assert stored_skeleton(sk.to_json(), ["c", "b"], tmp_path / "f.nc") == Skeleton.from_names(["c", "b"])
    assert stored_skeleton(sk.to_json(), ["a", "b", "d"], tmp_path / "f.nc") is None  # one it lacks
    with pytest.raises(FormatError, match="f.nc: the stored skeleton metadata is not a valid skeleton"):
        stored_skeleton('{"keypoints": ["a", "a"]}', ["a", "a"], tmp_path / "f.nc")


def test_json_outputs_are_strict_json(tmp_path):
    """NaN and infinities become null and numpy values plain numbers: what ``mapose evaluate`` and
    ``mapose cluster`` write opens in JavaScript, jq or R, which refuse ``NaN``."""
    import json

    import numpy as np

    from mapose.io._files import write_json

    value = {"rmse_px": float("nan"), "pck": np.float32(0.5), "n": np.int64(3), "inf": -np.inf,
             "per_keypoint": {"head": [1.0, np.nan]}, "grid": np.array([[1.5, np.nan]]), "name": "x"}
    write_json(tmp_path / "m.json", value)

    def refuse(token):
        raise AssertionError(f"{token} in strict JSON")

    back = json.loads((tmp_path / "m.json").read_text(), parse_constant=refuse)
    assert back == {"rmse_px": None, "pck": 0.5, "n": 3, "inf": None, "per_keypoint": {"head": [1.0, None]},
                    "grid": [[1.5, None]], "name": "x"}
