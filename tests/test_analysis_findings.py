"""The reproduction report's verdict rules (analysis/findings.py) on hand-made cells: each rule's
'reproduced', 'partly', 'not reproduced' and 'not measured', worked out by hand beside each case."""

import types

import pytest

from analysis import findings
from analysis.runs import find_runs, load_metrics
from analysis.synthetic import write_run

SCALE = findings.Scale("s", "gin/repro_smoke.gin", (64, 128), (64, 128), (1e-2, 3e-1), 1e-4, (1, 2, 4))
DEFAULTS = {"arch": "qkln", "z_loss": "none", "weight_decay": "none", "warmup_steps": "2"}


def cell(width: int, sens: float | None, runs=(), **point) -> findings.Cell:
  """A cell whose LR sensitivity is given (None: incomplete), all of it above the best LR, at the suite's
  defaults but for `point`."""
  return findings.Cell({**DEFAULTS, **point}, width, list(runs),
                       types.SimpleNamespace(lr_sensitivity=sens, above_best=sens))


def verdict_of(rule, cells, index=0) -> str:
  return rule(cells, SCALE)[0][index].verdict


@pytest.mark.parametrize("checks, expected", [
    ([True, True], "reproduced"), ([True, False], "partly"), ([False, False], "not reproduced"),
    ([True, None], "not measured"), ([], "not measured")])
def test_combine(checks, expected):
  assert findings.combine(checks) == expected


@pytest.mark.parametrize("a, b, margin, expected", [
    (0.50, 0.52, 0.02, True), (0.51, 0.52, 0.02, False), (0.51, 0.52, 0.0, True), (0.52, 0.52, 0.0, False),
    (None, 0.5, 0.02, None), (0.5, None, 0.0, None)])
def test_less_counts_the_margin(a, b, margin, expected):
  assert findings.less(a, b, margin) is expected


@pytest.mark.parametrize("sens, expected", [
    # (no qk-LN d=64, d=128, qk-LN d=64, d=128): lower at each width / rising at each step, by >= 0.02
    ((1.0, 1.5, 0.5, 0.6), ["reproduced", "reproduced"]),
    ((1.0, 1.5, 0.99, 1.2), ["partly", "reproduced"]),  # d=64: 0.99 is not 0.02 below 1.0
    ((1.0, 1.0, 1.0, 1.0), ["not reproduced", "not reproduced"]),
    ((1.0, 1.5, 0.5, 0.51), ["reproduced", "partly"]),  # qk-LN rises by 0.01 only
    ((1.0, None, 0.5, 0.6), ["not measured", "not measured"]),
])
def test_size_rules(sens, expected):
  cells = [cell(64, sens[0], arch="no_qkln"), cell(128, sens[1], arch="no_qkln"),
           cell(64, sens[2]), cell(128, sens[3])]
  claims, _ = findings.size_claims(cells, SCALE)
  assert [c.verdict for c in claims] == [expected[0]] * 2 + [expected[1]] * 2  # each with its twin
  assert claims[1].text == claims[0].text + " (instability part)"


@pytest.mark.parametrize("long_sens, expected", [
    ((0.4, 0.5), "reproduced"), ((0.4, 1.0), "partly"), ((1.0, 1.2), "not reproduced"), ((0.4, None), "not measured")])
def test_warmup_rule(long_sens, expected):
  cells = [cell(w, 1.0, warmup_steps="1") for w in (64, 128)] + [
      cell(w, s, warmup_steps="4") for w, s in zip((64, 128), long_sens)]
  assert verdict_of(findings.warmup_claims, cells) == expected


@pytest.mark.parametrize("independent, expected", [
    ((0.5, 0.6), "reproduced"), ((0.5, 0.75), "partly"), ((0.9, 0.8), "not reproduced"), ((None, 0.5), "not measured")])
def test_weight_decay_rule(independent, expected):
  cells = [cell(w, s) for w, s in zip((64, 128), independent)] + [
      cell(w, 0.75, weight_decay="coupled_weight_decay") for w in (64, 128)]
  assert verdict_of(findings.weight_decay_claims, cells) == expected


def _runs(tmp_path, name: str, rows: dict[float, tuple[float, list[dict]]]):
  """Runs of one cell by LR: (final loss, metrics records); l0 = 10."""
  for lr, (loss, metrics) in rows.items():
    write_run(str(tmp_path / name / f"lr={lr}"), lr=lr, init_loss=10.0, final_loss=loss, step=8,
              metrics=metrics)
  runs = find_runs([str(tmp_path / name)])[0]
  load_metrics(runs)
  return sorted(runs, key=lambda r: r.lr)


