"""train/hparams.py: a sweep's units read back by TensorBoard's HParams plugin, as its dashboard lists them."""

import json
import math
import subprocess
import sys

import pytest
from tensorboard import context
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups

from tests.trainer_utils import REPO, TINY
from train import hparams

LRS = (1e-3, 1e2)  # the second diverges at its first log (a one-log divergence window)


def read_hparams(root) -> tuple[api_pb2.Experiment, list[api_pb2.SessionGroup]]:
  """What the HParams dashboard's /experiment and /session_groups requests return for
  `tensorboard --logdir root`."""
  multiplexer = plugin_event_multiplexer.EventMultiplexer()
  multiplexer.AddRunsFromDirectory(str(root))
  multiplexer.Reload()
  provider = data_provider.MultiplexerDataProvider(multiplexer, str(root))
  tb_context = base_plugin.TBContext(logdir=str(root), data_provider=provider, multiplexer=multiplexer)
  backend, request_context = backend_context.Context(tb_context), context.RequestContext()
  experiment = backend.experiment_from_metadata(
      request_context, "", True, backend.hparams_metadata(request_context, ""),
      backend.hparams_from_data_provider(request_context, "", 0))
  request = api_pb2.ListSessionGroupsRequest(
      start_index=0, slice_size=100, aggregation_type=api_pb2.AGGREGATION_AVG,
      allowed_statuses=[api_pb2.STATUS_UNKNOWN, api_pb2.STATUS_SUCCESS, api_pb2.STATUS_FAILURE,
                        api_pb2.STATUS_RUNNING])
  handler = list_session_groups.Handler(request_context, backend, "", request)
  return experiment, list(handler.run().session_groups)


@pytest.fixture(scope="module")
def sweep_root(tmp_path_factory):
  """Two units of a sweep on gin/repro.gin, which turns TensorBoard's scalar events off."""
  root = tmp_path_factory.mktemp("sweep")
  bindings = [*TINY, "steps=4", "TrainConfig.log_every=1", "TrainConfig.divergence_window=1"]
  cmd = [sys.executable, "-m", "launch.sweep", "--gin_file=gin/qkln.gin", "--gin_file=gin/repro.gin",
         *[f"--gin_bindings={b}" for b in bindings], f"--sweep=lr=[{','.join(map(str, LRS))}]",
         f"--root={root}", "--parallel=1"]
  result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stdout + result.stderr[-3000:]
  return root


def _read(unit_dir, name):
  return json.loads((unit_dir / name).read_text())


def test_every_unit_is_an_hparams_row_with_its_lr_and_final_loss(sweep_root):
  experiment, groups = read_hparams(sweep_root)
  differs = {h.name: h.differs for h in experiment.hparam_infos}
  assert differs["lr"] and not differs["d_model"]  # the swept column comes first in the dashboard
  assert {m.name.tag for m in experiment.metric_infos} == {
      hparams.FINAL_EVAL_LOSS, hparams.PEAK_MAX_ATTENTION_LOGIT, hparams.DIVERGED, hparams.WARNINGS}
  units = [d for d in sweep_root.iterdir() if (d / "run.json").exists()]
  assert len(units) == len(LRS) == len(groups)
  by_run = {g.sessions[0].name: g for g in groups}
  for unit in units:
    row, status = by_run[unit.name], _read(unit, "status.json")
    metrics = {m.name.tag: m.value for m in row.metric_values}
    values = {k: v.number_value if v.HasField("number_value") else v.string_value for k, v in row.hparams.items()}
    assert values["lr"] == _read(unit, "run.json")["bindings"]["lr"]
    assert (values["d_model"], values["num_layers"], values["seed"]) == (32, 2, 0)
    assert (values["gin_files"], values["compute_dtype"]) == ("qkln+repro", "float32")
    logits = [v for line in (unit / "metrics.jsonl").read_text().splitlines()
              for k, v in json.loads(line).items() if k.startswith("attn/max_logit/")]
    assert math.isclose(metrics[hparams.PEAK_MAX_ATTENTION_LOGIT], max(logits), rel_tol=1e-6)
    if status["state"] == "completed":
      assert math.isclose(metrics[hparams.FINAL_EVAL_LOSS], status["final_eval_loss"], rel_tol=1e-6)
    else:
      assert hparams.FINAL_EVAL_LOSS not in metrics
    assert metrics[hparams.DIVERGED] == float(status["state"] == "diverged")
  assert sorted(_read(u, "status.json")["state"] for u in units) == ["completed", "diverged"]
  assert len({row.hparams["group"].string_value for row in groups}) == 1  # they differ only in lr


def test_group_ignores_lr_and_nothing_else():
  config = {"train": {"seed": 0}, "optimizer": {"lr": 1e-3, "eps": 1e-8}, "model": {"d_model": 64},
            "data": {"vocabulary": {"path": "/a"}}}
  other_lr = {**config, "optimizer": {"lr": 1e-1, "eps": 1e-8}, "data": {"vocabulary": {"path": "/b"}}}
  other_seed = {**config, "train": {"seed": 1}}
  assert hparams.group(config) == hparams.group(other_lr) != hparams.group(other_seed)


def test_hparams_of_a_run_json():
  run_info = {"gin_files": ["gin/qkln.gin", "gin/ablations/no_z_loss.gin"],
              "config": {"train": {"steps": 20, "seed": 3}, "optimizer": {"lr": 0.1, "steps": 20, "weight_decay": None},
                         "model": {"compute_dtype": "bfloat16", "kappa": None}}}
  values = hparams.hparams(run_info)
  assert values == {"steps": 20, "seed": 3, "lr": 0.1, "compute_dtype": "bfloat16", "gin_files": "qkln+no_z_loss",
                    "group": hparams.group(run_info["config"])}


def test_end_metrics_peak_over_blocks_and_steps_skips_non_finite():
  records = [{"step": 0, "eval/loss": 9.0}, {"step": 1, "attn/max_logit/block_0": 3.0, "attn/max_logit/block_1": 7.5},
             {"step": 2, "attn/max_logit/block_0": float("nan"), "attn/max_logit/block_1": 5.0}]
  assert hparams.end_metrics("completed", 4.25, records, 2) == {
      hparams.DIVERGED: 0.0, hparams.WARNINGS: 2.0, hparams.FINAL_EVAL_LOSS: 4.25,
      hparams.PEAK_MAX_ATTENTION_LOGIT: 7.5}
  assert hparams.end_metrics("diverged", None, records[:1], 0) == {hparams.DIVERGED: 1.0, hparams.WARNINGS: 0.0}


def test_writing_hparams_does_not_import_tensorflow():
  code = "import sys, train.hparams; print('tensorflow' in sys.modules)"
  result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
  assert result.stdout.strip() == "False"
