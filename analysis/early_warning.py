"""Offline evaluation of the instability monitor (instability/detectors.py) on finished runs:

  python -m analysis.early_warning ROOT [ROOT ...] [--seen=ROOT ...] --out docs/early_warning.md

"Bad" is fixed before looking (docs/early_warning.md, second definition): an instability, i.e. diverged,
spiked above its divergence threshold, or above its sweep's best LR (runs differing only in lr) and more than
--margin above its best final eval loss. Runs under --seen roots (already looked at) go to the tuning half,
the others are split by a hash of their path relative to their root; thresholds are chosen on the tuning
half from a small grid and reported on the held-out half: detection rate on bad runs, false-alarm rate on
good runs, median lead time.
"""

import dataclasses
import hashlib
import itertools
import math
import os
import statistics
import sys
import time
from typing import Any, Sequence

from absl import flags

from analysis import cli
from analysis.grouping import partition
from analysis.runs import Run
from instability import detectors
from rundir.files import METRICS_FILE, RAN_TO_END, read_jsonl, write_text

flags.DEFINE_string("out", None, "Markdown file whose table (between the markers) is rewritten; none: print.")
flags.DEFINE_float("margin", 0.1, "A run above its sweep's best LR is bad when its final eval loss exceeds the "
                   "sweep's best by this.")
flags.DEFINE_multi_string("seen", [], "A root whose runs were looked at before: read too, all in the tuning half.")
FLAGS = flags.FLAGS

BEGIN, END = "<!-- early_warning table: begin -->", "<!-- early_warning table: end -->"
# The grid thresholds are chosen from (the rest keep Thresholds' defaults).
GRID = {"attn_level": (3e2, 1e3, 3e3), "logz_rise": (2.0, 5.0, 10.0), "loss_spike": (1.2, 1.5, 2.0),
        "update_spike": (2.0, 3.0, 5.0)}


@dataclasses.dataclass(frozen=True)
class Case:
  """One finished run: its records, whether it is bad (and why), the step it went bad (None when good), its half."""

  name: str
  records: list[dict[str, Any]]
  eps: float
  bad: bool
  event_step: int | None
  tuning: bool
  why: tuple[str, ...] = ()  # the bad-run rules it meets: WHY's entries
  label: str = ""  # its root's folder name / its path under the root, for the per-run table


WHY = ("diverged", "spiked", "above best LR")


def read_records(path: str) -> list[dict[str, Any]]:
  """metrics.jsonl's complete, parseable lines."""
  return read_jsonl(os.path.join(path, METRICS_FILE))[0]


def in_tuning_half(relpath: str) -> bool:
  return hashlib.sha256(relpath.encode()).digest()[0] % 2 == 0


def root_of(path: str, roots: Sequence[str]) -> str | None:
  """The root (of those given) that holds `path`."""
  path = os.path.abspath(path)
  return next((r for r in roots if os.path.commonpath([path, os.path.abspath(r)]) == os.path.abspath(r)), None)


def _eval_curve(records: list[dict]) -> dict[int, float]:
  return {int(r["step"]): r["eval/loss"] for r in records if isinstance(r.get("eval/loss"), (int, float))}


def _first_spike(run: Run, records: list[dict]) -> int | None:
  """The first log step whose train loss exceeded the run's divergence_threshold; None if it never spiked."""
  if not (run.status.get("spike_logs") or 0) > 0:
    return None
  threshold = run.status.get("divergence_threshold")
  if isinstance(threshold, (int, float)):
    above = [int(r["step"]) for r in records if isinstance(r.get("train/loss"), (int, float))
             and not r["train/loss"] <= threshold]
    if above:
      return min(above)
  return run.status.get("last_spike_step")