@pytest.mark.parametrize("peak_off, loss_on, expected", [
    (1e4, 6.0, "reproduced"),  # 1e4 / 8 >= 100 and 6 < 9 at lr 0.3
    (1e4, 9.5, "not reproduced"),  # the ratio holds but qk-LN's loss is not lower
    (100.0, 6.0, "not reproduced"),  # 100 / 8 < 100
])
def test_attention_rule(tmp_path, peak_off, loss_on, expected):
  def rows(peak, loss):
    return {lr: (loss if lr == 0.3 else 5.0, [{"step": 8, findings.MAX_LOGIT: peak if lr == 0.3 else 8.0}])
            for lr in SCALE.lrs}
  off = _runs(tmp_path, "off", rows(peak_off, 9.0))
  on = _runs(tmp_path, "on", rows(8.0, loss_on))
  cells = [cell(64, None, off, arch="no_qkln"), cell(64, None, on)]
  one_width = findings.Scale(**{**vars(SCALE), "widths": (64,)})
  assert findings.attention_claims(cells, one_width)[0][0].verdict == expected
  assert findings.attention_claims(cells[1:], one_width)[0][0].verdict == "not measured"


@pytest.mark.parametrize("bare_low, expected", [(-50.0, "reproduced"), (-1.5, "not reproduced")])
def test_output_logit_drift_rule(tmp_path, bare_low, expected):
  """The second claim: the lowest logits/mean without z-loss (and no decay) below that with it by >= 1."""
  def rows(low):
    return {lr: (5.0, [{"step": 4, findings.OUTPUT_LOGIT: -1.0}, {"step": 8, findings.OUTPUT_LOGIT: low}])
            for lr in SCALE.lrs}
  cells = [cell(64, 1.0, _runs(tmp_path, "bare", rows(bare_low)), z_loss="no_z_loss", weight_decay="weight_decay_0"),
           cell(64, 1.0, _runs(tmp_path, "z", rows(-1.0)), weight_decay="weight_decay_0")]
  one_width = findings.Scale(**{**vars(SCALE), "ablation_widths": (64,)})
  assert findings.output_logit_claims(cells, one_width)[0][2].verdict == expected


def seeded_cell(width: int, sens: dict[int, float], above: dict[int, float], **point) -> findings.Cell:
  """A cell with seeds: seed 0's sensitivity and above-best part, and the other seeds' as replicas."""
  at = {s: types.SimpleNamespace(lr_sensitivity=sens[s], above_best=above[s]) for s in sens}
  return findings.Cell({**DEFAULTS, **point}, width, [], at[0], {s: v for s, v in at.items() if s})


def test_seeded_verdict_shows_its_paired_interval_and_within_noise():
  one_width = findings.Scale(**{**vars(SCALE), "ablation_widths": (64,)})
  cells = [seeded_cell(64, {0: 0.40, 1: 0.40, 2: 0.40}, {0: 0.10, 1: 0.10, 2: 0.10}, warmup_steps="4"),
           seeded_cell(64, {0: 0.50, 1: 0.45, 2: 0.55}, {0: 0.11, 1: 0.11, 2: 0.11}, warmup_steps="1")]
  claim, twin = findings.warmup_claims(cells, one_width)[0]
  # q = 0.10, 0.05, 0.15: mean 0.1, sd 0.05, half-width 4.303 x 0.05 / sqrt(3) = 0.1242: [-0.0242, 0.224]
  # holds the margin 0.02; the means 0.40 vs 0.50 still reproduce
  assert claim.verdict == "reproduced (within noise)"
  assert claim.detail == ["d=64: 0.4 (0.4-0.4, 3 seeds) (warm-up 4) vs 0.5 (0.45-0.55, 3 seeds) (warm-up 1); "
                          "paired 0.1 [-0.0242, 0.224], 3 seeds (0.1, 0.05, 0.15)"]
  # S_above: q = 0.01 at every seed, an interval of width 0 below the margin: not reproduced, not noisy
  assert twin.text == claim.text + " (instability part)" and twin.verdict == "not reproduced"
  assert twin.detail[0].endswith("; paired 0.01 [0.01, 0.01], 3 seeds (0.01, 0.01, 0.01)")


def test_a_seed_one_cell_lacks_is_named_and_left_out():
  low = seeded_cell(64, {0: 0.4, 1: 0.4}, {0: 0.1, 1: 0.1})
  high = seeded_cell(64, {0: 0.5, 1: 0.6, 2: 0.7}, {0: 0.1, 1: 0.1, 2: 0.1})
  (pair,) = findings.gap(low, high)
  assert pair.values == pytest.approx({0: 0.1, 1: 0.2}) and pair.unpaired == (2,)
  assert findings.gap(cell(64, 0.4), cell(64, 0.5)) == []  # one seed: no interval
