"""The full report's sections for Figs 7, 8/E.4, 9 held out, 10 and 12-13: each builder reads its suites'
runs (by the units in their sweep.json), applies the rules of analysis/rules.py and returns the claims
(each with its rule's text), the evidence tables and the figures it draws from its numbers. Which suites
each builder reads is its entry in analysis/registry.py.
"""

import dataclasses
import json
import math
import os
import statistics
from typing import Any, Callable, Sequence

from analysis import bad_runs
from analysis import baselines
from analysis import figures
from analysis import logit_divergence as ld
from analysis import fmt
from analysis import grouping
from analysis import paired
from analysis import predict
from analysis import rules
from analysis import sensitivity
from analysis import findings
from analysis.findings import (GRAD_RMS, MAX_LOGIT, Cell, Claim, effective_loss, mean_best_lr, seed_values,
                               sens_of, sens_text, straddle_note)
from analysis.runs import InputError, Run, is_number
from analysis.suites import Suite, status
from rundir.bindings import file_stem as stem

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIG9_PREDICTION = os.path.join(REPO, "docs", "reproduction", "fig9_prediction.json")
FIG9_STEP = 50  # the step the prediction was made for (docs/reproduction_rules.md, Fig 9, step 2)
EPS_WINDOW = 50  # Figs 12-13: g and u are means over the last 50 steps (the rules' Measure)
UPDATE_RMS = GRAD_RMS.replace("grad/", "update/", 1)


@dataclasses.dataclass
class Section:
  """One figure's part of the report; `figures` are (name, make(stem) -> paths), drawn from its numbers;
  `runs`, those its registry entry's run figures (analysis/registry.py) are drawn over."""
  title: str
  claims: list[Claim]
  tables: list[list[list[str]]]
  figures: list[tuple[str, Callable[[str], list[str]]]]
  notes: list[str] = dataclasses.field(default_factory=list)
  runs: list[Run] = dataclasses.field(default_factory=list)


# --- reading units ----------------------------------------------------------------------------------

def grouped(suite: Suite | None, key: Callable[[dict], Any]) -> dict[Any, list[Run]]:
  """The suite's runs by key(unit point), in unit order; units without a run are left out."""
  units = grouping.group_by(suite.units if suite else [], lambda unit: key(unit["point"]))
  return {k: [run for unit in members if (run := suite.run(unit)) is not None] for k, members in units.items()}


def lr_grid(suite: Suite | None) -> tuple[float, ...]:
  return tuple(sorted({u["point"]["lr"] for u in suite.units if "lr" in u["point"]})) if suite else ()


def sens(runs: Sequence[Run], lrs: Sequence[float]) -> sensitivity.Sensitivity | None:
  return sensitivity.group_sensitivity(runs, [lrs]) if runs else None


def sens_row(label: Sequence[str], s: sensitivity.Sensitivity | None) -> list[str]:
  """Seed 0's numbers, its sensitivity S and S = S_below + S_above split at the best LR."""
  if s is None:
    return [*label, "-", "-", "-", "-", "not run", "-", "-"]
  return [*label, fmt.count(s.params), fmt.number(s.init_loss), fmt.number(s.best_loss), fmt.sci(s.best_lr),
          s.summary, fmt.number(s.below_best), fmt.number(s.above_best)]


SENS_HEADER = ["non-emb. params", "l0", "l*", "best lr", "LR sensitivity", "S_below", "S_above"]


def seeded_cells(suite: Suite | None, seeds: Suite | None, shape: Callable[[dict], tuple],
                 point: Callable[[tuple], dict[str, str]], width: Callable[[tuple], int]) -> dict[tuple, Cell]:
  """One cell per shape(unit point) over the suite's LR grid: seed 0's sensitivity, and the seeds suite's
  (read once it is finished) as replicas by seed."""
  lrs = lr_grid(suite)
  replicas = grouped(seeds if seeds and seeds.done else None, lambda p: (*shape(p), int(p["seed"])))
  return {key: Cell(point(key), width(key), runs, sens(runs, lrs),
                    {seed: sens(seeded, lrs) for (*same, seed), seeded in replicas.items() if tuple(same) == key})
          for key, runs in grouped(suite, shape).items()}


def _claim(rule: rules.Rule, verdict: rules.Verdict, attr: str = findings.SENS) -> Claim:
  """A rule's claim; read on S_above (attr findings.ABOVE), its instability twin."""
  twin = attr == findings.ABOVE
  return Claim(f"{rule.id}. {rule.claim}{findings.INSTABILITY * twin}",
               rule.text + " Read on S_above, the sensitivity's part above the best LR." * twin,
               verdict[0], [verdict[1]])


def with_pairs(verdict: rules.Verdict, comparisons: Sequence[paired.Paired]) -> rules.Verdict:
  """The verdict, ' (within noise)' when a paired comparison it reads is, each comparison after its evidence."""
  return paired.label(verdict[0], comparisons), verdict[1] + findings.paired_text(comparisons)


# --- Fig 7 ------------------------------------------------------------------------------------------

FIG7_SEEDS = "fig7_seeds_cpu"


