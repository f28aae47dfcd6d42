r"""The reproduction report of the CPU suite (launch/sweeps/repro.py): one section per finding of the
paper with its claim, the test applied, the verdict that test gives, the evidence table, the LR
sensitivity table and the figures.

  python -m analysis.reproduction runs/repro --out docs/reproduction

Writes DIR/README.md (GitHub renders it) and DIR/figures/. The root must hold a sweep with findings
(`repro_cpu`, `repro_smoke_cpu` or `repro_long_cpu`; the long one holds only the late-training findings):
its sweep.json, written by launch.sweep, carries the suite's scale and each finding's units, which is all
this reads of the suite's definition. Units not run yet are listed, not guessed. The verdicts are fixed
rules (analysis/verdicts.py) stated beside them, applied the same way to any run of the suite: they are
not tuned to the paper.
"""

import json
import os
import sys
import time
from typing import Any, Callable, Sequence

from absl import app
from absl import flags

from analysis import cli
from analysis import figures
from analysis import fmt
from analysis import render
from analysis import sensitivity
from analysis.runs import InputError, Run, find_runs, load_metrics, state_summary
from analysis.verdicts import (CLAIMS, HIGH_LR, SIZE_KEYS, Cell, Claim, Scale, cell_label, steps_of,
                               varying)

MANIFEST = "sweep.json"  # what launch.sweep writes into ROOT (launch/state.py MANIFEST_FILE)


def cells(finding: dict[str, Any], runs: dict[str, Run], scale: Scale) -> tuple[list[Cell], list[str]]:
  """The finding's cells in point order, and the names of its units that have no run directory."""
  grouped: dict[str, Cell] = {}
  missing = []
  for unit in finding["units"]:
    point = {k: v for k, v in unit["labels"].items() if k not in SIZE_KEYS}
    key = f"{cell_label(point)}|{unit['labels']['d_model']}"
    cell = grouped.setdefault(key, Cell(point, int(unit["labels"]["d_model"]), [], None))
    if unit["name"] in runs:
      cell.runs.append(runs[unit["name"]])
    else:
      missing.append(unit["name"])
  for cell in grouped.values():
    cell.runs.sort(key=lambda r: r.lr)
    if cell.runs:
      ranges = sensitivity.lr_ranges(cell.runs, scale.lrs, scale.coupled_lrs)
      cell.sens = sensitivity.group_sensitivity(cell.runs, ranges, cell_label(cell.point))
  return list(grouped.values()), missing


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


def _figure_specs(key: str, scale: Scale, window: int) -> list[tuple[str, Callable]]:
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


def _figures(key: str, runs: list[Run], out_dir: str, scale: Scale, window: int) -> list[str]:
  lines = []
  for name, make in _figure_specs(key, scale, window):
    made = render.render(name, "", make, runs, os.path.join(out_dir, "figures", f"{key}_{name}"))
    if made.skipped:
      lines.append(f"*figure {name} skipped: {made.skipped}*")
    else:
      png = next(p for p in made.paths if p.endswith(".png"))
      lines.append(f"![{key} {name}]({os.path.relpath(png, out_dir)})")
  return lines


def section(finding: dict[str, Any], runs: dict[str, Run], out_dir: str, scale: Scale,
            same_runs_as: str | None = None) -> tuple[str, list[Claim]]:
  """One finding's markdown and its claims; the sensitivity table only when no earlier section has
  the same runs (`same_runs_as` names that section)."""
  cells_, missing = cells(finding, runs, scale)
  claims, evidence = CLAIMS[finding["key"]](cells_, scale)
  members = [r for c in cells_ for r in c.runs]
  parts = [f"## {finding['title']}", f"**Paper.** {PAPER[finding['key']]}", ""]
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
  parts += _figures(finding["key"], members, out_dir, scale, max(1, steps_of(cells_) // 4)) if members else []
  return "\n".join(parts) + "\n", claims


def read_manifest(root: str) -> tuple[dict[str, Any], Scale]:
  """ROOT/sweep.json's report (scale and findings) and the scale; InputError for a root that is not a
  suite with findings, or whose sweep.json predates the report (it names the command that rewrites it)."""
  path = os.path.join(root, MANIFEST)
  try:
    with open(path) as f:
      manifest = json.load(f)
    name = manifest["sweep"]["name"]
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise InputError(f"{path}: unreadable ({e}); expected the sweep.json that launch.sweep writes")
  if "version" not in manifest:
    raise InputError(f"{path} was written by an older launcher and lists no findings: relaunch the same "
                     f"command (python -m launch.sweep --sweep_name={name} --root={root}); it rewrites "
                     "sweep.json and skips finished units")
  if "report" not in manifest:
    raise InputError(f"{root} holds sweep {name!r}, which has no findings: expected the root of a "
                     "reproduction suite (repro_cpu, repro_smoke_cpu or repro_long_cpu)")
  return {**manifest["report"], "total": len(manifest["units"])}, scale_of(manifest["report"]["scale"])


def scale_of(raw: dict[str, Any]) -> Scale:
  """The suite's scale from sweep.json's report.scale."""
  return Scale(raw["name"], raw["preset"], tuple(raw["widths"]), tuple(raw["ablation_widths"]),
               tuple(raw["lrs"]), raw["low_lr"], tuple(raw["warmups"]))


def wall_time(runs: Sequence[Run]) -> float:
  """Seconds from the first run directory's creation to the last status update."""
  starts = [os.path.getmtime(os.path.join(r.path, "run.json")) for r in runs]
  ends = [os.path.getmtime(os.path.join(r.path, "status.json")) for r in runs
          if os.path.exists(os.path.join(r.path, "status.json"))]
  return max(ends) - min(starts) if ends else 0.0


def build(root: str, out_dir: str) -> str:
  """Writes out_dir/README.md and out_dir/figures/; returns the page's path."""
  report, scale = read_manifest(root)
  all_runs, problems = find_runs([root])
  load_metrics(all_runs)
  runs = {r.name: r for r in all_runs}
  os.makedirs(out_dir, exist_ok=True)
  sections, summary, first_with = [], [["finding", "claim", "verdict"]], {}
  for finding in report["findings"]:
    print(f"section {finding['key']}", file=sys.stderr, flush=True)
    key = tuple(unit["name"] for unit in finding["units"])
    text, claims = section(finding, runs, out_dir, scale, first_with.get(key))
    first_with.setdefault(key, finding["title"].split(" ")[0].rstrip("."))
    sections.append(text)
    summary += [[finding["title"].split(" ")[0], c.text, f"**{c.verdict}**"] for c in claims]
  total = report["total"]
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

