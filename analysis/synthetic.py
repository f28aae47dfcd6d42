"""Synthetic run directories in the format of docs/run_directory.md, for tests and for trying the report
without training:

  python -m analysis.synthetic DIR && python -m analysis.report DIR --out DIR/report --lrs=1e-3,1e-2,1e-1

The demo tree mimics the paper qualitatively: without qk-layernorm the max attention logit grows with
LR and size and the largest model diverges at the largest LR; loss vs kappa degrades towards the
zero-layer bigram model. The numbers are made up; only the file format is real.
"""

import json
import math
import os
from typing import Any, Sequence

from absl import app

from analysis import cli
from rundir.files import unwritable

DEMO_LRS = (1e-3, 1e-2, 1e-1)
DEMO_SIZES = ((32, 3), (64, 4), (128, 5))  # (d_model, num_layers)
DEMO_KAPPAS = (1.0, 10.0, 100.0, 1e3, 1e4)
VOCAB_LOSS = 10.0  # l0 of every demo run: log of a ~22k vocabulary


def write_run(path: str, *, lr: float, bindings: dict[str, Any] | None = None,
              gin_files: Sequence[str] = ("gin/qkln.gin",), gin_bindings: Sequence[str] = (),
              state: str = "completed", init_loss: float | None = VOCAB_LOSS,
              final_loss: float | None = None, params: float | None = 1e6, step: int = 100,
              reason: str | None = None, metrics: Sequence[dict[str, Any]] = (),
              config_gin: str | None = None, config: dict[str, Any] | None = None) -> str:
  """Writes one run directory; `metrics` are the metrics.jsonl records, in order; `config` is run.json's
  resolved configuration (left out when None, as in a run directory written before it existed)."""
  os.makedirs(path, exist_ok=True)
  info = {"gin_files": list(gin_files), "gin_bindings": [f"lr={lr}", *gin_bindings],
          "bindings": {"lr": lr, **(bindings or {})}}
  with open(os.path.join(path, "run.json"), "w") as f:
    json.dump(info if config is None else {**info, "config": config}, f)
  status = {"state": state, "step": step, "total_steps": step, "init_eval_loss": init_loss,
            "final_eval_loss": final_loss if state == "completed" else None,
            "num_params": None if params is None else 2 * params,
            "num_nonembedding_params": params, "reason": reason, "updated": 0.0}
  with open(os.path.join(path, "status.json"), "w") as f:
    json.dump(status, f)
  with open(os.path.join(path, "metrics.jsonl"), "w") as f:
    f.writelines(json.dumps(record) + "\n" for record in metrics)
  if config_gin is not None:
    with open(os.path.join(path, "config.gin"), "w") as f:
      f.write(config_gin)
  return path


def _demo_metrics(params: float, num_layers: int, lr: float, qk_layernorm: bool, final_loss: float,
                  steps: int, log_every: int) -> tuple[list[dict[str, float]], int | None]:
  """Logged records of one demo run, and the step it diverged at (None if it did not)."""
  records = [{"step": 0, "eval/loss": VOCAB_LOSS}]
  growth = (lr / 1e-3) ** 0.3 * (params / 1e4) ** 0.2 if qk_layernorm else (
      (lr / 1e-3) ** 1.2 * (params / 1e4) ** 0.8)
  for step in range(log_every, steps + 1, log_every):
    t = step / steps
    max_logit = 2.0 * growth * t + 1.0
    loss = final_loss + (VOCAB_LOSS - final_loss) * math.exp(-5 * t)
    diverged = max_logit > 1e4
    record = {"step": step, "train/loss": math.nan if diverged else loss, "lr": lr,
              "logits/mean": -0.5 * t * lr / 1e-3, "logits/log_z": 1.0 - t}
    for block in range(num_layers):
      decay = 0.6 ** block
      grad_rms = 1e-4 * (params / 1e4) ** -0.5 * (lr / 1e-3) ** -0.5 * decay * (1.5 - t)
      for param in ("mlp/dense_in/w", "attn/key/w"):
        record[f"grad/rms/block_{block}/{param}"] = grad_rms
        record[f"update/rms/block_{block}/{param}"] = grad_rms / (grad_rms + 1e-8 * 1e3)
      record.update({f"attn/max_logit/block_{block}": max_logit * decay,
                     f"attn/q_rms/block_{block}": math.sqrt(max_logit * decay),
                     f"attn/k_rms/block_{block}": math.sqrt(max_logit * decay),
                     f"attn/qk_cosine/block_{block}": 0.1,
                     f"block/out_rms/block_{block}": (1 + block) * (1 + 10 * lr) * (1 + t)})
    if step % (steps // 2) == 0 and not diverged:
      record["eval/loss"] = loss
    records.append(record)
    if diverged:
      return records, step
  return records, None


def write_demo_tree(root: str, steps: int = 200, log_every: int = 20,
                    lrs: Sequence[float] = DEMO_LRS) -> list[str]:
  """An LR x size x qk-layernorm sweep, a kappa sweep and a bigram run under `root`; their paths."""
  paths = []
  for qk_layernorm in (True, False):
    gin_file = "gin/qkln.gin" if qk_layernorm else "gin/no_qkln.gin"
    for d_model, num_layers in DEMO_SIZES:
      params = 12 * num_layers * d_model**2
      for lr in lrs:
        final_loss = 4.0 - 0.3 * math.log10(params / 1e4) + 0.4 * (math.log10(lr) + 2) ** 2
        metrics, diverged_at = _demo_metrics(params, num_layers, lr, qk_layernorm, final_loss, steps,
                                             log_every)
        name = f"{os.path.splitext(os.path.basename(gin_file))[0]}/d{d_model}/lr{lr:g}"
        paths.append(write_run(
            os.path.join(root, name), lr=lr, gin_files=[gin_file, "gin/local.gin"],
            bindings={"d_model": d_model, "num_layers": num_layers, "num_heads": 2, "steps": steps},
            state="diverged" if diverged_at else "completed", final_loss=final_loss, params=params,
            step=diverged_at or steps, metrics=metrics,
            reason=f"loss nan at step {diverged_at}" if diverged_at else None))
  fixed = {"d_model": 64, "num_heads": 2, "steps": steps}
  kappa_files = ["gin/qkln.gin", "gin/ablations/kappa_transplant.gin", "gin/local.gin"]
  for kappa in DEMO_KAPPAS:
    final_loss = 4.0 + 2.5 / (1 + math.exp(-(math.log10(kappa) - 3) * 2))
    paths.append(write_run(os.path.join(root, f"kappa/k{kappa:g}"), lr=1e-2, gin_files=kappa_files,
                           gin_bindings=[f"ModelConfig.kappa={kappa}"], final_loss=final_loss,
                           params=12 * 3 * 64**2, bindings={**fixed, "num_layers": 3},
                           metrics=[{"step": 10, "attn/max_logit/block_0": 3.9 * kappa}]))
  paths.append(write_run(os.path.join(root, "bigram"), lr=1e-2, final_loss=6.0, params=0,
                         gin_files=["gin/qkln.gin", "gin/ablations/bigram.gin", "gin/local.gin"],
                         bindings={**fixed, "num_layers": 0}))
  return paths


def main(argv: list[str]) -> None:
  if len(argv) != 2 or unwritable(argv[1]):
    cli.exit_usage(f"arguments {argv[1:]}: expected one, a folder (new or existing) this user can write the demo "
                   "tree into")
  print(f"wrote {len(write_demo_tree(argv[1]))} runs under {argv[1]}")


if __name__ == "__main__":
  app.run(main, flags_parser=cli.parse_flags)
