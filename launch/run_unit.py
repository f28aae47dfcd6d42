r"""Runs one work unit (launch/unit.py) as a process, with its retries: the job the XManager executor
starts (the local executor trains units in long-lived train.worker processes, SLURM calls launch/unit.py
in its array task). `launch.sweep --dry_run` prints each unit's bare `python -m train.main` command.

  python -m launch.run_unit --workdir=runs/demo/lr=0.01 --gin_file=gin/qkln.gin \
      --gin_file=gin/local.gin --gin_bindings=lr=0.01 --max_retries=1

Exit code: 0 finished (completed, diverged or warned), 1 failed, 130 when a signal stopped the trainer (resumable),
128+N when signal N stopped this runner.
"""

import signal
import sys

from absl import app, flags

from launch import unit
from rundir import flag_parser

flags.DEFINE_string("workdir", None, "The unit's run directory.", required=True)
flags.DEFINE_multi_string("gin_file", [], "Gin files, in order.")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings, in order.")
flags.DEFINE_integer("max_retries", 1, "Attempts after the first when the trainer fails.")
FLAGS = flags.FLAGS


def _stop(signum, frame) -> None:
  raise SystemExit(128 + signum)


def main(argv: list[str]) -> None:
  del argv
  unit.die_with_parent()
  signal.signal(signal.SIGTERM, _stop)
  sys.exit(unit.run(FLAGS.gin_file, FLAGS.gin_bindings, FLAGS.workdir, FLAGS.max_retries))


if __name__ == "__main__":
  app.run(main, flags_parser=flag_parser.parse_flags)
