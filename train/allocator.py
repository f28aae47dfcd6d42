"""glibc malloc settings that keep the train step's buffers mapped from one step to the next.

XLA's CPU client allocates each execution's temporary buffer (75 MB for a d=128 repro_cpu unit) with
posix_memalign from an Eigen worker thread. glibc gives such a thread an arena of its own, whose heaps are
capped at 64 MiB, so a larger block is a fresh mmap each step and an munmap after: ~19,000 page faults a
step, each zeroing a page, about a third of a repro_cpu step (benchmarks/allocator_benchmark.py). One arena
(the main one, on the brk heap, which has no cap), no mmap for large blocks and no trimming of the heap's top
let the next step reuse the same pages. Set once per process before the backend starts its threads (an
existing thread keeps its arena). Numerics are unchanged: the same bytes, at the same alignment.
"""

import ctypes
import ctypes.util
import sys

# mallopt parameters (glibc's malloc.h)
M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -4, -8
SETTINGS = ((M_ARENA_MAX, 1), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, 1 << 30))  # trim only past 1 GiB free


def keep_step_buffers_mapped() -> bool:
  """Applies SETTINGS with glibc's mallopt; False (nothing changed) off Linux or without glibc."""
  if not sys.platform.startswith("linux"):
    return False
  try:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    mallopt = libc.mallopt
  except (OSError, AttributeError):  # musl and other libcs have no mallopt
    return False
  mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
  accepted = [mallopt(param, value) == 1 for param, value in SETTINGS]  # each applied, even after a refusal
  return all(accepted)
