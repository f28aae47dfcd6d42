"""Offline evaluation of the instability monitor (instability/detectors.py) on finished runs:

  python -m analysis.early_warning ROOT [ROOT ...] [--seen=ROOT ...] --out docs/early_warning.md
  python -m analysis.early_warning --by_suite ROOT [ROOT ...] [--predict_from=ROOT] --out docs/early_warning.md

--by_suite is the fifth definition (docs/early_warning.md, analysis/onset.py): the monitor's risk score at
10% and 25% of training scored by AUROC against each run's outcome, the halves by suite (TUNING_SUITES,
HELDOUT_SUITES), each experiment counted once (`distinct`), and Section 3.3's scaling fit scored the same way;
with --out, their ROC curves are drawn beside the doc (roc_panels). Without it, the second definition:

"Bad" is fixed before looking (docs/early_warning.md, second definition): an instability, i.e. diverged,
spiked above its divergence threshold, or above its sweep's best LR (runs differing only in lr) and more than
--margin above its best final eval loss. Runs under --seen roots (already looked at) go to the tuning half,
the others are split by a hash of their path relative to their root; thresholds are chosen on the tuning
half from a small grid and reported on the held-out half: detection rate on bad runs, false-alarm rate on
good runs, median lead time.
"""

import dataclasses
import itertools
import math
import os
import statistics
import sys
import time
from typing import Any, Sequence

from absl import flags

from analysis import auroc, cli, onset, predict, roc_figure, suites
from analysis.bad_runs import MARGIN, WHY, Case, cases, monitored, read_records, root_of
from analysis.runs import InputError, Run, is_number
from instability import detectors
from rundir import manifests
from rundir.files import RAN_TO_END, write_text

flags.DEFINE_string("out", None, "Markdown file whose table (between the markers) is rewritten; none: print.")
flags.DEFINE_float("margin", MARGIN, "A run above its sweep's best LR is bad when its final eval loss exceeds the "
                   "sweep's best by this.")
flags.DEFINE_multi_string("seen", [], "A root whose runs were looked at before: read too, all in the tuning half.")
flags.DEFINE_bool("by_suite", False, "The fifth definition: onset from the train loss, the monitor's risk scored "
                  "at fixed early times, tuning and held-out halves by suite (sweep.json's name), each "
                  "experiment once.")
flags.DEFINE_multi_string("predict_from", [], "With --by_suite: tuning-suite roots whose finished runs fit "
                          "Section 3.3's max-logit prediction, scored as a before-training classifier.")
flags.DEFINE_integer("predict_step", 50, "With --predict_from: the step whose max logit is predicted.")
FLAGS = flags.FLAGS

BEGIN, END = "<!-- early_warning table: begin -->", "<!-- early_warning table: end -->"
# The grid thresholds are chosen from (the rest keep Thresholds' defaults).
GRID = {"attn_level": (3e2, 1e3, 3e3), "logz_rise": (2.0, 5.0, 10.0), "loss_spike": (1.2, 1.5, 2.0),
        "update_spike": (2.0, 3.0, 5.0)}


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


# Fourth definition (docs/early_warning.md, 2026-12-03): the monitor's trend risk scored as a predictor at
# fixed early times, split by whole suites (sweep.json's name), fixed before any held-out suite is read. The
# positive control's suites were read (the third definition's look, and to design the fourth): tuning.
TUNING_SUITES = ("repro_cpu", "repro_seeds_cpu", "fig9_fit_cpu", "fig10_cpu", "logit_divergence_cpu",
                 "logit_divergence_seeds_cpu")
HELDOUT_SUITES = ("fig7_cpu", "fig8_cpu", "fig8_seeds_cpu", "figE4_cpu", "fig9_heldout_cpu", "fig11_13_cpu",
                  "repro_long_cpu", "repro_long_seeds_cpu")
TIMES = (0.1, 0.25)  # fractions of each run's planned steps
FALSE_ALARM_RATE = 0.05  # the alarm level keeps the tuning suites' good runs at or under it
SCORED_BEGIN, SCORED_END = "<!-- early_warning scored: begin -->", "<!-- early_warning scored: end -->"


