r"""The reproduction report of the CPU suite (launch/sweeps/repro.py): one section per finding of the
paper with its claim, the test applied, the verdict that test gives, the evidence table, the LR
sensitivity table and the figures.

  python -m analysis.reproduction runs/repro --out docs/reproduction          # one suite
  python -m analysis.reproduction runs --out docs/reproduction                # Figs 1-13, every suite

Writes DIR/README.md (GitHub renders it) and DIR/figures/, removing the figures there that the new page no
longer shows. One root holding a sweep with findings (`repro_cpu`, `repro_smoke_cpu` or `repro_long_cpu`; the
long one holds only the late-training findings) gives that suite's report: its sweep.json, written by
launch.sweep, carries the suite's scale and each finding's units, which is all this reads of the suite's
definition. Units not run yet are listed, not guessed. Several roots, or a folder of suite roots, give the
full report (Figs 1-13): repro_cpu's findings averaged over repro_seeds_cpu's seeds, Figs 7-13
(analysis/figure_suites.py) and repro_long_cpu's findings at 2000 steps averaged over repro_long_seeds_cpu's
seeds, each suite recognised by its sweep.json; a suite without a root is "not run yet", an unfinished one
"incomplete (n of m)", with no verdict. `--only=KEY,...` writes one suite family's report (a figure's section,
or `long_horizon`). The verdicts are fixed rules (analysis/rules.py, docs/reproduction_rules.md) stated beside
them, applied the same way to any run of the suite: they are not tuned to the paper. Each run also rewrites
docs/reproduction_rules.md (--rules_doc) from analysis/rules.py, the rules it applies. The sections, the
suites they read and their figures are the entries of analysis/registry.py.
"""

import os
import sys
import time
from typing import Any, Callable, Sequence

from absl import app
from absl import flags

from analysis import cli
from analysis import figure_suites
from analysis import figures
from analysis import grouping
from analysis import registry
from analysis import render
from analysis import rules
from analysis import sensitivity
from analysis import suites as suites_
from analysis.registry import COVERED, LONG_SEEDS_SUITE, LONG_SUITE, MAIN_SUITES, SEEDS_SUITE
from analysis.runs import InputError, Run, find_runs, load_metrics, state_summary
from analysis.findings import (HIGH_LR, SIZE_KEYS, Cell, Claim, Scale, cell_label, seed_values, sens_of,
                               sensitivity_rows, steps_of, varying)
from rundir import display, manifests
from rundir.flag_parser import parse_flags
from rundir.files import MANIFEST_FILE, write_text

RULES_DOC = os.path.join(figure_suites.REPO, "docs", "reproduction_rules.md")
Replicas = dict[str, dict[int, Run]]  # a repro_cpu unit's name -> its runs at the other seeds, by seed


def cells(finding: dict[str, Any], runs: dict[str, Run], scale: Scale,
          replicas: Replicas | None = None) -> tuple[list[Cell], list[str]]:
  """The finding's cells in point order, and the names of its units that have no run directory; a cell
  with runs at other seeds gets one sensitivity per seed as its replicas."""
  point_of = lambda unit: {k: v for k, v in unit["labels"].items() if k not in SIZE_KEYS}
  by_cell = grouping.group_by(finding["units"], lambda u: (cell_label(point_of(u)), u["labels"]["d_model"]))
  out = []
  for (label, width), units in by_cell.items():
    cell = Cell(point_of(units[0]), int(width), sorted((runs[u["name"]] for u in units if u["name"] in runs),
                                                       key=lambda r: r.lr), None)
    if cell.runs:
      ranges = sensitivity.lr_ranges(cell.runs, scale.lrs, scale.coupled_lrs)
      cell.sens = sensitivity.group_sensitivity(cell.runs, ranges, label)
      seeded = [(seed, run) for u in units for seed, run in (replicas or {}).get(u["name"], {}).items()]
      by_seed = grouping.group_by(seeded, lambda pair: pair[0])
      cell.replicas = {seed: sensitivity.group_sensitivity([run for _, run in pairs], ranges, label)
                       for seed, pairs in sorted(by_seed.items())}
    out.append(cell)
  return out, [u["name"] for u in finding["units"] if u["name"] not in runs]


