"""The paper's figures, each a function of runs.

Every function takes runs (analysis.runs.Run, read from run directories), an output path stem and the
figure's parameters; it writes STEM.png and STEM.svg and returns their paths, or raises Skipped saying
what the runs lack. Panels split runs by intervention (grouping.interventions); colours follow model
size (non-embedding params) or learning rate. Values "averaged over the final steps" (Fig 11, C.1) use
the logged steps within `window` of a run's last log, and leave out diverged and failed runs.
"""

import dataclasses
import math
import os
import re
from typing import Callable, Sequence

import matplotlib

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from analysis import fmt
from analysis import grouping
from analysis import predict
from analysis import sensitivity
from analysis.runs import InputError, Run, is_number
from rundir.files import NO_FINAL_LOSS

PANEL_SIZE = (4.2, 3.3)
_BLOCK = re.compile(r"block_\d+")


class Skipped(Exception):
  """The runs cannot make this figure; the message says what is missing."""


def save(fig: plt.Figure, out: str) -> list[str]:
  """Writes OUT.png and OUT.svg (every figure is both: the report embeds one, an editor wants the other)."""
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  paths = [f"{out}.png", f"{out}.svg"]
  for path in paths:
    fig.savefig(path, dpi=100, bbox_inches="tight")
  plt.close(fig)
  return paths


def _grid(rows: int, cols: int) -> tuple[plt.Figure, np.ndarray]:
  fig, axes = plt.subplots(rows, cols, figsize=(PANEL_SIZE[0] * cols, PANEL_SIZE[1] * rows),
                           squeeze=False)
  fig.subplots_adjust(hspace=0.45, wspace=0.3)  # room for titles; constrained layout is slow on big grids
  return fig, axes


def _panels(n: int, max_cols: int = 3) -> tuple[plt.Figure, list[plt.Axes]]:
  """n panels in rows of at most max_cols; unused cells hidden."""
  cols = min(n, max_cols)
  fig, axes = _grid(math.ceil(n / cols), cols)
  flat = list(axes.flat)
  for ax in flat[n:]:
    ax.set_visible(False)
  return fig, flat[:n]


def _palette(values: Sequence[float]) -> dict[float, tuple]:
  """One viridis colour per distinct value, in log order (sizes and LRs span decades)."""
  distinct = sorted(set(values))
  cmap = plt.get_cmap("viridis")
  return {v: cmap(i / max(len(distinct) - 1, 1) * 0.9) for i, v in enumerate(distinct)}


def _legend(ax: plt.Axes, title: str | None = None) -> None:
  if ax.get_legend_handles_labels()[0]:
    ax.legend(fontsize=7, title=title, title_fontsize=7)


def _at_lr(runs: Sequence[Run], lr: float) -> list[Run]:
  return [r for r in runs if r.lr is not None and math.isclose(r.lr, lr, rel_tol=sensitivity.LR_RTOL)]


def _blocks(run: Run, key_of_block: Callable[[int], str]) -> list[int]:
  """Block indices 0, 1, ... for which the run logged the key, up to the first missing one."""
  blocks = []
  while run.series(key_of_block(len(blocks)))[0].size:
    blocks.append(len(blocks))
  return blocks


def _stable(runs: Sequence[Run]) -> list[Run]:
  """Runs whose final-steps averages mean something: sized, with an lr, neither diverged nor failed."""
  return [r for r in runs if r.state not in NO_FINAL_LOSS and r.lr is not None
          and r.params is not None]


def _eps_lines(ax: plt.Axes, runs: Sequence[Run]) -> None:
  for eps in sorted({r.eps for r in runs}):
    ax.axhline(eps, color="k", linestyle=":", linewidth=1, label=f"AdamW eps {fmt.sci(eps)}")


