"""mapose: multi-animal pose estimation, tracking and behaviour analysis.

The package is split by stage (see ``CONVENTIONS.md`` in the repository for the data flow):

- :mod:`mapose.core` -- data types (:class:`~mapose.core.Skeleton`, :class:`~mapose.core.Detections`,
  ``Tracks`` as an :class:`xarray.Dataset`, :class:`~mapose.core.Labels`), torch-free.
- :mod:`mapose.io` -- every file format in and out (the only package that touches files).
- :mod:`mapose.cli` -- the ``mapose`` command.

Importing :mod:`mapose` has no side effects and does not import torch.
"""

__version__ = "0.1.0"

from mapose.errors import MaposeError  # noqa: E402

__all__ = ["MaposeError", "__version__"]
