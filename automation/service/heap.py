"""Keeping the C heap from holding a cycle's freed large blocks (glibc only).

glibc's malloc serves a block of 128 KiB or more from a mapping of its own, given back to
the system when freed, until the first such block is freed: from then on it raises that
threshold to the freed block's size (up to 32 MiB), so a process that builds and drops
tables of 100,000 posts ends up serving them from its heap. The heap keeps what they
leave free, spread between live blocks where it cannot be given back: 31-35 MB of free
heap in bench_latency's engine after its first cycle, part of its resident memory for
the rest of the day. Fixing the thresholds at glibc's own starting values keeps every
large block in a mapping of its own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

__all__ = ["LARGE_BLOCK", "keep_large_blocks_mapped"]

LARGE_BLOCK = 128 * 1024  # glibc's starting mmap and trim thresholds
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)


def keep_large_blocks_mapped() -> bool:
    """Fix glibc's mmap and trim thresholds at ``LARGE_BLOCK`` for this process; whether
    it could (False on another C library, which has its own ways)."""
    if platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK) and mallopt(_M_TRIM_THRESHOLD, LARGE_BLOCK))