# --- the page ----------------------------------------------------------------------------------------

def seeded_sensitivity(cells_: Sequence[Cell], out: str) -> list[str]:
  """LR sensitivity vs non-embedding params per cell label, the mean over seeds with min-max bars."""
  label = varying(cells_)
  series = grouping.group_by([c for c in cells_ if c.sens and c.sens.params and seed_values(c)], label)
  lines = [figures.Line(k, sorted((c.sens.params, sens_of(c), min(seed_values(c)), max(seed_values(c))) for c in v))
           for k, v in series.items()]
  return figures.lines([figures.Panel("", "non-embedding params", "LR sensitivity", lines, xlog=True)],
                       out, "LR sensitivity: mean over seeds, bars min-max")


def figure_line(alt: str, name: str, make: Callable, runs: Sequence[Run], out_dir: str, stem: str) -> str:
  """The markdown of one figure drawn into out_dir/figures/STEM.png, or why it was skipped."""
  made = render.render(name, "", make, runs, os.path.join(out_dir, "figures", stem))
  if made.skipped:
    return f"*figure {name} skipped: {made.skipped}*"
  png = next(p for p in made.paths if p.endswith(".png"))
  return f"![{alt} {name}]({os.path.relpath(png, out_dir)})"


def _figures(key: str, runs: list[Run], out_dir: str, scale: Scale, window: int,
             cells_: Sequence[Cell] = (), prefix: str = "") -> list[str]:
  """The finding's figures (analysis/registry.py); with seeds, its sensitivity figure has the seeds' min-max
  as error bars."""
  opts = registry.Options(lrs=scale.lrs, coupled_lrs=scale.coupled_lrs, rms_window=window,
                          lr=HIGH_LR if HIGH_LR in scale.lrs else None)
  seeded = any(c.replicas for c in cells_)
  specs = [(name, (lambda _, out: seeded_sensitivity(cells_, out)) if seeded and name == "lr_sensitivity_vs_params"
            else registry.figure(name).bound(opts)) for name in registry.finding(key).figures]
  return [figure_line(key, name, make, runs, out_dir, f"{prefix}{key}_{name}") for name, make in specs]