def fig7(suites: dict[str, Suite]) -> Section:
  """7a, 7b on the seed means once fig7_seeds_cpu is finished (seed 0 until then), each paired by seed."""
  cells = seeded_cells(suites.get("fig7_cpu"), suites.get(FIG7_SEEDS), lambda p: (p["d_model"], p["num_layers"]),
                       lambda k: {"layers": str(k[1])}, lambda k: k[0])
  width = sorted(k for k in cells if k[1] == 2)
  depth = sorted((k for k in cells if k[0] == 128), key=lambda k: k[1])
  series = {"width (2 layers)": width, "depth (d=128)": depth}
  params = {k: c.sens.params if c.sens else None for k, c in cells.items()}
  seeded = findings.seeded(*cells.values())

  def slopes(what: str, attr: str) -> rules.Verdict:  # 7a: q = depth slope - width slope, per seed
    points = {name: [(params[k], cell_value(cells[k], what)) for k in keys] for name, keys in series.items()}
    if not all(p is not None for pts in points.values() for p, _ in pts):
      return rules.NOT_MEASURED, "a model lacks its size"
    per = {k: findings.by_seed(cells[k], attr) for k in (*width, *depth)}
    both = set.intersection(*(set(v) for v in per.values())) if per else set()
    fit = lambda keys, seed: rules.slope([math.log10(params[k]) for k in keys], [per[k][seed] for k in keys])
    comparisons = [paired.per_seed({seed: fit(depth, seed) - fit(width, seed) for seed in sorted(both)},
                                   (0.05, 0.0))] if seeded and len(width) > 1 and len(depth) > 1 else []
    return with_pairs(rules.depth_vs_width_slope(*points.values()), comparisons)

  largest = [cells.get(keys[-1]) if keys else None for keys in (width, depth)]
  loss = with_pairs(rules.depth_vs_width_loss(*(cell_value(c, "best") for c in largest)),
                    findings.gap(largest[1], largest[0], "best_loss", (0.02, -0.02)))  # q = width l* - depth l*
  rows = [["series", "d_model", "layers", *SENS_HEADER]] + [
      sens_row([name, str(k[0]), str(k[1])], cells[k].sens) for name, keys in series.items() for k in keys]
  if seeded:
    rows[0].append("S over seeds; S_below / S_above means")
    for row, k in zip(rows[1:], [k for keys in series.values() for k in keys]):
      row.append(f"{sens_text(cells[k])}; {fmt.number(sens_of(cells[k], 'below_best'), 3)} / "
                 f"{fmt.number(sens_of(cells[k], 'above_best'), 3)}")
  lines = [figures.Line(name, [(params[k], cell_value(cells[k], "sens"), None, None) for k in keys
                               if params[k] is not None]) for name, keys in series.items()]
  return Section("Fig 7: Width vs depth scaling", [
      _claim(rules.R7A, slopes("sens", findings.SENS)),
      _claim(rules.R7A, slopes("above", findings.ABOVE), findings.ABOVE),
      _claim(rules.R7B, loss)], [rows],
      [("sensitivity_vs_params", lambda out: figures.lines(
          [figures.Panel("", "non-embedding params", "LR sensitivity", lines, xlog=True)], out,
          "Fig 7: LR sensitivity, width and depth series"))])


# --- Fig 8 and E.4 ----------------------------------------------------------------------------------

def _arm(point: dict) -> str:
  return "muParam" if stem(point.get("param")) == "mup_simple" else "standard"


# Each suite and its seeds suite; figE4_cpu's (its muParam cells at d=128, 256) is run for 8d's pairing
# (docs/reproduction_rules.md, issue 24, The missing seeds)
FIG8_SEEDS = {"fig8_cpu": "fig8_seeds_cpu", "figE4_cpu": "figE4_seeds_cpu"}


def seed_runs(suites: dict[str, Suite], name: str) -> dict[int, dict[tuple[str, int], list[Run]]]:
  """{seed: {(arm, width): runs}}: seed 0 from the suite, seeds 1, 2 from its seeds suite once finished
  (docs/reproduction_rules.md, Fig 8 seeds: until then Fig 8 reads seed 0 only)."""
  out = {0: grouped(suites.get(name), lambda p: (_arm(p), p["d_model"]))}
  seeds = suites.get(FIG8_SEEDS[name])
  for (arm, width, seed), runs in grouped(seeds if seeds and seeds.done else None,
                                          lambda p: (_arm(p), p["d_model"], int(p["seed"]))).items():
    out.setdefault(seed, {})[(arm, width)] = runs
  return out


def mup_cells(by_seed: dict[int, dict[tuple[str, int], list[Run]]],
              lrs: Sequence[float]) -> dict[tuple[str, int], Cell]:
  """One cell per (arm, width): seed 0's sensitivity, and the other seeds' as its replicas."""
  return {key: Cell({"arm": key[0]}, key[1], runs, sens(runs, lrs),
                    {seed: sens(by_seed[seed][key], lrs) for seed in sorted(by_seed) if seed and key in by_seed[seed]})
          for key, runs in by_seed[0].items()}


def cell_value(cell: Cell | None, what: str) -> float | None:
  """'sens' and 'best' (l*): the mean over the cell's seeds; 'best_lr': the best LR of the seed-mean curve."""
  return mean_best_lr(cell) if what == "best_lr" else sens_of(cell, {"sens": "lr_sensitivity", "best": "best_loss",
                                                                     "above": "above_best"}[what])


