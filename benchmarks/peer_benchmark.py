r"""Times this project's jitted train step against nanodo's on identical shapes, alternating them.

  pip install -e '.[bench]'   # flax, ml-collections, grain, clu, ... in a venv of its own
  python benchmarks/peer_benchmark.py [--configs=A,B,C] [--rounds=3] [--steps=5] \
      [--proxies=main=/work/main] [--variant=vw512=--xla_cpu_prefer_vector_width=512] \
      [--nanodo_path=../shared/peers/nanodo]

Each implementation runs in a worker subprocess of its own (two checkouts of this project cannot share a
process: same package names), one per (implementation, config), so the peak RSS is that config's. The
workers compile first, then take turns: in round r each times `steps` steps while the others wait, the
order rotated every round. Every figure is float32 on random tokens, AdamW + global-norm clip 1.0, every
probe and metric on, FSDP shardings over the visible devices, as train/trainer.py builds the step.
The matmul ceiling is the best rate of a large float32 matmul on the same machine.
"""

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

from absl import app, flags

flags.DEFINE_list("configs", ["A", "B", "C"], "Configs to time (A, B, C).")
flags.DEFINE_integer("rounds", 3, "Alternating rounds per config.")
flags.DEFINE_integer("steps", 5, "Timed steps per implementation per round.")
flags.DEFINE_multi_string("proxies", [], "Extra checkouts of this project to time, as LABEL=PATH "
                          "(e.g. main=/work/main); this checkout is always timed as 'proxies'.")
flags.DEFINE_multi_string("variant", [], "This checkout timed again with extra XLA flags, as LABEL=FLAGS "
                          "(e.g. vw512=--xla_cpu_prefer_vector_width=512): a paired flag ablation.")
flags.DEFINE_string("nanodo_path", "../shared/peers/nanodo", "The nanodo package folder (skipped if missing).")
flags.DEFINE_integer("matmul_size", 4096, "Side of the square float32 matmul for the ceiling.")
flags.DEFINE_string("worker", None, "Internal: run as a worker of this kind ('proxies', 'nanodo', 'matmul').")
flags.DEFINE_string("path", None, "Internal: the worker's checkout or nanodo folder.")
flags.DEFINE_string("config", None, "Internal: the worker's config.")
FLAGS = flags.FLAGS

# name: (d_model, layers, heads, vocab, batch, seq_len). C is gin/repro.gin's CPU suite shape.
CONFIGS = {"A": (128, 2, 2, 8192, 16, 128), "B": (256, 4, 4, 8000, 16, 256), "C": (128, 2, 2, 2048, 12, 128)}
NANODO_HINT = ("nanodo not found at {path}: get google-deepmind/nanodo (commit 10aefde) and pass "
               "--nanodo_path=<its nanodo/ folder>; install the extra with pip install -e '.[bench]'")


def _tokens(vocab: int, batch: int, length: int):
  import numpy as np
  return np.random.default_rng(0).integers(0, vocab, (batch, length)).astype(np.int32)


def _proxies_step(path: str, config: str):
  """The project's step at `path`, built by its train/programs.py as its trainer builds it."""
  sys.path.insert(0, os.path.abspath(path))
  import jax
  import jax.numpy as jnp
  import numpy as np
  from model.config import ModelConfig
  from train import programs, sharding
  from train.optimizer import OptimizerConfig
  from train.step import StepHyper
  d, layers, heads, vocab, batch, length = CONFIGS[config]
  model_cfg = ModelConfig(vocab_size=vocab, d_model=d, num_layers=layers, num_heads=heads)
  opt_cfg = OptimizerConfig(lr=1e-3, steps=10_000, warmup_steps=100, clip_norm=1.0)
  mesh = sharding.make_mesh()
  built = programs.build(model_cfg, opt_cfg.static, length, mesh)
  state = built.init(jax.random.PRNGKey(0))
  hyper = jax.device_put(StepHyper(opt_cfg.hyper, np.float32(1e-4)), sharding.replicated(mesh))
  tokens = _tokens(vocab, batch, length + 1)
  data = {"inputs": jnp.asarray(tokens[:, :-1]), "targets": jnp.asarray(tokens[:, 1:]),
          "weights": jnp.ones((batch, length), jnp.float32)}
  return (lambda state, batch: built.train_step(state, batch, hyper),
          lambda state, batch: built.train_step.lower(state, batch, hyper), state, data)


