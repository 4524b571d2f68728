"""Fixtures for the TensorFlow-only training tests."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT_SECONDS = 300
TINY_RUN = [
    "--model", "vit_test_patch4_tokenlearner", "--image-size", "16", "--batch-size", "8",
    "--no-export",
]


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """One TFDS data directory for the session: each builder runs once."""
    return str(tmp_path_factory.mktemp("tensorflow_datasets"))


def run_cli(arguments, environment=None, timeout=TIMEOUT_SECONDS):
    """Runs `python -m keras_tokenlearner.train ARGS` in a fresh process."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(environment or {}))
    return subprocess.run(
        [sys.executable, "-m", "keras_tokenlearner.train", *arguments],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )
