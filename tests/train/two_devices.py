"""Every check that needs 2 logical CPUs, in ONE fresh process.

Logical CPU devices must be set before TensorFlow starts, so these checks
cannot run in the test process; each used to start (and import TensorFlow
in) a process of its own. `python -m tests.train.two_devices OUTDIR DATA_DIR`
runs them in this order and writes OUTDIR/results.json after each:

* `docs_example`: the training docs' "Your own model" example, as written,
  first (its `configure_cpu_devices(2)` is the process's first), with the
  working directory OUTDIR/docs_example, where its `runs/your_model` lands;
* `replica_dropout`: tests/train/replica_dropout.py;
* `equivalence`: tests/train/equivalence.py, into OUTDIR/equivalence;
* `batch_size`: `keras-tokenlearner train --strategy mirrored --cpu-devices 2
  --batch-size 7`, its status and stderr;
* `partial_batches`: tests/train/partial_batches.py on 2 replicas;
* `tpu`: `make_strategy("tpu")` where a TPU device seems attached but this
  TensorFlow has no TPU support: what it wrote to stdout (file descriptor 1).
  Last: connecting to a TPU cluster changes TensorFlow's process-wide context.

A check that raises records {"error": traceback}; the others still run.
`run` starts the process; the session fixture `two_devices_run`
(tests/train/conftest.py) calls it once.
"""

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import traceback

from keras_tokenlearner import quiet
from tests.train import equivalence
from tests.train import replica_dropout
from tests.train.conftest import ROOT
from tests.train.conftest import TIMEOUT_SECONDS

MARKER = "<!-- your-own-model-example -->"
DOCS_WORKDIR = "runs/your_model"  # the example's workdir, relative to its cwd


def training_docs_example():
    """The Python block after MARKER in docs/training.md."""
    with open(os.path.join(ROOT, "docs", "training.md")) as page:
        match = re.search(re.escape(MARKER) + r"\n```python\n(.*?)```", page.read(), re.DOTALL)
    assert match, "the training docs' example is missing"
    return match.group(1)


def docs_example(outdir, data_dir):
    os.makedirs(os.path.join(outdir, "docs_example"))
    namespace = {"__name__": "__main__"}
    with contextlib.chdir(os.path.join(outdir, "docs_example")):
        exec(compile(training_docs_example(), "docs/training.md", "exec"), namespace)
    return {"metrics": namespace["metrics"]}


def batch_size(outdir, data_dir):
    from keras_tokenlearner import cli

    os.makedirs(os.path.join(outdir, "batch_size"))
    error = io.StringIO()
    # The default workdir, runs/..., lands in the check's own folder.
    with contextlib.chdir(os.path.join(outdir, "batch_size")), contextlib.redirect_stderr(error):
        status = cli.main(["train", "--strategy", "mirrored", "--cpu-devices", "2",
                           "--batch-size", "7", "--data-dir", data_dir])
    return {"status": status, "stderr": error.getvalue()}


def partial_batches(outdir, data_dir):
    """`.batch(n)` without drop_remainder on 2 replicas: 1499 training
    examples in batches of 64 (the last holds 27: 13 and 14 per replica) and
    the 298 test examples in batches of 9 (the last holds 1: 0 and 1)."""
    from tests.train import partial_batches as check

    return check.train_on(os.path.join(outdir, "partial_batches"), strategy="mirrored",
                          cpu_devices=2)


def tpu(outdir, data_dir):
    from keras_tokenlearner.train import strategies

    for variable in strategies.TPU_NAME_VARIABLES + ("COLAB_TPU_ADDR",):  # no TPU named
        os.environ.pop(variable, None)
    strategies.ACCEL_DEVICES = outdir  # an existing path: "a TPU chip is attached"
    written = []
    with quiet.captured_descriptor(1, written):
        try:
            strategies.make_strategy("tpu")
        except ValueError as error:
            print(error)
    return {"stdout": written[0]}


CHECKS = {
    "docs_example": docs_example,
    "replica_dropout": lambda outdir, data_dir: replica_dropout.outcome(),
    "equivalence": lambda outdir, data_dir: equivalence.main(
        os.path.join(outdir, "equivalence"), data_dir),
    "batch_size": batch_size,
    "partial_batches": partial_batches,
    "tpu": tpu,
}


def main(outdir, data_dir):
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check(outdir, data_dir) or {}
        except Exception:
            results[name] = {"error": traceback.format_exc()}
        with open(os.path.join(outdir, "results.json.tmp"), "w") as handle:
            json.dump(results, handle)
        os.replace(os.path.join(outdir, "results.json.tmp"), os.path.join(outdir, "results.json"))


def run(outdir, data_dir):
    """Runs this module in a fresh process; returns (outdir, results, process
    output): each test asserts on its own check."""
    try:
        process = subprocess.run(
            [sys.executable, "-m", "tests.train.two_devices", str(outdir), data_dir],
            cwd=ROOT, capture_output=True, text=True, timeout=3 * TIMEOUT_SECONDS,
        )
        ended, stderr = f"exit status {process.returncode}", process.stderr
    except subprocess.TimeoutExpired as timeout:  # the checks it finished still count
        ended, stderr = f"killed after {timeout.timeout} s", timeout.stderr or b""
        stderr = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    results_path = outdir / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    return outdir, results, f"{ended}\n{stderr[-3000:]}"


def result(run, name):
    """The results of check `name`; fails with what went wrong if it has none."""
    outdir, results, output = run
    assert name in results, f"the two-device process did not reach {name!r}: {output}"
    assert "error" not in results[name], results[name]["error"]
    return results[name]


if __name__ == "__main__":
    main(*sys.argv[1:3])