@dataclasses.dataclass
class Scored:
  """One finished run of a named suite: its outcome (analysis/onset.py), the monitor's risk per record (step,
  excess in nats), its first warning, and Section 3.3's predicted max logit (None without a fit)."""

  label: str  # suite/path under the root
  path: str
  tuning: bool
  outcome: onset.Outcome
  steps: int
  risk: list[tuple[int, float]]
  first_warning: dict | None
  predicted: float | None = None
  experiment: str | None = None  # Run.experiment: the same in two suites' copies of one run

  def score_at(self, fraction: float) -> float:
    """The largest risk at a record by `fraction` of the run's steps; -inf before any trend."""
    until = math.floor(fraction * self.steps)
    return max((r for s, r in self.risk if s <= until), default=-math.inf)

  def first_alarm(self, level: float) -> int | None:
    return next((s for s, r in self.risk if r >= level), None)


def suite_of(root: str) -> str:
  """The root's suite name from its sweep.json; exit 2 when it is in neither half."""
  try:
    name = manifests.sweep_name(suites.read_manifest(root))
  except InputError as e:
    cli.exit_usage(str(e))
  if name not in TUNING_SUITES + HELDOUT_SUITES:
    cli.exit_usage(f"{root}: suite {name!r} is in neither the tuning suites ({', '.join(TUNING_SUITES)}) nor "
                   f"the held-out suites ({', '.join(HELDOUT_SUITES)})")
  return name


def run_thresholds(run: Run) -> detectors.Thresholds:
  """The monitor's default thresholds with the run's own AdamW eps and schedule, as the trainer builds them."""
  warmup, steps = run.setting("warmup_steps"), run.status.get("total_steps", run.setting("steps"))
  return detectors.Thresholds(adam_eps=run.eps, warmup_steps=int(warmup) if is_number(warmup) else 0,
                              steps=int(steps) if is_number(steps) else 0)


def scored_runs(runs: Sequence[Run], roots: Sequence[str], margin: float) -> list[Scored]:
  """Each finished run under the roots, labelled and replayed; its half is its root's suite's."""
  names = {root: suite_of(root) for root in roots}
  outcomes = {}
  for root in roots:  # a sweep is one suite's: its best LR is never shared across suites
    members = [r for r in runs if root_of(r.path, roots) == root]
    outcomes.update(onset.label(members, {r.path: read_records(r.path) for r in members
                                          if r.state in RAN_TO_END}, margin))
  out = []
  for run in runs:
    if run.path not in outcomes:
      continue
    root = root_of(run.path, roots)
    th = run_thresholds(run)
    monitor, warnings = detectors.replay(monitored(run.path), th)
    out.append(Scored(f"{names[root]}/{os.path.relpath(run.path, root)}", run.path, names[root] in TUNING_SUITES,
                      outcomes[run.path], th.steps, monitor.risk,
                      min(warnings, key=lambda w: w["step"], default=None), experiment=run.experiment))
  return out


def distinct(scored: Sequence[Scored]) -> list[Scored]:
  """Fifth definition: each experiment counts once, as the copy in the earliest suite of TUNING_SUITES then
  HELDOUT_SUITES (then by path). A held-out run whose experiment a tuning suite also ran is dropped: it was
  tuned on. A run without a resolved config is its own experiment."""
  order = {name: i for i, name in enumerate(TUNING_SUITES + HELDOUT_SUITES)}
  kept, seen = [], set()
  for s in sorted(scored, key=lambda s: (order[s.label.split("/")[0]], s.label)):
    if s.experiment is None or s.experiment not in seen:
      kept.append(s)
      seen.add(s.experiment)
  return kept


def copies_line(scored: Sequence[Scored], kept: Sequence[Scored]) -> str:
  """How many copies `distinct` dropped, per half, and the held-out AUROC over every run (the fourth
  definition's count) beside it."""
  kept_ids = {id(s) for s in kept}
  dropped = [s for s in scored if id(s) not in kept_ids]
  every = "; ".join(f"{100 * f:g}% " + _ci(h["auroc"], h["interval"])
                    for f in TIMES for h in [evaluate(scored, f)["held-out"]])
  return (f"Each experiment counted once (fifth definition): {len(kept)} of {len(scored)} runs; dropped "
          f"{sum(s.tuning for s in dropped)} tuning copies and {sum(not s.tuning for s in dropped)} held-out ones "
          f"(copies of a tuning run or of an earlier held-out suite's). Every run counted (the fourth "
          f"definition), held-out AUROC: {every}.")


