"""The trainer and export run on TensorFlow only: under JAX or torch, the library
and the command say so in one ValueError naming the backend. The trainer's lazy
names, where their import fails, raise an ImportError that names the real error.

Each check runs in a fresh process that picks its own backend.
"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OTHER_BACKENDS = ("jax", "torch")


def backend_error(feature, backend):
    return (f"{feature} runs on the TensorFlow backend only. Expected keras.backend.backend() "
            "== 'tensorflow': set KERAS_BACKEND=tensorflow before Keras is first imported. "
            f"Received: backend='{backend}'")


# The library's TensorFlow-only entry points, and the two commands called in-process:
# prints {call: the ValueError's message, or the command's status and stderr}.
LIBRARY_AND_COMMANDS = """
import contextlib, io, json
import keras_tokenlearner as ktl
from keras_tokenlearner import cli, export
from keras_tokenlearner.train import train

model = ktl.create_model("vit_test_patch4")
calls = {
    "train": lambda: train(model="vit_test_patch4", steps=1, workdir="unused"),
    "export_saved_model": lambda: export.export_saved_model(model, "unused"),
    "build_archive": lambda: export.build_archive(model),
    "export_onnx": lambda: export.export_onnx(model, "unused.onnx"),
    "export_litert": lambda: export.export_litert(model, "unused.tflite"),
}
messages = {}
for name, call in calls.items():
    try:
        call()
    except ValueError as error:
        messages[name] = str(error)
for argv in (["train", "--steps", "1"], ["export", "--model-path", "m.keras", "--out", "x"]):
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        status = cli.main(argv)
    messages["cli " + argv[0]] = [status, stderr.getvalue()]
print(json.dumps(messages))
"""


def start(arguments, environment, cwd=ROOT):
    env = {**os.environ, **environment}
    return subprocess.Popen([sys.executable, *arguments], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finished(process):
    """(returncode, stdout, stderr) of a started process, once it ends."""
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout, stderr


@pytest.fixture(scope="module")
def other_backend_runs(tmp_path_factory):
    """The library and commands in-process under JAX and torch, and the real
    `python -m keras_tokenlearner.cli train` under JAX (started together: each
    mostly waits on its imports)."""
    cwd = str(tmp_path_factory.mktemp("other_backends"))  # where "unused" would go
    processes = {
        backend: start(["-c", LIBRARY_AND_COMMANDS], {"KERAS_BACKEND": backend,
                                                      "PYTHONPATH": ROOT}, cwd)
        for backend in OTHER_BACKENDS
    }
    processes["command"] = start(["-m", "keras_tokenlearner.cli", "train", "--steps", "1"],
                                 {"KERAS_BACKEND": "jax", "PYTHONPATH": ROOT}, cwd)
    yield processes
    for process in processes.values():
        process.kill()  # a no-op where it has ended
        process.communicate()


@pytest.mark.backend_independent  # the subprocesses pick their backends
@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_train_and_export_name_the_backend_and_the_fix(other_backend_runs, backend):
    returncode, stdout, stderr = finished(other_backend_runs[backend])
    assert returncode == 0, stderr[-3000:]
    messages = json.loads(stdout.strip().splitlines()[-1])
    assert messages.pop("train") == backend_error("keras_tokenlearner.train", backend)
    for name in ("export_saved_model", "build_archive", "export_onnx", "export_litert"):
        assert messages.pop(name) == backend_error("keras_tokenlearner.export", backend)
    for command in ("train", "export"):
        error = backend_error(f"`keras-tokenlearner {command}`", backend)
        assert messages.pop(f"cli {command}") == [
            2, f"keras-tokenlearner {command}: error: {error}\n"]
    assert not messages


@pytest.mark.backend_independent
def test_the_train_command_prints_one_line_without_a_traceback(other_backend_runs):
    returncode, _, stderr = finished(other_backend_runs["command"])
    assert returncode == 2, stderr[-3000:]
    error = backend_error("`keras-tokenlearner train`", "jax")
    assert stderr == f"keras-tokenlearner train: error: {error}\n"


@pytest.mark.backend_independent  # the subprocess picks its backend
@pytest.mark.parametrize("kind", ["ImportError", "AttributeError"])
def test_a_failing_trainer_import_shows_the_real_error(kind, tmp_path):
    """A tensorflow_datasets that cannot import (e.g. a protobuf VersionError):
    `from keras_tokenlearner.train import train` names that error, never only
    "cannot import name 'train'" (what an AttributeError gave)."""
    fake = tmp_path / "tensorflow_datasets"
    fake.mkdir()
    (fake / "__init__.py").write_text(f"raise {kind}('simulated protobuf VersionError')\n")
    environment = {"KERAS_BACKEND": "tensorflow",
                   "PYTHONPATH": os.pathsep.join([str(tmp_path), ROOT])}
    returncode, _, stderr = finished(
        start(["-c", "from keras_tokenlearner.train import train"], environment))
    assert returncode == 1
    assert stderr.splitlines()[-1] == (
        "ImportError: keras_tokenlearner.train.train could not be imported, as importing "
        f"keras_tokenlearner.train.runner raised {kind}: simulated protobuf VersionError "
        "(the trainer needs TensorFlow and tensorflow-datasets: the package's [cpu] or "
        "[gpu] extra, or [train] beside your own TensorFlow)"
    )
    assert "cannot import name" not in stderr
