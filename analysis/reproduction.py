r"""The reproduction report of the CPU suite (launch/sweeps/repro.py): one section per finding of the
paper with its claim, the test applied, the verdict that test gives, the evidence table, the LR
sensitivity table and the figures.

  python -m analysis.reproduction runs/repro --out docs/reproduction

Writes DIR/README.md (GitHub renders it) and DIR/figures/. The root must be a `repro_cpu`,
`repro_smoke_cpu` or `repro_long_cpu` sweep (its sweep.json says which; the long one holds only the
late-training findings); units not run yet are listed, not guessed. The verdicts are fixed rules stated beside them, applied the same way to any run of the suite: they are
not tuned to the paper. The suite's definition comes from launch/sweeps/repro.py, which makes this the
one analysis module that imports launch (the definition only; nothing is launched).
"""

import dataclasses
import json
import math
import os
import sys
import time
from typing import Callable, Sequence

from absl import app
from absl import flags

from analysis import cli
from analysis import figures
from analysis import fmt
from analysis import sensitivity
from analysis.runs import InputError, Run, find_runs, load_metrics, state_summary
from launch import spec
from launch.sweeps import repro

MAX_LOGIT = "attn/max_logit/block_0"
OUTPUT_LOGIT = "logits/mean"
GRAD_RMS = "grad/rms/block_0/mlp/dense_in/w"
LOG_Z = "logits/log_z"
LOGIT_RATIO = 100.0  # "orders of magnitude": two
SENSITIVITY_MARGIN = 0.02  # nats: a smaller difference in LR sensitivity is not counted as lower
LOGIT_MARGIN = 1.0  # "very negative": the lowest output logit mean lower by at least this
HIGH_LR = 0.1  # LRs from here up are the paper's unstable range (Fig 1)
SIZE_KEYS = ("d_model", "num_heads", "lr")


@dataclasses.dataclass(eq=False)
class Cell:
  """The runs of one intervention at one width, over LR, with their LR sensitivity."""
  point: dict  # the unit point without width and lr
  width: int
  runs: list[Run]
  sens: sensitivity.Sensitivity | None

  def at(self, lr: float) -> Run | None:
    return next((r for r in self.runs if math.isclose(r.lr, lr, rel_tol=sensitivity.LR_RTOL)), None)


def effective_loss(run: Run | None) -> float | None:
  """The run's final loss as LR sensitivity counts it (sensitivity.scored_loss)."""
  if run is None or run.final_loss is None or run.init_loss is None:
    return None
  return sensitivity.scored_loss(run.final_loss, run.init_loss)


def extreme(run: Run | None, key: str, pick: Callable = max) -> float | None:
  """The largest (or, with pick=min, smallest) finite logged value of a metric."""
  if run is None:
    return None
  values = [v for v in run.series(key)[1] if math.isfinite(v)]
  return float(pick(values)) if values else None


def marked(run: Run | None, value: float | None) -> str:
  """A table entry: the value, flagged when its run did not complete."""
  if run is None:
    return "-"
  return fmt.sci(value) + ("" if run.state == "completed" else f" ({run.state})")


def cell_label(point: dict) -> str:
  return ", ".join(f"{k}={spec.name_value(v, k in repro.SLOTS)}" for k, v in point.items())


def cells(finding: repro.Finding, runs: dict[str, Run], scale: repro.Scale) -> tuple[list[Cell], list[str]]:
  """The finding's cells in point order, and the names of its units that have no run directory."""
  sweep = spec.Sweep(finding.key, [*repro.GIN_FILES, scale.preset], list(finding.points))
  grouped: dict[str, Cell] = {}
  missing = []
  for unit in spec.expand(sweep):
    point = {k: v for k, v in unit.point.items() if k not in SIZE_KEYS}
    key = f"{cell_label(point)}|{unit.point['d_model']}"
    cell = grouped.setdefault(key, Cell(point, int(unit.point["d_model"]), [], None))
    if unit.name in runs:
      cell.runs.append(runs[unit.name])
    else:
      missing.append(unit.name)
  for cell in grouped.values():
    cell.runs.sort(key=lambda r: r.lr)
    if cell.runs:
      ranges = sensitivity.lr_ranges(cell.runs, scale.lrs, scale.coupled_lrs)
      cell.sens = sensitivity.group_sensitivity(cell.runs, ranges, cell_label(cell.point))
  return list(grouped.values()), missing


