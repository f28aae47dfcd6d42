"""analysis/report.py: one self-contained page that embeds and links every figure, built from a tree with
the damage real sweeps have (a truncated metrics line, a failed run, a run without status.json)."""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from analysis import registry
from analysis import report
from analysis import synthetic
from analysis.runs import find_runs

LRS = (1e-3, 1e-1)
REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  root = tmp_path_factory.mktemp("runs")
  paths = synthetic.write_demo_tree(str(root), steps=40, log_every=10, lrs=LRS)
  with open(os.path.join(paths[0], "metrics.jsonl"), "a") as f:
    f.write('{"step": 50, "train/loss": 3.')
  synthetic.write_run(str(root / "crashed"), lr=1e-2, state="failed", reason="RuntimeError: boom")
  warned = synthetic.write_run(str(root / "warned"), lr=1e-2, final_loss=4.0)
  status = json.loads((root / "warned" / "status.json").read_text())
  (root / "warned" / "status.json").write_text(json.dumps({**status, "warnings": 2, "first_warning_step": 20}))
  with open(os.path.join(warned, "warnings.jsonl"), "w") as f:
    f.write(json.dumps({"step": 20, "kind": "loss_spike", "message": "step 20: train loss 9 is 2.00x its baseline"})
            + "\n")
  (root / "starting").mkdir()
  (root / "starting" / "run.json").write_text(
      '{"gin_files": [], "gin_bindings": [], "bindings": {"lr": 0.1}}')
  runs, problems = find_runs([str(root)])
  out = tmp_path_factory.mktemp("report")
  opts = report.Options(lrs=LRS, step=40, rms_window=20)
  path = report.build(runs, str(out), opts, roots=[str(root)], problems=problems)
  with open(path) as f:
    return out, f.read()


@pytest.mark.slow
def test_every_figure_is_embedded_and_linked(built):
  out, page = built
  for name in (spec.name for spec in registry.FIGURES):
    assert re.search(rf'<img alt="{name}" src="data:image/png;base64,[A-Za-z0-9+/=]{{1000,}}"', page), name
    for ext in ("png", "svg"):
      assert f'href="figures/{name}.{ext}"' in page
      assert os.path.getsize(out / "figures" / f"{name}.{ext}") > 0
  assert "skipped" not in page.split("<h2>Figures</h2>")[1].split("<h2>")[0]


@pytest.mark.slow
def test_tables_and_problem_runs(built):
  _, page = built
  assert "<h2>LR sensitivity (Section 2.2)</h2>" in page and "incomplete: missing lr" in page
  assert "u = log10(non-embedding params)" in page and "YES" in page
  problems = page.split("<h2>Diverged and failed runs</h2>")[1]
  assert "crashed" in problems and "RuntimeError: boom" in problems
  assert "loss nan at step" in problems  # the synthetic no-qk-layernorm run that diverged
  assert "1 unreadable line(s) in metrics.jsonl" in problems
  assert "starting: no status.json" in problems
  warnings = page.split("<h2>Instability warnings</h2>")[1].split("<h2>")[0]
  assert re.search(r"<td>warned</td><td>completed</td><td>[^<]+</td><td>2</td>"
                   r"<td>step 20: train loss 9 is 2.00x its baseline</td>", warnings), warnings
  assert warnings.count("<tr>") == 2  # header and the one run that warned


def test_progress_and_skipped_figures_on_a_tree_without_metrics(tmp_path, capsys):
  synthetic.write_run(str(tmp_path / "runs" / "a"), lr=1e-2, final_loss=4.0)
  runs, _ = find_runs([str(tmp_path / "runs")])
  path = report.build(runs, str(tmp_path / "out"), report.Options())
  err = capsys.readouterr().err
  assert "read metrics of 1/1 runs" in err and f"figure 1/{len(registry.FIGURES)}" in err
  with open(path) as f:
    page = f.read()
  assert "skipped: none of the 1 runs logged attn/max_logit/block_0" in page
  assert "<img" not in page


def test_a_demo_sweep_without_the_papers_grid_is_scored_over_the_lrs_it_ran(tmp_path):
  """The README's demo (3 LRs x 2 depths) then `analysis.report` with no --lrs: every group scored over
  the LRs run, said in one sentence, and the sensitivity figure drawn; --lrs keeps the asked range."""
  final_losses = {2: (5.0, 4.0, 6.0), 4: (4.5, 3.5, float("nan"))}  # nan: diverged, counts as l0 = 10
  for num_layers, losses in final_losses.items():
    for lr, loss in zip((1e-3, 1e-2, 1e-1), losses):
      diverged = loss != loss
      synthetic.write_run(str(tmp_path / "runs" / f"lr={lr},num_layers={num_layers}"), lr=lr,
                          bindings={"num_layers": num_layers, "d_model": 128},
                          gin_files=("gin/qkln.gin", "gin/local.gin"), state="diverged" if diverged else "completed",
                          final_loss=None if diverged else loss, params=12 * num_layers * 128**2)
  result = subprocess.run([sys.executable, "-m", "analysis.report", str(tmp_path / "runs"),
                           f"--out={tmp_path / 'out'}"], cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  page = (tmp_path / "out" / "index.html").read_text()
  section = page.split("<h2>LR sensitivity (Section 2.2)</h2>")[1].split("<h2>")[0]
  assert ("No group ran every LR of the default range {3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1}, so LR "
          "sensitivity is over the LRs that were run, {1e-3, 1e-2, 1e-1}") in section
  rows = re.findall(r"<tr><td>(num_layers=\d)</td>(?:<td>[^<]*</td>){4}<td>([^<]*)</td>", section)
  # mean of min(l, l0) minus the best: (5 + 4 + 6) / 3 - 4 and (4.5 + 3.5 + 10) / 3 - 3.5
  assert sorted((label, float(value)) for label, value in rows) == [("num_layers=2", 1.0), ("num_layers=4", 2.5)]
  assert '<img alt="lr_sensitivity_vs_params"' in page and "incomplete" not in section

  asked = subprocess.run([sys.executable, "-m", "analysis.report", str(tmp_path / "runs"), f"--out={tmp_path / 'o2'}",
                          "--lrs=1e-3,1e-2,1e-1,1"], cwd=REPO, capture_output=True, text=True, timeout=300)
  assert asked.returncode == 0, asked.stderr[-2000:]
  section = (tmp_path / "o2" / "index.html").read_text().split("<h2>LR sensitivity (Section 2.2)</h2>")[1]
  assert "No group ran" not in section and section.count("incomplete: missing lr 1e0") == 2
