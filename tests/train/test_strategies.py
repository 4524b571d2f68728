"""Strategies by name: how the TPU is found, and the errors where there is none."""

import pytest

from keras_tokenlearner.train import strategies
from tests.train import two_devices

TPU_VARIABLES = strategies.TPU_NAME_VARIABLES + ("COLAB_TPU_ADDR",)


@pytest.fixture
def no_tpu(monkeypatch, tmp_path):
    """A machine without TPU variables, whose device files would be in tmp_path."""
    for variable in TPU_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "dev" / "vfio").mkdir(parents=True)
    monkeypatch.setattr(strategies, "ACCEL_DEVICES", str(tmp_path / "dev" / "accel[0-9]*"))
    monkeypatch.setattr(strategies, "VFIO_GROUPS", str(tmp_path / "dev" / "vfio" / "[0-9]*"))
    monkeypatch.setattr(strategies, "IOMMU_GROUP_VENDORS",
                        str(tmp_path / "iommu_groups" / "{group}" / "devices" / "*" / "vendor"))
    return tmp_path


def add_vfio_device(root, group, vendor):
    """A vfio group whose one PCI device has `vendor`."""
    (root / "dev" / "vfio" / str(group)).touch()
    device = root / "iommu_groups" / str(group) / "devices" / "0000:00:04.0"
    device.mkdir(parents=True)
    (device / "vendor").write_text(vendor + "\n")


def test_no_tpu_address_without_a_tpu(no_tpu):
    assert strategies.tpu_address() is None


@pytest.mark.parametrize("variable", strategies.TPU_NAME_VARIABLES)
def test_a_named_tpu_is_left_to_the_resolver(no_tpu, monkeypatch, variable):
    monkeypatch.setenv(variable, "my-tpu")
    assert strategies.tpu_address() == ""


def test_tpu_name_local_means_this_machine(no_tpu, monkeypatch):
    # Google's TPU VM guides export TPU_NAME=local; the resolver's "" would
    # look for a Cloud TPU node called "local".
    monkeypatch.setenv("TPU_NAME", "local")
    assert strategies.tpu_address() == "local"


def test_colab_former_tpu_runtime_address(no_tpu, monkeypatch):
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    assert strategies.tpu_address() == "grpc://10.0.0.2:8470"


def test_a_tpu_chip_means_a_tpu_vm(no_tpu):
    (no_tpu / "dev" / "accel0").touch()
    assert strategies.tpu_address() == "local"


def test_a_google_vfio_device_means_a_tpu_vm(no_tpu):
    add_vfio_device(no_tpu, 12, "0x1ae0")
    assert strategies.tpu_address() == "local"


def test_other_accelerators_are_not_tpus(no_tpu):
    (no_tpu / "dev" / "accel").mkdir()  # Linux's accel class directory (NPUs)
    add_vfio_device(no_tpu, 3, "0x10de")  # a GPU passed through to vfio
    assert strategies.tpu_address() is None


def test_a_named_tpu_that_fails_names_the_argument(no_tpu, monkeypatch):
    def unreachable(tpu):
        raise OSError("<urlopen error [Errno -2] Name or service not known>\nmore detail")

    monkeypatch.setenv("TPU_NAME", "my-tpu")
    monkeypatch.setattr(strategies.tf.distribute.cluster_resolver, "TPUClusterResolver",
                        unreachable)
    with pytest.raises(ValueError) as raised:
        strategies.make_strategy("tpu")
    assert str(raised.value) == (
        "Invalid value received for argument `strategy`. Expected 'tpu' only where the "
        "TPU (TPU_NAME=my-tpu) is reachable: <urlopen error [Errno -2] Name or service "
        "not known>. Received: strategy='tpu'"
    )


def test_tpu_strategy_without_a_tpu_names_the_argument(no_tpu):
    with pytest.raises(
        ValueError,
        match=r"argument `strategy`\. Expected 'tpu' only on a machine with a TPU "
        r"\(none of TPU_NAME.*no TPU device is attached\)\. Received: strategy='tpu'",
    ):
        strategies.make_strategy("tpu")



def test_tensorflow_without_tpu_support_says_what_to_install(two_devices_run):
    # In a fresh process (its last check): connecting to a TPU cluster
    # changes TensorFlow's process-wide context, which later tests in this
    # process would see. `stdout`: all it wrote to file descriptor 1.
    stdout = two_devices.result(two_devices_run, "tpu")["stdout"]
    assert len(stdout.strip().splitlines()) == 1, stdout
    assert "Invalid value received for argument `strategy`" in stdout
    assert "only where the TPU (local) is reachable: this TensorFlow has no TPU support; " \
        "install its TPU build (tensorflow-tpu)" in stdout
    assert "Received: strategy='tpu'" in stdout
