"""The trainer as a library: your own model and tf.data datasets, steps per
call, no TensorBoard, and the caller's dtype policy and session left alone."""

import csv
import os
import random
import shutil
import sys
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_tokenlearner import TokenLearner
from keras_tokenlearner import datasets
from keras_tokenlearner.train import logs
from keras_tokenlearner.train import train
from tests.train.conftest import tree_state
from tests.train.test_train import assert_same_weights
from tests.train.test_train import final_weights

IMAGE_SIZE, BATCH = 16, 16
RECORD = {"scale": (1 / 127.5,), "offset": (-1.0,)}
RUN = dict(steps=4, checkpoint_every=2, export=False, verbose=False)


def digit_batches(split, seed=0, reshuffle=False):
    """Real digits as a batched tf.data.Dataset, scaled to [-1, 1] (RECORD)."""
    images, labels = datasets.load_digit_images(IMAGE_SIZE)
    indices = datasets.split_indices(labels)[split][:160]
    images = images[indices].astype(np.float32) / 127.5 - 1.0  # (N, 16, 16, 1)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels[indices].astype(np.int32)))
    if split == "train":
        dataset = dataset.shuffle(160, seed=seed, reshuffle_each_iteration=reshuffle)
    return dataset.batch(BATCH, drop_remainder=split == "train")


def build_model():
    """A user's functional model with a TokenLearner, its layers named."""
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="pixels")
    grid = keras.layers.Conv2D(16, 4, strides=4, name="patches")(inputs)  # (B, 4, 4, 16)
    tokens = TokenLearner(num_tokens=4, dropout_rate=0.1, name="learner")(grid)  # (B, 4, 16)
    pooled = keras.layers.GlobalAveragePooling1D(name="pool")(tokens)  # (B, 16)
    outputs = keras.layers.Dense(10, name="logits")(pooled)
    return keras.Model(inputs, outputs, name="my_model")


@pytest.fixture(scope="module")
def single_steps(tmp_path_factory):
    """Your model trained once for the module, one step per call, 6 steps, with
    a mean/std record and no export: `.workdir`, `.metrics` and `.arguments()`
    (train's keyword arguments with a new dataset, without the workdir).
    Tests only read its files: the module fails at teardown if one changed."""
    def arguments():
        return dict(RUN, model=build_model, dataset=digit_batches("train"), steps=6,
                    checkpoint_every=6, steps_per_call=1, preprocessing={"mean": 0.5, "std": 0.5})

    workdir = str(tmp_path_factory.mktemp("single_steps") / "run")
    metrics = train(workdir=workdir, **arguments())
    before = tree_state(workdir)
    yield types.SimpleNamespace(workdir=workdir, metrics=metrics, arguments=arguments)
    assert tree_state(workdir) == before, "a test changed the shared run"


def test_your_model_trains_resumes_and_exports(tmp_path):
    whole, resumed = str(tmp_path / "whole"), str(tmp_path / "resumed")

    def arguments():  # built anew per run, as a restarted process would
        # Passes of 2 batches, other ones on each pass: the resume at step 2
        # starts pass 1, not pass 0 again.
        passes = digit_batches("train", reshuffle=True).take(2)
        return dict(RUN, dataset=passes, test_dataset=digit_batches("test"))

    metrics = train(model=build_model, workdir=whole, **arguments())
    assert metrics["batch_size"] == BATCH and metrics["model"] == "build_model"
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    shutil.copytree(whole, resumed)  # as if killed after its step-2 checkpoint
    shutil.rmtree(os.path.join(resumed, "checkpoints", "step_00000004"))
    os.remove(os.path.join(resumed, "metrics.json"))
    again = train(model=build_model, workdir=resumed, **arguments())
    assert again["steps"] == 4 and again["train_images_per_second"] is not None
    assert_same_weights(whole, resumed, atol=0)
    saved = keras.models.load_model(os.path.join(whole, "model.keras"))
    assert isinstance(saved.get_layer("learner"), TokenLearner)


