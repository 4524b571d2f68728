"""Resuming: exact with dropout, refused across settings, no retraining when finished."""

import csv
import glob
import os
import shutil

import numpy as np
import pytest

from keras_tokenlearner.train import TrainConfig
from keras_tokenlearner.train import train
from tests.train.test_train import assert_same_weights
from tests.train.test_train import final_weights

DROPOUT_RUN = dict(
    model="vit_test_patch4_tokenlearner", model_overrides={"dropout_rate": 0.1},
    image_size=16, batch_size=8, steps=4, checkpoint_every=2, export=False, verbose=False,
)


def test_resumed_dropout_run_draws_the_same_masks(tmp_path, data_dir):
    whole, resumed = str(tmp_path / "whole"), str(tmp_path / "resumed")
    train(**DROPOUT_RUN, data_dir=data_dir, workdir=whole)
    train(**DROPOUT_RUN, data_dir=data_dir, workdir=resumed)
    # As if killed after the step-2 checkpoint: the dropout generators' state
    # must come back from it, or steps 3 and 4 draw other masks.
    shutil.rmtree(os.path.join(resumed, "checkpoints", "step_00000004"))
    os.remove(os.path.join(resumed, "metrics.json"))
    metrics = train(**DROPOUT_RUN, data_dir=data_dir, workdir=resumed)
    assert metrics["steps"] == 4 and metrics["train_images_per_second"] is not None
    assert_same_weights(whole, resumed, atol=0)
    # One log row per step (the killed run's rows after step 2 are dropped),
    # each with the learning rate its step used: warmup starts at 0.
    with open(os.path.join(resumed, "log.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["step"]) for row in rows] == [1, 2, 3, 4]
    assert float(rows[0]["learning_rate"]) == 0.0 < float(rows[1]["learning_rate"])
    with open(os.path.join(whole, "log.csv"), newline="") as handle:
        assert [row["loss"] for row in csv.DictReader(handle)] == [row["loss"] for row in rows]


def test_finished_run_is_evaluated_not_trained_again(tmp_path, data_dir, capsys):
    run = dict(DROPOUT_RUN, model_overrides={}, steps=2, data_dir=data_dir, workdir=str(tmp_path))
    first = train(**run)
    before = final_weights(tmp_path)
    again = train(**dict(run, verbose=True))
    assert "nothing left to train" in capsys.readouterr().out
    assert again["train_images_per_second"] is None
    assert again["test_accuracy"] == first["test_accuracy"]
    for old, new in zip(before, final_weights(tmp_path)):
        np.testing.assert_array_equal(old, new)
    assert len(glob.glob(str(tmp_path / "checkpoints" / "step_*"))) == 1


@pytest.mark.parametrize("changed, message", [
    ({"seed": 5}, "seed=0, and this run has seed=5"),
    ({"learning_rate": 0.1}, "learning_rate=0.002, and this run has learning_rate=0.1"),
    ({"model": "vit_test_patch4_tokenfuser"}, "model='vit_test_patch4_tokenlearner'"),
])
def test_checkpoint_of_other_settings_is_refused(tmp_path, data_dir, changed, message):
    run = dict(DROPOUT_RUN, model_overrides={}, steps=2, data_dir=data_dir, workdir=str(tmp_path))
    train(**run)
    before = final_weights(tmp_path)
    with pytest.raises(ValueError, match=message + ".*--workdir"):
        train(**dict(run, **changed))
    for old, new in zip(before, final_weights(tmp_path)):
        np.testing.assert_array_equal(old, new)  # nothing was overwritten


def test_default_workdir_is_per_dataset_and_model():
    config = TrainConfig(model="vivit_test_patch4", dataset="moving_digits")
    expected = os.path.join("runs", "moving_digits", "vivit_test_patch4")
    assert config.with_workdir().workdir == expected
    assert config.workdir is None  # the caller's config is left as it was
    assert TrainConfig(workdir="here").with_workdir().workdir == "here"


def test_weight_decay_may_be_zero_but_not_negative():
    TrainConfig(weight_decay=0).validate()
    with pytest.raises(ValueError, match="`weight_decay`. Expected a non-negative float"):
        TrainConfig(weight_decay=-0.1).validate()


@pytest.mark.parametrize("name, value", [
    ("jit_compile", "no"), ("mixed_precision", 1), ("export", None), ("verbose", "yes"),
    ("model", 3), ("dataset", None),
])
def test_flags_and_names_are_type_checked(name, value):
    with pytest.raises(ValueError, match=rf"`{name}`.*Received: {name}={value!r}"):
        TrainConfig(**{name: value}).validate()


def test_config_and_fields_are_not_mixed():
    with pytest.raises(ValueError, match=r"`fields`.*TrainConfig.*Received: fields=\{'steps': 3\}"):
        train(TrainConfig(), steps=3)