def lr_vs_loss(runs: Sequence[Run], out: str) -> list[str]:
  """Final eval loss vs LR, one line per model size, one panel per intervention swept over LR (Fig 1, 3,
  5-8, E.2-E.10, left). A diverged run is drawn as an x at l0, the value LR sensitivity gives it."""
  usable = [r for r in runs if r.lr is not None and r.params is not None and r.final_loss is not None]
  if not usable:
    raise Skipped("no sized run with an lr binding and a final eval loss (completed or diverged)")
  panels = [(label, members) for label, members in grouping.interventions(usable)
            if len({r.lr for r in members}) > 1]
  if not panels:
    raise Skipped("no intervention has final eval losses at two or more LRs")
  colors = _palette([r.params for r in usable])
  fig, axes = _panels(len(panels))
  for ax, (label, members) in zip(axes, panels):
    for size, at_size in grouping.by_size(members):
      at_size = sorted(at_size, key=lambda r: r.lr)
      trained = [r for r in at_size if math.isfinite(r.final_loss)]
      diverged = [r for r in at_size if not math.isfinite(r.final_loss) and r.init_loss is not None]
      ax.plot([r.lr for r in trained], [r.final_loss for r in trained], "o-", color=colors[size],
              label=fmt.count(size), markersize=4)
      ax.plot([r.lr for r in diverged], [r.init_loss for r in diverged], "x", color=colors[size])
    ax.set(xscale="log", xlabel="learning rate", ylabel="final eval loss")
    ax.set_title(label, fontsize=8)
    _legend(ax, "non-emb. params")
  fig.suptitle("LR vs final loss (x: diverged, drawn at l0)", fontsize=9)
  return save(fig, out)


def lr_sensitivity_vs_params(runs: Sequence[Run], out: str,
                             lrs: Sequence[float] = sensitivity.PAPER_LRS,
                             coupled_lrs: Sequence[float] = sensitivity.PAPER_COUPLED_LRS) -> list[str]:
  """LR sensitivity vs non-embedding params, one line per intervention (Fig 1, 3, 5-8, E.2-E.10,
  right). Incomplete sweeps are left out."""
  results, _ = sensitivity.sensitivities(runs, lrs, coupled_lrs)
  complete = [s for s in results if s.complete and s.params is not None]
  if not complete:
    raise Skipped(f"no complete sized LR sweep over {{{', '.join(map(fmt.sci, lrs))}}} "
                  f"({len(results)} groups, all incomplete)")
  by_first_run = {s.runs[0]: s for s in complete}
  fig, ax = plt.subplots(figsize=PANEL_SIZE)
  for label, members in grouping.interventions(list(by_first_run)):
    points = sorted((by_first_run[r].params, by_first_run[r].lr_sensitivity) for r in members)
    ax.plot(*zip(*points), "o-", label=label, markersize=4)
  ax.set(xscale="log", xlabel="non-embedding params", ylabel="LR sensitivity")
  _legend(ax)
  return save(fig, out)


def _line(style: str, steps: np.ndarray) -> str:
  """A line style that stays visible for a series of one point (a short run logs once): with a marker."""
  return style + "o" if steps.size == 1 else style


def _longest_lived_lr(runs: Sequence[Run], key: str) -> float:
  """The largest LR at which some run logged `key` at least half as often as the longest run did:
  the highest LR that still shows a trajectory, not one that diverged at its first log."""
  count = {r: r.series(key)[0].size for r in runs}
  longest = max(count.values())
  return max(r.lr for r in runs if 2 * count[r] >= longest)


def _over_steps(runs: Sequence[Run], out: str, keys: Sequence[str], log_y: Sequence[bool],
                lr: float | None, title: str) -> list[str]:
  """`keys` over steps at one LR (default: the largest with a full trajectory), colour = size,
  style = intervention."""
  logged = [r for r in runs if r.lr is not None and r.series(keys[-1])[0].size]
  if not logged:
    raise Skipped(f"no run with an lr binding logged {keys[-1]}")
  lr = _longest_lived_lr(logged, keys[-1]) if lr is None else lr
  chosen = _at_lr(logged, lr)
  if not chosen:
    raise Skipped(f"no run at lr={fmt.sci(lr)} logged {keys[-1]}")
  colors = _palette([r.params or 0.0 for r in chosen])
  styles = ["-", "--", ":", "-."]
  fig, axes = _grid(1, len(keys))
  for i, (label, members) in enumerate(grouping.interventions(chosen)):
    for run in members:
      name = fmt.count(run.params) if label == "all runs" else f"{label}, {fmt.count(run.params)}"
      for ax, key in zip(axes[0], keys):
        steps, values = run.series(key)
        ax.plot(steps, values, _line(styles[i % len(styles)], steps), color=colors[run.params or 0.0],
                label=name)
  for ax, key, log in zip(axes[0], keys, log_y):
    ax.set(xlabel="step", ylabel=key, yscale="log" if log else "linear")
  _legend(axes[0][-1])
  fig.suptitle(f"{title} at lr={fmt.sci(lr)}", fontsize=9)
  return save(fig, out)


