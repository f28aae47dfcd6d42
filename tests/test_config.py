"""Gin parsing and validation, and the FSDP sharding rule (in-process, no training)."""

import glob
import pathlib
import re
import subprocess
import sys

import gin
import pytest
from jax.sharding import PartitionSpec as P

from rundir import bindings as bindings_lib
from train import configs, ginparse
from train.sharding import fsdp_spec

QKLN_LOCAL = ["gin/qkln.gin", "gin/local.gin"]


def test_parse_resolves_macros_in_file_then_binding_order():
  run = ginparse.parse(QKLN_LOCAL + ["gin/sizes/85M.gin"], ["lr=0.3", "seed=4"])
  assert run["gin_files"] == QKLN_LOCAL + ["gin/sizes/85M.gin"]
  assert run["gin_bindings"] == ["lr=0.3", "seed=4"]
  b = run["bindings"]
  assert (b["lr"], b["seed"], b["d_model"], b["num_layers"], b["num_heads"]) == (0.3, 4, 768, 12, 12)
  assert b["steps"] == 200  # from local.gin, which comes after base.gin
  assert set(ginparse.MACROS) <= set(b)


def test_every_gin_file_parses():
  for path in sorted(glob.glob(f"{ginparse.REPO_ROOT}/gin/**/*.gin", recursive=True)):
    rel = path[len(ginparse.REPO_ROOT) + 1:]
    if rel in ("gin/base.gin",) or rel.startswith("gin/data/"):
      continue
    files = [rel] if rel in ("gin/qkln.gin", "gin/no_qkln.gin") else ["gin/qkln.gin", rel]
    ginparse.parse(files, [])


@pytest.mark.parametrize("files,dtype", [
    (["gin/qkln.gin"], "bfloat16"),  # the paper's defaults (Section 2.1: bfloat16 on TPUs)
    (["gin/no_qkln.gin", "gin/sizes/1.2B.gin"], "bfloat16"),
    (QKLN_LOCAL, "float32"),  # every CPU preset puts local.gin last
    (["gin/qkln.gin", "gin/repro.gin"], "float32"),
    (["gin/qkln.gin", "gin/repro_smoke.gin"], "float32"),
])
def test_paper_config_computes_in_bfloat16_and_cpu_presets_in_float32(files, dtype):
  from model.config import ModelConfig  # pylint: disable=import-outside-toplevel
  ginparse.parse(files, [])
  assert ModelConfig(vocab_size=10).compute_dtype == dtype


@pytest.mark.parametrize("bindings,message", [
    (["lrr=0.1"], "unknown gin binding 'lrr' in 'lrr=0.1': expected one of the macros"),
    (["lr=abc"], "bad gin binding 'lr=abc': 'abc' is not a number: expected a number (the gin files set lr = "),
    (["lr=[1e-3,"], "bad gin binding 'lr=[1e-3,': '[1e-3,' is not a number: expected a number"),
    (["ModelConfig.qk_layernorm=none"], "'none' is not a gin value: expected a number, True/False/None, "
                                        "a quoted string ('none')"),
    (["lr"], "gin binding 'lr' is malformed: expected NAME=VALUE"),
    (["ModelConfig.no_such_knob=1"], "bad gin binding 'ModelConfig.no_such_knob=1': ModelConfig has no parameter "
                                     "'no_such_knob': expected one of vocab_size, d_model, num_layers"),
    (["ModelConfg.kappa=1"], "no configurable 'ModelConfg': expected one of ModelConfig, MonitorThresholds, "
                             "OptimizerConfig, TrainConfig, c4_local_source"),
    (["OptimizerConfig.steps=3"], "OptimizerConfig has no parameter 'steps': expected one of lr, warmup_steps,"),
    (["constant.value=1"], "no configurable 'constant': expected one of ModelConfig"),  # gin's own configurable
])
def test_bad_bindings(bindings, message):
  with pytest.raises(ValueError) as info:
    ginparse.parse(QKLN_LOCAL, bindings)
  assert message in str(info.value) and "\n" not in str(info.value)
  assert "ast." not in str(info.value) and "0x" not in str(info.value)  # no Python internals