def cases(runs: Sequence[Run], roots: Sequence[str], margin: float, seen: Sequence[str] = ()) -> list[Case]:
  """The completed and diverged runs labelled by docs/early_warning.md's second definition; others (running,
  failed, warned) are left out. Runs under a `seen` root are all in the tuning half."""
  out = []
  for group in partition(runs):
    finished = [r for r in group if r.state in RAN_TO_END]
    records = {r.name: read_records(r.path) for r in finished}
    scored = [r for r in finished if r.state == "completed" and r.final_loss is not None
              and math.isfinite(r.final_loss)]
    best_run = min(scored, key=lambda r: r.final_loss, default=None)
    best = best_run.final_loss if best_run else math.inf
    good = [r for r in scored if r.final_loss <= best + margin]
    for run in finished:
      events = {}
      if run.state == "diverged":
        events["diverged"] = int(run.status.get("step") or max(int(r["step"]) for r in records[run.name]))
      spike = _first_spike(run, records[run.name])
      if spike is not None:
        events["spiked"] = int(spike)
      if (best_run is not None and best_run.lr is not None and run.lr is not None and run.lr > best_run.lr
          and run in scored and run.final_loss > best + margin):
        events["above best LR"] = _left_band(_eval_curve(records[run.name]),
                                             [_eval_curve(records[g.name]) for g in good], margin)
      root = root_of(run.path, [*roots, *seen])
      relpath = os.path.relpath(run.path, root) if root else run.name
      tuning = root in seen or in_tuning_half(relpath)
      out.append(Case(run.name, records[run.name], run.eps, bool(events), min(events.values(), default=None),
                      tuning, tuple(w for w in WHY if w in events),
                      f"{os.path.basename(os.path.normpath(root))}/{relpath}" if root else run.name))
  return out


def _left_band(curve: dict[int, float], good: list[dict[int, float]], margin: float) -> int:
  """The first eval step (> 0) at which the run's eval loss is above every good run's by more than margin."""
  for step in sorted(s for s in curve if s > 0):
    band = [g[step] for g in good if step in g]
    if band and not curve[step] <= max(band) + margin:
      return step
  return max(curve, default=0)


def first_warning(case: Case, th: detectors.Thresholds) -> dict | None:
  """The case's first warning under `th` (its step, kind and where), replayed as the trainer raises them."""
  _, warnings = detectors.replay(case.records, dataclasses.replace(th, adam_eps=case.eps))
  return min(warnings, key=lambda w: w["step"], default=None)


def first_warnings(cases_: Sequence[Case], th: detectors.Thresholds) -> list[dict | None]:
  """Each case's first warning under `th`: the replay that score and run_rows both read, done once."""
  return [first_warning(case, th) for case in cases_]


def outcome(case: Case, warning: dict | None) -> str:
  """'detected' (warned at or before it went bad), 'late', 'missed', 'false alarm' or 'quiet' (good, no warning)."""
  if case.bad:
    return "missed" if warning is None else "detected" if warning["step"] <= case.event_step else "late"
  return "quiet" if warning is None else "false alarm"


def score(cases_: Sequence[Case], warnings: Sequence[dict | None]) -> dict[str, Any]:
  """Detection rate (bad runs warned at or before they went bad), false-alarm rate, median lead; `warnings`:
  first_warnings(cases_, th)."""
  detected, alarms, leads = 0, 0, []
  for case, warning in zip(cases_, warnings, strict=True):
    result = outcome(case, warning)
    if result == "detected":
      detected += 1
      leads.append(case.event_step - warning["step"])
    alarms += result == "false alarm"
  n_bad = sum(c.bad for c in cases_)
  n_good = len(cases_) - n_bad
  why = {w: sum(w in c.why for c in cases_) for w in WHY}
  return {"bad": n_bad, "good": n_good, "why": why, "detected": detected, "false_alarms": alarms,
          "detection_rate": detected / n_bad if n_bad else math.nan,
          "false_alarm_rate": alarms / n_good if n_good else math.nan,
          "median_lead": statistics.median(leads) if leads else math.nan}


def run_rows(cases_: Sequence[Case], warnings: Sequence[dict | None]) -> list[str]:
  """One markdown row per bad run or false alarm: which runs the monitor caught, missed or cried wolf on;
  `warnings`: first_warnings(cases_, th)."""
  rows = ["| run | bad by | went bad at | first warning | outcome |", "|---|---|---|---|---|"]
  for case, warning in sorted(zip(cases_, warnings, strict=True), key=lambda pair: pair[0].label):
    result = outcome(case, warning)
    if result == "quiet":
      continue
    where = "-" if warning is None else f"step {warning['step']}: {warning['kind']} ({warning['where']})"
    went_bad = "-" if case.event_step is None else case.event_step
    rows.append(f"| {case.label} | {', '.join(case.why) or '-'} | {went_bad} | {where} | {result} |")
  return rows