def loss_and_max_logit_over_steps(runs: Sequence[Run], out: str, block: int = 0,
                                  lr: float | None = None) -> list[str]:
  """Train loss and the max attention logit of one block over steps (Fig 2; block 0 in the paper)."""
  return _over_steps(runs, out, ["train/loss", predict.max_logit_key(block)], [False, True], lr,
                     "loss and max attention logit")


def output_logit_mean_over_steps(runs: Sequence[Run], out: str, lr: float | None = None) -> list[str]:
  """Train loss and the mean output logit over steps: the output logit divergence (Fig 4)."""
  return _over_steps(runs, out, ["train/loss", "logits/mean"], [False, False], lr,
                     "output logit divergence")


def qk_rms_and_cosine(runs: Sequence[Run], out: str, block: int = 0,
                      lr: float | None = None) -> list[str]:
  """Query RMS, key RMS and their cosine similarity over steps (Fig E.1): logits grow with norms."""
  keys = [f"attn/q_rms/block_{block}", f"attn/k_rms/block_{block}", f"attn/qk_cosine/block_{block}"]
  return _over_steps(runs, out, keys, [True, True, False], lr, "queries and keys")


def max_logit_vs_params(runs: Sequence[Run], out: str, params: float = predict.PAPER_PARAMS,
                        step: int = predict.PAPER_STEP, block: int = 0,
                        threshold: float = predict.THRESHOLD) -> list[str]:
  """Max attention logit vs params per LR with the log-log quadratic fit extrapolated to `params`
  (Fig 9; block 0 at step 2e3 in the paper)."""
  try:
    every = predict.predict(runs, params, step, block, threshold)
  except InputError as e:
    raise Skipped(str(e)) from e
  predictions = [p for p in every if p.points]
  if not predictions:
    raise Skipped(f"no sized run has a finite {predict.max_logit_key(block)} at a step <= {step}: "
                  f"{every[0].why_unfit}")
  panels = grouping.group_by(predictions, lambda p: p.intervention)
  colors = _palette([p.lr for p in predictions])
  fig, axes = _panels(len(panels))
  for ax, (label, members) in zip(axes, panels.items()):
    for p in members:
      ax.plot([q.params for q in p.points], [q.max_logit for q in p.points], "o", color=colors[p.lr],
              label=f"lr {fmt.sci(p.lr)}", markersize=4)
      if p.fit:
        xs = np.geomspace(p.points[0].params, max(params, p.points[-1].params), 100)
        ax.plot(xs, p.fit(xs), "-", color=colors[p.lr], linewidth=1)
        ax.plot([params], [p.predicted], "*", color=colors[p.lr], markersize=9)
    ax.axhline(threshold, color="k", linestyle="--", linewidth=1)
    ax.set(xscale="log", yscale="log", xlabel="non-embedding params",
           ylabel=f"max attention logit, block {block}")
    ax.set_title(label, fontsize=8)
    _legend(ax)
  fig.suptitle(f"step <= {step}; star: extrapolation to {fmt.count(params)}; dashed: "
               f"{fmt.sci(threshold)}", fontsize=9)
  return save(fig, out)


def kappa_points(runs: Sequence[Run]) -> list[tuple[float, float, float, float | None]]:
  """(kappa, lr, scored final loss, realised max logit) of every finished run that binds kappa; a
  diverged run's loss is drawn at l0."""
  points = []
  for run in runs:
    kappa = run.setting("ModelConfig.kappa", "kappa")
    if is_number(kappa) and run.lr is not None and run.final_loss is not None:
      loss = run.final_loss if math.isfinite(run.final_loss) else run.init_loss
      points.append((float(kappa), run.lr, loss, run.realised_max_logit()))
  return sorted(points)