def with_seeds(verdict: rules.Verdict, good: Cell | None, bad: Cell | None, attr: str) -> rules.Verdict:
  """The verdict, its detail extended by the seeds' mean (min-max) and a straddle note, for seeded cells."""
  if not (good and good.replicas) and not (bad and bad.replicas):
    return verdict
  return verdict[0], (f"{verdict[1]} (mean (min-max): {sens_text(good, attr)} vs {sens_text(bad, attr)})"
                      f"{straddle_note(good, bad, attr=attr)}")


ARMS = ("standard", "muParam")


def identity_check(name: str, by_seed: dict[int, dict[tuple[str, int], list[Run]]],
                   lrs: Sequence[float]) -> tuple[list[bool | None], list[list[str]]]:
  """Fig 8's check first, at each seed: the two arms' final losses at the base width, LR by LR."""
  checks, rows = [], []
  widths = sorted({w for _, w in by_seed[0]})
  for seed, groups in sorted(by_seed.items()):
    if not widths or not all((arm, widths[0]) in groups for arm in ARMS):
      continue  # a suite without both arms at the base width has nothing to check
    at_base = [{r.lr: r.final_loss for r in groups[(arm, widths[0])]} for arm in ARMS]
    # a diverged run is inf, so two diverged runs match; a run still training has no final loss yet
    finals = [[None if losses.get(lr) is None else math.inf if math.isnan(losses[lr]) else losses[lr]
               for lr in lrs] for losses in at_base]
    checks.append(rules.mup_matches_standard(*finals))
    label = name if seed == 0 else f"{FIG8_SEEDS[name]} seed {seed}"
    rows += [[label, fmt.sci(lr), fmt.number(a, 7), fmt.number(b, 7), "-" if None in (a, b) else
              "yes" if a == b else "NO"] for lr, a, b in zip(lrs, *finals)]
  return checks, rows


def fig8(suites: dict[str, Suite]) -> Section:
  cells, identity_rows, checks = {}, [["suite", "lr", "standard final loss", "muParam final loss", "identical"]], []
  for name in FIG8_SEEDS:
    by_seed, suite_lrs = seed_runs(suites, name), lr_grid(suites.get(name))
    cells[name] = mup_cells(by_seed, suite_lrs)
    suite_checks, rows = identity_check(name, by_seed, suite_lrs)
    checks += suite_checks
    identity_rows += rows
  qk, no_qk = cells["fig8_cpu"], cells["figE4_cpu"]
  lrs = lr_grid(suites.get("fig8_cpu"))
  widths = sorted({w for _, w in qk})
  largest = widths[-1] if widths else None
  seeded = any(c.replicas for table in cells.values() for c in table.values())
  spreads = [rules.best_lr_spread([cell_value(qk.get((arm, w)), "best_lr") for w in widths], lrs) for arm in ARMS]
  spread = rules.mup_stabilises_lr(*spreads)
  if seeded:
    per_seed = {arm: [rules.best_lr_spread([s.best_lr if s and s.complete else None for s in seeds], lrs)
                      for seeds in zip(*[[qk[(arm, w)].sens, *qk[(arm, w)].replicas.values()] for w in widths])]
                for arm in ARMS}
    spread = spread[0], (f"{spread[1]}; each seed's own spreads: muParam {per_seed['muParam']}, standard "
                         f"{per_seed['standard']}")
  big = {arm: qk.get((arm, largest)) for arm in ARMS}
  mup = lambda table, w: table.get(("muParam", w))

  def not_lower(what: str, attr: str) -> rules.Verdict:  # 8b, 8c: q = standard - muParam at the largest width
    verdict = rules.mup_not_lower(cell_value(big["standard"], what), cell_value(big["muParam"], what),
                                  "l*" if what == "best" else "sensitivity")
    return with_pairs(with_seeds(verdict, big["muParam"], big["standard"], attr),
                      findings.gap(big["muParam"], big["standard"], attr))

  def needs_qkln(attr: str) -> rules.Verdict:  # 8d: q = no qk-LN - qk-LN under muParam, per width above the base
    what = "above" if attr == findings.ABOVE else "sens"
    verdict = rules.mup_needs_qkln([(cell_value(mup(qk, w), what), cell_value(mup(no_qk, w), what))
                                    for w in widths[1:]])
    comparisons = [p for w in widths[1:] for p in findings.gap(mup(qk, w), mup(no_qk, w), attr)]
    return paired.label(verdict[0], comparisons), verdict[1]

  claims = [
      _claim(rules.R8A, spread),
      _claim(rules.R8B, not_lower("best", "best_loss")),
      _claim(rules.R8C, not_lower("sens", findings.SENS)),
      _claim(rules.R8C, not_lower("above", findings.ABOVE), findings.ABOVE),
      _claim(rules.R8D, needs_qkln(findings.SENS)),
      _claim(rules.R8D, needs_qkln(findings.ABOVE), findings.ABOVE)]
  for claim, attr in ((claims[4], findings.SENS), (claims[5], findings.ABOVE)):
    claim.detail += [f"d={w}: {sens_text(mup(qk, w), attr)} with qk-LN vs {sens_text(mup(no_qk, w), attr)} without"
                     f"{straddle_note(mup(qk, w), mup(no_qk, w), attr=attr)}"
                     f"{findings.paired_text(findings.gap(mup(qk, w), mup(no_qk, w), attr))}"
                     for w in widths[1:] if seeded]
  check = "passed" if checks and all(c is True for c in checks) else "failed" if False in checks else "not measured"
  notes = [f"Check first (d={widths[0] if widths else '-'}, muParam is the standard model bit for bit"
           f"{', at every seed' if seeded else ''}): {check}."]
  if check == "failed":
    for claim in claims:
      claim.verdict = rules.INVALID
      claim.detail.append("the d=64 identity check failed: an implementation error, not a finding")
  seed_header = ["l* over seeds", "best lr (seed-mean curve)", "sensitivity over seeds"] if seeded else []
  over_seeds = lambda cell: [sens_text(cell, "best_loss"), fmt.sci(mean_best_lr(cell)), sens_text(cell)]
  rows = [["suite", "arm", "d_model", *SENS_HEADER, *seed_header]] + [
      sens_row([name, arm, str(w)], table[(arm, w)].sens) + (over_seeds(table[(arm, w)]) if seeded else [])
      for name, table in cells.items() for arm in ARMS for w in sorted({w for _, w in table})]
  bars = lambda cell: ((min(v), max(v)) if len(v := seed_values(cell)) > 1 else (None, None))
  lines = {what: [figures.Line(f"{'qk-LN' if name == 'fig8_cpu' else 'no qk-LN'}, {arm}",
                               [(w, cell_value(table[(arm, w)], what),
                                 *(bars(table[(arm, w)]) if what == "sens" else (None, None)))
                                for w in sorted({w for _, w in table})], "o-" if arm == "standard" else "s--")
                  for name, table in cells.items() for arm in ARMS] for what in ("best_lr", "sens")}
  seeds_title = "; seed means, bars min-max" if seeded else ""
  return Section("Fig 8 and E.4: muParam", claims,
                 [identity_rows, rows],
                 [("best_lr_and_sensitivity", lambda out: figures.lines(
                     [figures.Panel("best LR per width", "d_model", "best LR", lines["best_lr"], xlog=True, ylog=True),
                      figures.Panel("LR sensitivity per width", "d_model", "LR sensitivity", lines["sens"],
                                    xlog=True)], out, f"muParam vs standard{seeds_title}; d=64 identity check: {check}"))],
                 notes)


