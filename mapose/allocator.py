"""glibc heap settings for long CPU jobs (no-ops where the C library is not glibc).

PyTorch on the CPU allocates and frees activation buffers of several megabytes at every step.
glibc serves large requests with fresh ``mmap`` pages and trims its heap when the top is free, so
each training step pays page faults that zero memory again (on the 2-core test machine a fifth of
the training process's CPU time was system time).  :func:`keep_freed_memory` keeps freed memory in
the heap for reuse; :func:`release_memory` hands it back when a stage is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from typing import Optional

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


@functools.lru_cache(maxsize=1)
def _glibc() -> Optional[ctypes.CDLL]:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def keep_freed_memory() -> bool:
    """Serve requests below 2 GB from the heap and never trim it automatically (process-wide).
    Returns whether the settings were applied.  Measured on the fly recipe, 150 training steps on
    2 cores: 104-113 s with glibc's defaults (system time 33-36 s), 92 s with these (11 s)."""
    libc = _glibc()
    if libc is None:
        return False
    ok = libc.mallopt(_M_MMAP_THRESHOLD, 2**31 - 1)
    ok &= libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
    return bool(ok)


def release_memory() -> None:
    """Give freed heap memory back to the operating system (glibc ``malloc_trim``; no-op elsewhere).

    Called between the streaming stage and tracking, so that buffers freed by the model and the
    decoder do not stay resident under the tracker's allocations (lower peak RSS).
    """
    gc.collect()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
