"""analysis/figures.py: every figure renders from synthetic run directories, or says what is missing."""

import functools

import pytest

from analysis import figures
from analysis import synthetic
from analysis.runs import find_runs

DEMO_LRS = (1e-3, 1e-1)  # two LRs keep the grids small; the largest model without qk-LN diverges at 1e-1

FIGURES = {
    "lr_vs_loss": figures.lr_vs_loss,
    "lr_sensitivity_vs_params": functools.partial(figures.lr_sensitivity_vs_params,
                                                  lrs=DEMO_LRS),
    "loss_and_max_logit": figures.loss_and_max_logit_over_steps,
    "output_logit_mean": figures.output_logit_mean_over_steps,
    "qk_rms_cosine": figures.qk_rms_and_cosine,
    "max_logit_vs_params": functools.partial(figures.max_logit_vs_params, step=40),
    "loss_vs_kappa": figures.loss_vs_kappa,
    "grad_rms_mlp": figures.grad_rms_scaling,
    "grad_rms_key": functools.partial(figures.grad_rms_scaling, param="block_0/attn/key/w"),
    "block_output_rms": figures.block_output_rms,
    "grad_update_rms_blocks": figures.grad_update_rms_per_block,
    "grad_update_rms": figures.grad_update_rms_over_steps,
}


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
  root = tmp_path_factory.mktemp("demo")
  synthetic.write_demo_tree(str(root), steps=40, log_every=10, lrs=DEMO_LRS)
  return find_runs([str(root)])[0]


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_renders_png_and_svg(name, demo_runs, tmp_path):
  paths = FIGURES[name](demo_runs, str(tmp_path / name))
  assert paths == [str(tmp_path / f"{name}.png"), str(tmp_path / f"{name}.svg")]
  png, svg = (open(p, "rb").read() for p in paths)
  assert png.startswith(b"\x89PNG") and len(png) > 5000
  assert b"<svg" in svg


@pytest.mark.parametrize("make, missing", [
    (functools.partial(figures.qk_rms_and_cosine, block=9), "attn/qk_cosine/block_9"),
    (functools.partial(figures.loss_and_max_logit_over_steps, lr=0.5), "lr=5e-1"),
    (functools.partial(figures.grad_rms_scaling, param="block_0/no/such/w"), "grad/rms/block_0/no/such/w"),
    (functools.partial(figures.max_logit_vs_params, block=9), "attn/max_logit/block_9"),
    (functools.partial(figures.max_logit_vs_params, step=10**6),  # says why: runs on a CPU stop sooner
     r"at a step <= 1000000: a quadratic needs 3 distinct model sizes, got 0 \(\d+ runs left out, e\.g\. .*: "
     r"stopped at step \d+ \(\w+\), before step 1000000\)"),
    (functools.partial(figures.lr_sensitivity_vs_params, lrs=(3e-4, 3e-1)), "no complete sized LR sweep"),
])
def test_missing_data_raises_skipped_with_the_reason(make, missing, demo_runs, tmp_path):
  with pytest.raises(figures.Skipped, match=missing):
    make(demo_runs, str(tmp_path / "fig"))
  assert not list(tmp_path.iterdir())


def test_window_mean_uses_the_final_steps(tmp_path):
  synthetic.write_run(str(tmp_path / "r"), lr=1e-2, metrics=[
      {"step": s, "block/out_rms/block_0": float(s)} for s in (100, 200, 300, 400)])
  [run], _ = find_runs([str(tmp_path)])
  assert run.window_mean("block/out_rms/block_0", 250) == 300.0
  assert run.window_mean("block/out_rms/block_1", 250) is None


def test_over_steps_defaults_to_the_largest_lr_with_a_trajectory(tmp_path):
  """An LR whose runs all diverged at the first log is not the one worth drawing (Fig 2)."""
  key = "attn/max_logit/block_0"
  for lr, steps in ((1e-2, 5), (1e-1, 5), (1.0, 1)):
    synthetic.write_run(str(tmp_path / "runs" / f"lr={lr}"), lr=lr, metrics=[
        {"step": 10 * (s + 1), "train/loss": 5.0, key: 10.0 ** s} for s in range(steps)])
  runs, _ = find_runs([str(tmp_path / "runs")])
  assert figures._longest_lived_lr(runs, key) == 1e-1  # pylint: disable=protected-access
  figures.loss_and_max_logit_over_steps(runs, str(tmp_path / "fig"))
  assert b"lr=1e-1" in (tmp_path / "fig.svg").read_bytes()


@pytest.mark.parametrize("make, keys", [
    (figures.loss_and_max_logit_over_steps, ("train/loss", "attn/max_logit/block_0")),
    (figures.grad_update_rms_per_block, ("grad/rms/block_0/mlp/dense_in/w", "update/rms/block_0/mlp/dense_in/w")),
])
def test_a_series_of_one_point_is_drawn_with_a_marker(make, keys, tmp_path, monkeypatch):
  """A short run logs once (10 steps, log_every=10): a line through one point draws nothing (Fig 2 was blank)."""
  for lr in (1e-2, 1e-1):
    synthetic.write_run(str(tmp_path / "runs" / f"lr={lr}"), lr=lr, step=10,
                        metrics=[{"step": 10, **{key: 3.0 for key in keys}}])
  runs, _ = find_runs([str(tmp_path / "runs")])
  drawn = []
  save = figures.save
  monkeypatch.setattr(figures, "save", lambda fig, out: drawn.extend(
      line for ax in fig.axes for line in ax.get_lines()) or save(fig, out))
  make(runs, str(tmp_path / "fig"))
  points = [line for line in drawn if len(line.get_xdata()) == 1]
  assert points and all(line.get_marker() == "o" for line in points)


def test_kappa_figure_reports_the_realised_max_logit_beside_kappa(demo_runs):
  """Fig 10's axis is kappa, not 'the max logit': the logit each run realised is reported beside it."""
  points = figures.kappa_points(demo_runs)
  assert [p[0] for p in points] == list(synthetic.DEMO_KAPPAS)
  for kappa, _, _, realised in points:
    assert realised == pytest.approx(3.9 * kappa)
