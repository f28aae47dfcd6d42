"""Every figure and every section of the two reports, one entry each: the one list both read.

analysis.report draws every figure of FIGURES over all runs. analysis.reproduction gives each finding of
FINDING_SECTIONS (Figs 1-6, 11: a sweep.json finding by its key) its claims and the FIGURES it names, drawn
over the finding's runs, and each section of SUITE_SECTIONS (Figs 7-13) its builder's claims, tables and
figures from the suites it names. A section's key is its rules' key in analysis/rules.py (its paper text,
its rules).
"""

import dataclasses
import functools
from typing import Callable, Sequence

from analysis import figure_suites
from analysis import figures
from analysis import findings
from analysis import fmt
from analysis import predict
from analysis import sensitivity
from analysis.runs import InputError, Run


@dataclasses.dataclass(frozen=True)
class Options:
  """What the figures are drawn for: the LR range, Fig 9's target, the block and the RMS window."""
  lrs: tuple[float, ...] = sensitivity.PAPER_LRS
  coupled_lrs: tuple[float, ...] = sensitivity.PAPER_COUPLED_LRS
  params: float = predict.PAPER_PARAMS
  step: int = predict.PAPER_STEP
  block: int = 0
  threshold: float = predict.THRESHOLD
  rms_window: int = 500
  output_block: int = 2
  lr: float | None = None  # the LR of Fig 2's curves over steps (None: figures' default)


@dataclasses.dataclass(frozen=True)
class RunFigure:
  """A figure drawn from runs: its file stem, its caption ('{block}': an Options field; '{params_count}':
  Fig 9's target size) and its maker."""
  name: str
  caption: str
  make: Callable[[Sequence[Run], str, Options], list[str]]

  def captioned(self, opts: Options) -> str:
    return self.caption.format(**vars(opts), params_count=fmt.count(opts.params))

  def bound(self, opts: Options) -> Callable[[Sequence[Run], str], list[str]]:
    """make(runs, out) for these options: what analysis.render.render draws."""
    return functools.partial(self.make, opts=opts)


FIGURES = (
    RunFigure("lr_vs_loss", "Final eval loss vs LR per model size and intervention (Fig 1, 3, 5-8, E.2-E.10)",
              lambda runs, out, opts: figures.lr_vs_loss(runs, out)),
    RunFigure("lr_sensitivity_vs_params", "LR sensitivity vs non-embedding params (Fig 1, 3, 5-8, E.2-E.10)",
              lambda runs, out, opts: figures.lr_sensitivity_vs_params(runs, out, opts.lrs, opts.coupled_lrs)),
    RunFigure("loss_and_max_logit", "Loss and max attention logit of block {block} over steps (Fig 2)",
              lambda runs, out, opts: figures.loss_and_max_logit_over_steps(runs, out, opts.block, opts.lr)),
    RunFigure("output_logit_mean", "Loss and mean output logit over steps (Fig 4)",
              lambda runs, out, opts: figures.output_logit_mean_over_steps(runs, out)),
    RunFigure("max_logit_vs_params", "Max attention logit vs params at step <= {step} with the quadratic fit "
              "extrapolated to {params_count} (Fig 9)",
              lambda runs, out, opts: figures.max_logit_vs_params(runs, out, opts.params, opts.step, opts.block,
                                                                  opts.threshold)),
    RunFigure("loss_vs_kappa", "Loss vs kappa with the bigram baseline, and the max attention logit each run "
              "realised (Fig 10)", lambda runs, out, opts: figures.loss_vs_kappa(runs, out)),
    RunFigure("grad_rms_mlp", "Grad RMS of block_0/mlp/dense_in/w vs params, LR and block (Fig 11)",
              lambda runs, out, opts: figures.grad_rms_scaling(runs, out, "block_0/mlp/dense_in/w", opts.rms_window)),
    RunFigure("grad_rms_key", "Grad RMS of block_0/attn/key/w vs params, LR and block (Fig E.12)",
              lambda runs, out, opts: figures.grad_rms_scaling(runs, out, "block_0/attn/key/w", opts.rms_window)),
    RunFigure("grad_update_rms_blocks", "Grad and update RMS of mlp/dense_in/w in every block over steps vs AdamW "
              "eps, largest model at the largest LR (Fig 13)",
              lambda runs, out, opts: figures.grad_update_rms_per_block(runs, out)),
    RunFigure("grad_update_rms", "Grad and update RMS of block_0/mlp/dense_in/w over steps vs AdamW eps (Fig E.13)",
              lambda runs, out, opts: figures.grad_update_rms_over_steps(runs, out)),
    RunFigure("block_output_rms", "Block output RMS vs params and LR (block {output_block}) and depth (Fig C.1)",
              lambda runs, out, opts: figures.block_output_rms(runs, out, opts.output_block, opts.rms_window)),
    RunFigure("qk_rms_cosine", "Query/key RMS and cosine of block {block} over steps (Fig E.1)",
              lambda runs, out, opts: figures.qk_rms_and_cosine(runs, out, opts.block)),
)