def choose(tuning: Sequence[Case]) -> tuple[detectors.Thresholds, dict[str, Any]]:
  """The grid point with the highest detection minus false-alarm rate on the tuning half (then longest lead)."""
  best = None
  for values in itertools.product(*GRID.values()):
    th = detectors.Thresholds(**dict(zip(GRID, values)))
    s = score(tuning, first_warnings(tuning, th))
    key = (_num(s["detection_rate"]) - _num(s["false_alarm_rate"]), _num(s["median_lead"]))
    if best is None or key > best[0]:
      best = (key, th, s)
  return best[1], best[2]


def _num(x: float) -> float:
  return 0.0 if math.isnan(x) else x


def _pct(x: float) -> str:
  return "n/a" if math.isnan(x) else f"{100 * x:.0f}%"


def table(chosen: detectors.Thresholds, tune: dict, held: dict, command: str, wall_s: float,
          held_rows: Sequence[str] = ()) -> str:
  rows = ["| half | bad runs | detected | detection rate | good runs | false alarms | false-alarm rate | median lead (steps) |",
          "|---|---|---|---|---|---|---|---|"]
  for name, s in (("tuning", tune), ("held-out", held)):
    lead = "n/a" if math.isnan(s["median_lead"]) else f"{s['median_lead']:g}"
    rows.append(f"| {name} | {s['bad']} | {s['detected']} | {_pct(s['detection_rate'])} | {s['good']} | "
                f"{s['false_alarms']} | {_pct(s['false_alarm_rate'])} | {lead} |")
  chosen_text = ", ".join(f"{k}={getattr(chosen, k):g}" for k in GRID)
  why = "; ".join(f"{name}: " + ", ".join(f"{s['why'][w]} {w}" for w in WHY)
                  for name, s in (("tuning", tune), ("held-out", held)))
  return "\n".join([BEGIN, f"Command: `{command}` ({wall_s:.1f} s wall).", "",
                    f"Thresholds chosen on the tuning half: {chosen_text}.", "", *rows, "",
                    f"Bad runs by rule (a run may meet several): {why}.",
                    *(["", "Held-out runs that went bad or were warned on:", "", *held_rows] if held_rows else []),
                    END])


def write(out: str, text: str) -> None:
  """Replaces the table between the markers of `out`; creates `out` holding only the table if absent."""
  if os.path.exists(out):
    with open(out) as f:
      doc = f.read()
    if BEGIN not in doc or END not in doc:
      cli.exit_usage(f"--out={out}: has no '{BEGIN}' ... '{END}' markers; expected docs/early_warning.md")
    text = doc[:doc.index(BEGIN)] + text + doc[doc.index(END) + len(END):]
  else:
    text += "\n"
  write_text(out, text)


def main(argv: list[str]) -> None:
  start = time.time()
  if not FLAGS.margin >= 0:
    cli.exit_usage(f"--margin={FLAGS.margin}: expected a number >= 0")
  both = sorted(set(argv[1:]) & set(FLAGS.seen))
  if both:
    cli.exit_usage(f"--seen={both[0]} is also given as a root: expected each root once")
  runs, _ = cli.load_runs([*argv, *FLAGS.seen], "analysis.early_warning")
  labelled = cases(runs, argv[1:], FLAGS.margin, FLAGS.seen)
  tuning = [c for c in labelled if c.tuning]
  held = [c for c in labelled if not c.tuning]
  chosen, tune_score = choose(tuning)
  held_warnings = first_warnings(held, chosen)
  held_score, held_rows = score(held, held_warnings), run_rows(held, held_warnings)
  wall_s = time.time() - start
  command = " ".join(["python -m analysis.early_warning", *argv[1:], *(f"--seen={r}" for r in FLAGS.seen)]
                     + ([f"--out={FLAGS.out}"] if FLAGS.out else []) + [f"--margin={FLAGS.margin:g}"])
  text = table(chosen, tune_score, held_score, command, wall_s, held_rows)
  if FLAGS.out:
    write(FLAGS.out, text)
  print(text)
  print(f"wall time {wall_s:.1f} s", file=sys.stderr)


if __name__ == "__main__":
  cli.run(main)
