"""train/allocator.py: a block the size of a step's temporary buffer, freed and allocated again from a worker
thread, reuses its pages (no new faults) with the trainer's malloc settings, and faults every page without."""

import subprocess
import sys
import textwrap

import pytest

# 80 MB from a second thread, as XLA's Eigen threads allocate: faults counted while touching the second block.
CHILD = textwrap.dedent("""
    import ctypes, resource, sys, threading
    from train import allocator
    if sys.argv[1] == "tuned":
      assert allocator.keep_step_buffers_mapped()
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
    libc.free.argtypes = (ctypes.c_void_p,)
    SIZE = 80 * 2**20
    out = []
    def step():
      for i in range(2):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        block = libc.malloc(SIZE)
        ctypes.memset(block, 1, SIZE)
        out.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        libc.free(block)
    thread = threading.Thread(target=step)
    thread.start()
    thread.join()
    print(out[1])
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_step_sized_block_reuses_its_pages_only_with_the_trainer_settings():
  faults = {arm: int(subprocess.run([sys.executable, "-c", CHILD, arm], capture_output=True, text=True,
                                    check=True).stdout) for arm in ("tuned", "default")}
  pages = 80 * 2**20 // 4096  # 20,480
  assert faults["default"] > 0.9 * pages  # a fresh mmap: every page faults again
  assert faults["tuned"] < 0.05 * pages  # the same pages, still mapped