def section(finding: dict[str, Any], runs: dict[str, Run], out_dir: str, scale: Scale,
            same_runs_as: str | None = None, replicas: Replicas | None = None,
            prefix: str = "", unfinished: str | None = None) -> tuple[str, list[Claim]]:
  """One finding's markdown and its claims; the sensitivity table only when no earlier section has
  the same runs (`same_runs_as` names that section). `prefix` keeps two suites' figure files apart;
  `unfinished`, the suite's state, is shown instead of the verdicts."""
  cells_, missing = cells(finding, runs, scale, replicas)
  claims, evidence = registry.finding(finding["key"]).claims(cells_, scale)
  members = [r for c in cells_ for r in c.runs]
  parts = [f"## {finding['title']}", f"**Paper.** {rules.section(finding['key']).paper}", ""]
  for claim in claims:
    parts.append(f"- **{unfinished or claim.verdict}**: {claim.text} *Test:* {claim.rule}.")
    parts += [f"  - {line}" for line in claim.detail]
  if missing:
    parts.append(f"\n{len(missing)} of this finding's units have no run directory yet.")
  if evidence:
    parts += ["", display.markdown(evidence)]
  if same_runs_as:
    parts += ["", f"LR sensitivity: these are the runs of section {same_runs_as}; see its table.", ""]
  else:
    parts += ["", "LR sensitivity (Section 2.2: a diverged run, or a loss above l0, counts as l0):", "",
              display.markdown(sensitivity_rows(cells_))]
  if members:
    parts += _figures(finding["key"], members, out_dir, scale, max(1, steps_of(cells_) // 4), cells_, prefix)
  return "\n".join(parts) + "\n", claims


def has_findings(manifest: dict[str, Any]) -> bool:
  return "findings" in manifest.get("report", {})


def read_manifest(root: str) -> tuple[dict[str, Any], Scale]:
  """ROOT/sweep.json's report (scale and findings) and the scale; InputError for a root that is not a
  suite with findings, or whose sweep.json predates the report (it names the command that rewrites it)."""
  manifest = suites_.read_manifest(root)
  if not has_findings(manifest):
    raise InputError(f"{root} holds sweep {manifests.sweep_name(manifest)!r}, which has no findings: expected the "
                     "root of a reproduction suite (repro_cpu, repro_smoke_cpu or repro_long_cpu)")
  return {**manifest["report"], "total": len(manifest["units"])}, Scale.from_json(manifest["report"]["scale"])


def wall_time(runs: Sequence[Run]) -> float:
  """Seconds from the first run directory's creation to the last status update."""
  starts = [os.path.getmtime(os.path.join(r.path, "run.json")) for r in runs]
  ends = [os.path.getmtime(os.path.join(r.path, "status.json")) for r in runs
          if os.path.exists(os.path.join(r.path, "status.json"))]
  return max(ends) - min(starts) if ends else 0.0


def write_page(out_dir: str, page: str) -> str:
  """Writes out_dir/README.md (atomic: a reader never sees half a report) and removes the figures there that
  the page does not show: one an earlier report drew for a section now unfinished or skipped would otherwise
  sit in figures/ as if current. Returns the page's path."""
  path = os.path.join(out_dir, "README.md")
  write_text(path, page)
  figures = os.path.join(out_dir, "figures")
  for name in sorted(os.listdir(figures)) if os.path.isdir(figures) else []:
    stem, ext = os.path.splitext(name)
    if ext in (".png", ".svg") and f"figures/{stem}.png)" not in page:
      os.remove(os.path.join(figures, name))
      print(f"removed {os.path.join(figures, name)}: not in the new report", file=sys.stderr)
  return path


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
      display.markdown(summary),
      *sections,
      "## Runs skipped by the reader" if problems else "",
      *[f"- {p}" for p in problems],
  ])
  return write_page(out_dir, page)


# --- the full report: every suite, Figs 1-13 ---------------------------------------------------------

def replicas_of(seeds: suites_.Suite | None, of: str) -> Replicas:
  """The seed runs of a finished seeds suite (repro_seeds_cpu, repro_long_seeds_cpu) by the unit of `of`
  they replicate; none for an absent or unfinished one, or one that replicates another suite."""
  if seeds is None or not seeds.done or seeds.manifest["report"]["seeds_of"] != of:
    return {}
  out: Replicas = {}
  for unit in seeds.manifest["report"]["units"]:
    run = seeds.runs.get(unit["name"])
    if run is not None:
      out.setdefault(unit["base"], {})[int(unit["seed"])] = run
  return out


def findings_sections(suite: suites_.Suite | None, name: str, out_dir: str, replicas: Replicas,
                      prefix: str, title_prefix: str = "") -> tuple[list[str], list[list[str]]]:
  """A findings suite's sections and summary rows; its state instead of verdicts until it is finished."""
  state = suites_.status({name: suite} if suite else {}, name)
  if suite is None:
    return [f"## {title_prefix}{name}\n\n{name}: not run yet.\n"], [[f"{title_prefix}{name}", "-", f"**{state}**"]]
  scale = Scale.from_json(suite.manifest["report"]["scale"])
  sections, rows, first_with = [], [], {}
  for finding in suite.manifest["report"]["findings"]:
    print(f"section {prefix}{finding['key']}", file=sys.stderr, flush=True)
    key = tuple(unit["name"] for unit in finding["units"])
    titled = {**finding, "title": title_prefix + finding["title"]}
    text, claims = section(titled, suite.runs, out_dir, scale, first_with.get(key), replicas, prefix,
                           None if suite.done else f"{name}: {state}")
    first_with.setdefault(key, titled["title"].split(" ")[0].rstrip("."))
    sections.append(text)
    rows += [[title_prefix + finding["title"].split(" ")[0], c.text, f"**{c.verdict if suite.done else state}**"]
             for c in claims]
  return sections, rows


