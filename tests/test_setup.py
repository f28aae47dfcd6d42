"""setup.sh: its closing import check prints the versions and nothing else."""

import os
import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]


def test_the_import_check_is_quiet():
  """TensorFlow (under seqio) printed `Could not find cuda drivers on your machine` twice there."""
  check = re.search(r'^\.venv/bin/python -c "(.*?)"$', (REPO / "setup.sh").read_text(), re.M | re.S)
  env = {k: v for k, v in os.environ.items() if k not in ("PROXIES_VERBOSE", "TF_CPP_MIN_LOG_LEVEL")}
  result = subprocess.run([sys.executable, "-c", check.group(1)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.startswith("jax ") and result.stderr == ""