def varying(cells_: Sequence[Cell]) -> Callable[[Cell], str]:
  """A cell's label naming only the point keys that differ among the cells."""
  keys = [k for k in cells_[0].point if len({str(c.point.get(k)) for c in cells_}) > 1] if cells_ else []
  return lambda c: cell_label({k: c.point[k] for k in keys}) or "defaults"


def find(cells_: Sequence[Cell], width: int, **point) -> Cell | None:
  """The cell at `width` whose point has these values (file slots by stem)."""
  for cell in cells_:
    if cell.width == width and all(spec.name_value(cell.point.get(k), k in repro.SLOTS) == v
                                   for k, v in point.items()):
      return cell
  return None


def sens_of(cell: Cell | None) -> float | None:
  return cell.sens.lr_sensitivity if cell and cell.sens else None


# --- verdicts: (verdict, per-width lines) from fixed rules -----------------------------------------

def combine(checks: Sequence[bool | None]) -> str:
  """'reproduced' when every check passes, 'partly' when some do, 'not reproduced' when none do;
  'not measured' when any check lacks its runs."""
  if not checks or any(c is None for c in checks):
    return "not measured"
  return "reproduced" if all(checks) else "partly" if any(checks) else "not reproduced"


def less(a: float | None, b: float | None, margin: float = 0.0) -> bool | None:
  """a below b by at least margin; None when either is missing."""
  return None if a is None or b is None else a <= b - margin if margin else a < b


@dataclasses.dataclass
class Claim:
  text: str
  rule: str
  verdict: str
  detail: list[str]


def attention_claims(cells_: Sequence[Cell], scale: repro.Scale) -> tuple[list[Claim], list[list[str]]]:
  """Finding 1: the peak max attention logit without qk-LN vs with it at the high LRs, and the loss."""
  high = [lr for lr in scale.lrs if lr >= HIGH_LR]
  checks, detail, rows = [], [], []
  for width in scale.widths:
    off, on = find(cells_, width, arch="no_qkln"), find(cells_, width, arch="qkln")
    ratios, wins = [], []
    for lr in high:
      peak_off, peak_on = (extreme(c.at(lr) if c else None, MAX_LOGIT) for c in (off, on))
      if peak_off is not None and peak_on:
        ratios.append(peak_off / peak_on)
      wins.append(less(effective_loss(on.at(lr) if on else None), effective_loss(off.at(lr) if off else None)))
    ok = None if not ratios or None in wins else max(ratios) >= LOGIT_RATIO and any(wins)
    checks.append(ok)
    detail.append(f"d={width}: largest logit ratio {fmt.sci(max(ratios)) if ratios else '-'} at lr >= "
                  f"{fmt.sci(HIGH_LR)}; qk-LN loss lower at {sum(map(bool, wins))}/{len(high)} of those LRs")
    for cell in (off, on):
      if cell:
        rows.append([f"d={width}, {spec.name_value(cell.point['arch'], True)}"]
                    + [marked(r, extreme(r, MAX_LOGIT)) for r in map(cell.at, scale.lrs)])
  claim = Claim("Without qk-layernorm the max attention logit grows by orders of magnitude at high LR and "
                "the loss suffers; with it the same LRs train.",
                f"at each width, peak max logit of block 0 without / with qk-LN >= {LOGIT_RATIO:g} at some "
                f"lr >= {fmt.sci(HIGH_LR)}, and the qk-LN final loss lower at one of those LRs",
                combine(checks), detail)
  return [claim], [["width, arch"] + [fmt.sci(lr) for lr in scale.lrs]] + rows