# --- Fig 9 held out ---------------------------------------------------------------------------------

def _is_prediction(entry: Any) -> bool:
  """One entry of analysis.predict --json as fig9 reads it: numbers where it computes with them."""
  return (isinstance(entry, dict) and all(is_number(entry.get(k)) for k in ("lr", "threshold", "params"))
          and (entry.get("predicted_max_logit") is None or is_number(entry["predicted_max_logit"]))
          and isinstance(entry.get("points", []), list)
          and all(isinstance(p, dict) and is_number(p.get("params")) and is_number(p.get("max_logit"))
                  for p in entry.get("points", [])))


def read_prediction(path: str) -> dict[float, dict[str, Any]] | None:
  """The predictions of `analysis.predict --json` by LR; None when the file is absent; InputError naming the
  file when it is not that output."""
  if not os.path.exists(path):
    return None
  expected = ("expected analysis.predict --json's output, a list of objects with a number lr, threshold and "
              "params")
  try:
    with open(path) as f:
      entries = json.load(f)
  except (OSError, ValueError) as e:
    raise InputError(f"{path}: unreadable ({e}); {expected}") from None
  if not (isinstance(entries, list) and entries and all(map(_is_prediction, entries))):
    raise InputError(f"{path}: not a prediction; {expected}")
  return {p["lr"]: p for p in entries}


def fig9(suites: dict[str, Suite], prediction_path: str = FIG9_PREDICTION) -> Section:
  predictions = read_prediction(prediction_path)
  held = suites.get("fig9_heldout_cpu")
  runs = {r.lr: r for rs in grouped(held, lambda p: p["d_model"]).values() for r in rs}
  lrs = lr_grid(held) or tuple(sorted(predictions or ()))
  predicted, realised, rows = [], [], [["lr", "predicted", "realised (step)", "crosses: predicted / realised",
                                        "run"]]
  threshold = next(iter(predictions.values()))["threshold"] if predictions else predict.THRESHOLD
  for lr in lrs:
    entry = next((v for k, v in (predictions or {}).items() if math.isclose(k, lr, rel_tol=sensitivity.LR_RTOL)), {})
    p = entry.get("predicted_max_logit")
    run = runs.get(lr)
    got = predict.value_at(run, MAX_LOGIT, FIG9_STEP) if run else "no run"
    r = got[1] if isinstance(got, tuple) else None
    predicted.append(p)
    realised.append(r)
    state = "-" if run is None else f"{run.state}, {run.status.get('spike_logs', 0)} spike logs"
    rows.append([fmt.sci(lr), fmt.sci(p) if p is not None else "- (" + "; ".join(entry.get("notes", ["none"])) + ")",
                 f"{fmt.sci(r)} ({got[0]})" if r is not None else f"- ({got})",
                 f"{'-' if p is None else 'yes' if p >= threshold else 'no'} / "
                 f"{'-' if r is None else 'yes' if r >= threshold else 'no'}", state])
  if predictions is None:
    verdict: rules.Verdict = ("not run yet", f"no prediction at {os.path.relpath(prediction_path, REPO)}")
  else:
    verdict = rules.held_out(predicted, realised, threshold)
  params = next(iter(predictions.values()))["params"] if predictions else None
  claims = [_claim(rules.R9, verdict)] + (fig9_baselines(predictions, lrs, predicted, realised, held, threshold)
                                          if predictions else [])
  held_params = next((r.params for r in runs.values() if r.params), None)
  notes = [f"Prediction for {fmt.count(params)} non-embedding params at step {FIG9_STEP} "
           f"({os.path.relpath(prediction_path, REPO)}); the held-out model has {fmt.count(held_params)}."]
  line = lambda label, ys, style: figures.Line(label, [(lr, y, None, None) for lr, y in zip(lrs, ys)], style)
  return Section("Fig 9: Predicting the attention-logit instability, held out", claims,
                 [rows],
                 [("predicted_vs_realised", lambda out: figures.lines(
                     [figures.Panel("", "learning rate", f"max attention logit, block 0, step {FIG9_STEP}",
                                    [line("predicted (fit on d=64-256)", predicted, "*--"),
                                     line("realised (d=512)", realised, "o-")], xlog=True, ylog=True,
                                    hlines=[(threshold, f"threshold {fmt.sci(threshold)}")])], out,
                     "Fig 9 held out: prediction before training vs outcome"))], notes)


