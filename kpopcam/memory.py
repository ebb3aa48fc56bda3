"""Big blocks of memory go back to the system when they are freed.

Video frames are megabytes each, made and dropped tens of times a second on several threads.
glibc's malloc raises its mmap threshold to the size of each big block freed, after which such
blocks come from per-thread heaps that keep what is freed. Three plays of the 1080p crowd clip
in one process: RSS 553, 572, 596 MB as shipped before (peak 647); 322, 352, 373 MB (peak 483)
with this threshold and onnxruntime's arenas off for the models fed varying batches
(threads.py). In the window the same clip had passed 1.3 GB.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
BIG_BLOCK = 4 << 20  # a 1080p frame (6 MB) is over it; at 1 MB page faults cost a portrait 40 ms


def give_back_big_blocks() -> bool:
    """Call once, early (before the engine's threads start); True where it took effect."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, BIG_BLOCK))
    except (OSError, AttributeError):  # not glibc
        return False
