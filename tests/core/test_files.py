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
