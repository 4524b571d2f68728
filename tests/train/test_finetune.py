"""Fine-tuning from a checkpoint an earlier run wrote (save_npz): the
--weights run, its settings and metrics, and a resume that does not read
the file again."""

import json
import os
import shutil

import keras
import pytest

import keras_tokenlearner as ktl
from keras_tokenlearner import cli
from keras_tokenlearner.train import train
from tests.train.test_train import assert_same_weights

SCRATCH_STEPS = 200


@pytest.fixture(scope="module")
def scratch(tmp_path_factory, data_dir):
    """A plain ViT trained from scratch, and its weights as a big_vision .npz."""
    workdir = tmp_path_factory.mktemp("scratch")
    metrics = train(model="vit_test_patch4", steps=SCRATCH_STEPS, image_size=16, export=False,
                    verbose=False, data_dir=data_dir, workdir=str(workdir))
    model = keras.models.load_model(workdir / "model.keras")
    return metrics, ktl.save_npz(model, workdir / "vit_digits.npz")


def test_fine_tuning_reaches_the_scratch_accuracy_in_a_quarter_of_the_steps(
        scratch, tmp_path, data_dir, capsys):
    scratch_metrics, npz = scratch
    status = cli.main(["--model", "vit_test_patch4", "--weights", npz, "--image-size", "16",
                       "--steps", str(SCRATCH_STEPS // 4), "--learning-rate", "3e-4",
                       "--no-export", "--data-dir", data_dir, "--workdir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert f"Loaded big_vision weights from {npz}: 39 as they were" in out
    with open(tmp_path / "metrics.json") as handle:
        metrics = json.load(handle)
    assert metrics["weights"] == npz and metrics["steps"] == SCRATCH_STEPS // 4
    assert metrics["test_accuracy"] >= scratch_metrics["test_accuracy"]


def test_token_learner_run_resumes_without_reading_the_file_again(scratch, tmp_path, data_dir):
    npz = str(tmp_path / "copy.npz")
    shutil.copy(scratch[1], npz)
    run = dict(model="vit_test_patch4_tokenlearner", weights=npz, image_size=16, batch_size=8,
               steps=4, checkpoint_every=2, export=False, verbose=False, data_dir=data_dir,
               model_overrides={"token_learner_index": 1})
    whole, resumed = str(tmp_path / "whole"), str(tmp_path / "resumed")
    train(**run, workdir=whole)
    shutil.copytree(whole, resumed)  # as if killed after its step-2 checkpoint
    shutil.rmtree(os.path.join(resumed, "checkpoints", "step_00000004"))
    os.remove(os.path.join(resumed, "metrics.json"))
    os.remove(npz)  # a resumed run restores its own checkpoint
    metrics = train(**run, workdir=resumed)
    assert metrics["steps"] == 4 and metrics["weights"] == npz
    assert metrics["train_images_per_second"] is not None  # steps 3 and 4 were trained
    assert_same_weights(whole, resumed, atol=0)
    with pytest.raises(ValueError, match="an existing checkpoint file"):
        train(**run, workdir=str(tmp_path / "new"))  # a new run does read it