def figure(name: str) -> RunFigure:
  return next(f for f in FIGURES if f.name == name)


@dataclasses.dataclass(frozen=True)
class FindingSection:
  """A finding of the findings suites (repro_cpu, its long horizon): its claims from its cells, and the
  FIGURES drawn over its runs."""
  key: str
  claims: Callable[[Sequence[findings.Cell], findings.Scale], tuple[list[findings.Claim], list[list[str]]]]
  figures: tuple[str, ...]


FINDING_SECTIONS = (
    FindingSection("attention_logits", findings.attention_claims, ("loss_and_max_logit", "lr_vs_loss")),
    FindingSection("sensitivity_size", findings.size_claims, ("lr_vs_loss", "lr_sensitivity_vs_params")),
    FindingSection("output_logits", findings.output_logit_claims,
            ("output_logit_mean", "lr_vs_loss", "lr_sensitivity_vs_params")),
    FindingSection("warmup", findings.warmup_claims, ("lr_vs_loss", "lr_sensitivity_vs_params")),
    FindingSection("weight_decay", findings.weight_decay_claims, ("lr_vs_loss", "lr_sensitivity_vs_params")),
    FindingSection("grad_rms", findings.grad_rms_claims, ("grad_rms_mlp",)),
)


def finding(key: str) -> FindingSection:
  return next(f for f in FINDING_SECTIONS if f.key == key)


@dataclasses.dataclass(frozen=True)
class SuiteSection:
  """A figure's section: the builder (analysis/figure_suites.py) that reads `suites` for its claims, tables
  and figures, and the seeds suites it reads once they are finished (until then seed 0, with no gating);
  `prediction`: the builder also reads Fig 9's prediction file (build(suites, path)); `figures`: FIGURES
  drawn over the section's runs after the builder's own."""
  build: Callable[..., figure_suites.Section]
  suites: tuple[str, ...]
  seed_suites: tuple[str, ...] = ()
  prediction: bool = False
  figures: tuple[str, ...] = ()

  @property
  def key(self) -> str:
    return self.build.__name__


SUITE_SECTIONS = (
    SuiteSection(figure_suites.fig7, ("fig7_cpu",), (figure_suites.FIG7_SEEDS,)),
    SuiteSection(figure_suites.fig8, tuple(figure_suites.FIG8_SEEDS),
                 tuple(filter(None, figure_suites.FIG8_SEEDS.values()))),
    SuiteSection(figure_suites.fig9, ("fig9_fit_cpu", "fig9_heldout_cpu"), prediction=True),
    SuiteSection(figure_suites.fig10, ("fig10_cpu",), figures=("loss_vs_kappa",)),
    SuiteSection(figure_suites.fig12_13, ("fig11_13_cpu",), (figure_suites.FIG12_13_SEEDS,)),
    SuiteSection(figure_suites.depth_scaling, (figure_suites.DEPTH_SUITE,), (figure_suites.DEPTH_SEEDS_SUITE,),
                 figures=("lr_vs_loss",)),
    SuiteSection(figure_suites.logit_divergence, (figure_suites.LD_SUITE,), (figure_suites.LD_SEEDS_SUITE,)),
)

LONG_KEY = "long_horizon"  # --only's key for the long-horizon findings (repro_long_cpu and its seeds)


def only_sections(keys: Sequence[str]) -> tuple[list[SuiteSection], bool]:
  """--only's keys as the SUITE_SECTIONS entries they name, and whether LONG_KEY is among them; InputError
  naming the keys when one is neither."""
  known = {s.key: s for s in SUITE_SECTIONS}
  unknown = [key for key in keys if key not in known and key != LONG_KEY]
  if unknown:
    raise InputError(f"section {unknown[0]!r} is not one of analysis/registry.py's SUITE_SECTIONS: expected one "
                     f"of {', '.join([*known, LONG_KEY])}")
  return [known[key] for key in keys if key != LONG_KEY], LONG_KEY in keys


# The findings suites: Figs 1-6 and 11 (the smoke one for tests), their seeds, the long horizon and its seeds
MAIN_SUITES = ("repro_cpu", "repro_smoke_cpu")
SEEDS_SUITE = "repro_seeds_cpu"
LONG_SUITE = "repro_long_cpu"
LONG_SEEDS_SUITE = "repro_long_seeds_cpu"
FIGURE_SUITES = tuple(name for s in SUITE_SECTIONS for name in (*s.suites, *s.seed_suites))
COVERED = (*MAIN_SUITES, SEEDS_SUITE, LONG_SUITE, LONG_SEEDS_SUITE, *FIGURE_SUITES)
