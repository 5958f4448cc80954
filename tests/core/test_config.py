from dataclasses import dataclass, field
from typing import Literal, Optional

import numpy as np
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


def test_config_fields_are_checked_however_the_config_is_made():
    """A config built in Python is checked like one read from YAML: a number given as text or a single
    value where a list is wanted is named; numpy numbers are taken as the numbers they are."""
    import numpy as np

    from mapose.behaviour.clustering import ClusterConfig
    from mapose.kinematics import CleaningConfig, FeatureConfig
    from mapose.training.config import OptimConfig

    with pytest.raises(ConfigError, match="CleaningConfig.max_speed: expected a number, got '1500'"):
        CleaningConfig(max_speed="1500")
    with pytest.raises(ConfigError, match="FeatureConfig.contact_distance: expected a number, got '5'"):
        FeatureConfig(contact_distance="5")
    with pytest.raises(ConfigError, match="FeatureConfig.centroid: expected a list, got 'thorax'"):
        FeatureConfig(centroid="thorax")
    with pytest.raises(ConfigError, match="ClusterConfig.seed: expected an integer, got 'a'"):
        ClusterConfig(seed="a")
    with pytest.raises(ConfigError, match="OptimConfig.lr: expected a number, got True"):
        OptimConfig(lr=True)
    cfg = CleaningConfig(max_gap=np.int64(3), max_speed=np.float32(2.5), zeros_are_missing=np.bool_(True))
    assert (cfg.max_gap, cfg.max_speed, cfg.zeros_are_missing) == (3, 2.5, True)
    assert type(cfg.max_gap) is int and type(cfg.zeros_are_missing) is bool
    assert FeatureConfig(centroid=["head", "thorax"]).centroid == ("head", "thorax")


def test_as_number_names_the_value():
    from mapose.config import as_number

    assert as_number(np.float32(0.5), "threshold") == 0.5
    assert as_number(None, "threshold", optional=True) is None
    for bad, words in (("0.5", "threshold must be a number; got '0.5'"), (None, "got None"),
                       (float("nan"), "got nan"), (True, "got True"), (-1, r"threshold must be > 0 \(a positive number\); got -1")):
        with pytest.raises(ConfigError, match=words):
            as_number(bad, "threshold", positive=True)
    with pytest.raises(ConfigError, match="must be <= 1; got 2"):
        as_number(2, "share", maximum=1)