def figure_sections(suites: dict[str, suites_.Suite], prediction_path: str = figure_suites.FIG9_PREDICTION,
                    entries: Sequence[registry.SuiteSection] = registry.SUITE_SECTIONS
                    ) -> list[figure_suites.Section]:
  """Each entry's section (every section of SUITE_SECTIONS by default) built from the suites; a section
  whose suites are not all finished gets their state as its verdicts."""
  out = []
  for entry in entries:
    section_ = entry.build(suites, prediction_path) if entry.prediction else entry.build(suites)
    unfinished = [f"{name}: {suites_.status(suites, name)}" for name in entry.suites
                  if not (suites.get(name) and suites[name].done)]
    if unfinished:
      for claim in section_.claims:
        claim.verdict = "; ".join(unfinished)
    out.append(section_)
  return out


def figure_section_text(entry: registry.SuiteSection, section_: figure_suites.Section,
                        suites: dict[str, suites_.Suite], out_dir: str) -> str:
  parts = [f"## {section_.title}", f"**Paper.** {rules.section(entry.key).paper}", "",
           "Suites: " + "; ".join(f"`{n}` {suites_.status(suites, n)}"
                                  for n in (*entry.suites, *entry.seed_suites)), ""]
  for claim in section_.claims:
    parts.append(f"- **{claim.verdict}**: {claim.text} *Rule:* {claim.rule}")
    parts += [f"  - {line}" for line in claim.detail]
  parts += [""] + section_.notes + [""]
  parts += [display.markdown(rows) for rows in section_.tables]
  key = entry.key
  parts += [figure_line(key, name, lambda _, out, make=make: make(out), [], out_dir, f"{key}_{name}")
            for name, make in section_.figures]
  parts += [figure_line(key, name, registry.figure(name).bound(registry.Options()), section_.runs, out_dir,
                        f"{key}_{name}") for name in entry.figures]
  return "\n".join(parts) + "\n"


def build_full(paths: Sequence[str], out_dir: str, prediction: str, only: Sequence[str] = ()) -> str:
  """Writes out_dir/README.md and figures/ for Figs 1-13 from the suites under `paths`; `only`: just the
  SUITE_SECTIONS with these keys and, with registry.LONG_KEY, the long-horizon findings (a report of one
  suite family), without repro_cpu's findings."""
  entries, with_long = registry.only_sections(only) if only else (list(registry.SUITE_SECTIONS), True)
  suites = suites_.discover(paths, COVERED)
  if any(entry.prediction for entry in entries):
    figure_suites.read_prediction(prediction)  # a malformed one is refused before anything is written
  os.makedirs(out_dir, exist_ok=True)
  summary, main_sections, long_sections, seeds = [], [], [], []
  covered = ([n for entry in entries for n in (*entry.suites, *entry.seed_suites)]
             + ([LONG_SUITE, LONG_SEEDS_SUITE] if with_long else [])) if only else list(COVERED)
  if not only:
    main_names = [n for n in MAIN_SUITES if n in suites]
    if len(main_names) > 1:
      raise InputError(f"roots of both {' and '.join(main_names)}: expected one of them")
    main_name = main_names[0] if main_names else MAIN_SUITES[0]
    replicas = replicas_of(suites.get(SEEDS_SUITE), main_name)
    main_sections, summary = findings_sections(suites.get(main_name), main_name, out_dir, replicas, "")
    seeds.append((SEEDS_SUITE, replicas))
  figure_parts, titles = [], []
  for entry, section_ in zip(entries, figure_sections(suites, prediction, entries)):
    print(f"section {section_.title}", file=sys.stderr, flush=True)
    titles.append(section_.title)
    figure_parts.append(figure_section_text(entry, section_, suites, out_dir))
    summary += [[section_.title.split(":")[0], c.text, f"**{c.verdict}**"] for c in section_.claims]
  if with_long:
    long_replicas = replicas_of(suites.get(LONG_SEEDS_SUITE), LONG_SUITE)
    long_sections, long_rows = findings_sections(suites.get(LONG_SUITE), LONG_SUITE, out_dir, long_replicas,
                                                 "long_", "Long horizon, ")
    summary += long_rows
    titles.append(f"Long horizon (`{LONG_SUITE}`)")
    seeds.append((LONG_SEEDS_SUITE, long_replicas))
  seeds_line = " ".join(
      f"`{name}`: {suites_.status(suites, name)}; "
      + ("its seeds are averaged into the findings whose verdict hinged on a difference under 0.1 "
         "(docs/reproduction_rules.md, Seeds)." if seeded else "the findings show seed 0 only.")
      for name, seeded in seeds)
  status_rows = [["suite", "root", "state", "runs", "first start to last update"]] + [
      [f"`{n}`", suites[n].root if n in suites else "-", suites_.status(suites, n),
       state_summary(list(suites[n].runs.values())) if n in suites and suites[n].runs else "-",
       f"{wall_time(list(suites[n].runs.values())) / 60:.1f} min" if n in suites and suites[n].runs else "-"]
      for n in covered if n in suites or n != "repro_smoke_cpu"]
  problems = [p for s in suites.values() for p in s.problems]
  command = " ".join(["python -m analysis.reproduction", *paths, *([f"--only={','.join(only)}"] if only else []),
                      f"--out {out_dir}"])
  page = "\n".join([
      "# Reproduction report: " + ("; ".join(titles) if only else "Figs 1-13 at CPU scale"),
      "",
      f"Generated {time.strftime('%Y-%m-%d %H:%M')} by `{command}`. Verdicts are fixed rules, stated with each "
      "claim, applied to these runs (analysis/rules.py, written out as docs/reproduction_rules.md); a suite "
      "not finished shows its state instead.",
      "",
      display.markdown(status_rows),
      seeds_line,
      "",
      display.markdown([["figure", "claim", "verdict"]] + summary),
      *main_sections, *figure_parts, *long_sections,
      "## Runs skipped by the reader" if problems else "",
      *[f"- {p}" for p in problems],
  ])
  return write_page(out_dir, page)


