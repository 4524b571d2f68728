"""The command line: the demo runs, bad input prints one line without a
traceback, `--help` and the demo load no TensorFlow under JAX, and
TensorFlow's C++ log lines show only with `--verbose`."""

import os
import subprocess
import sys

import pytest

from keras_tokenlearner import cli
from keras_tokenlearner.version import __version__

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TENSORFLOW_LOG_LINES = ("oneDNN", "cpu_feature_guard", "absl::InitializeLog")


def test_demo_reports_positions_and_tokens(capsys):
    assert cli.main(["demo", "--num-tokens", "4", "--image-size", "16"]) == 0
    output = capsys.readouterr().out
    assert "TokenLearner: 16 positions -> 4 tokens" in output
    assert output.count("strongest weight") == 4


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--num-tokens", "0"], "num_tokens=0"),
        (["demo", "--image-size", "30"], "image_size=30"),
        (["demo", "--token-learner-version", "3"], "version='3'"),
        (["export", "--model-path", "missing.keras", "--out", "exports"],
         "`model_path`. Expected an existing .keras file. Received: model_path='missing.keras'"),
    ],
)
def test_bad_input_prints_error_without_traceback(argv, message, capsys):
    assert cli.main(argv) == 2
    error = capsys.readouterr().err
    assert message in error
    assert "Traceback" not in error


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"keras-tokenlearner {__version__}\n"


def test_unknown_command_is_one_line_naming_the_known_ones(capsys):
    assert cli.main(["trian", "--epochs", "3"]) == 2
    assert capsys.readouterr().err == (
        "keras-tokenlearner: error: unknown command 'trian' (did you mean 'train'?). "
        "Known commands: train, export, demo.\n"
    )


@pytest.mark.parametrize(
    "argv, command, show_tf_logs",
    [
        ([], "train", False),
        (["--epochs", "3"], "train", False),  # flags alone mean train
        (["--verbose", "--epochs", "3"], "train", True),
        (["export", "--model-path", "m.keras", "--out", "e", "--verbose"], "export", True),
        (["demo"], "demo", False),
    ],
)
def test_command_and_verbose_flag(argv, command, show_tf_logs):
    args = cli.build_parser().parse_args(cli._with_command(argv))
    assert (args.command, args.show_tf_logs) == (command, show_tf_logs)
    assert "verbose" not in vars(args)  # TrainConfig.verbose (progress) keeps its default


def test_a_run_that_had_to_stop_exits_1(monkeypatch, capsys):
    from keras_tokenlearner.train.loop import TrainingError

    def stop(args):
        raise TrainingError("the loss is NaN at step 3")

    monkeypatch.setattr(cli, "_run", stop)
    assert cli.main(["--steps", "3"]) == 1
    stopped = "keras-tokenlearner train: stopped: the loss is NaN at step 3\n"
    assert capsys.readouterr().err == stopped


JAX_CODE = """
import contextlib, io, sys
from keras_tokenlearner import cli
for argv in (["--help"], ["--version"], ["train", "--help"], ["export", "--help"],
             ["demo", "--help"], ["demo", "--image-size", "8", "--num-tokens", "2",
                                  "--batch-size", "1"]):
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(argv) == 0, argv
    print(argv[0], "tensorflow" in sys.modules)
"""
# The command's own process (python -m): the package hides the log lines on import.
EXPORT_MISSING = ["-m", "keras_tokenlearner.cli", "export", "--model-path", "missing.keras",
                  "--out", "x"]
FRESH_RUNS = {  # name: (python's arguments, environment)
    "jax": (["-c", JAX_CODE], {"KERAS_BACKEND": "jax"}),
    "quiet": (EXPORT_MISSING, {"KERAS_BACKEND": "tensorflow"}),
    "verbose": (EXPORT_MISSING + ["--verbose"], {"KERAS_BACKEND": "tensorflow"}),
}


@pytest.fixture(scope="module")
def fresh_processes():
    """The module's fresh interpreters, started together (each mostly waits on
    its imports), without the TF_CPP_MIN_LOG_LEVEL the tests' conftest sets."""
    processes = {}
    for name, (arguments, environment) in FRESH_RUNS.items():
        env = {**os.environ, **environment}
        env.pop("TF_CPP_MIN_LOG_LEVEL", None)
        processes[name] = subprocess.Popen(
            [sys.executable, *arguments], cwd=ROOT, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
    yield processes
    for process in processes.values():
        process.kill()  # a no-op where it has ended
        process.communicate()


def finished(process):
    """(returncode, stdout, stderr) of a started process, once it ends."""
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout, stderr


def test_help_version_and_demo_import_no_tensorflow_under_jax(fresh_processes):
    returncode, stdout, stderr = finished(fresh_processes["jax"])
    assert returncode == 0, stderr[-3000:]
    assert stdout.split() == ["--help", "False", "--version", "False", "train", "False",
                              "export", "False", "demo", "False", "demo", "False"]


def test_tensorflow_log_lines_show_only_with_verbose(fresh_processes):
    runs = {}
    for verbose in (False, True):
        returncode, _, stderr = finished(fresh_processes["verbose" if verbose else "quiet"])
        assert returncode == 2, stderr[-3000:]
        runs[verbose] = stderr
    error = "keras-tokenlearner export: error: Invalid value received for argument `model_path`"
    assert runs[False].startswith(error) and runs[False].count("\n") == 1, runs[False]
    assert error in runs[True]
    if not any(line in runs[True] for line in TENSORFLOW_LOG_LINES):
        pytest.skip("this TensorFlow writes no start-up log lines to hide")
