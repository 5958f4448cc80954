"""The offline Lite0 weights are mapped right (a daisy is a daisy) and reach the pose encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mapose.training.pretrained import lite0_classifier, lite0_timm_state_dict

DAISY = 985


@pytest.mark.slow
def test_packaged_weights_classify_flower_as_daisy():
    import cv2
    from sklearn.datasets import load_sample_image

    img = load_sample_image("flower.jpg")  # (427, 640, 3) RGB
    x = cv2.resize(img, (224, 224), interpolation=cv2.INTER_AREA).astype(np.float32)
    x = (torch.from_numpy(x).permute(2, 0, 1)[None] - 127.0) / 128.0  # Lite0 input scaling
    with torch.no_grad():
        logits = lite0_classifier()(x)
    assert int(logits.argmax()) == DAISY


def test_pose_encoder_receives_packaged_weights():
    from mapose.core.skeleton import Skeleton
    from mapose.training.model import build_untrained_model

    sk = Skeleton.from_names(["a", "b"], [("a", "b")])
    model = build_untrained_model(sk)
    full = lite0_timm_state_dict()
    enc = model.backbone.encoder.state_dict()
    n = 0
    for k, v in enc.items():
        src = k.removeprefix("model.")
        assert torch.equal(v, full[src]), k
        n += 1
    assert n > 250  # every encoder tensor (classifier head excluded) came from the package
