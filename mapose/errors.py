"""Exceptions raised by mapose.

Every error a user can cause (a bad file, an unknown body part, a wrong option) is a
:class:`MaposeError`; its message names the bad value and what was expected.  The command-line
interface prints such errors as a single line, without a traceback.
"""

from __future__ import annotations


class MaposeError(Exception):
    """Base class of all user-facing mapose errors."""


class FormatError(MaposeError, ValueError):
    """A file exists but does not hold what its format promises (corrupt, truncated, wrong columns)."""


class SkeletonError(MaposeError, ValueError):
    """Unknown body parts, duplicated names, or skeletons that do not match."""


class ValidationError(MaposeError, ValueError):
    """An in-memory object (Tracks, Detections, Labels) breaks the data model's layout."""


class ConfigError(MaposeError, ValueError):
    """A configuration has unknown keys, unknown names or values out of range."""


class MissingFileError(MaposeError, FileNotFoundError):
    """A file that mapose was asked to read does not exist."""