def size_claims(cells_: Sequence[Cell], scale: repro.Scale) -> tuple[list[Claim], list[list[str]]]:
  """Finding 2: qk-LN sensitivity below no qk-LN at every width; sensitivity rising with width."""
  lower, detail = [], []
  for width in scale.widths:
    off, on = sens_of(find(cells_, width, arch="no_qkln")), sens_of(find(cells_, width, arch="qkln"))
    lower.append(less(on, off, SENSITIVITY_MARGIN))
    detail.append(f"d={width}: {fmt.number(on, 3)} with qk-LN vs {fmt.number(off, 3)} without")
  rising, above, growth_detail = [], [], []
  for arch in ("no_qkln", "qkln"):
    values = [sens_of(find(cells_, w, arch=arch)) for w in scale.widths]
    if None in values or len(values) < 2:
      rising.append(None)
      continue
    rising.append(all(less(a, b, SENSITIVITY_MARGIN) for a, b in zip(values, values[1:])))
    above.append(less(values[0], values[-1], SENSITIVITY_MARGIN))
    growth_detail.append(f"{arch}: " + " -> ".join(fmt.number(v, 3) for v in values))
  grows = combine(rising)
  if grows == "not reproduced" and any(above):
    grows = "partly"
  return [Claim("qk-layernorm lowers LR sensitivity.",
                f"qk-LN sensitivity below no qk-LN by >= {SENSITIVITY_MARGIN} at each width",
                combine(lower), detail),
          Claim("LR sensitivity grows with model size.",
                f"sensitivity rising by >= {SENSITIVITY_MARGIN} at every width step, with and without qk-LN; "
                "'partly' when it is only higher at the largest width than at the smallest",
                grows, growth_detail)], []


def output_logit_claims(cells_: Sequence[Cell], scale: repro.Scale) -> tuple[list[Claim], list[list[str]]]:
  """Finding 3: without weight decay, no z-loss is more LR sensitive (Fig 3) and its output logits drift
  down (Fig 4); weight decay helps the larger models."""
  sens_checks, drift_checks, sens_detail, drift_detail, rows = [], [], [], [], []
  for width in scale.ablation_widths:
    bare = find(cells_, width, z_loss="no_z_loss", weight_decay="weight_decay_0")
    z = find(cells_, width, z_loss="none", weight_decay="weight_decay_0")
    drift = [min((v for r in c.runs if (v := extreme(r, OUTPUT_LOGIT, min)) is not None), default=None)
             if c else None for c in (bare, z)]
    sens_checks.append(less(sens_of(z), sens_of(bare), SENSITIVITY_MARGIN))
    drift_checks.append(less(drift[0], drift[1], LOGIT_MARGIN))
    sens_detail.append(f"d={width}: {fmt.number(sens_of(bare), 3)} without z-loss vs "
                       f"{fmt.number(sens_of(z), 3)} with")
    drift_detail.append(f"d={width}: {fmt.number(drift[0], 3)} without z-loss vs {fmt.number(drift[1], 3)} with")
  label = varying(cells_)
  for cell in cells_:
    rows.append([f"d={cell.width}, {label(cell)}"] + [
        marked(r, extreme(r, OUTPUT_LOGIT, min)) + f" / {fmt.sci(extreme(r, LOG_Z))}" if r else "-"
        for r in map(cell.at, scale.lrs)])
  largest = scale.ablation_widths[-1]
  decayed, bare = (sens_of(find(cells_, largest, z_loss="no_z_loss", weight_decay=wd))
                   for wd in ("none", "weight_decay_0"))
  return [Claim("Without weight decay, z-loss lowers LR sensitivity.",
                f"at each width without weight decay, sensitivity without z-loss above with it by >= "
                f"{SENSITIVITY_MARGIN}", combine(sens_checks), sens_detail),
          Claim("Without z-loss and weight decay, the output logits drift very negative.",
                f"at each width without weight decay, the lowest output logit mean (any LR, any step) without "
                f"z-loss below that with it by >= {LOGIT_MARGIN:g}", combine(drift_checks), drift_detail),
          Claim("Weight decay also mitigates it for the larger models.",
                f"without z-loss, weight decay 1e-4 less LR sensitive than none by >= {SENSITIVITY_MARGIN} at "
                f"d={largest}", combine([less(decayed, bare, SENSITIVITY_MARGIN)]),
                [f"d={largest}: {fmt.number(decayed, 3)} with weight decay vs {fmt.number(bare, 3)} without"])], \
      [["width, cell (lowest logits/mean / peak log Z)"] + list(map(fmt.sci, scale.lrs))] + rows