def loss_vs_kappa(runs: Sequence[Run], out: str) -> list[str]:
  """Final loss vs kappa, against the zero-layer bigram model (Fig 10), and the max attention logit
  each run realised beside it. kappa sets the query and key RMS to sqrt(kappa) (model/transformer.py
  _to_rms), so a logit is kappa sqrt(d_h) cos(q, k): kappa is the logits' scale, not their maximum."""
  points = kappa_points(runs)
  if not points:
    raise Skipped("no completed or diverged run binds ModelConfig.kappa")
  bigram = [r.final_loss for r in runs if r.setting("ModelConfig.num_layers", "num_layers") == 0
            and r.final_loss is not None and math.isfinite(r.final_loss)]
  fig, axes = _grid(1, 2)
  ax, ax_logit = axes[0]
  for lr in sorted({p[1] for p in points}):
    at_lr = [p for p in points if p[1] == lr]
    ax.plot([p[0] for p in at_lr], [p[2] for p in at_lr], "o-", label=f"lr {fmt.sci(lr)}", markersize=4)
    logged = [p for p in at_lr if p[3] is not None]
    ax_logit.plot([p[0] for p in logged], [p[3] for p in logged], "o-", label=f"lr {fmt.sci(lr)}",
                  markersize=4)
  if bigram:
    ax.axhline(min(bigram), color="k", linestyle="--", label="bigram (0 layers), best LR")
  ax.set(xscale="log", xlabel="kappa", ylabel="final eval loss",
         title="" if bigram else "no bigram run (num_layers=0) found")
  kappas = sorted({p[0] for p in points})
  ax_logit.plot(kappas, kappas, "k:", linewidth=1, label="max logit = kappa")
  ax_logit.set(xscale="log", yscale="log", xlabel="kappa", ylabel="realised max attention logit",
               title="" if any(p[3] is not None for p in points) else "no attn/max_logit logged")
  _legend(ax)
  _legend(ax_logit)
  return save(fig, out)


def _vs_params(ax: plt.Axes, values: dict[Run, float]) -> None:
  """One line per LR: value vs non-embedding params."""
  colors = _palette([r.lr for r in values])
  for lr, members in grouping.by_lr(values):
    points = sorted((r.params, values[r]) for r in members)
    ax.plot(*zip(*points), "o-", color=colors[lr], label=f"lr {fmt.sci(lr)}", markersize=4)
  ax.set(xscale="log", xlabel="non-embedding params")


def _vs_lr(ax: plt.Axes, values: dict[Run, float]) -> None:
  """One line per model size: value vs LR."""
  colors = _palette([r.params for r in values])
  for size, members in grouping.by_size(values):
    points = sorted((r.lr, values[r]) for r in members)
    ax.plot(*zip(*points), "o-", color=colors[size], label=fmt.count(size), markersize=4)
  ax.set(xscale="log", xlabel="learning rate")


def _vs_block(ax: plt.Axes, runs: Sequence[Run], key_of_block: Callable[[int], str], window: int,
              label_of: Callable[[Run], str]) -> None:
  """One line per run: value vs block index, for the blocks the run logged."""
  colors = _palette(range(len(runs)))
  for i, run in enumerate(runs):
    points = [(block, run.window_mean(key_of_block(block), window)) for block in _blocks(run, key_of_block)]
    if points:
      ax.plot(*zip(*points), "o-", color=colors[i], label=label_of(run), markersize=4)
  ax.set(xlabel="block index")


