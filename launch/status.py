r"""Shows where a sweep stands, from its run directories alone.

  python -m launch.status runs/fig1_cpu

One line per unit (state, step, last train loss, final eval loss, attempts, wall time, instability
warnings as count@first step and, for a sweep launched with --predict_from, the predicted max attention
logit: 'YES 2e+04' past the threshold, 'no 3.1e+02', 'no fit'), then the totals (pending, running,
completed, diverged, warned, failed) and an ETA. Exit code 2 on a bad root.
"""

import os
import sys
import time
from collections.abc import Sequence

from absl import app

from launch import predicted_units
from launch.errors import LaunchError
from rundir import display, flag_parser, manifests, progress


def _number(value: float | None) -> str:
  return "-" if value is None else f"{value:.4f}"


def table(root: str) -> str:
  if not os.path.isdir(root):
    raise LaunchError(f"root {root} is not a directory: expected a sweep's root")
  statuses = progress.sweep_status(root)
  predictions = predicted_units.read(root)
  predicted = ["predicted"] if predictions else []
  rows = [["unit", "state", "step", "loss", "eval", "tries", "time", "warn", *predicted, ""]]
  for s in statuses:
    if predictions:
      predicted = [predicted_units.cell(predictions["units"].get(s.name))]
    rows.append([s.name, s.state, "-" if s.step is None else f"{s.step}/{s.total_steps or '?'}",
                 _number(s.last_train_loss), _number(s.final_eval_loss), str(s.attempts), display.duration(s.seconds),
                 f"{s.warnings}@{s.first_warning_step}" if s.warnings else "-", *predicted,
                 s.reason if s.state != "completed" and s.reason else ""])
  lines = [line.rstrip() for line in display.columns(rows, right=range(2, len(rows[0]) - 1)).splitlines()]
  totals = progress.totals(statuses)
  seconds = progress.eta(statuses)
  left = totals["pending"] + totals["running"]
  if not left:
    when = "done"
  elif seconds is None:
    when = "unknown"
  else:
    when = f"{display.duration(seconds)} (at {time.strftime('%H:%M', time.localtime(time.time() + seconds))})"
  lines.append(" ".join(f"{k} {v}" for k, v in totals.items()) + f" | {len(statuses)} units | eta {when}")
  if predictions:
    lines.append(predicted_units.summary(predictions))
  return "\n".join(lines)


def main(argv: list[str]) -> None:
  if len(argv) != 2:
    print(f"error: arguments {argv[1:]}: expected one, the sweep's root", file=sys.stderr)
    sys.exit(2)
  try:
    print(table(argv[1]))
  except (LaunchError, manifests.ManifestError) as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
  app.run(main, flags_parser=flag_parser.parse_flags)
