"""Rebuilds a lost or truncated status.json from what else the run directory holds.

status.json is replaced atomically, but a copy, a full disk or a user's edit can still break it;
metrics.jsonl and the checkpoints carry every fact a resumed run needs from it.
"""

import math

from rundir.files import RunDir


def rebuild_status(run_dir: RunDir, step: int, total_steps: int) -> dict:
  """The status of a run checkpointed at `step`; ValueError (one line) when metrics.jsonl lacks the
  step-0 eval loss the divergence threshold is built on."""
  records = [r for r in run_dir.metrics_records() if r["step"] <= step]
  init = [r["eval/loss"] for r in records if r.get("step") == 0 and "eval/loss" in r]
  if not init:
    raise ValueError(f"{run_dir.file('status.json')} is missing or unreadable and {run_dir.file('metrics.jsonl')} "
                     "has no step-0 eval/loss to rebuild it from: expected one of the two intact, or "
                     "delete the checkpoints directory to restart the run")
  train_losses = [r["train/loss"] for r in records if "train/loss" in r]
  status = {"state": "running", "step": step, "total_steps": total_steps, "init_eval_loss": init[0],
            "final_eval_loss": None, "last_train_loss": train_losses[-1] if train_losses else None,
            "reason": None, "rebuilt_from": "metrics.jsonl and checkpoints"}
  final = [r["eval/loss"] for r in records if r.get("step") == total_steps and "eval/loss" in r]
  if step == total_steps and final:
    finite = math.isfinite(final[-1])
    status.update(state="completed" if finite else "diverged", final_eval_loss=final[-1] if finite else None,
                  reason=None if finite else f"final eval loss {final[-1]}")
  return status
