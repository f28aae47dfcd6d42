r"""Prints the train step's speed for a gin config: steps/s, tokens/s, and the model FLOP rate.

  python benchmarks/step_benchmark.py --gin_file=gin/qkln.gin --gin_file=gin/local.gin [--steps=20]

Random token batches (the data pipeline has its own benchmark): this measures the jitted step alone.
"""

import resource
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from model.params import count_params
from train import allocator, configs, ginparse
from train.optimizer import AdamW
from train.step import StepHyper, make_init, make_train_step, transformed_model

flags.DEFINE_multi_string("gin_file", ["gin/qkln.gin", "gin/local.gin"], "Gin files.")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings.")
flags.DEFINE_integer("steps", 20, "Timed steps (after one compile step).")
flags.DEFINE_integer("vocab_size", 8192, "Vocabulary size (the embedded corpus default).")
flags.DEFINE_enum("malloc", "trainer", ["trainer", "glibc_default"],
                  "trainer: train/allocator.py's settings, as the trainer runs; glibc_default: without them.")
FLAGS = flags.FLAGS


def main(_):
  if FLAGS.malloc == "trainer":
    allocator.keep_step_buffers_mapped()
  ginparse.parse(FLAGS.gin_file, FLAGS.gin_bindings)
  run_configs = configs.from_gin().with_vocab_size(FLAGS.vocab_size)
  cfg, model_cfg, opt_cfg = run_configs.train, run_configs.model, run_configs.optimizer
  optimizer = AdamW(opt_cfg.static)
  hyper = StepHyper(opt_cfg.hyper, np.float32(cfg.z_loss_coef))
  model = transformed_model(model_cfg)
  state = jax.jit(make_init(model, optimizer, cfg.seq_len))(jax.random.PRNGKey(0))
  step = jax.jit(make_train_step(model, optimizer))
  tokens = jax.random.randint(jax.random.PRNGKey(1), (cfg.batch_size, cfg.seq_len + 1), 0, FLAGS.vocab_size)
  batch = {"inputs": tokens[:, :-1], "targets": tokens[:, 1:],
           "weights": jnp.ones((cfg.batch_size, cfg.seq_len), jnp.float32)}
  start = time.time()
  state, metrics = step(state, batch, hyper)
  jax.block_until_ready(metrics)
  compile_s = time.time() - start
  faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
  start = time.time()
  for _ in range(FLAGS.steps):
    state, metrics = step(state, batch, hyper)
  jax.block_until_ready(metrics)
  per_step = (time.time() - start) / FLAGS.steps
  faults_per_step = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / FLAGS.steps
  total, _ = count_params(state.params)
  embed = FLAGS.vocab_size * model_cfg.d_model
  tokens_per_step = cfg.batch_size * cfg.seq_len
  attn = 12 * model_cfg.num_layers * cfg.seq_len * model_cfg.attn_width  # 6 * 2 * L * width per token
  flops = tokens_per_step * (6 * (total - embed) + attn)
  print(f"devices={jax.device_count()} batch={cfg.batch_size}x{cfg.seq_len} d={model_cfg.d_model} "
        f"layers={model_cfg.num_layers} vocab={FLAGS.vocab_size} params={total:,}")
  print(f"compile {compile_s:.1f}s  step {per_step * 1e3:.1f}ms  {1 / per_step:.2f} steps/s  "
        f"{tokens_per_step / per_step:,.0f} tokens/s  {flops / per_step / 1e9:.1f} GFLOP/s  "
        f"{faults_per_step:,.0f} page faults/step")


if __name__ == "__main__":
  app.run(main)
