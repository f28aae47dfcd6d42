"""Orbax checkpoints of the train state and the data position, with fallback past a corrupt newest
checkpoint.

A checkpoint holds two orbax items: the train state and each process's data position (where its
next batch comes from, train/data/interface.py), so a run directory alone resumes the run exactly,
on any machine and whatever the data cache holds.
"""

import os
import shutil
import time

import jax
import orbax.checkpoint as ocp
from absl import logging


def _shapes(tree) -> dict[str, tuple[int, ...]]:
  """{'params/head/w': shape} for a state or its stored metadata (NamedTuple fields and dict keys alike)."""
  def name(key) -> str:
    for attr in ("name", "key", "idx"):
      if hasattr(key, attr):
        return str(getattr(key, attr))
    return str(key)

  leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
  return {"/".join(name(k) for k in path): tuple(leaf.shape) for path, leaf in leaves if hasattr(leaf, "shape")}


# The state keeps orbax's single-item name, so checkpoints written before the data item restore.
STATE_ITEM = "default"
DATA_ITEM = "data_position"


class Checkpointer:
  """Saves every `every` steps (and when asked); restores the newest readable step."""

  def __init__(self, directory: str, every: int, keep: int):
    self.every = every
    self.directory = directory
    # Every process writes its own position file (primary_host=None), one item for all of them.
    self.position_file = f"process_{jax.process_index()}-of-{jax.process_count()}.json"
    handlers = {STATE_ITEM: ocp.StandardCheckpointHandler(),
                DATA_ITEM: ocp.JsonCheckpointHandler(
                    filename=self.position_file,
                    multiprocessing_options=ocp.options.MultiprocessingOptions(primary_host=None))}
    self.manager = ocp.CheckpointManager(
        directory, options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True),
        item_handlers=handlers)

  def maybe_save(self, step: int, state, data_position: dict[str, int], force: bool = False) -> None:
    """data_position: where the batch after `step` comes from (TrainBatches.position())."""
    if force or step % self.every == 0:
      if step not in self.manager.all_steps():
        self.manager.save(step, args=ocp.args.Composite(**{STATE_ITEM: ocp.args.StandardSave(state),
                                                           DATA_ITEM: ocp.args.JsonSave(data_position)}))

  def restore_latest(self, abstract_state) -> tuple[object, dict[str, int] | None] | None:
    """(state, data position) of the newest readable checkpoint, or None when there is none; the
    position is None in a checkpoint written before it was saved, or by another number of processes (each
    process's position is its own rows of the batch: the trainer recomputes it from the start of the data).

    A checkpoint that fails to restore is moved aside to corrupt_checkpoints/
    (nothing is deleted) and the previous one is tried; the fallback is logged.
    """
    steps = sorted(self.manager.all_steps(), reverse=True)
    errors = []
    for step in steps:
      self._check_layout(step, abstract_state)
      items = {STATE_ITEM: ocp.args.StandardRestore(abstract_state)}
      positions = os.path.join(self.directory, str(step), DATA_ITEM)
      if os.path.exists(os.path.join(positions, self.position_file)):
        items[DATA_ITEM] = ocp.args.JsonRestore()
      elif os.path.isdir(positions):  # not corrupt: written by another number of processes
        written = sorted(f for f in os.listdir(positions) if f.startswith("process_"))
        print(f"checkpoint at step {step} holds the data positions {', '.join(written)}, none for this process "
              f"({self.position_file})", flush=True)
      try:
        restored = self.manager.restore(step, args=ocp.args.Composite(**items))
      except Exception as e:  # orbax raises many types for unreadable files
        errors.append(f"step {step}: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
        self._move_aside(step)
        logging.warning("checkpoint at step %d is unreadable (%s); falling back to the previous one",
                        step, errors[-1])
        print(f"checkpoint at step {step} is unreadable; falling back to the previous one", flush=True)
        continue
      return restored[STATE_ITEM], restored[DATA_ITEM] if DATA_ITEM in items else None
    if errors:
      raise ValueError(f"no readable checkpoint in {self.directory}: {'; '.join(errors)}")
    return None

  def _check_layout(self, step: int, abstract_state) -> None:
    """A readable checkpoint whose array shapes differ from the model's is another layout, not
    corruption: say so and stop, instead of moving a good checkpoint aside."""
    try:
      stored = _shapes(self.manager.item_metadata(step)[STATE_ITEM].tree)
    except Exception:  # unreadable metadata: restore() below reports it as corrupt
      return
    expected = _shapes(abstract_state)
    for path, shape in expected.items():
      if path in stored and stored[path] != shape:
        raise ValueError(f"checkpoint {self.directory}/{step} stores {path} with shape {stored[path]}, "
                         f"this code expects {shape}: it was written with another parameter layout "
                         "(head/w was [D, V] before it became [V, D], docs/performance.md); resume it "
                         "with the commit that wrote it or start a new run directory")

  def _move_aside(self, step: int) -> None:
    if jax.process_index() != 0:
      return
    aside = os.path.join(os.path.dirname(self.directory), "corrupt_checkpoints")
    os.makedirs(aside, exist_ok=True)
    shutil.move(os.path.join(self.directory, str(step)), os.path.join(aside, f"{step}.{int(time.time())}"))
    self.manager.reload()

  def close(self) -> None:
    self.manager.wait_until_finished()
    self.manager.close()
