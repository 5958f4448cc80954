"""Training data: labelled frames in memory, splits, augmentation and target encoders.

- :mod:`mapose.data.frames` -- decode labelled images/video frames once;
- :mod:`mapose.data.split` -- train/validation splits by frame threshold, video or time blocks;
- :mod:`mapose.data.augment` -- keypoint-respecting affine + photometric augmentation;
- :mod:`mapose.data.targets` -- heatmap / PAF / offset target encoders (numpy);
- :mod:`mapose.data.dataset` -- torch datasets and the LightningDataModule.

To add a head's targets: write a pure ``encode_<role>(keypoints, shape, stride, ...)`` in
``targets.py`` and emit it from :func:`mapose.data.dataset.encode_sample` under the head's role.
"""

from mapose.data.split import split_frames
from mapose.data.targets import encode_heatmap, encode_offsets, encode_paf, output_shape

__all__ = ["encode_heatmap", "encode_offsets", "encode_paf", "output_shape", "split_frames"]