def _nanodo_step(path: str, config: str):
  """nanodo's Trainer.step_fn (flax, FSDP, donation, internal metrics on) on the same shapes."""
  import types
  for name in ("clu.metric_writers", "clu.periodic_actions"):  # TensorFlow-backed, unused here
    sys.modules[name] = types.ModuleType(name)
  sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
  import jax
  import jax.numpy as jnp
  import ml_collections
  from jax.sharding import Mesh
  from nanodo import model as nanodo_model
  from nanodo import train as nanodo_train
  d, layers, heads, vocab, batch, length = CONFIGS[config]
  c = ml_collections.ConfigDict({
      "model": {"D": d, "H": heads, "L": length, "N": layers, "F": 4 * d, "dtype": "float32",
                "fsdp_enabled": True, "remat": False},
      "opt": {"num_train_steps": 10_000, "peak_learning_rate": 1e-3, "init_learning_rate": 1e-4,
              "final_learning_rate": 1e-5, "warmup_steps": 100, "decay_type": "cosine",
              "weight_decay": 1e-4, "clip_by_global_norm": 1.0, "optimizer": "adamw"},
      "log_internal_metrics": True})
  import numpy as np
  mesh = Mesh(np.asarray(jax.devices()), ("data",))
  module = nanodo_model.TransformerDo(nanodo_model.DoConfig(**c.model, V=vocab))
  shardings, state = nanodo_train._init_train_state(c, module, jax.random.PRNGKey(0), mesh)
  trainer = nanodo_train.Trainer(c, state, mesh, shardings)
  tokens = _tokens(vocab, batch, length)
  # step_fn donates its batch: a fresh device copy per call, made outside the timed region.
  return trainer.step_fn, trainer.step_fn.lower, trainer.state, lambda: jnp.asarray(tokens)


