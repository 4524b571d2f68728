"""The training docs' "Your own model" example (docs/training.md), run as
written, in a fresh process (2 logical CPUs must be set up before TensorFlow
starts): the first check of tests/train/two_devices.py."""

from tests.train import two_devices


def test_your_own_model_example_trains_on_two_replicas_with_xla(two_devices_run):
    code = two_devices.training_docs_example()
    assert 'workdir="runs/your_model"' in code and 'strategy="mirrored"' in code
    metrics = two_devices.result(two_devices_run, "docs_example")["metrics"]
    assert metrics["num_replicas"] == 2 and metrics["jit_compile"]
    assert metrics["test_accuracy"] >= 0.8, metrics  # real digits: it learns
    workdir = two_devices_run[0] / "docs_example" / two_devices.DOCS_WORKDIR
    assert (workdir / "export" / "1" / "saved_model.pb").exists()
