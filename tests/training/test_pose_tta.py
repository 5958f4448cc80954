"""Test-time augmentation by quarter turns and mirrors: outputs of a turned or mirrored image map
back exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mapose.config import from_dict
from mapose.data.targets import encode_heatmap, encode_offsets, encode_paf
from mapose.errors import ConfigError
from mapose.training.config import TrainConfig
from mapose.core.skeleton import Skeleton
from mapose.training.model import build_untrained_model, mirror_maps, unmirror_outputs, unturn_outputs
from tests.training.conftest import SKELETON
from tests.training.test_pose_training import TINY


def _turn_points(kp: np.ndarray, width: int) -> np.ndarray:
    """Where ``torch.rot90(image, 1, (-2, -1))`` sends pixel (x, y) of a ``width``-wide image."""
    return np.stack([kp[..., 1], width - 1 - kp[..., 0]], axis=-1)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_targets_of_a_turned_image_turn_back_onto_the_targets_of_the_image(k):
    rng = np.random.default_rng(k)
    h, w, stride = 64, 96, 4
    kp = rng.uniform([8, 8], [w - 8, h - 8], (2, 3, 2))
    edges = np.array(SKELETON.edges)
    turned, th, tw = kp, h, w
    for _ in range(k):
        turned, th, tw = _turn_points(turned, tw), tw, th
    grid, tgrid = (h // stride, w // stride), (th // stride, tw // stride)
    pairs = {
        "heatmap": (encode_heatmap(kp, grid, stride, 3.0), encode_heatmap(turned, tgrid, stride, 3.0)),
        "paf": (encode_paf(kp, edges, grid, stride, 3.0), encode_paf(turned, edges, tgrid, stride, 3.0)),
        "offset": (encode_offsets(kp, grid, stride, 2.0)[0], encode_offsets(turned, tgrid, stride, 2.0)[0]),
    }
    for role, (plain, of_turned) in pairs.items():
        back = unturn_outputs(role, torch.from_numpy(of_turned)[None], k)[0].numpy()
        assert back.shape == plain.shape, role
        np.testing.assert_allclose(back, plain, atol=1e-5, err_msg=role)


def test_rot4_predictions_are_exactly_equivariant_to_quarter_turns():
    torch.manual_seed(0)
    model = build_untrained_model(SKELETON, from_dict(TrainConfig, TINY))
    assert model.tta == "rot4"  # the library default (auto, full rotations)
    img = torch.from_numpy(np.random.default_rng(0).integers(0, 255, (1, 64, 64), dtype=np.uint8))
    out = model.predict(img)
    out_turned = model.predict(torch.rot90(img, 1, (-2, -1)).contiguous())
    for role, v in out.items():
        back = unturn_outputs(role, out_turned[role], 1)
        torch.testing.assert_close(back, v, atol=1e-5, rtol=1e-4, msg=role)
    model.tta = "none"
    plain = model.predict(img)
    assert not torch.allclose(plain["heatmap"], out["heatmap"])  # an untrained net is not equivariant
    for mode in ("rot2", "rot4"):  # non-square frames keep their output shape
        model.tta = mode
        wide = model.predict(torch.zeros((2, 40, 72), dtype=torch.uint8))
        assert wide["heatmap"].shape == (2, 3, 10, 18) and wide["paf"].shape == (2, 4, 10, 18)
    model.tta = "bogus"
    with pytest.raises(ConfigError, match="tta 'bogus' unknown"):
        model.predict(img)
    from mapose.training.config import TTA_MODES, load_train_config
    from mapose.training.model import TTA_VIEWS

    assert tuple(TTA_VIEWS) == TTA_MODES  # every configurable mode has views, and no others
    assert load_train_config(None, {"inference": {"tta": "rot4flip"}}).inference.tta == "rot4flip"
    with pytest.raises(ConfigError, match="tta"):
        load_train_config(None, {"inference": {"tta": "rot8"}})


def test_auto_tta_averages_only_views_the_network_trained_on():
    from mapose.training.config import load_train_config
    from mapose.training.model import resolve_tta

    def tta(**over):
        return resolve_tta(load_train_config(None, over), MIRRORED)

    assert load_train_config(None, {}).inference.tta == "auto"
    assert tta() == "rot4"  # full +-180 degree rotations by default
    # a side view trained with small turns: quarter turns would be frames it never saw
    assert tta(augment={"rotation_deg": 25}) == "flip"
    assert tta(augment={"rotation_deg": 25, "hflip": 0.0}) == "none"
    assert tta(augment={"enabled": False}) == "none"
    assert tta(augment={"rotation_deg": 25}, inference={"tta": "rot2"}) == "rot2"  # asked for: kept
    # a mirrored left paw would be taught as a left paw on the right: such models train unmirrored
    lateral = Skeleton.from_names(["head", "pawL", "pawR"], [("head", "pawL"), ("head", "pawR")])
    assert resolve_tta(load_train_config(None, {"augment": {"rotation_deg": 25}}), lateral) == "none"
    model = build_untrained_model(MIRRORED, load_train_config(None, {"augment": {"rotation_deg": 25}}))
    assert model.tta == "flip"


# left/right pairs; one edge is stored head->earL, its mirror earR->head the other way round
MIRRORED = Skeleton.from_names(
    ["head", "neck", "earL", "earR", "pawL", "pawR"],
    [("head", "earL"), ("earR", "head"), ("neck", "pawL"), ("neck", "pawR"), ("head", "neck")],
    [("earL", "earR"), ("pawL", "pawR")],
)


def test_targets_of_a_mirrored_image_mirror_back_onto_the_targets_of_the_image():
    rng = np.random.default_rng(3)
    h, w, stride = 64, 96, 4
    kp = rng.uniform([8, 8], [w - 8, h - 8], (2, 6, 2))
    perm, edge_map, signs = mirror_maps(MIRRORED)
    assert list(perm) == [0, 1, 3, 2, 5, 4]
    assert list(edge_map) == [1, 0, 3, 2, 4] and list(signs) == [-1, -1, 1, 1, 1]
    # the mirrored image: x -> w - 1 - x, and what was the left ear is now seen as a right ear
    mirrored = np.stack([w - 1 - kp[..., 0], kp[..., 1]], axis=-1)[:, perm]
    edges = np.array(MIRRORED.edges)
    grid = (h // stride, w // stride)
    pairs = {
        "heatmap": (encode_heatmap(kp, grid, stride, 3.0), encode_heatmap(mirrored, grid, stride, 3.0)),
        "paf": (encode_paf(kp, edges, grid, stride, 3.0), encode_paf(mirrored, edges, grid, stride, 3.0)),
        "offset": (encode_offsets(kp, grid, stride, 2.0)[0], encode_offsets(mirrored, grid, stride, 2.0)[0]),
    }
    for role, (plain, of_mirrored) in pairs.items():
        back = unmirror_outputs(role, torch.from_numpy(of_mirrored)[None], (perm, edge_map, signs))[0].numpy()
        assert back.shape == plain.shape, role
        np.testing.assert_allclose(back, plain, atol=1e-5, err_msg=role)


def test_rot4flip_predictions_are_equivariant_to_mirrors_and_turns():
    torch.manual_seed(0)
    model = build_untrained_model(MIRRORED, from_dict(TrainConfig, TINY))
    model.tta = "rot4flip"
    img = torch.from_numpy(np.random.default_rng(0).integers(0, 255, (1, 64, 64), dtype=np.uint8))
    out = model.predict(img)
    out_mirrored = model.predict(torch.flip(img, (-1,)).contiguous())
    out_turned = model.predict(torch.rot90(img, 1, (-2, -1)).contiguous())
    mirror = mirror_maps(MIRRORED)
    for role, v in out.items():
        torch.testing.assert_close(unmirror_outputs(role, out_mirrored[role], mirror), v, atol=1e-5,
                                   rtol=1e-4, msg=role)
        torch.testing.assert_close(unturn_outputs(role, out_turned[role], 1), v, atol=1e-5, rtol=1e-4,
                                   msg=role)
    # a mirror that sends an edge onto a pair of body parts that is no edge: fields from unmirrored views
    lopsided = Skeleton.from_names(["a", "bL", "bR"], [("a", "bL")], [("bL", "bR")])
    assert mirror_maps(lopsided)[1] is None
    model = build_untrained_model(lopsided, from_dict(TrainConfig, TINY))
    model.tta = "flip"
    flipped = model.predict(img)
    model.tta = "none"
    plain = model.predict(img)
    torch.testing.assert_close(flipped["paf"], plain["paf"])
    assert not torch.allclose(flipped["heatmap"], plain["heatmap"])


def test_mirror_views_need_left_right_pairs():
    one_sided = Skeleton.from_names(["nose", "pawL", "pawR"], [("nose", "pawL"), ("nose", "pawR")])
    assert one_sided.unpaired_lateral_keypoints() == ["pawL", "pawR"]
    model = build_untrained_model(one_sided, from_dict(TrainConfig, TINY))
    model.tta = "flip"
    with pytest.raises(ConfigError, match="pawL, pawR look left/right-sided"):
        model.predict(torch.zeros((1, 32, 32), dtype=torch.uint8))
