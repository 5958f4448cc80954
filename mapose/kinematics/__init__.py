"""Kinematics: Tracks -> cleaned tracks, per-animal and social features (torch-free).

Layers, each a set of pure functions on ``Tracks`` (the ``movement`` layout, see
:mod:`mapose.core.tracks`) returning new objects:

- :mod:`~mapose.kinematics.cleaning` -- ``zeros_to_nan``, ``filter_by_confidence``,
  ``flag_outlier_jumps`` / ``outlier_mask``, ``interpolate_gaps``, ``rolling_median``,
  ``savgol_smooth`` (each logs to ``attrs["cleaning_log"]``) and ``calibrate`` (px -> cm,
  frames -> s);
- :mod:`~mapose.kinematics.motion` -- ``velocity``, ``acceleration``, ``speed``, ``heading``,
  ``angular_velocity`` / ``angular_speed``, ``joint_angle``, ``body_length``, ``path_length``,
  ``egocentric``;
- :mod:`~mapose.kinematics.social` -- every ordered pair: ``pairwise_distance``,
  ``relative_heading``, ``facing_angle``, ``approach_speed``, ``contact``,
  ``min_keypoint_distance``;
- :mod:`~mapose.kinematics.regions` -- regions of interest: ``region_occupancy``,
  ``region_distance``, ``region_summary`` (time inside, visits, latency, line crossings);
- :mod:`~mapose.kinematics.windows` -- centred NaN-aware rolling statistics;
- :mod:`~mapose.kinematics.table` -- :func:`feature_table`, the DataFrame handed to behaviour
  analysis (``mapose.io.tables.save_feature_table`` writes it);
- :mod:`~mapose.kinematics.config` -- :class:`FeatureConfig` (keypoint roles, guessed from names
  when empty), :class:`CleaningConfig`, :class:`CalibrationConfig`;
  :func:`~mapose.kinematics.pipeline.clean` runs a :class:`CleaningConfig`;
- :mod:`~mapose.kinematics.checks` -- :func:`check_feature_input` (frames, finite positions, two
  animals for pair mode), called by every command that reads pose files.

To add a feature, see the docstring of :mod:`mapose.kinematics.table`.
"""

from mapose.kinematics.checks import check_feature_input
from mapose.kinematics.cleaning import (
    calibrate,
    cleaning_log,
    filter_by_confidence,
    flag_outlier_jumps,
    interpolate_gaps,
    outlier_mask,
    rolling_median,
    savgol_smooth,
    space_unit,
    zeros_to_nan,
)
from mapose.kinematics.config import (
    CalibrationConfig,
    CleaningConfig,
    FeatureConfig,
    FeaturesRunConfig,
    resolve_roles,
)
from mapose.kinematics.motion import (
    acceleration,
    angular_speed,
    angular_velocity,
    body_length,
    egocentric,
    heading,
    joint_angle,
    keypoint_position,
    path_length,
    speed,
    velocity,
)
from mapose.kinematics.pipeline import apply_calibration, clean
from mapose.kinematics.regions import region_distance, region_occupancy, region_summary
from mapose.kinematics.social import (
    approach_speed,
    contact,
    facing_angle,
    min_keypoint_distance,
    pairwise_distance,
    relative_heading,
)
from mapose.kinematics.table import animal_features, feature_table, feature_tables, unseen_rows
from mapose.kinematics.windows import rolling_stats

__all__ = [
    "CalibrationConfig",
    "CleaningConfig",
    "FeatureConfig",
    "FeaturesRunConfig",
    "acceleration",
    "angular_speed",
    "angular_velocity",
    "animal_features",
    "apply_calibration",
    "approach_speed",
    "body_length",
    "calibrate",
    "check_feature_input",
    "clean",
    "cleaning_log",
    "contact",
    "egocentric",
    "facing_angle",
    "feature_table",
    "feature_tables",
    "filter_by_confidence",
    "flag_outlier_jumps",
    "heading",
    "interpolate_gaps",
    "joint_angle",
    "keypoint_position",
    "min_keypoint_distance",
    "outlier_mask",
    "pairwise_distance",
    "path_length",
    "region_distance",
    "region_occupancy",
    "region_summary",
    "relative_heading",
    "resolve_roles",
    "rolling_median",
    "rolling_stats",
    "savgol_smooth",
    "space_unit",
    "speed",
    "unseen_rows",
    "velocity",
    "zeros_to_nan",
]
