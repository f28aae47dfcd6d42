"""analysis/report.py: one self-contained page that embeds and links every figure, built from a tree with
the damage real sweeps have (a truncated metrics line, a failed run, a run without status.json)."""

import json
import os
import re

import pytest

from analysis import report
from analysis import synthetic
from analysis.runs import find_runs

LRS = (1e-3, 1e-1)


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


def test_every_figure_is_embedded_and_linked(built):
  out, page = built
  for name, _, _ in report.figure_specs(report.Options()):
    assert re.search(rf'<img alt="{name}" src="data:image/png;base64,[A-Za-z0-9+/=]{{1000,}}"', page), name
    for ext in ("png", "svg"):
      assert f'href="figures/{name}.{ext}"' in page
      assert os.path.getsize(out / "figures" / f"{name}.{ext}") > 0
  assert "skipped" not in page.split("<h2>Figures</h2>")[1].split("<h2>")[0]


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
  assert "read metrics of 1/1 runs" in err and f"figure 1/{len(report.figure_specs(report.Options()))}" in err
  with open(path) as f:
    page = f.read()
  assert "skipped: none of the 1 runs logged attn/max_logit/block_0" in page
  assert "<img" not in page
