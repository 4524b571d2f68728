"""Fixtures for the TensorFlow-only training tests."""

import os
import shutil
import subprocess
import sys
import types

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT_SECONDS = 300
TINY_RUN = [
    "--model", "vit_test_patch4_tokenlearner", "--image-size", "16", "--batch-size", "8",
    "--no-export",
]
# A short zoo run with dropout: 4 steps, checkpoints at steps 2 and 4.
DROPOUT_RUN = dict(
    model="vit_test_patch4_tokenlearner", model_overrides={"dropout_rate": 0.1},
    image_size=16, batch_size=8, steps=4, checkpoint_every=2, export=False, verbose=False,
)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """One TFDS data directory for the session: each builder runs once."""
    return str(tmp_path_factory.mktemp("tensorflow_datasets"))


def tree_state(root):
    """`{relative path: (size, mtime)}` of every file under `root`."""
    state = {}
    for folder, _, names in os.walk(root):
        for name in names:
            stat = os.stat(os.path.join(folder, name))
            state[os.path.relpath(os.path.join(folder, name), root)] = (
                stat.st_size, stat.st_mtime_ns)
    return state


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory, data_dir):
    """DROPOUT_RUN trained once for the session: `.workdir`, `.metrics`, `.arguments`
    (train's keyword arguments without the workdir). Read it, never write to
    it: a test that resumes, retrains or removes files takes `finished_copy`.
    The session fails at teardown if a test changed a file of it."""
    from keras_tokenlearner.train import train

    workdir = str(tmp_path_factory.mktemp("finished_run") / "run")
    arguments = dict(DROPOUT_RUN, data_dir=data_dir)
    metrics = train(**arguments, workdir=workdir)
    before = tree_state(workdir)
    yield types.SimpleNamespace(workdir=workdir, metrics=metrics, arguments=arguments)
    assert tree_state(workdir) == before, "a test changed the shared finished run"


@pytest.fixture
def finished_copy(finished_run, tmp_path):
    """A copy of the session's finished run in this test's tmp_path: its workdir."""
    return shutil.copytree(finished_run.workdir, str(tmp_path / "finished_copy"))


@pytest.fixture(scope="session")
def two_devices_run(tmp_path_factory, data_dir):
    """The checks that need 2 logical CPUs or a fresh process, all run once,
    in one process (tests/train/two_devices.py): (outdir, results, output)."""
    from tests.train import two_devices

    return two_devices.run(tmp_path_factory.mktemp("two_devices"), data_dir)


def run_cli(arguments, environment=None, timeout=TIMEOUT_SECONDS):
    """Runs `python -m keras_tokenlearner.train ARGS` in a fresh process."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(environment or {}))
    return subprocess.run(
        [sys.executable, "-m", "keras_tokenlearner.train", *arguments],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )
