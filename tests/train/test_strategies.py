"""Strategies by name: how the TPU is found, and the errors where there is none."""

import os
import subprocess
import sys

import pytest

from keras_tokenlearner.train import strategies
from tests.train.conftest import ROOT
from tests.train.conftest import TIMEOUT_SECONDS

TPU_VARIABLES = strategies.TPU_NAME_VARIABLES + ("COLAB_TPU_ADDR",)


@pytest.fixture
def no_tpu(monkeypatch, tmp_path):
    """A machine without TPU variables, whose TPU device files would be in tmp_path."""
    for variable in TPU_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(strategies, "LOCAL_TPU_DEVICES", (str(tmp_path / "accel*"),))
    return tmp_path


def test_no_tpu_address_without_a_tpu(no_tpu):
    assert strategies.tpu_address() is None


@pytest.mark.parametrize("variable", strategies.TPU_NAME_VARIABLES)
def test_a_named_tpu_is_left_to_the_resolver(no_tpu, monkeypatch, variable):
    monkeypatch.setenv(variable, "my-tpu")
    assert strategies.tpu_address() == ""


def test_colab_former_tpu_runtime_address(no_tpu, monkeypatch):
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    assert strategies.tpu_address() == "grpc://10.0.0.2:8470"


def test_a_tpu_device_file_means_a_tpu_vm(no_tpu):
    (no_tpu / "accel0").touch()
    assert strategies.tpu_address() == "local"


def test_tpu_strategy_without_a_tpu_names_the_argument(no_tpu):
    with pytest.raises(
        ValueError,
        match=r"argument `strategy`\. Expected 'tpu' only on a machine with a TPU "
        r"\(no TPU_NAME.*Received: strategy='tpu'",
    ):
        strategies.make_strategy("tpu")


def test_unreachable_local_tpu_names_the_argument(tmp_path):
    # A fresh process: connecting to a TPU cluster changes TensorFlow's
    # process-wide context, which later tests in this process would see.
    code = (
        "from keras_tokenlearner.train import strategies\n"
        f"strategies.LOCAL_TPU_DEVICES = ({str(tmp_path)!r},)\n"
        "try:\n"
        "    strategies.make_strategy('tpu')\n"
        "except ValueError as error:\n"
        "    print(error)\n"
    )
    environment = {key: value for key, value in os.environ.items() if key not in TPU_VARIABLES}
    environment["TF_CPP_MIN_LOG_LEVEL"] = "2"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    assert result.returncode == 0, result.stderr
    assert "Invalid value received for argument `strategy`" in result.stdout
    assert "only where the TPU 'local' is reachable" in result.stdout
    assert "Received: strategy='tpu'" in result.stdout
