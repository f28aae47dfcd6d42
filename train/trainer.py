"""The training loop: set-up (validated, may fail with bad input) and the loop (a result, even diverged).

Everything a later tool needs goes into the run directory (docs/run_directory.md).
"""

import contextlib
import math
import time

import jax
import numpy as np

from rundir import display
from rundir.files import RUN_FILE, RunDir
from train import data as data_lib
from train import divergence, quiet, recover, sharding
from train.checkpoint import Checkpointer
from train.configs import RunConfigs
from train.hparams import HParamsEvents, end_metrics
from train.monitor import RunMonitor
from train.phases import Phases
from train.programs import build as build_programs
from train.step import StepHyper


def _summary_writer(path: str):
  """A TensorBoard writer; imported here so runs without one skip TensorFlow's import."""
  quiet.import_tensorflow()
  from clu import metric_writers  # pylint: disable=import-outside-toplevel
  return metric_writers.SummaryWriter(path)


class Trainer:
  """Builds the run's mesh, programs and state (the newest checkpoint restored) from configs it is
  given, reading no gin; train() runs the loop. The caller holds the workdir and checked its identity."""

  def __init__(self, run_dir: RunDir, configs: RunConfigs, dataset: data_lib.Dataset, previous_status: dict):
    self.run_dir, self.dataset, self.previous_status = run_dir, dataset, previous_status
    self.cfg, self.opt_cfg, self.model_cfg = configs.train, configs.optimizer, configs.model
    self.monitor_thresholds = configs.monitor
    cfg = self.cfg

    self.mesh = sharding.make_mesh()
    sharding.check_batch_divisible(cfg.batch_size, self.mesh)
    programs = build_programs(self.model_cfg, self.opt_cfg.static, cfg.seq_len, self.mesh)
    self.init, self.train_step, self.eval_step = programs.init, programs.train_step, programs.eval_step
    self.hyper = jax.device_put(StepHyper(self.opt_cfg.hyper, np.float32(cfg.z_loss_coef)),
                                sharding.replicated(self.mesh))
    self.state_shardings, self.batch_sharding = programs.state_shardings, programs.batch_sharding
    abstract = programs.abstract
    self.num_params, self.num_nonembedding_params = programs.num_params, programs.num_nonembedding_params
    sharded = sum(any(s.spec) for s in jax.tree.leaves(self.state_shardings.params))
    print(f"mesh: {self.mesh.size} devices; {sharded} of {len(jax.tree.leaves(abstract.params))} "
          f"parameter arrays FSDP-sharded; {self.num_params:,} params "
          f"({self.num_nonembedding_params:,} non-embedding)", flush=True)

    self.checkpointer = Checkpointer(self.run_dir.checkpoint_dir, cfg.checkpoint_every,
                                     cfg.keep_checkpoints)
    abstract_state = jax.tree.map(
        lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s), abstract, self.state_shardings)
    restored = self.checkpointer.restore_latest(abstract_state)
    self.state, self.data_position = restored or (None, None)
    self.start_step = 0 if self.state is None else int(self.state.step)
    if self.state is not None and self.data_position is None:
      print(f"checkpoint at step {self.start_step} holds no data position for this process (written by older "
            f"code, or by another number of processes): it is "
            f"recomputed from the start of the data (a streaming source reads {self.start_step} batches "
            "again)", flush=True)
    if self.state is not None and self.previous_status.get("init_eval_loss") is None:
      self.previous_status = recover.rebuild_status(self.run_dir, self.start_step, cfg.steps)
      self.run_dir.write_json("status.json", {**self.previous_status, "num_params": self.num_params,
                                              "num_nonembedding_params": self.num_nonembedding_params})
      print(f"{self.run_dir.file('status.json')} was unreadable; rebuilt it from metrics.jsonl and the "
            f"checkpoint at step {self.start_step}", flush=True)

  def _global_batch(self, local: dict[str, np.ndarray]) -> dict[str, jax.Array]:
    return {k: jax.make_array_from_process_local_data(self.batch_sharding, v) for k, v in local.items()}

  def _evaluate(self, params) -> float:
    total, weight = 0.0, 0.0
    for batch in self.eval_batches:
      loss_sum, weight_sum = self.eval_step(params, batch)
      total += float(loss_sum)
      weight += float(weight_sum)
    return total / weight

  def train(self, phases: Phases | None = None) -> str:
    """Runs to the end (or to divergence); returns the final state. `phases` times it (train/phases.py)."""
    cfg, run_dir = self.cfg, self.run_dir
    phases = self._phases = phases or Phases()
    self.eval_batches = [self._global_batch(b) for b in self.dataset.eval_batches()]
    writer = _summary_writer(run_dir.path) if run_dir.writer and cfg.tensorboard else None
    self.hparams = HParamsEvents(run_dir.path) if run_dir.writer else None
    if self.hparams:
      self.hparams.start(run_dir.read_json(RUN_FILE) or {})
    run_dir.truncate_metrics(self.start_step if self.state is not None else -1)  # from scratch: no line kept
    if self.state is None:
      with phases("compile"):  # init and eval compile (or load from the persistent cache) on first call
        self.state = self.init(jax.random.PRNGKey(cfg.seed))
        init_loss = self._evaluate(self.state.params)
      run_dir.update_status(state="running", step=0, total_steps=cfg.steps, init_eval_loss=init_loss,
                            final_eval_loss=None, last_train_loss=None, num_params=self.num_params,
                            num_nonembedding_params=self.num_nonembedding_params, reason=None)
      self._record(writer, 0, {"eval/loss": init_loss})
    else:
      init_loss = self.previous_status["init_eval_loss"]
      run_dir.update_status(state="running", reason=None)
      print(f"resuming {run_dir.path} from step {self.start_step}", flush=True)
    threshold = (cfg.divergence_threshold if cfg.divergence_threshold is not None
                 else init_loss + cfg.divergence_margin)
    # Read once: both replay the logs a resumed run keeps. Filtered, not just truncated above, so that
    # every process (process 0 alone truncates and appends) replays the same records and stops alike.
    kept = [r for r in run_dir.metrics_records() if r["step"] <= self.start_step]
    spikes = divergence.replay(kept, threshold, cfg.divergence_window)
    monitor = RunMonitor(run_dir, self.monitor_thresholds, kept, self.start_step)
    run_dir.update_status(divergence_threshold=threshold, **spikes.status(), **monitor.status())

    tokens_per_step = cfg.batch_size * cfg.seq_len
    window_start, window_step = time.time(), self.start_step
    batches = self.dataset.train_batches(self.start_step, self.data_position)
    record = {}
    phases.switch("steps")  # the loop's logs and status writes count with its steps
    for step in range(self.start_step + 1, cfg.steps + 1):
      with phases("compile") if step == self.start_step + 1 else contextlib.nullcontext():
        self.state, metrics = self.train_step(self.state, self._global_batch(next(batches)), self.hyper)
        if step == self.start_step + 1:
          jax.block_until_ready(self.state)
      is_last = step == cfg.steps
      if step % cfg.log_every and step % cfg.eval_every and not is_last:
        monitor.observe_step(step, metrics)
        self._checkpoint(step, batches)
        continue
      record = {}
      if step % cfg.log_every == 0 or is_last:
        record = {k: float(v) for k, v in jax.device_get(metrics).items()}
        now = time.time()
        steps_per_s = (step - window_step) / max(now - window_start, 1e-9)
        record["perf/tokens_per_s"] = steps_per_s * tokens_per_step
        window_start, window_step = now, step
        loss = record["train/loss"]
        print(f"step {step}/{cfg.steps} loss {loss:.4f} lr {record['lr']:.3e} "
              f"tokens/s {record['perf/tokens_per_s']:.0f} "
              f"eta {display.duration((cfg.steps - step) / max(steps_per_s, 1e-9))}", flush=True)
        spikes, reason = divergence.observe(spikes, step, loss, threshold, cfg.divergence_window)
        if spikes.last_step == step:
          record["train/spike_streak"] = spikes.streak
        if reason:
          self._record(writer, step, record)
          run_dir.update_status(state="diverged", step=step, last_train_loss=loss, reason=reason,
                                **spikes.status())
          print(f"diverged: {reason}", flush=True)
          self._close(writer, step)
          return "diverged"
        warned = monitor.observe({"step": step, **record})
        if warned and cfg.stop_on_warning:
          self._record(writer, step, record)
          self._checkpoint(step, batches, force=True)
          run_dir.update_status(state="warned", step=step, last_train_loss=loss, reason=warned[0]["message"],
                                **spikes.status(), **monitor.status())
          self._close(writer, step)
          return "warned"
        run_dir.update_status(step=step, last_train_loss=loss, **spikes.status(), **monitor.status())
      if step % cfg.eval_every == 0 or is_last:
        with phases("evals"):
          record["eval/loss"] = self._evaluate(self.state.params)
      self._record(writer, step, record)
      self._checkpoint(step, batches, force=is_last)

    # Resumed at the last step (killed after its checkpoint, before its status): evaluate it again.
    final_loss = record["eval/loss"] if "eval/loss" in record else self._evaluate(self.state.params)
    state = "completed" if math.isfinite(final_loss) else "diverged"
    run_dir.update_status(state=state, step=cfg.steps, final_eval_loss=final_loss if state == "completed" else None,
                          reason=None if state == "completed" else f"final eval loss {final_loss}")
    self._close(writer, cfg.steps)
    print(f"{state}: final eval loss {final_loss:.4f} (init {init_loss:.4f})", flush=True)
    return state

  def _record(self, writer, step: int, record: dict[str, float]) -> None:
    self.run_dir.append_metrics({"step": step, **record})
    if writer is not None:
      writer.write_scalars(step, record)
      writer.flush()

  def _checkpoint(self, step: int, batches, force: bool = False) -> None:
    with self._phases("checkpoints"):
      self.checkpointer.maybe_save(step, self.state, batches.position(), force=force)

  def _close(self, writer, step: int) -> None:
    """Ends the run's writers; the HParams metrics come from the status and metrics just written."""
    with self._phases("checkpoints"):  # waits for the last save
      self.checkpointer.close()
    if self.hparams:
      status = self.run_dir.status()
      self.hparams.finish(step, end_metrics(status["state"], status.get("final_eval_loss"),
                                            self.run_dir.metrics_records(), status.get("warnings") or 0))
      self.hparams.close()
    if writer is not None:
      writer.close()