def fig9_baselines(predictions: dict[float, dict[str, Any]], lrs: Sequence[float], predicted: Sequence[float | None],
                   realised: Sequence[float | None], held: Suite | None, threshold: float) -> list[Claim]:
  """PAIRED's two Fig 9 lines: the prediction beside a log-log line and carry-forward (both from the
  prediction's fitted points), and each predictor as a classifier of the held-out runs that went bad."""
  points = baselines.points_by_lr(predictions.values())
  params = next(iter(predictions.values()))["params"]
  at = lambda lr: next((v for k, v in points.items() if math.isclose(k, lr, rel_tol=sensitivity.LR_RTOL)), [])
  per_lr = [baselines.predictions(at(lr), params) for lr in lrs]
  by = {"quadratic": list(predicted), **{name: [p[name] for p in per_lr] for name in baselines.PREDICTORS[1:]}}
  against: rules.Verdict = (baselines.against_baselines({name: baselines.score(values, realised, threshold)
                                                         for name, values in by.items()})
                            if any(points.values()) else (rules.NOT_MEASURED, "the prediction file has no fitted points"))
  runs = list(held.runs.values()) if held else []
  lr_of = {r.name: r.lr for r in runs}
  bad = [(lr_of[case.name], case.bad) for case in bad_runs.cases(runs, [held.root] if held else [], bad_runs.MARGIN)]
  labelled = [next((b for run_lr, b in bad if math.isclose(run_lr, lr, rel_tol=sensitivity.LR_RTOL)), None)
              for lr in lrs]
  if None in labelled or not labelled:
    classifier: rules.Verdict = (rules.NOT_MEASURED, f"{labelled.count(None)} of {len(lrs)} held-out runs not "
                                                     "finished: no bad-run label")
  else:
    confusions = {name: baselines.classify(values, labelled, threshold) for name, values in by.items()}
    classifier = (baselines.as_classifier(confusions["quadratic"], threshold)[0],
                  "; ".join(f"{name}: {c.text(threshold)}" for name, c in confusions.items()))
  return [_claim(rules.R9_BASELINES, against), _claim(rules.R9_CLASSIFIER, classifier)]


# --- Depth co-scaling (2b-depth) -------------------------------------------------------------------

DEPTH_SUITE, DEPTH_SEEDS_SUITE = "depth_scaling_cpu", "depth_scaling_seeds_cpu"


def depth_scaling(suites: dict[str, Suite]) -> Section:
  """2b's rule on sizes that scale depth with width (PAIRED, Depth co-scaling), and its instability twin;
  seeds 1, 2 join as replicas once depth_scaling_seeds_cpu is finished."""
  cells = list(seeded_cells(suites.get(DEPTH_SUITE), suites.get(DEPTH_SEEDS_SUITE),
                            lambda p: (stem(p["arch"]), p["d_model"], p["num_layers"]),
                            lambda k: {"arch": k[0], "layers": str(k[2])}, lambda k: k[1]).values())
  widths = sorted({c.width for c in cells})
  claims = [dataclasses.replace(c, text=f"{rules.R2B_DEPTH.id}. {c.text}")
            for c in findings.twins(lambda attr: findings.grows(cells, widths, attr, rules.R2B_DEPTH))]
  return Section("Depth co-scaling: 2b with depth scaled as the paper scales it", claims,
                 [findings.sensitivity_rows(cells)] if cells else [], [], runs=[r for c in cells for r in c.runs])


# --- Fig 10 -----------------------------------------------------------------------------------------

def first_logged(run: Run, key: str) -> float | None:
  steps, values = run.series(key)
  return float(values[0]) if steps.size else None