def add_predictions(scored: Sequence[Scored], runs: Sequence[Run], fit_runs: Sequence[Run], step: int) -> None:
  """Section 3.3 before training: each run's max logit of block 0 at `step`, predicted by analysis.predict's
  fit on `fit_runs` (those sharing its settings but lr and size, at its lr, extrapolated to its size)."""
  by_path = {r.path: r for r in runs}
  units = [{"name": s.path, "gin_files": list(run.gin_files), "gin_bindings": list(run.gin_bindings),
            "bindings": run.bindings, "params": run.params, "step": step}
           for s in scored if (run := by_path[s.path]).params is not None]
  by_name = {s.path: s for s in scored}
  for p in predict.predict_units(fit_runs, units):
    if p.prediction is not None and p.prediction.predicted > 0:
      by_name[p.name].predicted = p.prediction.predicted


def alarm_level_at(scored: Sequence[Scored], fraction: float) -> float:
  """The alarm level at `fraction` of training: FALSE_ALARM_RATE on the tuning half's good runs."""
  return auroc.alarm_level([s.score_at(fraction) for s in scored if s.tuning and not s.outcome.bad],
                           FALSE_ALARM_RATE)


def evaluate(scored: Sequence[Scored], fraction: float) -> dict[str, Any]:
  """At `fraction` of training: the alarm level from the tuning half, then per half AUROC with its interval,
  detection and false-alarm rates at that level, the median lead (onset minus first alarm) of the detected."""
  level = alarm_level_at(scored, fraction)
  out = {"level": level}
  for half, members in (("tuning", [s for s in scored if s.tuning]), ("held-out", [s for s in scored if not s.tuning])):
    bad = [s for s in members if s.outcome.bad]
    good = [s for s in members if not s.outcome.bad]
    bad_scores, good_scores = [s.score_at(fraction) for s in bad], [s.score_at(fraction) for s in good]
    detected = [s for s, x in zip(bad, bad_scores) if x >= level]
    leads = [s.outcome.onset - s.first_alarm(level) for s in detected]
    out[half] = {"bad": len(bad), "good": len(good), "auroc": auroc.auroc(bad_scores, good_scores),
                 "interval": auroc.interval(bad_scores, good_scores),
                 "already": sum(s.outcome.onset <= math.floor(fraction * s.steps) for s in bad),
                 "detected": len(detected), "false_alarms": sum(x >= level for x in good_scores),
                 "median_lead": statistics.median(leads) if leads else math.nan}
  return out


def _ci(value: float, lo_hi: tuple[float, float]) -> str:
  return "n/a" if math.isnan(value) else f"{value:.2f} ({lo_hi[0]:.2f}-{lo_hi[1]:.2f})"


def _auroc_text(bad: Sequence[float], good: Sequence[float]) -> str:
  return _ci(auroc.auroc(bad, good), auroc.interval(bad, good))


def _level(level: float) -> str:
  """An alarm level; below every finite score (the tuning half's good runs had no score yet) it is 'any'."""
  return "any" if level <= -sys.float_info.max else f"{level:.3g}"


def _ratio(k: int, n: int) -> str:
  return f"{k}/{n} ({100 * k / n:.0f}%)" if n else f"{k}/0"


def covered_by_fit(scored: Sequence[Scored]) -> tuple[list[Scored], list[Scored]]:
  """(bad, good): the held-out runs Section 3.3's fit has a prediction for, what the table and the figure score."""
  covered = [s for s in scored if not s.tuning and s.predicted is not None]
  return [s for s in covered if s.outcome.bad], [s for s in covered if not s.outcome.bad]


