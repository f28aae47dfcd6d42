#!/usr/bin/env bash
# Creates .venv with the project and its test dependencies (CPU JAX). Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/python -c "import jax, haiku, seqio, orbax.checkpoint; print('jax', jax.__version__, jax.devices())"