def fig10(suites: dict[str, Suite]) -> Section:
  suite = suites.get("fig10_cpu")
  kappa_runs = {k: rs[0] for k, rs in grouped(suite, lambda p: p.get("ModelConfig.kappa")).items()
                if k is not None and rs}
  bigram = next(iter(grouped(suite, lambda p: stem(p.get("variant")) == "bigram").get(True, [])), None)
  kappas = sorted(k for k in grouped(suite, lambda p: p.get("ModelConfig.kappa")) if k is not None)
  losses = {k: effective_loss(kappa_runs.get(k)) for k in kappas}
  rows = [["kappa", "scored loss", "max logit at first log", "peak max logit (any block, step)", "state"]]
  for k in kappas:
    run = kappa_runs.get(k)
    rows.append([fmt.sci(k), fmt.number(losses[k]), fmt.sci(first_logged(run, MAX_LOGIT)) if run else "-",
                 fmt.sci(run.realised_max_logit()) if run else "-", run.state if run else "not run"])
  layers = bigram.setting("ModelConfig.num_layers", "num_layers") if bigram else None
  rows.append([f"bigram ({layers} layers)", fmt.number(effective_loss(bigram)), "-", "-",
               bigram.state if bigram else "not run"])
  against = rules.kappa_vs_bigram(losses, effective_loss(bigram))
  if bigram is not None and layers != 0:
    against = (rules.INVALID, f"the 'bigram' run has num_layers={layers}, not 0: a preset after bigram.gin overrode "
                        "it, so it is no bigram baseline")
  members = list(kappa_runs.values()) + ([bigram] if bigram else [])
  return Section("Fig 10: Forcing large attention logits (kappa transplant)", [
      _claim(rules.R10A, rules.kappa_onset(losses)),
      _claim(rules.R10B, against)], [rows],
      [], runs=members)


# --- Figs 12-13 -------------------------------------------------------------------------------------

EPS = {"none": 1e-8, "adam_eps_1e-15": 1e-15, "adam_eps_1e-6": 1e-6}


FIG12_13_SEEDS = "fig12_13_seeds_cpu"


def eps_runs(suite: Suite | None, largest: int | None, top_lr: float | None,
             point: Callable[[dict], bool] = lambda p: True) -> dict[float, Run]:
  """The suite's runs at the largest width and top LR by AdamW eps (those of `point`'s units)."""
  units = suite.units if suite else []
  return {EPS[stem(u["point"].get("adam_eps"))]: suite.run(u) for u in units
          if u["point"]["d_model"] == largest and u["point"]["lr"] == top_lr and point(u["point"]) and suite.run(u)}


def fig12_13(suites: dict[str, Suite]) -> Section:
  """12a, 12b on the seed means once fig12_13_seeds_cpu is finished (seed 0 until then), each paired by seed."""
  suite, seeds = suites.get("fig11_13_cpu"), suites.get(FIG12_13_SEEDS)
  largest = max((u["point"]["d_model"] for u in (suite.units if suite else [])), default=None)
  top_lr = max(lr_grid(suite), default=None)
  by_seed = {0: eps_runs(suite, largest, top_lr)}
  for seed in sorted({int(u["point"]["seed"]) for u in seeds.units}) if seeds and seeds.done else []:
    by_seed[seed] = eps_runs(seeds, largest, top_lr, lambda p, seed=seed: int(p["seed"]) == seed)
  by_eps = by_seed[0]
  mean = lambda run, key: run.window_mean(key, EPS_WINDOW) if run else None
  measures = {seed: {"loss": {e: effective_loss(runs.get(e)) for e in EPS.values()},
                     "u": {e: mean(runs.get(e), UPDATE_RMS) for e in EPS.values()}, "g": mean(runs.get(1e-8), GRAD_RMS),
                     "diverged": None if runs.get(1e-6) is None or runs[1e-6].final_loss is None
                     else runs[1e-6].state == "diverged"} for seed, runs in by_seed.items()}
  over = lambda get: (None if any(get(m) is None for m in measures.values())
                      else statistics.fmean(get(m) for m in measures.values()))
  rows = [["eps", "seed", "state", "scored loss", f"g (grad RMS, last {EPS_WINDOW} steps)", "g / eps",
           f"u (update RMS, last {EPS_WINDOW} steps)"]]
  for seed, runs in by_seed.items():
    for eps in (1e-8, 1e-15, 1e-6):
      run = runs.get(eps)
      grad = mean(run, GRAD_RMS)
      rows.append([fmt.sci(eps), str(seed), run.state if run else "not run", fmt.number(effective_loss(run)),
                   fmt.sci(grad), fmt.sci(grad / eps) if grad else "-", fmt.sci(mean(run, UPDATE_RMS))])
  small = rules.small_eps_helps(over(lambda m: m["loss"][1e-8]), over(lambda m: m["loss"][1e-15]),
                                over(lambda m: m["g"]))
  diverged = [m["diverged"] for m in measures.values()]
  large = rules.large_eps_hurts(None if None in diverged else all(diverged), over(lambda m: m["loss"][1e-6]),
                                over(lambda m: m["loss"][1e-8]), over(lambda m: m["u"][1e-6]),
                                over(lambda m: m["u"][1e-8]))
  gap = lambda a, b: {s: None if None in (m["loss"][a], m["loss"][b]) else m["loss"][a] - m["loss"][b]
                      for s, m in measures.items()}
  ratio = {s: m["u"][1e-6] / m["u"][1e-8] if m["u"][1e-6] is not None and m["u"][1e-8] else None
           for s, m in measures.items()}
  seeded = len(by_seed) > 1
  small_pairs = [paired.per_seed(gap(1e-8, 1e-15), (0.02, -0.02))] if seeded else []
  large_pairs = [paired.per_seed(gap(1e-6, 1e-8), (0.1,)), paired.per_seed(ratio, (0.5,))] if seeded else []
  order = [e for e in (1e-15, 1e-8, 1e-6) if e in by_eps]
  notes = [f"Seeds {', '.join(map(str, by_seed))}: the verdicts read the seed means; 12b's \"diverges\" is "
           "\"diverges at every seed\"."] if seeded else []
  return Section("Figs 12-13: AdamW epsilon at the largest model, LR 0.3", [
      _claim(rules.R12A, with_pairs(small, small_pairs)),
      _claim(rules.R12B, with_pairs(large, large_pairs))], [rows],
      [("loss_and_grad_over_eps", lambda out: figures.lines([
          figures.Panel("scored final loss", "AdamW eps", "loss",
                        [figures.Line("d=512, lr 0.3", [(e, effective_loss(by_eps[e]), None, None) for e in order])],
                        xlog=True),
          figures.Panel(f"g / eps (g: grad RMS, last {EPS_WINDOW} steps)", "AdamW eps", "g / eps",
                        [figures.Line("d=512, lr 0.3", [(e, (v / e) if (v := mean(by_eps[e], GRAD_RMS)) else None,
                                                         None, None) for e in order])],
                        xlog=True, ylog=True, hlines=[(1.0, "g = eps")])], out,
          "Figs 12-13: AdamW epsilon"))], notes)


