"""Tracking: :class:`~mapose.core.Detections` → ``Tracks`` with identities you can check.

- :class:`Tracker` -- frame-to-frame Hungarian linking with a constant-velocity Kalman filter
  (:mod:`mapose.tracking.linking`), then min-cost-flow stitching of tracklets into a known number
  of animals using motion, body size and appearance (:mod:`mapose.tracking.stitching`,
  :mod:`mapose.tracking.appearance`), per-frame ``identity_confidence`` and a table of likely swaps
  (``Tracker.swap_events_``).
- :func:`swap_identities` -- apply a user correction from a frame onward.
- :func:`evaluate_tracks` -- MOTA, IDF1, ID switches and fragmentations against reference tracks.

Pairwise costs live in :mod:`mapose.tracking.costs` (pure numpy, vectorised); to add a cue, add a
term to :func:`mapose.tracking.stitching.link_costs` (across gaps) or to the frame cost in
:func:`mapose.tracking.linking.link_frames`.
"""

from mapose.tracking.metrics import evaluate_tracks
from mapose.tracking.swap import swap_identities
from mapose.tracking.tracker import SWAP_COLUMNS, Tracker

__all__ = ["SWAP_COLUMNS", "Tracker", "evaluate_tracks", "swap_identities"]
