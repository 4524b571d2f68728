"""The trainer's input as users meet it: `.batch(n)` with a partial last
batch, every test example evaluated, resume without replaying the input,
a refused resume onto another dataset, a pipeline that cannot be saved,
no stall when training ends, and an ETA that leaves the compile out."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from keras_tokenlearner.train import logs
from keras_tokenlearner.train import train
from tests.train import partial_batches
from tests.train import two_devices
from tests.train.conftest import ROOT
from tests.train.test_library import build_model
from tests.train.test_train import assert_same_weights

RUN = dict(model=build_model, steps=20, checkpoint_every=10, learning_rate=3e-3,
           export=False, verbose=False)
BATCH, BATCHES = 16, 30
STALL_SECONDS = 0.5  # from the last checkpoint to train()'s return: 0.02 s here, model.keras saved


def test_a_partial_last_batch_is_trained_on_and_every_test_example_counted(tmp_path):
    metrics = partial_batches.train_on(str(tmp_path))["metrics"]
    assert metrics["steps"] == 3 * 24  # three epochs of 24 batches, the last of 27 examples
    assert metrics["batch_size"] == partial_batches.TRAIN_BATCH
    assert metrics["test_examples"] == partial_batches.TEST_EXAMPLES
    assert metrics["test_accuracy"] > 0.3  # it learns (10 classes)


def test_two_replicas_split_partial_batches_and_count_every_test_example(two_devices_run):
    metrics = two_devices.result(two_devices_run, "partial_batches")["metrics"]
    assert metrics["num_replicas"] == 2 and metrics["steps"] == 3 * 24
    assert metrics["test_examples"] == partial_batches.TEST_EXAMPLES
    assert metrics["test_accuracy"] > 0.3


def batch_files(directory):
    """BATCHES batches of real digits, one file each: the dataset reads a
    batch's file only when it reaches it."""
    images, labels = partial_batches.digits()
    paths = []
    for index in range(BATCHES):
        part = slice(index * BATCH, (index + 1) * BATCH)
        path = os.path.join(directory, f"batch_{index:02d}.npz")
        np.savez(path, images=images[part], labels=labels[part])
        paths.append(path)
    return paths


def file_batches(paths):
    def read(path):
        with np.load(path.decode()) as arrays:
            return arrays["images"], arrays["labels"]

    def load(path):
        images, labels = tf.numpy_function(read, [path], (tf.float32, tf.int32))
        return tf.ensure_shape(images, (BATCH, 16, 16, 1)), tf.ensure_shape(labels, (BATCH,))

    return tf.data.Dataset.from_tensor_slices(paths).map(load)


def saveable_file_batches(paths):
    """`file_batches` whose pipeline TensorFlow may checkpoint (its reads are
    deterministic: the files do not change while it runs)."""
    options = tf.data.Options()
    options.experimental_external_state_policy = tf.data.experimental.ExternalStatePolicy.IGNORE
    return file_batches(paths).with_options(options)


def kill_after_step_10(workdir):
    import shutil

    shutil.rmtree(os.path.join(workdir, "checkpoints", "step_00000020"))
    os.remove(os.path.join(workdir, "metrics.json"))


def test_resume_reads_no_batch_it_already_trained_on(tmp_path):
    paths = batch_files(tmp_path)
    whole = train(dataset=saveable_file_batches(paths), workdir=str(tmp_path / "whole"), **RUN)
    resumed = tmp_path / "resumed"
    train(dataset=saveable_file_batches(paths), workdir=str(resumed), **RUN)
    kill_after_step_10(resumed)
    assert (resumed / "checkpoints" / "step_00000010" / "input" / "iterator.index").exists()
    for path in paths[:10]:  # steps 1-10 trained on them: a replay would read them again
        os.remove(path)
    metrics = train(dataset=saveable_file_batches(paths), workdir=str(resumed), **RUN)
    assert metrics["steps"] == whole["steps"] == 20
    assert_same_weights(tmp_path / "whole", resumed, atol=0)


def test_resume_onto_a_dataset_of_another_length_is_refused(tmp_path):
    paths = batch_files(tmp_path)
    train(dataset=saveable_file_batches(paths), workdir=str(tmp_path), **RUN)
    kill_after_step_10(tmp_path)
    with pytest.raises(ValueError, match="dataset_cardinality=30.*dataset_cardinality=29"):
        train(dataset=saveable_file_batches(paths[:-1]), workdir=str(tmp_path), **RUN)


def test_an_unsaveable_pipeline_warns_once_then_replays_exactly(tmp_path, capfd):
    paths = batch_files(tmp_path)
    whole = tmp_path / "whole"
    train(dataset=file_batches(paths), workdir=str(whole), **RUN)
    warnings = [line for line in capfd.readouterr().err.splitlines()
                if "position cannot be saved" in line]
    assert len(warnings) == 1, warnings  # two checkpoints, one line
    assert not (whole / "checkpoints" / "step_00000010" / "input").exists()
    resumed = tmp_path / "resumed"
    train(dataset=file_batches(paths), workdir=str(resumed), **RUN)
    kill_after_step_10(resumed)
    train(dataset=file_batches(paths), workdir=str(resumed), **RUN)
    assert_same_weights(whole, resumed, atol=0)


def one_training_process(workdir, strategy):
    """Trains in a fresh process; returns the seconds from writing its last
    checkpoint (its last step's) to `train()`'s return."""
    code = (
        "import json, sys, time\n"
        "from keras_tokenlearner.train import configure_cpu_devices, train\n"
        "configure_cpu_devices(2)\n"
        "from tests.train import partial_batches as p\n"
        "import tensorflow as tf\n"
        "images, labels = p.digits()\n"
        "data = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(1797, seed=0)"
        ".batch(64, drop_remainder=True)\n"
        f"train(model=p.build_model, dataset=data, steps=900, export=False, verbose=False, "
        f"strategy={strategy!r}, cpu_devices=2, workdir={str(workdir)!r})\n"
        "print(json.dumps({'returned': time.time()}))\n"
    )
    process = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    returned = json.loads(process.stdout.strip().splitlines()[-1])["returned"]
    last = os.path.join(workdir, "checkpoints", "step_00000900", "state.json")
    return returned - os.path.getmtime(last)


def test_training_ends_without_a_stall(tmp_path):
    # Before: the input iterator's teardown waited out TensorFlow's autotuning
    # period, 0.005 to 48 s here (docs/development.md#the-end-of-training-stall);
    # three tries of these 4 runs on the old code: largest gaps 3.3, 0.78, 3.0 s.
    gaps = [one_training_process(tmp_path / f"run_{index}", strategy)
            for index, strategy in enumerate(("one_device", "mirrored") * 2)]
    assert max(gaps) < STALL_SECONDS, gaps


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_eta_leaves_the_first_calls_compile_out():
    clock, screen = FakeClock(), Terminal()
    progress = logs.Progress(660, verbose=True, clock=clock, stream=screen)
    clock.now = 9.0  # the first call: one step, mostly its XLA compile
    progress.update(1, 2.3)
    assert "ETA" not in screen.getvalue().split("\r")[-1]  # nothing to time yet
    clock.now = 9.2  # ten steps of 20 ms
    progress.update(11, 2.1)
    assert screen.getvalue().split("\r")[-1] == "step  11/660 - loss 2.1000 - 20 ms/step - ETA 0:13"
