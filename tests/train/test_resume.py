"""Resuming: exact with dropout, refused across settings, no retraining when finished."""

import csv
import os
import shutil

import numpy as np
import pytest

from keras_tokenlearner.train import TrainConfig
from keras_tokenlearner.train import train
from tests.train.conftest import tree_state
from tests.train.test_train import assert_same_weights
from tests.train.test_train import final_weights


def log_rows(workdir):
    with open(os.path.join(workdir, "log.csv"), newline="") as handle:
        return list(csv.DictReader(handle))


def kill_after_step_2(workdir):
    """Makes a finished 4-step run look killed after its step-2 checkpoint,
    having logged steps 3 and 4 with losses that must not survive."""
    shutil.rmtree(os.path.join(workdir, "checkpoints", "step_00000004"))
    os.remove(os.path.join(workdir, "metrics.json"))
    rows = log_rows(workdir)
    for row in rows[2:]:
        row["loss"] = "9.999999"
    with open(os.path.join(workdir, "log.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_resumed_dropout_run_draws_the_same_masks(finished_run, finished_copy):
    # The dropout generators' state must come back from the step-2
    # checkpoint, or steps 3 and 4 draw other masks than the whole run's.
    kill_after_step_2(finished_copy)
    # The named dataset's position is saved: the resume reads on, it does not replay.
    saved = os.path.join(finished_copy, "checkpoints", "step_00000002", "input", "iterator.index")
    assert os.path.exists(saved)
    metrics = train(**finished_run.arguments, workdir=finished_copy)
    assert metrics["steps"] == 4 and metrics["train_images_per_second"] is not None
    assert_same_weights(finished_run.workdir, finished_copy, atol=0)
    # One log row per step (the killed run's rows after step 2 are dropped),
    # each with the learning rate its step used: warmup starts at 0.
    rows = log_rows(finished_copy)
    assert [int(row["step"]) for row in rows] == [1, 2, 3, 4]
    assert float(rows[0]["learning_rate"]) == 0.0 < float(rows[1]["learning_rate"])
    whole = log_rows(finished_run.workdir)
    assert [row["loss"] for row in whole] == [row["loss"] for row in rows]


def test_finished_run_is_evaluated_not_trained_again(finished_run, finished_copy, capsys):
    before = final_weights(finished_copy)
    again = train(**dict(finished_run.arguments, verbose=True), workdir=finished_copy)
    assert "nothing left to train" in capsys.readouterr().out
    assert again["train_images_per_second"] is None
    assert again["test_accuracy"] == finished_run.metrics["test_accuracy"]
    for old, new in zip(before, final_weights(finished_copy)):
        np.testing.assert_array_equal(old, new)
    names = sorted(os.listdir(os.path.join(finished_copy, "checkpoints")))
    assert names == ["step_00000002", "step_00000004"]  # no checkpoint was added


@pytest.mark.parametrize("changed, message", [
    ({"seed": 5}, "seed=0, and this run has seed=5"),
    ({"learning_rate": 0.1}, "learning_rate=0.002, and this run has learning_rate=0.1"),
    ({"model": "vit_test_patch4_tokenfuser"}, "model='vit_test_patch4_tokenlearner'"),
])
def test_checkpoint_of_other_settings_is_refused(finished_run, finished_copy, changed, message):
    before, files = final_weights(finished_copy), tree_state(finished_copy)
    with pytest.raises(ValueError, match=message + ".*--workdir"):
        train(**dict(finished_run.arguments, **changed), workdir=finished_copy)
    for old, new in zip(before, final_weights(finished_copy)):
        np.testing.assert_array_equal(old, new)  # nothing was overwritten
    assert tree_state(finished_copy) == files


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
