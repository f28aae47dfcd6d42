#!/usr/bin/env bash
# Creates .venv with the project and its test dependencies (CPU JAX). Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
# TensorFlow (under seqio) prints C++ start-up lines on import: train/quiet.py hides them, keeping real errors.
.venv/bin/python -c "from train import quiet; quiet.import_tensorflow()
import jax, haiku, seqio, orbax.checkpoint; print('jax', jax.__version__, jax.devices())"