def scored_table(scored: Sequence[Scored], fit: str | None, figure: str | None = None) -> list[str]:
  """The evaluation block below its command line: per time and half, AUROC, alarm level, detection,
  false alarms, lead (then the ROC figure at the relative path `figure`, if any); the scaling fit against the
  monitor on the held-out runs the fit covers; the held-out per-run table."""
  halves = {h: sorted({s.label.split("/")[0] for s in scored if s.tuning == (h == "tuning")})
            for h in ("tuning", "held-out")}
  rows = ["| time | half | bad / good runs | bad already by then | AUROC (95% interval) | alarm level (nats) | "
          "detected | false alarms | median lead (steps) |", "|---|---|---|---|---|---|---|---|---|"]
  for fraction in TIMES:
    e = evaluate(scored, fraction)
    for half in ("tuning", "held-out"):
      h = e[half]
      lead = "n/a" if math.isnan(h["median_lead"]) else f"{h['median_lead']:g}"
      rows.append(f"| {100 * fraction:g}% | {half} | {h['bad']} / {h['good']} | {h['already']} | "
                  f"{_ci(h['auroc'], h['interval'])} | {_level(e['level'])} | {_ratio(h['detected'], h['bad'])} | "
                  f"{_ratio(h['false_alarms'], h['good'])} | {lead} |")
  held = [s for s in scored if not s.tuning]
  lines = [f"Suites: tuning {', '.join(halves['tuning']) or '-'}; held out {', '.join(halves['held-out']) or '-'}.",
           "", *rows, ""]
  if figure is not None:
    fitted = ", and of Section 3.3's fit before training" if fit is not None else ""
    lines += [f"![ROC curves of the monitor's score at {' and '.join(f'{100 * f:g}%' for f in TIMES)} of training "
              f"on each half{fitted}]({figure})", ""]
  if fit is not None:
    bad, good = covered_by_fit(scored)
    fitted = _auroc_text([math.log10(s.predicted) for s in bad], [math.log10(s.predicted) for s in good])
    monitor = "; ".join(f"the monitor at {100 * f:g}% on the same runs: "
                        + _auroc_text([s.score_at(f) for s in bad], [s.score_at(f) for s in good]) for f in TIMES)
    lines += [f"Section 3.3 before training (the fit on {fit}) on the {len(bad) + len(good)} of {len(held)} held-out runs "
              f"it covers ({len(bad)} bad, {len(good)} good): AUROC {fitted}; {monitor}.", ""]
  lines += ["Held-out runs (bad, or warned):", "",
            "| run | bad by | went bad at | " + " | ".join(f"score at {100 * f:g}%" for f in TIMES)
            + " | first warning |",
            "|---|---|---|" + "---|" * len(TIMES) + "---|"]
  for s in sorted(held, key=lambda s: s.label):
    if not s.outcome.bad and s.first_warning is None:
      continue
    w = s.first_warning
    where = "-" if w is None else f"step {w['step']}: {w['kind']} ({w['where']})"
    scores = " | ".join(f"{x:.2f}" if math.isfinite(x) else "-" for x in (s.score_at(f) for f in TIMES))
    lines.append(f"| {s.label} | {', '.join(s.outcome.why) or '-'} | {s.outcome.onset if s.outcome.bad else '-'} | "
                 f"{scores} | {where} |")
  return lines


def roc_panels(scored: Sequence[Scored], fit: str | None) -> list[tuple[str, list[roc_figure.Curve]]]:
  """The figure beside the block: per time, the monitor's ROC on each half with its alarm level's point, and
  Section 3.3's fit (a score before training, the same at every time) on the held-out runs it covers."""
  panels = []
  for fraction in TIMES:
    level = alarm_level_at(scored, fraction)
    curves = []
    for name, tuning, style in (("monitor, held out", False, "-"), ("monitor, tuning", True, "--")):
      members = [s for s in scored if s.tuning == tuning]
      curves.append(roc_figure.Curve(name, [s.score_at(fraction) for s in members if s.outcome.bad],
                                     [s.score_at(fraction) for s in members if not s.outcome.bad], style, level))
    if fit is not None:
      bad, good = covered_by_fit(scored)
      curves.append(roc_figure.Curve("Section 3.3 fit, held out", [s.predicted for s in bad],
                                     [s.predicted for s in good], ":"))
    panels.append((f"at {100 * fraction:g}% of training", curves))
  return panels


def figure_stem(out: str) -> str:
  """Where the figure of `--out=DOC.md` goes: DOC/roc (.png and .svg), beside the doc."""
  return os.path.join(os.path.splitext(out)[0], "roc")