def _scaling_rows(runs: Sequence[Run], out: str, key: str, window: int, key_of_block: Callable[[int], str],
                  depth_runs: Callable[[list[Run]], tuple[list[Run], Callable[[Run], str], str]],
                  ylabel: str, with_eps: bool) -> list[str]:
  """Per intervention: `key` (mean over the final `window` steps) vs params, vs LR and vs depth."""
  values = {r: v for r in _stable(runs) if (v := r.window_mean(key, window)) is not None}
  if not values:
    raise Skipped(f"no completed or running sized run logged {key}")
  rows = grouping.interventions(list(values))
  fig, axes = _grid(len(rows), 3)
  for (label, members), row in zip(rows, axes):
    at_rows = {r: values[r] for r in members}
    _vs_params(row[0], at_rows)
    _vs_lr(row[1], at_rows)
    chosen, label_of, depth_title = depth_runs(members)
    _vs_block(row[2], chosen, key_of_block, window, label_of)
    row[2].set_title(depth_title, fontsize=8)
    for ax in row:
      if with_eps:
        _eps_lines(ax, members)
      ax.set(yscale="log", ylabel=ylabel)
      _legend(ax)
    row[0].set_title(label, fontsize=9)
  fig.suptitle(f"mean over the final {window} steps", fontsize=9)
  return save(fig, out)


def grad_rms_scaling(runs: Sequence[Run], out: str, param: str = "block_0/mlp/dense_in/w",
                     window: int = 500) -> list[str]:
  """Grad RMS of one parameter vs params, vs LR, and per block for the largest model, against the
  AdamW eps (Fig 11: block_0/mlp/dense_in/w; Fig E.12: block_0/attn/key/w; final 500 steps)."""
  def largest_model(members: list[Run]) -> tuple[list[Run], Callable[[Run], str], str]:
    largest = max(r.params for r in members)
    return (sorted((r for r in members if r.params == largest), key=lambda r: r.lr),
            lambda r: f"lr {fmt.sci(r.lr)}", f"{fmt.count(largest)} params")
  per_block = lambda b: "grad/rms/" + _BLOCK.sub(f"block_{b}", param, count=1)
  return _scaling_rows(runs, out, f"grad/rms/{param}", window, per_block, largest_model,
                       f"grad RMS {param}", with_eps=True)


def block_output_rms(runs: Sequence[Run], out: str, block: int = 2, window: int = 500) -> list[str]:
  """RMS of the residual stream leaving a block vs params and vs LR, and per block at the largest LR
  (Fig C.1: block index 2, final 500 steps)."""
  def largest_lr(members: list[Run]) -> tuple[list[Run], Callable[[Run], str], str]:
    top = max(r.lr for r in members)
    return (sorted(_at_lr(members, top), key=lambda r: r.params), lambda r: fmt.count(r.params),
            f"lr {fmt.sci(top)}")
  return _scaling_rows(runs, out, f"block/out_rms/block_{block}", window,
                       lambda b: f"block/out_rms/block_{b}", largest_lr, "block output RMS",
                       with_eps=False)


def grad_update_rms_over_steps(runs: Sequence[Run], out: str,
                               param: str = "block_0/mlp/dense_in/w") -> list[str]:
  """Grad RMS and unscaled update RMS of one parameter over steps against the AdamW eps, one panel per
  (intervention, size) row and LR column (Fig E.13)."""
  grad_key, update_key = f"grad/rms/{param}", f"update/rms/{param}"
  logged = [r for r in runs if r.lr is not None and r.params is not None and r.series(grad_key)[0].size]
  if not logged:
    raise Skipped(f"no sized run with an lr binding logged {grad_key}")
  lrs = [lr for lr, _ in grouping.by_lr(logged)]
  rows = [(label, size, at_size) for label, members in grouping.interventions(logged)
          for size, at_size in grouping.by_size(members)]
  fig, axes = _grid(len(rows), len(lrs))
  for (label, size, at_size), row in zip(rows, axes):
    for ax, lr in zip(row, lrs):
      at_lr = _at_lr(at_size, lr)
      for run in at_lr:
        ax.plot(*run.series(grad_key), ".-", color="tab:blue", label="grad RMS")
        ax.plot(*run.series(update_key), ".-", color="tab:orange", label="update RMS")
        _eps_lines(ax, [run])
      if not at_lr:
        ax.text(0.5, 0.5, "no run", ha="center", va="center", transform=ax.transAxes)
      ax.set(yscale="log", xlabel="step", title=f"{label}, {fmt.count(size)}, lr {fmt.sci(lr)}")
      ax.title.set_fontsize(7)
  _legend(next((ax for ax in axes.flat if ax.lines), axes[0][0]))
  fig.suptitle(param, fontsize=9)
  return save(fig, out)


