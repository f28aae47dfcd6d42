"""train.main --plan (train/plan.py): the step compiled from abstract shapes on N fake CPU devices."""

import json
import os
import subprocess
import sys

import pytest

from tests.trainer_utils import REPO

# flops_per_step (XLA's cost analysis summed over the devices) against 6 N tokens + attention: XLA counts
# the elementwise work too (norms, softmax, AdamW), a few percent at these widths.
FLOPS_TOLERANCE = 0.05


def plan(*flags: str) -> subprocess.CompletedProcess:
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")  # --plan_devices overrides
  return subprocess.run([sys.executable, "-m", "train.main", "--gin_file=gin/qkln.gin", *flags], cwd=REPO,
                        env=env, capture_output=True, text=True, timeout=900)


def test_plan_of_the_151M_preset_on_8_devices():
  result = plan("--gin_file=gin/sizes/151M.gin", "--plan", "--plan_devices=8", "--plan_device_memory_gib=32")
  assert result.returncode == 0, result.stderr[-3000:]
  out = json.loads(result.stdout.strip().splitlines()[-1])
  d, layers, vocab, tokens = 1024, 12, 32101, 256 * 512
  assert (out["devices"], out["vocab_size"], out["tokens_per_step"]) == (8, vocab, tokens)
  assert abs(out["nonembedding_params"] - 12 * layers * d**2) < 0.01 * 12 * layers * d**2  # + norms, biases
  assert out["params"] == out["nonembedding_params"] + 2 * vocab * d  # embedding and head
  mem = out["bytes_per_device"]
  assert mem["params"] == pytest.approx(4 * out["params"] / 8, rel=0.01)  # float32, FSDP over 8 devices
  assert mem["optimizer_state"] == pytest.approx(2 * mem["params"], rel=0.01)  # Adam's two moments
  batch = 256 * 512 * (4 + 4 + 4) // 8  # inputs, targets, weights: this device's rows
  assert mem["xla"]["arguments"] == pytest.approx(mem["params"] + mem["optimizer_state"] + batch, rel=0.01)
  matmul_params = out["params"] - vocab * d  # the embedding is a gather
  expected = 6 * matmul_params * tokens + 12 * layers * 512 * d * tokens
  assert out["flops_per_step"] == pytest.approx(expected, rel=FLOPS_TOLERANCE)
  assert out["flops_per_step"] == pytest.approx(8 * out["flops_per_device"])
  assert out["fits"] == (mem["analytic_total"] <= 32 * 2**30)
  assert out["fits_uses"].startswith("bytes_per_device.analytic_total")


@pytest.mark.parametrize("flags, message", [
    (["--plan_devices=0"], "--plan_devices=0: expected an integer >= 1"),
    (["--plan_devices=3"], "batch_size=16 is not divisible by the 3 devices"),
    (["--plan_vocab_size=-5", "--noplan_compile"], "--plan_vocab_size=-5: expected a number > 0"),
    (["--plan_vocab_size=0", "--noplan_compile"], "--plan_vocab_size=0: expected a number > 0"),
    (["--plan_device_memory_gib=-1", "--noplan_compile"], "--plan_device_memory_gib=-1.0: expected a number > 0"),
])
def test_bad_plan_is_one_line_exit_2(flags, message):
  result = plan("--gin_file=gin/local.gin", "--plan", *flags)
  assert result.returncode == 2 and message in result.stderr
  assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr


def test_plan_without_compile_is_the_same_analytic_model():
  compiled, analytic = (plan("--gin_file=gin/local.gin", "--plan", "--plan_devices=4", *flags)
                        for flags in ([], ["--noplan_compile"]))
  assert compiled.returncode == 0 and analytic.returncode == 0, compiled.stderr + analytic.stderr
  with_xla, without = (json.loads(r.stdout.strip().splitlines()[-1]) for r in (compiled, analytic))
  assert without["flops_per_step"] is None and without["bytes_per_device"]["xla"] is None
  assert with_xla["bytes_per_device"]["xla"]["arguments"] > with_xla["bytes_per_device"]["params"]
  drop = {"xla"}
  assert ({k: v for k, v in without["bytes_per_device"].items() if k not in drop}
          == {k: v for k, v in with_xla["bytes_per_device"].items() if k not in drop})
  assert without["flops_analytic"] == with_xla["flops_analytic"]
  # local.gin: d=128, 2 layers, 16 x 128 tokens, the embedded corpus's 8192 pieces, float32
  tokens, d, vocab = 16 * 128, 128, 8192
  expected = 6 * (with_xla["params"] - vocab * d) * tokens + 12 * 2 * 128 * d * tokens
  assert with_xla["flops_analytic"]["total"] == expected
  assert with_xla["flops_per_step"] == pytest.approx(expected, rel=FLOPS_TOLERANCE)
