from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

from mapose.config import choice, from_dict, load_yaml, replace, save_yaml, to_dict
from mapose.errors import ConfigError


@dataclass(frozen=True)
class Inner:
    sigma: float = 2.0
    kind: Literal["gauss", "box"] = "gauss"


@dataclass(frozen=True)
class Outer:
    inner: Inner = field(default_factory=Inner)
    sizes: tuple[int, ...] = (1, 2)
    name: Optional[str] = None


def test_from_dict_nested_and_types():
    cfg = from_dict(Outer, {"inner": {"sigma": 3}, "sizes": [4, 5]})
    assert cfg == Outer(Inner(3.0), (4, 5))


def test_unknown_keys_list_allowed():
    with pytest.raises(ConfigError, match="unknown config key\\(s\\) inner.sgima in Inner; allowed: kind, sigma"):
        from_dict(Outer, {"inner": {"sgima": 3}})
    with pytest.raises(ConfigError, match="'tri' is not allowed; allowed: 'gauss', 'box'"):
        from_dict(Outer, {"inner": {"kind": "tri"}})
    with pytest.raises(ConfigError, match="expected a number"):
        from_dict(Outer, {"inner": {"sigma": "x"}})
    with pytest.raises(ConfigError, match="allowed: a, b"):
        choice("c", ["a", "b"], "method")


def test_yaml_roundtrip(tmp_path):
    cfg = replace(Outer(), {"inner": {"kind": "box"}, "name": "x"})
    save_yaml(cfg, tmp_path / "c.yaml")
    assert load_yaml(tmp_path / "c.yaml", Outer) == cfg
    assert to_dict(cfg)["inner"] == {"sigma": 2.0, "kind": "box"}
    (tmp_path / "bad.yaml").write_text("inner: {sigma: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML, line 2, column 1: expected ") as info:
        load_yaml(tmp_path / "bad.yaml", Outer)
    assert "\n" not in str(info.value)  # PyYAML's own message spans lines; ours is one
