"""Cost of the instability monitor per log step (instability/detectors.py), on records with the key set of a
run of `--layers` blocks; compare with the step time of the same run (the monitor runs once per log, i.e.
every TrainConfig.log_every steps).

  python -m benchmarks.monitor_overhead --layers=6 --logs=2000
"""

import argparse
import math
import random
import time

from instability.detectors import Monitor, Thresholds

PARAMS = ("attn_norm/scale", "attn/query/w", "attn/key/w", "attn/value/w", "attn/query_norm/scale",
          "attn/key_norm/scale", "attn/out/w", "mlp_norm/scale", "mlp/dense_in/w", "mlp/dense_out/w")


def record(step: int, layers: int, rng: random.Random) -> dict:
  """A metrics.jsonl record with docs/run_directory.md's keys and plausible, non-warning values."""
  names = ["embed/embeddings", "final_norm/scale", "head/w"] + [f"block_{i}/{p}" for i in range(layers) for p in PARAMS]
  rec = {"step": step, "train/loss": 4 + 0.01 * rng.random(), "train/z_loss": 1e-3, "lr": 1e-3,
         "grad/global_norm": 1.0, "logits/mean": 0.0, "logits/log_z": 8.0 + 0.01 * rng.random()}
  for i in range(layers):
    for k in ("attn/max_logit", "attn/q_rms", "attn/k_rms", "attn/qk_cosine", "block/out_rms"):
      rec[f"{k}/block_{i}"] = 10 + rng.random()
  for n in names:
    rec[f"grad/rms/{n}"] = 1e-3 * (1 + 0.1 * rng.random())
    rec[f"update/rms/{n}"] = 0.5 * (1 + 0.1 * rng.random())
    rec[f"param/rms/{n}"] = 0.02
  return rec


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--layers", type=int, default=6)
  parser.add_argument("--logs", type=int, default=2000)
  args = parser.parse_args()
  rng = random.Random(0)
  records = [record(10 * (i + 1), args.layers, rng) for i in range(args.logs)]
  monitor = Monitor(Thresholds())
  start = time.perf_counter()
  fired = sum(len(monitor.observe(r)) for r in records)
  per_log = (time.perf_counter() - start) / args.logs
  print(f"{len(records[0])} keys per record, {args.layers} blocks: {per_log * 1e6:.0f} us per log "
        f"({fired} warnings fired on the calm history)")


if __name__ == "__main__":
  main()