# --- output-logit divergence, the positive control (issue 23) -----------------------------------------

LD_SUITE, LD_SEEDS_SUITE = "logit_divergence_cpu", "logit_divergence_seeds_cpu"
LD_METRICS = (("train/loss", "train loss"), (ld.OUTPUT_LOGIT_MEAN, "output-logit mean"), (ld.LOG_Z, "log Z"))


def _arc(run: Run, key: str) -> str:
  """'-4.87 -> -5.28': key at T/2 and at T."""
  end = ld.end_step(run)
  if end is None:
    return "-"
  return f"{fmt.number(ld.value_at(run, key, end // 2), 3)} -> {fmt.number(ld.value_at(run, key, end), 3)}"


def _pair_row(p: ld.Pair) -> list[str]:
  return [p.setting.label(), fmt.sci(p.lr), str(p.seed), fmt.number(p.dloss, 3), fmt.number(p.drift, 3),
          fmt.number(p.rise, 3), _arc(p.no_z_loss, ld.OUTPUT_LOGIT_MEAN), _arc(p.no_z_loss, ld.LOG_Z),
          _arc(p.z_loss, ld.OUTPUT_LOGIT_MEAN), _arc(p.z_loss, ld.LOG_Z), f"{p.no_z_loss.state} / {p.z_loss.state}"]


def _measures(measures: Sequence[rules.Measures]) -> str:
  """'LR 0.1: dloss -0.004, drift 0.134, rise 1.8; ...' at the LRs rule PC reads."""
  return "; ".join(f"LR {fmt.sci(lr)}: dloss {fmt.number(dloss, 3)}, drift {fmt.number(drift, 3)}, "
                   f"rise {fmt.number(rise, 3)}" for lr, dloss, drift, rise in measures if lr >= rules.HIGH_LR)


def _not_present(screen: Suite, all_pairs: Sequence[ld.Pair]) -> list[str]:
  """The report the rule asks for when PC is present nowhere: the levers, how far m and z moved, the
  harmed pairs' logits, and at what step the train-loss gap's trend would reach the harm."""
  levers = {key: list(dict.fromkeys(v for _, v in kv))
            for key, kv in grouping.group_by([kv for u in screen.units for kv in u["point"].items()],
                                             lambda kv: kv[0]).items()}
  high = [p for p in all_pairs if p.lr >= rules.HIGH_LR]
  rise = max((p for p in high if p.rise is not None), key=lambda p: p.rise, default=None)
  drift = min((p for p in high if p.drift is not None), key=lambda p: p.drift, default=None)
  where = lambda p: f"{p.setting.label()}, LR {fmt.sci(p.lr)}, seed {p.seed}"
  notes = ["**Not present at CPU scale** (rule PC: no pair has both the harm and the signature). Levers tried: "
           + "; ".join(f"`{k}` {sorted(v, key=str)}" for k, v in levers.items())
           + ", 2000 steps, no weight decay (gin/logit_divergence.gin)."]
  if rise and drift:
    notes.append(f"How far they moved: the largest second-half rise of log Z is {fmt.number(rise.rise, 3)} "
                 f"({where(rise)}; threshold {fmt.number(rules.RISE)}), the most negative drift "
                 f"{fmt.number(drift.drift, 3)} ({where(drift)}; threshold {fmt.number(rules.DRIFT)}).")
  harmed = [p for p in high if rules.harmed(p.dloss)]
  if harmed:
    notes.append("Harm without the signature: " + "; ".join(
        f"{where(p)}: dloss {fmt.number(p.dloss, 3)}, rise {fmt.number(p.rise, 3)}, drift {fmt.number(p.drift, 3)}"
        for p in harmed) + ". There the no-z-loss run's log Z does not rise in the second half and its logit "
        "mean does not fall beyond its twin's: z-loss helps, but not through the paper's mechanism.")
  signed = [p for p in high if rules.signature(p.drift, p.rise)]
  if signed:
    notes.append("Signature without the harm, and the horizon at which the second-half trend of the train-loss "
                 f"gap (no z-loss - z-loss, last quarter vs third) would reach {fmt.number(rules.HARM)}: " + "; ".join(
                     f"{where(p)}: gap {fmt.number(t[0], 3) if (t := ld.loss_gap_trend(p)) else '-'}, "
                     f"{fmt.number(t[1], 3) if t else '-'} per 1000 steps, "
                     + (f"reaches it near step {h:,.0f}" if (h := ld.harm_horizon(p)) is not None else "never (not growing)")
                     for p in signed) + ".")
  return [part for note in notes for part in (note, "")][:-1]  # one paragraph each