def _serve(step, lower, state, batch_fn) -> None:
  """Compiles, reports XLA's FLOPs (lower(state, batch) lowers the jitted step), then times `steps`
  steps per 'time N' line on stdin."""
  import jax
  batch = batch_fn()
  compiled = lower(state, batch).compile()
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, list) else cost
  start = time.perf_counter()
  state, metrics = step(state, batch)
  jax.block_until_ready((state, metrics))
  _reply({"flops": float(cost["flops"]), "compile_s": time.perf_counter() - start})
  for line in sys.stdin:
    times = []
    for _ in range(int(line.split()[1])):
      batch = batch_fn()
      jax.block_until_ready(batch)
      start = time.perf_counter()
      state, metrics = step(state, batch)
      jax.block_until_ready((state, metrics))
      times.append(time.perf_counter() - start)
    _reply({"times": times, "loadavg": os.getloadavg()[0],
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def _matmul_ceiling(n: int) -> None:
  import jax
  import jax.numpy as jnp
  a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
  matmul = jax.jit(lambda x, y: x @ y)
  jax.block_until_ready(matmul(a, a))
  best = float("inf")
  for _ in range(5):
    start = time.perf_counter()
    jax.block_until_ready(matmul(a, a))
    best = min(best, time.perf_counter() - start)
  _reply({"gflops": 2 * n**3 / best / 1e9, "seconds": best, "loadavg": os.getloadavg()[0]})


def _reply(obj) -> None:
  print("RESULT " + json.dumps(obj), flush=True)


def _worker_main() -> None:
  if FLAGS.worker == "matmul":
    _matmul_ceiling(FLAGS.matmul_size)
  elif FLAGS.worker == "nanodo":
    _serve(*_nanodo_step(FLAGS.path, FLAGS.config))
  else:
    step, lower, state, batch = _proxies_step(FLAGS.path, FLAGS.config)
    _serve(step, lower, state, lambda: batch)


class Worker:
  """A worker subprocess speaking one JSON line per request."""

  def __init__(self, kind: str, path: str = "", config: str = "", xla_flags: str = ""):
    args = [sys.executable, os.path.abspath(__file__), f"--worker={kind}", f"--path={path}",
            f"--config={config}", f"--matmul_size={FLAGS.matmul_size}"]
    env = dict(os.environ, XLA_FLAGS=f"{os.environ.get('XLA_FLAGS', '')} {xla_flags}".strip())
    self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

  def read(self) -> dict:
    for line in self.proc.stdout:
      if line.startswith("RESULT "):
        return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"worker {self.proc.args[2:]} exited with {self.proc.wait()}")

  def time(self, steps: int) -> dict:
    self.proc.stdin.write(f"time {steps}\n")
    self.proc.stdin.flush()
    return self.read()

  def close(self) -> None:
    self.proc.stdin.close()
    self.proc.wait()


def _machine() -> str:
  model = platform.processor() or "unknown CPU"
  try:
    with open("/proc/cpuinfo") as f:
      model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
  except (OSError, StopIteration):
    pass
  return f"{model}, {os.cpu_count()} logical cores, python {platform.python_version()}"


def _time_config(config: str, impls: dict[str, tuple[str, str, str]]) -> dict[str, dict]:
  workers = {}
  for label, (kind, path, xla_flags) in impls.items():  # compile one at a time: compiles would contend
    workers[label] = Worker(kind, path, config, xla_flags)
    workers[label].info = workers[label].read()
  labels = list(workers)
  times = {label: [] for label in labels}
  loads, rss = [], {}
  for r in range(FLAGS.rounds):
    for label in labels[r % len(labels):] + labels[:r % len(labels)]:
      result = workers[label].time(FLAGS.steps)
      times[label] += result["times"]
      loads.append(result["loadavg"])
      rss[label] = result["peak_rss_mib"]
  for worker in workers.values():
    worker.close()
  d, layers, heads, vocab, batch, length = CONFIGS[config]
  return {label: {"median": statistics.median(ts), "min": min(ts), "max": max(ts),
                  "tokens_per_s": batch * length / statistics.median(ts),
                  "flops": workers[label].info["flops"],
                  "gflops_per_s": workers[label].info["flops"] / statistics.median(ts) / 1e9,
                  "peak_rss_mib": rss[label], "loadavg": (min(loads), max(loads))}
          for label, ts in times.items()}


def main(argv):
  del argv
  if FLAGS.worker:
    return _worker_main()
  here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  impls = {"proxies": ("proxies", here, "")}
  for spec in FLAGS.proxies:
    label, _, path = spec.partition("=")
    if not path or not os.path.isdir(path):
      print(f"error: --proxies={spec!r}: expected LABEL=PATH of a checkout of this project", file=sys.stderr)
      sys.exit(2)
    impls[label] = ("proxies", path, "")
  for spec in FLAGS.variant:
    label, _, xla_flags = spec.partition("=")
    if not label or not xla_flags.startswith("--xla_"):
      print(f"error: --variant={spec!r}: expected LABEL=--xla_FLAG=VALUE[ --xla_...]", file=sys.stderr)
      sys.exit(2)
    impls[label] = ("proxies", here, xla_flags)
  bad = [c for c in FLAGS.configs if c not in CONFIGS]
  if bad:
    print(f"error: --configs={','.join(bad)}: expected some of {','.join(CONFIGS)}", file=sys.stderr)
    sys.exit(2)
  if os.path.isfile(os.path.join(FLAGS.nanodo_path, "train.py")):
    impls["nanodo"] = ("nanodo", FLAGS.nanodo_path, "")
  else:
    print(NANODO_HINT.format(path=FLAGS.nanodo_path), flush=True)
  print(f"machine: {_machine()}; loadavg at start {os.getloadavg()}", flush=True)
  ceiling = Worker("matmul")
  peak = ceiling.read()
  ceiling.close()
  print(f"matmul ceiling: {peak['gflops']:.1f} GFLOP/s ({FLAGS.matmul_size}^3 float32 in "
        f"{peak['seconds']:.3f} s, loadavg {peak['loadavg']:.2f})", flush=True)
  print("| config | impl | step median (min-max) | tokens/s | XLA GFLOP/step | GFLOP/s | % ceiling "
        "| peak RSS | vs nanodo | loadavg |")
  print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
  for config in FLAGS.configs:
    results = _time_config(config, impls)
    reference = results.get("nanodo")
    for label, r in results.items():
      ratio = f"{reference['median'] / r['median']:.2f}x" if reference else "-"
      print(f"| {config} | {label} | {r['median']:.3f} s ({r['min']:.3f}-{r['max']:.3f}) "
            f"| {r['tokens_per_s']:,.0f} | {r['flops'] / 1e9:.1f} | {r['gflops_per_s']:.1f} "
            f"| {100 * r['gflops_per_s'] / peak['gflops']:.0f}% | {r['peak_rss_mib']:.0f} MiB | {ratio} "
            f"| {r['loadavg'][0]:.2f}-{r['loadavg'][1]:.2f} |", flush=True)


if __name__ == "__main__":
  app.run(main)