def single_suite(paths: Sequence[str]) -> bool:
  """One root holding a suite with findings: that suite's own report, as before the full one."""
  if len(paths) != 1 or not os.path.exists(os.path.join(paths[0], MANIFEST_FILE)):
    return False
  return has_findings(suites_.read_manifest(paths[0]))


def main(argv: list[str]) -> None:
  if len(argv) < 2:
    cli.exit_usage("expected one or more roots: python -m analysis.reproduction ROOT [ROOT ...] --out DIR")
  try:
    paths = argv[1:]
    path = (build(paths[0], flags.FLAGS.out) if single_suite(paths) and not flags.FLAGS.only
            else build_full(paths, flags.FLAGS.out, flags.FLAGS.fig9_prediction, flags.FLAGS.only))
  except InputError as e:
    cli.exit_usage(str(e))
  except OSError as e:
    cli.exit_usage(f"--out={flags.FLAGS.out}: cannot write ({e.strerror or e})")
  print(path)
  if flags.FLAGS.rules_doc:  # the rules as applied, whatever the roots: the doc never drifts from the code
    write_text(flags.FLAGS.rules_doc, rules.markdown())
    print(flags.FLAGS.rules_doc)


if __name__ == "__main__":
  flags.DEFINE_string("out", None, "Folder for README.md and figures/.", required=True)
  flags.DEFINE_string("rules_doc", RULES_DOC, "Where to write the rules doc from analysis/rules.py ('' for nowhere).")
  flags.DEFINE_list("only", [], "Only these sections of analysis/registry.py's SUITE_SECTIONS (their keys, "
                    "e.g. logit_divergence) or long_horizon (repro_long_cpu's findings over its seeds): a report "
                    "of one suite family, without repro_cpu's findings.")
  flags.DEFINE_string("fig9_prediction", figure_suites.FIG9_PREDICTION,
                      "Fig 9's prediction, written by analysis.predict --json before the held-out runs.")
  app.run(main, flags_parser=parse_flags)