@pytest.mark.parametrize("files,binding,message", [
    (QKLN_LOCAL, "vocab_path='/nonexistent.model'", "sets macro 'vocab_path', which this run never reads (the "
                                                    "data source is embedded_source): expected one of the macros"),
    (QKLN_LOCAL, "c4_source.version='2.0'", "sets a parameter of c4_source, which this run never calls (the data "
                                            "source is embedded_source): expected a parameter of ModelConfig"),
    (["gin/qkln.gin"], "embedded_source.vocab_size=512", "sets a parameter of embedded_source, which this run "
                                                         "never calls (the data source is c4_source)"),
    (QKLN_LOCAL, "train/ModelConfig.kappa=2.0", "is scoped to 'train', and this run calls no configurable in a "
                                                "scope: expected it without the scope (ModelConfig.kappa=...)"),
])
def test_a_binding_the_run_never_reads_is_refused(files, binding, message):
  """gin accepts a setting of C4's vocabulary on the embedded corpus, and the run would ignore it."""
  ginparse.parse(files, [binding])
  with pytest.raises(ValueError) as info:
    ginparse.read_configs([binding])
  assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("files,binding", [
    (QKLN_LOCAL, "embedded_source.vocab_size=512"), (QKLN_LOCAL, "make_dataset.packing='segment'"),
    (QKLN_LOCAL, "MonitorThresholds.trend_window=6"), (["gin/qkln.gin"], "vocab_path='/x.model'"),
    (["gin/qkln.gin"], "c4_source.version='2.0'"),
])
def test_bindings_the_run_reads_pass(files, binding):
  ginparse.parse(files, [binding])
  ginparse.read_configs([binding])
  recorded = ginparse.macros_read(ginparse.defined_macros())
  assert ("vocab_path" in recorded) == (files == ["gin/qkln.gin"])  # run.json records it on C4 only
  if binding.startswith("vocab_path"):
    assert recorded["vocab_path"] == "/x.model"


def test_a_macro_in_a_list_is_read(tmp_path):
  """A macro the data source reads inside a list (train_files may be one) is read, and recorded."""
  (tmp_path / "list.gin").write_text("c4_local_source.train_files = [%c4_train_files]\n")
  binding = "c4_train_files='/data/c4-train.json.gz'"
  ginparse.parse(["gin/qkln.gin", "gin/data/c4_local.gin", str(tmp_path / "list.gin")], [binding])
  ginparse.read_configs([binding])
  assert ginparse.macros_read(ginparse.defined_macros())["c4_train_files"] == "/data/c4-train.json.gz"


@pytest.mark.parametrize("text, message", [(b"lr = (1,\n", "EOF in multi-line statement"),
                                           (b"lr = 0.1  # caf\xe9\n", "'utf-8' codec can't decode")])
def test_a_gin_file_that_does_not_parse_is_a_one_line_error(tmp_path, text, message):
  """Before, an unclosed bracket gave a tokenize.TokenError traceback."""
  (tmp_path / "bad.gin").write_bytes(text)
  with pytest.raises(ValueError, match=f"bad gin file among .*{re.escape(message)}") as info:
    ginparse.parse(QKLN_LOCAL + [str(tmp_path / "bad.gin")], [])
  assert "\n" not in str(info.value)


def test_missing_file_and_missing_macros():
  with pytest.raises(ValueError, match="gin file 'gin/missing.gin' not found"):
    ginparse.parse(["gin/missing.gin"], [])
  with pytest.raises(ValueError, match="gin macros lr, seed are not defined"):
    ginparse.parse(["gin/local.gin"], [])  # local.gin is an overlay: base.gin must come first