def test_a_model_object_is_rebuilt_and_gets_the_trained_weights(tmp_path):
    model = build_model()
    before = [w.copy() for w in model.get_weights()]
    train(model=model, dataset=digit_batches("train"), workdir=str(tmp_path),
          preprocessing=RECORD, **dict(RUN, export=True))
    after = model.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    saved = keras.models.load_model(tmp_path / "model.keras")
    for ours, theirs in zip(after, saved.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    served = tf.saved_model.load(str(tmp_path / "export" / "1")).signatures["serving_default"]
    pixels = np.full((1, IMAGE_SIZE, IMAGE_SIZE, 1), 255, np.uint8)
    probabilities = served(images=tf.constant(pixels))["probabilities"].numpy()
    expected = keras.ops.softmax(model(np.ones((1, IMAGE_SIZE, IMAGE_SIZE, 1)))).numpy()
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)  # 255 -> 1.0 by RECORD


def test_export_of_a_model_without_a_record_is_refused_before_training(tmp_path):
    with pytest.raises(ValueError, match="`preprocessing`.*records none"):
        train(model=build_model, dataset=digit_batches("train"), workdir=str(tmp_path),
              **dict(RUN, export=True))
    assert not os.path.exists(tmp_path / "checkpoints")


@pytest.mark.parametrize("arguments, message", [
    (dict(dataset=digit_batches("train").unbatch()), "`dataset`.*one integer label per image"),
    (dict(dataset=digit_batches("train"), batch_size=8), "`batch_size`.*own batch size \\(16\\)"),
    (dict(dataset=digit_batches("train").repeat(), steps=None), "`steps`"),
    (dict(model="vit_test_patch4", dataset=digit_batches("train")), "`model`.*create_model"),
    (dict(model=lambda: "not a model"), "`model`.*returns a keras.Model"),
])
def test_bad_models_and_datasets_are_refused(arguments, message, tmp_path):
    arguments = {"model": build_model, "dataset": digit_batches("train"), **RUN, **arguments}
    with pytest.raises(ValueError, match=message):
        train(workdir=str(tmp_path), **arguments)


def test_steps_per_call_give_the_same_weights_as_single_steps(single_steps, tmp_path):
    single = single_steps.metrics
    grouped_arguments = dict(single_steps.arguments(), steps_per_call=5)
    grouped = train(workdir=str(tmp_path / "five"), **grouped_arguments)
    assert single["steps_per_call"] == 1 and grouped["steps_per_call"] == 5
    assert_same_weights(single_steps.workdir, tmp_path / "five", atol=0)
    rows = [list(csv.DictReader(open(os.path.join(workdir, "log.csv"))))
            for workdir in (single_steps.workdir, tmp_path / "five")]
    assert [row["step"] for row in rows[1]] == [str(step) for step in range(1, 7)]
    logged = [[{k: v for k, v in row.items() if k != "time"} for row in run] for run in rows]
    assert logged[0] == logged[1]  # the same loss and learning rate logged for every step


def test_nan_inside_a_call_names_its_step(tmp_path):
    from keras_tokenlearner.train import TrainingError

    # Calls run steps [1], [2, 3, 4] (they end at the step-4 checkpoint): the
    # batch of step 3 is poisoned, so the NaN is read in the middle of a call.
    poisoned = digit_batches("train").enumerate().map(
        lambda index, batch: (tf.where(index == 2, batch[0] * float("inf"), batch[0]), batch[1]))
    with pytest.raises(TrainingError, match="loss became nan at step 3;"):
        train(model=build_model, dataset=poisoned, workdir=str(tmp_path),
              steps_per_call=4, **dict(RUN, checkpoint_every=4))