def grad_update_rms_per_block(runs: Sequence[Run], out: str, layer: str = "mlp/dense_in/w",
                              lr: float | None = None) -> list[str]:
  """Grad RMS (top) and unscaled update RMS (bottom) of one layer in every block over steps against the
  AdamW eps, for the largest model at one LR (default: the largest), one column per intervention, e.g.
  per eps (Fig 13)."""
  key_of = lambda kind: lambda b: f"{kind}/rms/block_{b}/{layer}"
  logged = [r for r in runs if r.lr is not None and r.params is not None and _blocks(r, key_of("grad"))]
  if not logged:
    raise Skipped(f"no sized run with an lr binding logged grad/rms/block_0/{layer}")
  lr = max(r.lr for r in logged) if lr is None else lr
  columns = grouping.interventions(_at_lr(logged, lr))
  if not columns:
    raise Skipped(f"no run at lr={fmt.sci(lr)} logged grad/rms/block_0/{layer}")
  fig, axes = _grid(2, len(columns))
  for col, (label, members) in enumerate(columns):
    run = max(members, key=lambda r: r.params)
    for ax, kind in zip(axes[:, col], ("grad", "update")):
      blocks = _blocks(run, key_of(kind))
      colors = _palette(blocks)
      for block in blocks:
        steps, values = run.series(key_of(kind)(block))
        ax.plot(steps, values, _line("-", steps), color=colors[block], label=f"block {block}")
      _eps_lines(ax, [run])
      ax.set(yscale="log", xlabel="step", ylabel=f"{kind} RMS {layer}")
      _legend(ax)
    axes[0, col].set_title(f"{label}, {fmt.count(run.params)}", fontsize=8)
  fig.suptitle(f"largest model at lr={fmt.sci(lr)}", fontsize=9)
  return save(fig, out)


@dataclasses.dataclass
class Line:
  """One series of a `lines` panel: (x, y, lo, hi) points; lo and hi (None: no bar) draw an error bar."""
  label: str
  points: list[tuple[float, float | None, float | None, float | None]]
  style: str = "o-"


@dataclasses.dataclass
class Panel:
  title: str
  xlabel: str
  ylabel: str
  lines: list[Line]
  xlog: bool = False
  ylog: bool = False
  hlines: list[tuple[float, str]] = dataclasses.field(default_factory=list)  # (y, label), dashed


def lines(panels: Sequence[Panel], out: str, title: str = "") -> list[str]:
  """Panels of numbers a report already computed (means over seeds, predictions): a figure of values,
  not of runs. Points without a y are left out; a panel with none says so."""
  if not any(y is not None for p in panels for line in p.lines for _, y, _, _ in line.points):
    raise Skipped("no value to draw")
  fig, axes = _panels(len(panels))
  for ax, panel in zip(axes, panels):
    for line in panel.lines:
      drawn = [(x, y, y if lo is None else lo, y if hi is None else hi) for x, y, lo, hi in line.points
               if y is not None]
      if not drawn:
        continue
      xs, ys, los, his = map(np.array, zip(*drawn))
      if all(lo is None and hi is None for _, _, lo, hi in line.points):  # no bars: no caps either
        ax.plot(xs, ys, line.style, markersize=4, label=line.label)
      else:
        ax.errorbar(xs, ys, yerr=[ys - los, his - ys], fmt=line.style, capsize=3, markersize=4,
                    label=line.label)
    for y, label in panel.hlines:
      ax.axhline(y, color="k", linestyle="--", linewidth=1, label=label)
    ax.set(xlabel=panel.xlabel, ylabel=panel.ylabel, xscale="log" if panel.xlog else "linear",
           yscale="log" if panel.ylog else "linear")
    ax.set_title(panel.title or ("" if ax.lines or ax.collections else "no values"), fontsize=8)
    _legend(ax)
  if title:
    fig.suptitle(title, fontsize=9)
  return save(fig, out)
