"""Big blocks of memory go back to the system when they are freed.

Video frames are megabytes each, made and dropped tens of times a second on several threads.
glibc's malloc raises its mmap threshold to the size of each big block freed, after which such
blocks come from per-thread heaps that keep what is freed. Three plays of the 1080p crowd clip
in one process: RSS 553, 572, 596 MB as shipped before (peak 647); 336, 374, 390 MB (peak 499)
with this threshold and MTCNN's onnxruntime arena off (threads.py). In the window the same clip
had passed 1.3 GB. What is freed between live blocks stays in the heaps: give_back_freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
import threading
import time

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
TIDY_EVERY_S = 10.0
BIG_BLOCK = 4 << 20  # a 1080p frame (6 MB) is over it; at 1 MB page faults cost a portrait 40 ms


@functools.cache
def _glibc():
    """The C library, when it is glibc (mallopt and malloc_trim are its own), else None.
    Found once: find_library runs ldconfig in a subprocess."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def give_back_big_blocks() -> bool:
    """Call once, early (before the engine's threads start); True where it took effect."""
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(M_MMAP_THRESHOLD, BIG_BLOCK))


_tidied = [float("-inf")]
_tidy_lock = threading.Lock()


def give_back_freed(every_s: float = TIDY_EVERY_S) -> bool:
    """Hands memory freed inside glibc's heaps back to the system, at most once every every_s
    seconds whoever asks (call it from a thread whose work may wait: it takes 15-30 ms, and
    threads allocating meanwhile wait for it). Freed blocks scattered between live ones stay
    with the process otherwise: one face played for 5 minutes grew 15 MB a minute, and came
    back to its first size at each call. True when it ran."""
    libc = _glibc()
    with _tidy_lock:
        now = time.monotonic()
        if libc is None or now - _tidied[0] < every_s:
            return False
        _tidied[0] = now
    libc.malloc_trim(0)
    return True