def _pairwise(cells_: Sequence[Cell], widths: Sequence[int], better: dict, worse: dict,
              name: Callable[[dict], str]) -> tuple[str, list[str]]:
  checks, detail = [], []
  for width in widths:
    good, bad = sens_of(find(cells_, width, **better)), sens_of(find(cells_, width, **worse))
    checks.append(less(good, bad, SENSITIVITY_MARGIN))
    detail.append(f"d={width}: {fmt.number(good, 3)} ({name(better)}) vs {fmt.number(bad, 3)} ({name(worse)})")
  return combine(checks), detail


def warmup_claims(cells_: Sequence[Cell], scale: repro.Scale) -> tuple[list[Claim], list[list[str]]]:
  short, _, long = scale.warmups
  verdict, detail = _pairwise(cells_, scale.ablation_widths, {"warmup_steps": str(long)},
                              {"warmup_steps": str(short)}, lambda p: f"warm-up {p['warmup_steps']}")
  return [Claim("Longer warm-up lowers LR sensitivity.",
                f"at each width, warm-up {long} less LR sensitive than warm-up {short} by >= "
                f"{SENSITIVITY_MARGIN}", verdict, detail)], []


def weight_decay_claims(cells_: Sequence[Cell], scale: repro.Scale) -> tuple[list[Claim], list[list[str]]]:
  verdict, detail = _pairwise(cells_, scale.ablation_widths, {"weight_decay": "none"},
                              {"weight_decay": "coupled_weight_decay"},
                              lambda p: "independent 1e-4" if p["weight_decay"] == "none" else "coupled 0.1")
  return [Claim("Weight decay independent of the LR lowers LR sensitivity.",
                f"at each width, independent decay less LR sensitive than coupled decay by >= "
                f"{SENSITIVITY_MARGIN} (coupled: the minimum over the two LR ranges, Section 3.2.2)",
                verdict, detail)], []


def grad_rms_claims(cells_: Sequence[Cell], scale: repro.Scale) -> tuple[list[Claim], list[list[str]]]:
  """Finding 5 on the qk-LN runs: grad RMS at the largest completed LR below that at the smallest, at
  every width; at the smallest LR, falling with width."""
  window = max(1, _steps(cells_) // 4)
  qk = sorted((c for c in cells_ if c.point["arch"].endswith("/qkln.gin")), key=lambda c: c.width)
  by_lr, detail, rows = [], [], []
  for cell in qk:
    values = [(r.lr, figures.window_mean(r, GRAD_RMS, window)) for r in cell.runs if r.state == "completed"]
    values = [(lr, v) for lr, v in values if v is not None]
    by_lr.append(less(values[-1][1], values[0][1]) if len(values) > 1 else None)
    if values:
      detail.append(f"d={cell.width}: {fmt.sci(values[0][1])} at lr {fmt.sci(values[0][0])} -> "
                    f"{fmt.sci(values[-1][1])} at lr {fmt.sci(values[-1][0])}")
    rows.append([f"d={cell.width}"] + [marked(r, r and figures.window_mean(r, GRAD_RMS, window))
                                      for r in map(cell.at, scale.lrs)])
  lowest = [figures.window_mean(c.at(scale.lrs[0]), GRAD_RMS, window) if c.at(scale.lrs[0]) else None
            for c in qk]
  by_width = (None if None in lowest or len(lowest) < 2 else all(a > b for a, b in zip(lowest, lowest[1:])))
  detail.append(f"at lr {fmt.sci(scale.lrs[0])} over widths {list(scale.widths)}: "
                + " -> ".join(fmt.sci(v) for v in lowest))
  header = [f"qk-LN, mean of final {window} steps"] + [fmt.sci(lr) for lr in scale.lrs]
  return [Claim("Gradient RMS falls as the LR grows and as the model grows (towards AdamW's epsilon).",
                "qk-LN runs: at each width, grad RMS of block_0/mlp/dense_in/w lower at the largest completed "
                "LR than at the smallest; at the smallest LR, falling with every width step",
                combine(by_lr + [by_width]), detail)], [header] + rows


def _steps(cells_: Sequence[Cell]) -> int:
  return max((int(r.status.get("total_steps") or 0) for c in cells_ for r in c.runs), default=0)


# --- the page ----------------------------------------------------------------------------------------

PAPER = {
    "attention_logits": "Fig 1-2: without qk-layernorm, loss diverges at high LR for every size as the attention "
                        "logits grow to ~1e4 and the attention entropy collapses; qk-layernorm trains stably "
                        "across three orders of magnitude of LR.",
    "sensitivity_size": "Fig 1: qk-layernorm lowers LR sensitivity at every size; LR sensitivity grows with "
                        "model size (9.4M-1.2B non-embedding params), with and without it.",
    "output_logits": "Fig 3-4: without weight decay the output logits drift very negative late in training "
                     "at high LR, regardless of scale; z-loss (1e-4) prevents it; weight decay also "
                     "mitigates it for the larger models.",
    "warmup": "Fig 5: longer warm-up (5e3 -> 1e4 -> 2.5e4 of 1e5 steps) lowers LR sensitivity, most for the "
              "larger models, which are not stable at LR 0.3 without it.",
    "weight_decay": "Fig 6: weight decay 1e-4 applied independently of the LR is less LR sensitive than "
                    "optax/PyTorch-style decay 0.1 scaled by the LR.",
    "grad_rms": "Fig 11: the RMS of the gradient of the first MLP layer falls with model size and with LR, "
                "towards AdamW's epsilon (1e-8), where updates shrink (Fig 12-13).",
}

CLAIMS = {"attention_logits": attention_claims, "sensitivity_size": size_claims,
          "output_logits": output_logit_claims, "warmup": warmup_claims,
          "weight_decay": weight_decay_claims, "grad_rms": grad_rms_claims}


def _figure_specs(key: str, scale: repro.Scale, window: int) -> list[tuple[str, Callable]]:
  lr_loss = ("lr_vs_loss", figures.lr_vs_loss)
  sens = ("lr_sensitivity_vs_params", lambda runs, out: figures.lr_sensitivity_vs_params(
      runs, out, scale.lrs, scale.coupled_lrs))
  return {
      "attention_logits": [("loss_and_max_logit", lambda runs, out: figures.loss_and_max_logit_over_steps(
          runs, out, lr=HIGH_LR if HIGH_LR in scale.lrs else None)), lr_loss],
      "sensitivity_size": [lr_loss, sens],
      "output_logits": [("output_logit_mean", figures.output_logit_mean_over_steps), lr_loss, sens],
      "warmup": [lr_loss, sens],
      "weight_decay": [lr_loss, sens],
      "grad_rms": [("grad_rms_mlp", lambda runs, out: figures.grad_rms_scaling(runs, out, window=window))],
  }[key]


def md_table(rows: Sequence[Sequence[str]]) -> str:
  if not rows:
    return ""
  lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * len(rows[0])]
  return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows[1:]]) + "\n"