def _fig4(pairs_at_lr: Sequence[ld.Pair], lr: float) -> Callable[[str], list[str]]:
  """Fig 4 at CPU scale: per setting, loss, logit mean and log Z over steps, with and without z-loss."""
  def draw(out: str) -> list[str]:
    panels = []
    for p in pairs_at_lr:
      for key, name in LD_METRICS:
        panels.append(figures.Panel(f"{p.setting.label()}: {name}", "step", name, [
            figures.Line(label, [(float(x), float(y), None, None) for x, y in zip(*run.series(key))], style)
            for label, run, style in (("z-loss 1e-4", p.z_loss, "-"), ("no z-loss", p.no_z_loss, "--"))]))
    return figures.lines(panels, out, f"Fig 4 at CPU scale: LR {fmt.sci(lr)}, seed 0")
  return draw


def logit_divergence(suites: dict[str, Suite]) -> Section:
  screen, seeds = suites.get(LD_SUITE), suites.get(LD_SEEDS_SUITE)
  screen_runs = list(screen.runs.values()) if screen else []
  seed_runs = list(seeds.runs.values()) if seeds and seeds.done else []
  screen_pairs, all_pairs = ld.pairs(screen_runs), ld.pairs(screen_runs + seed_runs)  # by setting, LR, seed
  pc = rules.PC.rule("PC")
  by_setting, screen_verdicts = ld.by_setting(screen_pairs), ld.verdicts(screen_pairs)
  claims = [Claim(f"PC. {pc.claim} ({s.label()}, 1 seed)", pc.text, v,
                  [_measures([(p.lr, p.dloss, p.drift, p.rise) for p in by_setting[s]])])
            for s, v in screen_verdicts.items()]
  on_seeds = [rules.PC_SEEDS.rule(r) for r in ("PC on 3 seeds", "3a-proxy", "3b-proxy")]
  by_cell = ld.cells(all_pairs)
  seeded = ld.seeded_verdicts(all_pairs) if seed_runs else {}
  seed_rows = [["setting", "LR", "dloss (no z-loss - z-loss)", "drift", "rise", "m_noz(T) - m_z(T)"]]
  for (setting, lr), cell in by_cell.items():
    if setting in seeded:
      _, _, drift, rise = ld.seed_means(cell)
      seed_rows.append([setting.label(), fmt.sci(lr), ld.comparison(cell, lambda p: p.dloss).text(),
                        fmt.number(drift, 3), fmt.number(rise, 3), ld.comparison(cell, ld.final_mean_gap).text()])
  for setting, verdict in seeded.items():
    cell = by_cell.get((setting, ld.PROXY_LR), {})
    claims += [Claim(f"{on_seeds[0].id}. {on_seeds[0].claim} ({setting.label()})", on_seeds[0].text, verdict,
                     ["means over seeds 0-2, " + _measures([ld.seed_means(c) for (s, _), c in by_cell.items()
                                                             if s == setting])]),
               _claim_for(on_seeds[1], setting, rules.z_loss_lowers_loss(ld.comparison(cell, lambda p: p.dloss))),
               _claim_for(on_seeds[2], setting,
                          rules.logit_mean_more_negative(ld.comparison(cell, ld.final_mean_gap)))]
  if not seeded:
    claims += [Claim(f"{r.id}. {r.claim}", r.text, f"{LD_SEEDS_SUITE}: {status(suites, LD_SEEDS_SUITE)}", [])
               for r in on_seeds]
  notes = []
  if screen and screen.done and rules.PRESENT not in (*screen_verdicts.values(), *seeded.values()):
    notes = _not_present(screen, all_pairs)
  tables = [[["setting", "LR", "seed", "dloss", "drift", "rise", "m no z-loss (T/2 -> T)", "log Z no z-loss",
              "m z-loss", "log Z z-loss", "states"]] + [_pair_row(p) for p in all_pairs]]
  tables += [seed_rows] if len(seed_rows) > 1 else []
  lrs = sorted({p.lr for p in screen_pairs})
  figs = [(f"fig4_lr{fmt.sci(lr)}", _fig4([p for p in screen_pairs if p.lr == lr and p.seed == 0], lr))
          for lr in (lrs[0], lrs[-1])] if lrs else []
  return Section("Output-logit divergence: the positive control (Figs 3-4, issue 23)", claims, tables, figs, notes)


def _claim_for(rule: rules.Rule, setting: ld.Setting, verdict: rules.Verdict) -> Claim:
  return Claim(f"{rule.id}. {rule.claim} ({setting.label()}, LR {fmt.sci(ld.PROXY_LR)})", rule.text, verdict[0],
               [verdict[1]])