def check_out(out: str, begin: str, end: str) -> None:
  """Exit 2, before any run is read, unless `out` is a .md file with the markers or a new one in a folder."""
  if (os.path.isdir(out) or not out.endswith(".md")
      or not os.path.isdir(os.path.dirname(os.path.abspath(out)))):
    cli.exit_usage(f"--out={out}: expected a markdown file (.md), existing or new, in an existing folder")
  if os.path.exists(out):
    with open(out) as f:
      doc = f.read()
    if begin not in doc or end not in doc:
      cli.exit_usage(f"--out={out}: has no '{begin}' ... '{end}' markers; expected docs/early_warning.md")


def write(out: str, text: str, begin: str = BEGIN, end: str = END) -> None:
  """Replaces the table between the markers of `out` (check_out passed); creates `out` holding only the table
  if absent."""
  if os.path.exists(out):
    with open(out) as f:
      doc = f.read()
    text = doc[:doc.index(begin)] + text + doc[doc.index(end) + len(end):]
  else:
    text += "\n"
  write_text(out, text)


def main_by_suite(argv: list[str], start: float) -> None:
  """The fifth definition's evaluation (docs/early_warning.md)."""
  if FLAGS.seen:
    cli.exit_usage(f"--seen={FLAGS.seen[0]} with --by_suite: expected the halves by suite only")
  if FLAGS.predict_step < 0:
    cli.exit_usage(f"--predict_step={FLAGS.predict_step}: expected an integer >= 0")
  for root in FLAGS.predict_from:
    if suite_of(root) not in TUNING_SUITES:
      cli.exit_usage(f"--predict_from={root}: suite {suite_of(root)!r} is held out; expected a tuning suite "
                     f"({', '.join(TUNING_SUITES)})")
  runs, _ = cli.load_runs(argv, "analysis.early_warning")
  scored = scored_runs(runs, argv[1:], FLAGS.margin)
  fit = None
  if FLAGS.predict_from:
    fit_runs, _ = cli.load_runs(["", *FLAGS.predict_from], "analysis.early_warning")
    try:
      add_predictions(scored, runs, fit_runs, FLAGS.predict_step)
    except InputError as e:
      cli.exit_usage(str(e))
    fit = f"{', '.join(suite_of(r) for r in FLAGS.predict_from)}, max logit of block 0 at step {FLAGS.predict_step}"
  kept = distinct(scored)
  link = None
  if FLAGS.out:
    stem = figure_stem(FLAGS.out)
    roc_figure.draw(roc_panels(kept, fit), stem)
    link = os.path.relpath(stem + ".png", os.path.dirname(os.path.abspath(FLAGS.out)))
  body = [copies_line(scored, kept), "", *scored_table(kept, fit, link)]
  wall_s = time.time() - start
  command = " ".join(["python -m analysis.early_warning --by_suite", *argv[1:],
                      *(f"--predict_from={r}" for r in FLAGS.predict_from)]
                     + ([f"--predict_step={FLAGS.predict_step}"] if FLAGS.predict_from else [])
                     + ([f"--out={FLAGS.out}"] if FLAGS.out else []) + [f"--margin={FLAGS.margin:g}"])
  text = "\n".join([SCORED_BEGIN, f"Command: `{command}` ({wall_s:.1f} s wall).", "", *body, SCORED_END])
  if FLAGS.out:
    write(FLAGS.out, text, SCORED_BEGIN, SCORED_END)
  print(text)
  print(f"wall time {wall_s:.1f} s", file=sys.stderr)


def main(argv: list[str]) -> None:
  start = time.time()
  if not FLAGS.margin >= 0:
    cli.exit_usage(f"--margin={FLAGS.margin}: expected a number >= 0")
  if FLAGS.out:
    check_out(FLAGS.out, *((SCORED_BEGIN, SCORED_END) if FLAGS.by_suite else (BEGIN, END)))
    figures_in = os.path.dirname(figure_stem(FLAGS.out))
    if FLAGS.by_suite and os.path.exists(figures_in) and not os.path.isdir(figures_in):
      cli.exit_usage(f"--out={FLAGS.out}: {figures_in} is a file; expected a folder (or none) for the figure")
  if FLAGS.by_suite:
    main_by_suite(argv, start)
    return
  if FLAGS.predict_from or FLAGS["predict_step"].present:
    cli.exit_usage("--predict_from and --predict_step without --by_suite: expected them with --by_suite only")
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