def sensitivity_rows(cells_: Sequence[Cell]) -> list[list[str]]:
  label = varying(cells_)
  rows = [["cell", "width (non-emb. params)", "l0", "l*", "best lr", "LR sensitivity"]]
  for c in cells_:
    s = c.sens
    rows.append([label(c), f"d={c.width} ({fmt.count(s.params if s else None)})",
                 fmt.number(s.init_loss if s else None), fmt.number(s.best_loss if s else None),
                 fmt.sci(s.best_lr if s else None), s.summary if s else "not run"])
  return rows


def _figures(key: str, runs: list[Run], out_dir: str, scale: repro.Scale, window: int) -> list[str]:
  lines = []
  for name, make in _figure_specs(key, scale, window):
    stem = os.path.join(out_dir, "figures", f"{key}_{name}")
    try:
      paths = make(runs, stem)
      png = next(p for p in paths if p.endswith(".png"))
      lines.append(f"![{key} {name}]({os.path.relpath(png, out_dir)})")
    except figures.Skipped as e:
      lines.append(f"*figure {name} skipped: {e}*")
  return lines


def section(finding: repro.Finding, runs: dict[str, Run], out_dir: str, scale: repro.Scale,
            same_runs_as: str | None = None) -> tuple[str, list[Claim]]:
  """One finding's markdown and its claims; the sensitivity table only when no earlier section has
  the same runs (`same_runs_as` names that section)."""
  cells_, missing = cells(finding, runs, scale)
  claims, evidence = CLAIMS[finding.key](cells_, scale)
  members = [r for c in cells_ for r in c.runs]
  parts = [f"## {finding.title}", f"**Paper.** {PAPER[finding.key]}", ""]
  for claim in claims:
    parts.append(f"- **{claim.verdict}**: {claim.text} *Test:* {claim.rule}.")
    parts += [f"  - {line}" for line in claim.detail]
  if missing:
    parts.append(f"\n{len(missing)} of this finding's units have no run directory yet.")
  if evidence:
    parts += ["", md_table(evidence)]
  if same_runs_as:
    parts += ["", f"LR sensitivity: these are the runs of section {same_runs_as}; see its table.", ""]
  else:
    parts += ["", "LR sensitivity (Section 2.2: a diverged run, or a loss above l0, counts as l0):", "",
              md_table(sensitivity_rows(cells_))]
  parts += _figures(finding.key, members, out_dir, scale, max(1, _steps(cells_) // 4)) if members else []
  return "\n".join(parts) + "\n", claims


def _scale_of(root: str) -> repro.Scale:
  path = os.path.join(root, "sweep.json")
  try:
    with open(path) as f:
      name = json.load(f)["sweep"]["name"]
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise InputError(f"{path}: unreadable ({e}); expected the sweep.json that launch.sweep writes")
  if name not in repro.SCALES:
    raise InputError(f"{root} holds sweep {name!r}: expected one of {', '.join(repro.SCALES)}")
  return repro.SCALES[name]


def wall_time(runs: Sequence[Run]) -> float:
  """Seconds from the first run directory's creation to the last status update."""
  starts = [os.path.getmtime(os.path.join(r.path, "run.json")) for r in runs]
  ends = [os.path.getmtime(os.path.join(r.path, "status.json")) for r in runs
          if os.path.exists(os.path.join(r.path, "status.json"))]
  return max(ends) - min(starts) if ends else 0.0


def build(root: str, out_dir: str) -> str:
  """Writes out_dir/README.md and out_dir/figures/; returns the page's path."""
  scale = _scale_of(root)
  all_runs, problems = find_runs([root])
  load_metrics(all_runs)
  runs = {r.name: r for r in all_runs}
  os.makedirs(out_dir, exist_ok=True)
  sections, summary, first_with = [], [["finding", "claim", "verdict"]], {}
  for finding in repro.findings(scale):
    print(f"section {finding.key}", file=sys.stderr, flush=True)
    key = tuple(tuple(point.items()) for point in finding.points)
    text, claims = section(finding, runs, out_dir, scale, first_with.get(key))
    first_with.setdefault(key, finding.title.split(" ")[0].rstrip("."))
    sections.append(text)
    summary += [[finding.title.split(" ")[0], c.text, f"**{c.verdict}**"] for c in claims]
  total = len(spec.expand(repro.suite(scale)))
  page = "\n".join([
      f"# Reproduction report: `{scale.name}`",
      "",
      f"Generated {time.strftime('%Y-%m-%d %H:%M')} by `python -m analysis.reproduction {root} --out {out_dir}` "
      f"from {len(all_runs)} of the suite's {total} units "
      f"({state_summary(all_runs)}). The runs' first start to last status "
      f"update took {wall_time(all_runs) / 60:.1f} min. Preset `{scale.preset}`; widths {list(scale.widths)} "
      f"(ablations {list(scale.ablation_widths)}), 2 layers, head dim 64; LRs {list(scale.lrs)}; warm-ups "
      f"{list(scale.warmups)} steps. Verdicts are fixed rules (stated with each claim) applied to these runs.",
      "",
      md_table(summary),
      *sections,
      "## Runs skipped by the reader" if problems else "",
      *[f"- {p}" for p in problems],
  ])
  path = os.path.join(out_dir, "README.md")
  with open(path, "w") as f:
    f.write(page)
  return path


def main(argv: list[str]) -> None:
  if len(argv) != 2:
    cli.exit_usage("expected one root: python -m analysis.reproduction ROOT --out DIR")
  try:
    path = build(argv[1], flags.FLAGS.out)
  except InputError as e:
    cli.exit_usage(str(e))
  except OSError as e:
    cli.exit_usage(f"--out={flags.FLAGS.out}: cannot write ({e.strerror or e})")
  print(path)


if __name__ == "__main__":
  flags.DEFINE_string("out", None, "Folder for README.md and figures/.", required=True)
  app.run(main, flags_parser=cli.parse_flags)
