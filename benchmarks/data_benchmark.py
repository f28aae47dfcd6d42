r"""Prints the tokens/s each data source produces here and its ratio to what the trainer consumes.

  python benchmarks/data_benchmark.py [--steps=300] [--vocab_path=PATH] [--trainer_tokens_per_s=N]

Sources: "embedded" (cached token streams), "c4_local" (allenai/c4-format shards written to a temp
dir from the embedded corpus's English pydoc topics, tokenized with the T5 vocabulary), "c4" (TFDS;
skipped with the reason when c4/en is not prepared or GCS is unreachable). The trainer's rate is
benchmarks/step_benchmark.py's for the gin/local.gin preset (batch 16 x seq 128), unless given.
"""

import gzip
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

from absl import app, flags

from train.data import embedded_corpus, make_dataset
from train.data.c4 import c4_local_source, c4_source
from train.data.errors import DataError
from train.data.streaming import StreamingDataset

REPO = pathlib.Path(__file__).resolve().parents[1]
BATCH_SIZE, SEQ_LEN = 16, 128  # gin/local.gin
TARGET_RATIO = 5.0

flags.DEFINE_integer("steps", 300, "Timed batches per source (after one warm-up batch).")
flags.DEFINE_string("vocab_path", str(REPO.parent / "shared" / "vocab" / "t5_cc_all.32000.100extra.spm.model"),
                    "T5 SentencePiece model for the C4 sources.")
flags.DEFINE_float("trainer_tokens_per_s", None, "Skip measuring the trainer; use this rate.")
FLAGS = flags.FLAGS


def write_c4_shards(directory: pathlib.Path, num_train_shards: int = 4) -> None:
  """The pydoc topics' paragraphs as allenai/c4 JSON lines: English prose, like C4's documents."""
  paragraphs = [p.strip() for doc in embedded_corpus.pydoc_topic_documents()
                for p in doc.text.split("\n\n") if len(p.strip()) > 200]
  shards = {f"c4-train.{k:05d}-of-01024.json.gz": paragraphs[k::num_train_shards]
            for k in range(num_train_shards)}
  shards["c4-validation.00000-of-00008.json.gz"] = paragraphs[:200]
  for name, texts in shards.items():
    with gzip.open(directory / name, "wt", encoding="utf-8") as f:
      f.writelines(json.dumps({"text": t, "timestamp": "2019-04-22T08:07:02Z", "url": "-"}) + "\n"
                   for t in texts)


def tokens_per_s(dataset, steps: int) -> float:
  batches = dataset.train_batches()
  next(batches)  # warm-up: the first window's read and tokenization, TensorFlow's start
  start = time.perf_counter()
  for _ in range(steps):
    next(batches)
  return steps * BATCH_SIZE * SEQ_LEN / (time.perf_counter() - start)


def streaming(source) -> StreamingDataset:
  return StreamingDataset(source, batch_size=BATCH_SIZE, seq_len=SEQ_LEN, seed=0, num_eval_batches=0,
                          packing="concat", process_index=0, process_count=1)


def trainer_tokens_per_s() -> float:
  """The jitted step's rate for the local preset, from benchmarks/step_benchmark.py."""
  result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "step_benchmark.py"), "--steps=5"],
                          cwd=REPO, capture_output=True, text=True, check=True)
  match = re.search(r"([\d,]+) tokens/s", result.stdout)
  if match is None:
    raise RuntimeError(f"step_benchmark.py printed no tokens/s: {result.stdout[-500:]}")
  return float(match.group(1).replace(",", ""))


def main(_):
  rates: dict[str, float | str] = {}
  rates["embedded"] = tokens_per_s(make_dataset(BATCH_SIZE, SEQ_LEN, 0, 0, source="embedded",
                                                process_index=0, process_count=1), FLAGS.steps)
  with tempfile.TemporaryDirectory() as tmp:
    directory = pathlib.Path(tmp)
    if os.path.isfile(FLAGS.vocab_path):
      write_c4_shards(directory)
      source = c4_local_source(train_files=str(directory / "c4-train.*"),
                               validation_files=str(directory / "c4-validation.*"),
                               vocab_path=FLAGS.vocab_path)
      rates["c4_local"] = tokens_per_s(streaming(source), FLAGS.steps)
    else:
      rates["c4_local"] = f"skipped: no T5 vocabulary at {FLAGS.vocab_path} (bind --vocab_path)"
    try:
      rates["c4"] = tokens_per_s(streaming(c4_source(vocab_path=FLAGS.vocab_path)),
                                 FLAGS.steps)
    except DataError as e:
      rates["c4"] = f"skipped: {str(e).splitlines()[0]}"
  trainer = FLAGS.trainer_tokens_per_s or trainer_tokens_per_s()
  print(f"trainer (gin/local.gin, batch {BATCH_SIZE} x seq {SEQ_LEN}): {trainer:,.0f} tokens/s")
  for name, rate in rates.items():
    if isinstance(rate, str):
      print(f"{name:>9}: {rate}")
    else:
      verdict = "ok" if rate >= TARGET_RATIO * trainer else f"BELOW the {TARGET_RATIO:g}x target"
      print(f"{name:>9}: {rate:,.0f} tokens/s = {rate / trainer:,.1f}x the trainer ({verdict})")


if __name__ == "__main__":
  app.run(main)
