"""One self-contained HTML page for a tree of runs: LR sensitivity, predictions, the paper's figures and
the runs that diverged or failed.

  python -m analysis.report ROOT [ROOT ...] --out DIR [--lrs=...] [--params=4.8e9] [--step=2000]

Without --lrs the range is the paper's, unless no group ran all of it: then it is the LRs that were run,
and the page says so.

DIR/index.html embeds every figure as a base64 PNG, so it opens from disk in a browser with no server,
and links the PNG and SVG written beside it in DIR/figures/. A figure the runs cannot make is listed
with the reason. Progress goes to stderr.
"""

import base64
import html
import json
import os
import sys
import time
from typing import Sequence

from absl import app
from absl import flags

from analysis import cli
from analysis import fmt
from analysis import predict
from analysis import registry
from analysis import sensitivity
from analysis.registry import Options
from analysis.render import Figure, render
from analysis.runs import InputError, Run, load_metrics, state_summary
from rundir import display
from rundir.flag_parser import parse_flags
from rundir.files import NO_FINAL_LOSS, write_text

_STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 1400px; }
table { border-collapse: collapse; font-size: 13px; margin-bottom: 1em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #eee; }
img { max-width: 100%; border: 1px solid #ddd; }
.skipped { color: #a40; }
.note { color: #666; font-size: 12px; }
"""


def _progress(message: str) -> None:
  print(message, file=sys.stderr, flush=True)


def make_figures(runs: Sequence[Run], out_dir: str, opts: Options) -> list[Figure]:
  """Every figure of analysis/registry.py into out_dir/figures/; a figure that fails for any reason is
  recorded, not raised."""
  made = []
  for i, spec in enumerate(registry.FIGURES, 1):
    _progress(f"figure {i}/{len(registry.FIGURES)}: {spec.name}")
    made.append(render(spec.name, spec.captioned(opts), spec.bound(opts), runs,
                       os.path.join(out_dir, "figures", spec.name)))
    if made[-1].skipped:
      _progress(f"  skipped: {made[-1].skipped}")
  return made


def _sensitivity_section(runs: Sequence[Run], opts: Options, range_note: str | None) -> str:
  results, notes = sensitivity.sensitivities(runs, opts.lrs, opts.coupled_lrs)
  rows = [(s.label, fmt.count(s.params), fmt.number(s.init_loss), fmt.number(s.best_loss),
           fmt.sci(s.best_lr), s.summary if s.complete or s.missing_lrs or s.unmeasured else "incomplete",
           "; ".join(s.notes)) for s in results]
  note = f"<p><b>{html.escape(range_note)}</b></p>" if range_note else ""
  return (f"{note}<p>Range: {{{', '.join(map(fmt.sci, opts.lrs))}}}; coupled weight decay: minimum with "
          f"{{{', '.join(map(fmt.sci, opts.coupled_lrs))}}}. A diverged run counts as l0; l0 is the "
          "median init eval loss of the group.</p>"
          + display.html_table(("group", "params", "l0", "l*", "best lr", "LR sensitivity", "notes"), rows)
          + "".join(f"<p class=note>{html.escape(n)}</p>" for n in notes))


def _prediction_section(runs: Sequence[Run], opts: Options) -> str:
  try:
    predictions = predict.predict(runs, opts.params, opts.step, opts.block, opts.threshold)
  except InputError as e:
    return f"<p class=skipped>skipped: {html.escape(str(e))}</p>"
  rows = [(p.intervention, fmt.sci(p.lr), len({q.params for q in p.points}),
           ", ".join(fmt.number(c) for c in p.fit.coeffs) if p.fit else "-", fmt.number(p.predicted),
           "-" if p.crosses is None else ("YES" if p.crosses else "no"), "; ".join(p.notes))
          for p in predictions]
  return (f"<p>Max attention logit of block {opts.block} at each run's last log at step &lt;= "
          f"{opts.step}, fitted as log10(logit) = a u&sup2; + b u + c with u = log10(non-embedding "
          f"params), extrapolated to {fmt.count(opts.params)} params (Section 3.3).</p>"
          + display.html_table(("intervention", "lr", "sizes", "a, b, c", "predicted max logit",
                    f">= {fmt.sci(opts.threshold)}", "notes"), rows))


def _figure_section(made: Sequence[Figure], out_dir: str) -> str:
  parts = []
  for fig in made:
    parts.append(f"<h3 id={fig.name}>{html.escape(fig.caption)}</h3>")
    if fig.skipped:
      parts.append(f"<p class=skipped>skipped: {html.escape(fig.skipped)}</p>")
      continue
    png = next(p for p in fig.paths if p.endswith(".png"))
    with open(png, "rb") as f:
      data = base64.b64encode(f.read()).decode("ascii")
    links = " ".join(f'<a href="{html.escape(os.path.relpath(p, out_dir))}">{os.path.splitext(p)[1][1:]}</a>'
                     for p in fig.paths)
    parts.append(f'<img alt="{fig.name}" src="data:image/png;base64,{data}"><p class=note>files: {links}</p>')
  return "\n".join(parts)


def _warning_section(runs: Sequence[Run]) -> str:
  """Runs whose monitor warned (status.json's count, warnings.jsonl's first line): instability/detectors.py."""
  rows = []
  for r in runs:
    count = r.status.get("warnings")
    if not count:
      continue
    try:
      with open(os.path.join(r.path, "warnings.jsonl")) as f:
        first = json.loads(f.readline()).get("message", "-")
    except (OSError, ValueError, AttributeError):
      first = "-"
    rows.append((r.name, r.state, fmt.sci(r.lr), count, first))
  return display.html_table(("run", "state", "lr", "warnings", "first warning"), rows) if rows else "<p>none</p>"


def _problem_section(runs: Sequence[Run], problems: Sequence[str]) -> str:
  rows = [(r.name, r.state, fmt.sci(r.lr), r.status.get("step", "-"), r.reason or "-")
          for r in runs if r.state in NO_FINAL_LOSS]
  text = display.html_table(("run", "state", "lr", "step", "reason"), rows) if rows else "<p>none</p>"
  other = [f"{r.name}: {r.unreadable_lines} unreadable line(s) in metrics.jsonl (skipped)"
           for r in runs if r.unreadable_lines]
  other += [f"{r.name}: no status.json" for r in runs if r.state == "unknown"]
  other += [f"skipped {p}" for p in problems]
  return text + "".join(f"<p class=note>{html.escape(p)}</p>" for p in other)


def build(runs: Sequence[Run], out_dir: str, opts: Options, roots: Sequence[str] = (),
          problems: Sequence[str] = (), range_note: str | None = None) -> str:
  """Writes out_dir/index.html and out_dir/figures/; returns the page's path. `range_note`: why the LR
  range is not the one asked for."""
  os.makedirs(out_dir, exist_ok=True)
  load_metrics(runs)
  made = make_figures(runs, out_dir, opts)
  summary = state_summary(runs)
  page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>proxies report</title><style>{_STYLE}</style></head><body>
<h1>Small-scale proxies: report</h1>
<p>{html.escape(', '.join(roots))}: {len(runs)} runs ({html.escape(summary)}); written
{time.strftime('%Y-%m-%d %H:%M:%S')}.</p>
<h2>LR sensitivity (Section 2.2)</h2>
{_sensitivity_section(runs, opts, range_note)}
<h2>Predicted attention logit growth (Section 3.3)</h2>
{_prediction_section(runs, opts)}
<h2>Figures</h2>
{_figure_section(made, out_dir)}
<h2>Instability warnings</h2>
{_warning_section(runs)}
<h2>Diverged and failed runs</h2>
{_problem_section(runs, problems)}
</body></html>
"""
  path = os.path.join(out_dir, "index.html")
  write_text(path, page)  # atomic: a reader never sees half a report
  return path


def main(argv: list[str]) -> None:
  f = flags.FLAGS
  if f.rms_window < 1 or f.output_block < 0:  # every flag checked before any run is read
    cli.exit_usage(f"--rms_window={f.rms_window} --output_block={f.output_block}: expected --rms_window >= 1 "
                   "and --output_block >= 0")
  lrs, coupled_lrs = sensitivity.ranges_from_flags()
  params, step, block, threshold = predict.checked_flags()
  runs, problems = cli.load_runs(argv, "analysis.report")
  _progress(f"found {len(runs)} runs")
  range_note = None
  if not f["lrs"].present:  # e.g. the README's demo sweep: a report over the LRs it ran
    lrs, coupled_lrs, range_note = sensitivity.ranges_or_lrs_run(runs, lrs, coupled_lrs)
    if range_note:
      _progress(range_note)
  opts = Options(lrs, coupled_lrs, params, step, block, threshold, f.rms_window, f.output_block)
  try:
    path = build(runs, f.out, opts, roots=argv[1:], problems=problems, range_note=range_note)
  except OSError as e:
    cli.exit_usage(f"--out={f.out}: cannot write ({e.strerror or e})")
  print(path)


if __name__ == "__main__":
  sensitivity.define_flags()
  predict.define_flags(units=False)
  for module in (sensitivity, predict):  # --helpshort lists the flags report reads, not only its own
    flags.adopt_module_key_flags(module)
  flags.DEFINE_string("out", None, "Folder for index.html and figures/.", required=True)
  flags.DEFINE_integer("rms_window", 500, "Final steps averaged in Fig 11, E.12, C.1.")
  flags.DEFINE_integer("output_block", 2, "Block of the output RMS in Fig C.1 (block index 2 in the paper).")
  app.run(main, flags_parser=parse_flags)