def test_training_without_tensorboard_skips_its_logs_only(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # `import tensorboard` fails
    train(model=build_model, dataset=digit_batches("train"), workdir=str(tmp_path),
          **dict(RUN, verbose=True))
    assert logs.NO_TENSORBOARD in capsys.readouterr().out
    assert not (tmp_path / "tensorboard").exists()
    assert len(list(csv.DictReader(open(tmp_path / "log.csv")))) == 4
    assert final_weights(tmp_path)


def draws():
    return (random.random(), float(np.random.rand()), float(tf.random.uniform(())),
            float(keras.random.uniform(())))


def dense_number():
    """The number Keras gives the next unnamed Dense layer (its session's counter)."""
    name = keras.layers.Dense(1).name
    return int(name.rsplit("_", 1)[1]) if "_" in name else 0


def test_the_callers_policy_and_session_are_left_alone_and_the_runs_seed_stays(tmp_path):
    keras.config.set_dtype_policy("mixed_bfloat16")
    before = dense_number()
    after = []
    try:
        for callers_seed in (123, 456):
            keras.utils.set_random_seed(callers_seed)
            train(model=build_model, dataset=digit_batches("train"),
                  workdir=str(tmp_path / str(callers_seed)), seed=7, **RUN)
            assert keras.config.dtype_policy().name == "mixed_bfloat16"
            after.append(draws())
    finally:
        keras.config.set_dtype_policy("float32")
    assert after[0] == after[1]  # the run's seed, not the caller's, sets the generators
    assert dense_number() > before  # no clear_session: Keras's counters go on


def test_a_run_resumes_and_exports_with_every_file_under_ram(tmp_path, monkeypatch):
    from keras_tokenlearner import filesystem

    monkeypatch.chdir(tmp_path)  # anything written locally would land here
    workdir = "ram://runs/library_test"
    arguments = dict(RUN, model=build_model, dataset=digit_batches("train"),
                     test_dataset=digit_batches("test"), workdir=workdir,
                     preprocessing=RECORD, export=True)
    first = train(**arguments)
    filesystem.rmtree(filesystem.join(workdir, "checkpoints", "step_00000004"))
    again = train(**dict(arguments, verbose=True))
    assert again["test_accuracy"] == first["test_accuracy"]
    assert sorted(filesystem.listdir(filesystem.join(workdir, "checkpoints"))) == [
        "step_00000002", "step_00000004"]
    for name in ("metrics.json", "model.keras", "log.csv"):
        assert filesystem.exists(filesystem.join(workdir, name)), name
    served = tf.saved_model.load(again["export_path"]).signatures["serving_default"]
    pixels = np.zeros((2, IMAGE_SIZE, IMAGE_SIZE, 1), np.uint8)
    assert served(images=tf.constant(pixels))["probabilities"].shape == (2, 10)
    assert again["export_path"].startswith("ram://") and os.listdir(tmp_path) == []


def test_the_command_line_exports_your_trained_model_with_its_record(single_steps, tmp_path):
    from keras_tokenlearner import cli

    model_path = os.path.join(single_steps.workdir, "model.keras")
    status = cli.main(["export", "--model-path", model_path, "--out", str(tmp_path / "served")])
    assert status == 0
    served = tf.saved_model.load(str(tmp_path / "served" / "1")).signatures["serving_default"]
    pixels = np.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 1), np.uint8)
    probabilities = served(images=tf.constant(pixels))["probabilities"].numpy()
    model = keras.models.load_model(model_path)
    expected = keras.ops.softmax(model(-np.ones((1, IMAGE_SIZE, IMAGE_SIZE, 1)))).numpy()
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)  # 0 -> -1 by the record


def test_zoo_overrides_win_and_the_model_records_the_runs_preprocessing(tmp_path, data_dir):
    record = {"mean": 0.5, "std": 0.25}
    metrics = train(model="vit_test_patch4", image_size=8, batch_size=8,
                    model_overrides={"dtype": "mixed_bfloat16"}, preprocessing=record,
                    data_dir=data_dir, workdir=str(tmp_path), **dict(RUN, steps=2))
    assert metrics["dtype_policy"] == "mixed_bfloat16"
    saved = keras.models.load_model(tmp_path / "model.keras")
    from keras_tokenlearner.models import preprocessing

    assert preprocessing.of_model(saved) == preprocessing.canonical(record)


def test_a_float16_layer_anywhere_makes_the_run_float16():
    from keras_tokenlearner.train import run_model

    model = build_model()
    assert run_model.policy_name(model) == "float32"
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(2, dtype="mixed_float16")(inputs)
    assert run_model.policy_name(keras.Model(inputs, outputs)) == "mixed_float16"
    sequence = keras.Input((3, 4))  # a float32 wrapper holding a float16 layer
    wrapped = keras.layers.TimeDistributed(keras.layers.Dense(2, dtype="mixed_float16"))
    model = keras.Model(sequence, wrapped(sequence))
    assert wrapped.dtype_policy.name == "float32"
    assert run_model.policy_name(model) == "mixed_float16"


def test_a_batch_the_replicas_cannot_share_names_the_dataset():
    from keras_tokenlearner.train import TrainConfig
    from keras_tokenlearner.train import run_data
    from keras_tokenlearner.train import runner

    config = TrainConfig(model=build_model, dataset=digit_batches("train"))
    batches = run_data.RunData(None, None, 7, 10, None, None, {})
    with pytest.raises(ValueError, match="`dataset`.*multiple of the number of replicas.*of 7"):
        runner._check_fit(config, build_model(), batches, replicas=2)
