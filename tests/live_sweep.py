"""A small sweep root in the real format (docs/run_directory.md; launch.sweep's sweep.json and launch.json):
two settings (d_model 32, 64) over three LRs, all finished but one unit still running."""

import json
import os
import socket
import time

from analysis.synthetic import write_run

LRS = (1e-3, 1e-2, 1e-1)
WIDTHS = (32, 64)
INIT_LOSS = 8.0
# Final eval losses by (d_model, lr); None: d_model=64 at lr=1e-1 is running.
FINAL = {(32, 1e-3): 5.0, (32, 1e-2): 4.0, (32, 1e-1): None, (64, 1e-3): 4.5, (64, 1e-2): 3.5, (64, 1e-1): None}
DIVERGED = (32, 1e-1)
RUNNING = (64, 1e-1)
STEPS = 10
RUNNING_STEP = 5
PEAK_LOGIT = {32: 40.0, 64: 60.0}  # block 1's max attention logit at step STEPS and lr 1e-3; it grows with step and lr


def unit_name(width: int, lr: float) -> str:
  return f"lr={lr},d_model={width}"


def _metrics(width: int, lr: float, last_step: int) -> list[dict]:
  records = [{"step": 0, "eval/loss": INIT_LOSS}]
  for step in range(2, last_step + 1, 2):
    peak = PEAK_LOGIT[width] * lr / 1e-3 * step / STEPS
    records.append({"step": step, "train/loss": INIT_LOSS - step * 0.1,
                    "attn/max_logit/block_0": peak / 2, "attn/max_logit/block_1": peak})
  return records


def _launch_record(path: str, start: float, end: float | None) -> None:
  attempt = {"host": socket.gethostname(), "pid": os.getpid(), "start": start}
  if end is not None:
    attempt.update(end=end, exit_code=0, error=None)
  with open(os.path.join(path, "launch.json"), "w") as f:
    json.dump({"attempts": [attempt]}, f)


def _write_unit(root: str, width: int, lr: float, state: str, last_step: int, final: float | None) -> str:
  path = os.path.join(root, unit_name(width, lr))
  write_run(path, lr=lr, bindings={"d_model": width, "steps": STEPS}, gin_files=("gin/qkln.gin", "gin/repro.gin"),
            gin_bindings=(f"d_model={width}",), state=state, init_loss=INIT_LOSS, final_loss=final,
            step=last_step, metrics=_metrics(width, lr, last_step),
            reason="train loss nan at step 4 is not finite" if state == "diverged" else None)
  status_path = os.path.join(path, "status.json")
  with open(status_path) as f:
    status = json.load(f)
  with open(status_path, "w") as f:
    json.dump({**status, "total_steps": STEPS, "last_train_loss": INIT_LOSS - last_step * 0.1}, f)
  now = time.time()
  _launch_record(path, now - 60.0, None if state == "running" else now)  # each finished unit took 60 s
  return path


def write_sweep(root: str) -> None:
  """The sweep with RUNNING at step RUNNING_STEP; one instability warning in d_model=32, lr=1e-2."""
  units = []
  for lr in LRS:
    for width in WIDTHS:
      units.append({"name": unit_name(width, lr), "gin_files": ["gin/qkln.gin", "gin/repro.gin"],
                    "gin_bindings": [f"lr={lr}", f"d_model={width}"], "point": {"lr": lr, "d_model": width}})
      if (width, lr) == RUNNING:
        _write_unit(root, width, lr, "running", RUNNING_STEP, None)
      elif (width, lr) == DIVERGED:
        _write_unit(root, width, lr, "diverged", 4, None)
      else:
        _write_unit(root, width, lr, "completed", STEPS, FINAL[(width, lr)])
  with open(os.path.join(root, "sweep.json"), "w") as f:
    json.dump({"version": 2, "sweep": {"name": "inline"}, "units": units}, f)
  warning = {"step": 6, "kind": "loss_spike", "where": "train/loss", "value": 9.0, "trend": 2.0,
             "projected_step": None, "message": "step 6: train loss 9 is 2x its median"}
  later = {**warning, "step": 8, "kind": "attention_trend", "where": "block_0", "message": "step 8: trend"}
  with open(os.path.join(root, unit_name(32, 1e-2), "warnings.jsonl"), "w") as f:
    f.writelines(json.dumps(w) + "\n" for w in (later, warning, {**later, "step": 9}))  # the first one is not first


def finish_running(root: str, final_loss: float) -> None:
  """The running unit logs its last step and completes, as the trainer and the launcher would write it."""
  width, lr = RUNNING
  path = os.path.join(root, unit_name(width, lr))
  peak = PEAK_LOGIT[width] * lr / 1e-3
  with open(os.path.join(path, "metrics.jsonl"), "a") as f:
    f.write(json.dumps({"step": STEPS, "train/loss": 3.9, "eval/loss": final_loss,
                        "attn/max_logit/block_1": peak}) + "\n")
  with open(os.path.join(path, "status.json")) as f:
    status = json.load(f)
  status.update(state="completed", step=STEPS, final_eval_loss=final_loss, updated=time.time())
  with open(os.path.join(path, "status.json.tmp"), "w") as f:
    json.dump(status, f)
  os.replace(os.path.join(path, "status.json.tmp"), os.path.join(path, "status.json"))
  with open(os.path.join(path, "launch.json")) as f:
    start = json.load(f)["attempts"][0]["start"]
  _launch_record(path, start, time.time())
