#!/usr/bin/env bash
# The whole test suite: every test under the TensorFlow backend, then the
# backend-agnostic tests (layers, models, pretrained loading, their docstring examples)
# under JAX,
# then the Colab tutorials, executed top to bottom with SMOKE=1.
# Extra arguments go to both pytest runs, e.g. `bash tests/run_all.sh -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"

echo "=== KERAS_BACKEND=tensorflow: all tests"
KERAS_BACKEND=tensorflow python3 -m pytest -q "$@"

echo "=== KERAS_BACKEND=jax: backend-agnostic tests"
KERAS_BACKEND=jax python3 -m pytest -q tests/layers tests/models tests/pretrained \
    keras_tokenlearner/layers keras_tokenlearner/models keras_tokenlearner/pretrained "$@"

echo "=== colab/*.ipynb executed with SMOKE=1"
(cd colab && SMOKE=1 python3 -m pytest -q -p no:cacheprovider -o addopts="" --nbmake \
    --nbmake-timeout=600 ./*.ipynb "$@")