def test_readme_short_run_pair_is_valid_where_steps_alone_is_not():
  """gin/local.gin warms up for 20 steps: the README shows the binding pair a shorter run needs."""
  readme = (pathlib.Path(bindings_lib.REPO_ROOT) / "README.md").read_text()
  pair = re.search(r"`(--gin_bindings=steps=(\d+) --gin_bindings=warmup_steps=\d+)`", readme)
  assert pair, "README: the steps / warmup_steps pair for a short run"
  bindings = [b.removeprefix("--gin_bindings=") for b in pair.group(1).split()]
  ginparse.parse(QKLN_LOCAL, bindings)
  assert configs.from_gin().optimizer.steps == int(pair.group(2))
  ginparse.parse(QKLN_LOCAL, bindings[:1])
  with pytest.raises(ValueError, match=rf"warmup_steps=20: expected an integer in \[0, steps={pair.group(2)}\]"):
    configs.from_gin()


@pytest.mark.parametrize("shape,shards,spec", [
    ((8192, 128), 8, P("data", None)),
    ((128, 512), 8, P(None, "data")),
    ((100, 64), 8, P(None, "data")),  # 100 is not divisible: the largest divisible axis
    ((64,), 8, P("data")),
    ((6,), 8, P()),
    ((), 8, P()),
    ((8192, 128), 1, P()),
])
def test_fsdp_spec(shape, shards, spec):
  assert fsdp_spec(shape, shards) == spec


@pytest.mark.parametrize("binding,message", [
    ("ModelConfig.kappa='x'", "ModelConfig.kappa='x': expected a number or None"),
    ("ModelConfig.d_head=0", "ModelConfig.d_head=0: expected a positive integer or None"),
    ("ModelConfig.layernorm_eps=0.0", "ModelConfig.layernorm_eps=0.0: expected a positive number"),
    ("ModelConfig.d_model=True", "ModelConfig.d_model=True: expected an integer"),
    ("MonitorThresholds.dense_steps=2.5", "MonitorThresholds.dense_steps=2.5: expected an integer"),
    ("MonitorThresholds.attn_level='x'", "MonitorThresholds.attn_level='x': expected a number"),
    ("TrainConfig.divergence_threshold=[1]", "TrainConfig.divergence_threshold=[1]: expected a number or None"),
    ("TrainConfig.stop_on_warning=1", "TrainConfig.stop_on_warning=1: expected true or false"),
    ("OptimizerConfig.schedule=3", "OptimizerConfig.schedule=3: expected a string"),
])
def test_a_value_of_the_wrong_type_is_refused_when_the_configs_are_built(binding, message):
  """gin binds any Python value; before rundir/fields.py these failed later as TypeErrors, or ran."""
  ginparse.parse(QKLN_LOCAL, [binding])
  try:
    with pytest.raises(ValueError) as info:
      configs.from_gin()
  finally:
    gin.clear_config()  # the bad binding would reach every config a later test in this process builds
  assert str(info.value).splitlines()[0] == message  # gin adds a line naming the configurable called


@pytest.mark.parametrize("binding, code, out", [
    ("lr=-1", 2, "error: OptimizerConfig.lr=-1: expected a positive number"),
    ("vocab_path='/x.model'", 2, "error: gin binding \"vocab_path='/x.model'\" sets macro 'vocab_path'"),
    ("lr=0.1", 0, '"bindings": {"lr": 0.1, "steps": 200, "warmup_steps": 20, "batch_size": 16, "seq_len": 128, '
                  '"seed": 0, "d_model": 128, "num_layers": 2, "num_heads": 2}}'),  # as run.json: no vocab_path
])
def test_print_config_checks_as_the_trainer_does(binding, code, out):
  result = subprocess.run([sys.executable, "-m", "train.main", *[f"--gin_file={f}" for f in QKLN_LOCAL],
                           f"--gin_bindings={binding}", "--print_config"], cwd=bindings_lib.REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
  assert result.returncode == code and out in result.stdout + result.stderr, result
  assert len(result.stderr.strip().splitlines()) == (code == 2)
