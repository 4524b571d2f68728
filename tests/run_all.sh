#!/usr/bin/env bash
# The whole test suite, in three passes:
#   1. every test under the TensorFlow backend;
#   2. the backend-agnostic tests (layers, models, pretrained loading, their
#      docstring examples) again under JAX;
#   3. the Colab tutorials, executed top to bottom with SMOKE=1.
# Passes 2 and 3, and pass 1's tests/export, run one after the other in the
# background while the rest of pass 1 runs: most of a test's time is
# single-threaded (tracing, compiling, Python), so two streams share 2 cores
# well. Their output follows pass 1's. Set
# TESTS_IN_SEQUENCE=1 to run the passes one after another instead.
# Extra arguments go to every pytest run, e.g. `bash tests/run_all.sh -x`.
set -uo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"

# TF Serving's protos, to read the export's warmup records back
# (tests/export/test_warmup.py). Its wheel requires the full `tensorflow`
# package (not tensorflow-cpu) and 2.21's needs protobuf >= 6.31, so 2.19.0
# goes in without its dependencies; the package itself never imports it.
python3 -c "import tensorflow_serving" 2>/dev/null ||
    python3 -m pip install --quiet --no-deps "tensorflow-serving-api==2.19.0" || exit $?

jax_and_notebooks() {
    set -e
    echo "=== KERAS_BACKEND=jax: backend-agnostic tests"
    # Tests marked backend_independent (pure Python, file parsing, a subprocess that
    # picks its own backend) run in the TensorFlow pass: their outcome cannot change here.
    KERAS_BACKEND=jax python3 -m pytest -q -p no:cacheprovider -m "not backend_independent" \
        tests/layers tests/models \
        tests/pretrained keras_tokenlearner/layers keras_tokenlearner/models \
        keras_tokenlearner/pretrained "$@"

    if [ "${TESTS_IN_SEQUENCE:-0}" != "1" ]; then
        # Moved out of pass 1 to even out the two streams.
        echo "=== KERAS_BACKEND=tensorflow: tests/export"
        KERAS_BACKEND=tensorflow python3 -m pytest -q -p no:cacheprovider tests/export "$@"
    fi

    echo "=== colab/*.ipynb executed with SMOKE=1"
    (cd colab && SMOKE=1 python3 -m pytest -q -p no:cacheprovider -o addopts="" --nbmake \
        --nbmake-timeout=600 ./*.ipynb "$@")
}

if [ "${TESTS_IN_SEQUENCE:-0}" = "1" ]; then
    echo "=== KERAS_BACKEND=tensorflow: all tests"
    KERAS_BACKEND=tensorflow python3 -m pytest -q "$@" || exit $?
    (jax_and_notebooks "$@")
    exit $?
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
(jax_and_notebooks "$@") > "$log" 2>&1 &
background=$!

echo "=== KERAS_BACKEND=tensorflow: all tests but tests/export (which runs alongside, with the JAX pass and the notebooks)"
KERAS_BACKEND=tensorflow python3 -m pytest -q --ignore=tests/export "$@"
tensorflow_status=$?
wait "$background"
background_status=$?
cat "$log"
[ "$tensorflow_status" -eq 0 ] && [ "$background_status" -eq 0 ]
