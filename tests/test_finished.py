"""train/finished.py: a finished run's rerun is told apart from the run directory alone, only when unambiguous."""

import json
import os
import subprocess
import sys

import pytest

from train import finished

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _finished_run(path, gin_files, gin_bindings, state="completed"):
  """A run directory as the trainer leaves it, without training: run.json then status.json."""
  os.makedirs(path, exist_ok=True)
  with open(os.path.join(path, "run.json"), "w") as f:
    json.dump({"gin_files": gin_files, "gin_bindings": gin_bindings, "bindings": {}}, f)
  with open(os.path.join(path, "status.json"), "w") as f:
    json.dump({"state": state, "step": 10}, f)


@pytest.fixture
def gin_tree(tmp_path, monkeypatch):
  """top.gin includes inc.gin (both in the working directory), written an hour before run.json."""
  monkeypatch.chdir(tmp_path)
  (tmp_path / "top.gin").write_text("include 'inc.gin'\nsteps = 10\n")
  (tmp_path / "inc.gin").write_text("lr = 0.1\n")
  _finished_run("run", ["top.gin"], ["lr=0.2"])
  hour_ago = os.path.getmtime("run/run.json") - 3600
  for name in ("top.gin", "inc.gin"):
    os.utime(name, (hour_ago, hour_ago))
  return tmp_path


def test_the_same_command_on_a_finished_run_is_told_from_the_directory(gin_tree):
  assert finished.state(["top.gin"], ["lr=0.2"], "run") == "completed"
  _finished_run("diverged", ["top.gin"], [], state="diverged")
  assert finished.state(["top.gin"], [], "diverged") == "diverged"


@pytest.mark.parametrize("files, bindings_, why", [
    (["top.gin"], ["lr=0.3"], "other bindings"),
    (["top.gin", "inc.gin"], ["lr=0.2"], "other files"),
    (["top.gin"], ["lr=0.2"], "an included file changed since"),
    (["top.gin"], ["lr=0.2"], "an include is missing"),
    (["top.gin"], ["lr=0.2"], "still running"),
    (["top.gin"], ["lr=0.2"], "no run there"),
])
def test_anything_else_goes_through_the_full_check(files, bindings_, why, gin_tree):
  workdir = "run"
  if why == "an included file changed since":
    (gin_tree / "inc.gin").write_text("lr = 0.5\n")
  elif why == "an include is missing":
    (gin_tree / "inc.gin").unlink()
  elif why == "still running":
    _finished_run("run", ["top.gin"], ["lr=0.2"], state="running")
  elif why == "no run there":
    workdir = "elsewhere"
  assert finished.state(files, bindings_, workdir) is None


def test_rerunning_a_finished_run_answers_before_importing_jax(gin_tree):
  """The README's rerun of a finished run: one line, exit 0, no trainer imports (they take seconds)."""
  (gin_tree / "inc.gin").write_text((gin_tree / "inc.gin").read_text())  # the same content, a new mtime
  command = [sys.executable, "-X", "importtime", "-m", "train.main", "--gin_file=top.gin",
             "--gin_bindings=lr=0.2", "--workdir=run"]
  env = {**os.environ, "PYTHONPATH": REPO}
  result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
  assert result.returncode == 2 and "error: gin macros" in result.stderr  # changed since: the full check ran
  os.utime("inc.gin", (0, 0))
  result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
  assert result.returncode == 0 and result.stdout == "run: already completed; nothing to do\n"
  imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
  assert "jax" not in imported and "tensorflow" not in imported and "train.run" not in imported
