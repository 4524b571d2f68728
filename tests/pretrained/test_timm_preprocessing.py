"""timm files say their input in the `pretrained_cfg` of the `config.json`
beside them (or in their Hub repository): DeiT and many timm ViTs use
ImageNet's mean and std, AugReg 0.5. Without one, [-1, 1] is assumed and a
warning says so, unless the caller gives `preprocessing=`."""

import logging

import numpy as np
import pytest

import keras_tokenlearner as ktl
from keras_tokenlearner import pretrained
from keras_tokenlearner.models import preprocessing
from keras_tokenlearner.pretrained import errors
from keras_tokenlearner.pretrained import readers
from keras_tokenlearner.pretrained import sources
from tests.pretrained import fixtures
from tests.pretrained import layouts

NPZ = fixtures.path("vit_jax_token.npz")
IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
IMAGENET_RECORD = preprocessing.canonical(IMAGENET)
FLAX_SIZE = dict(patch_size=8, image_shape=(32, 32, 3))  # vit_test_patch4 at the file's shape
# A timm Hub repository's config.json for DeiT (abridged; the tiny model's sizes).
DEIT_CONFIG = {"architecture": "deit_tiny_patch16_224", "num_classes": 10,
               "pretrained_cfg": {"tag": "fb_in1k", "input_size": [3, 32, 32],
                                  "interpolation": "bicubic", "crop_pct": 0.875,
                                  "mean": IMAGENET["mean"], "std": IMAGENET["std"],
                                  "num_classes": 10, "classifier": "head"}}
ASSUMPTION = "assuming mean = std = 0.5"


def write_deit(directory, config=DEIT_CONFIG, **extra):
    """A DeiT-shaped timm safetensors file (timm's key names), with its config.json."""
    state = dict(layouts.timm_from_vit_jax(dict(np.load(NPZ))), **extra)
    layouts.write(state, directory / "model.safetensors", config)
    return str(directory / "model.safetensors")


def test_deit_checkpoint_loads_with_imagenet_mean_and_std(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="keras_tokenlearner"):
        model = ktl.create_model("vit_test_patch4", weights=write_deit(tmp_path), **FLAX_SIZE)
    record = model.arguments["preprocessing"]
    for key in ("scale", "offset"):
        np.testing.assert_allclose(record[key], IMAGENET_RECORD[key], rtol=1e-12)
    assert ASSUMPTION not in caplog.text


@pytest.mark.backend_independent  # reads the file only: no model
def test_hub_side_file_gives_the_record(tmp_path):
    """A Hub repository's config.json arrives in `Located.side_files`."""
    path = write_deit(tmp_path, config=None)
    located = sources.Located("hf://facebook/deit-tiny", path, {"config.json": DEIT_CONFIG})
    assert readers.read(located).preprocessing == IMAGENET_RECORD


@pytest.mark.backend_independent  # reads the file only: no model
def test_bare_timm_file_assumes_minus_one_to_one_and_says_so(tmp_path, caplog):
    path = write_deit(tmp_path, config=None)
    with caplog.at_level(logging.WARNING, logger="keras_tokenlearner"):
        checkpoint = pretrained.read_checkpoint(path)
    assert checkpoint.preprocessing == preprocessing.MINUS_ONE_TO_ONE
    assert len(caplog.records) == 1
    assert ASSUMPTION in caplog.text and path in caplog.text and "preprocessing=" in caplog.text


def test_bare_timm_file_with_preprocessing_given(tmp_path, caplog):
    path = write_deit(tmp_path, config=None)
    with caplog.at_level(logging.WARNING, logger="keras_tokenlearner"):
        model = ktl.create_model("vit_test_patch4", weights=path, preprocessing=IMAGENET,
                                 **FLAX_SIZE)
        report = ktl.load_pretrained(model, path, preprocessing=IMAGENET)
    assert model.arguments["preprocessing"] == IMAGENET_RECORD
    assert report.preprocessing == [] and ASSUMPTION not in caplog.text


def test_a_model_recording_minus_one_to_one_is_told_the_deit_input(tmp_path):
    model = fixtures.flax_vit("token", approximate_gelu=False,
                              preprocessing=preprocessing.MINUS_ONE_TO_ONE)
    report = ktl.load_pretrained(model, write_deit(tmp_path))
    assert len(report.preprocessing) == 1
    assert f"preprocessing={IMAGENET_RECORD}" in report.preprocessing[0]


def test_distilled_deit_is_refused_with_the_reason(tmp_path):
    path = write_deit(tmp_path, dist_token=np.zeros((1, 1, 32), np.float32))
    model = fixtures.flax_vit("token", approximate_gelu=False)
    before = fixtures.weights(model)
    with pytest.raises(errors.CheckpointMismatchError, match=r"distilled DeiT \(key "
                       r"'dist_token' \(1, 1, 32\)\).*non-distilled") as raised:
        ktl.load_pretrained(model, path)
    assert isinstance(raised.value, ValueError)
    for path, value in fixtures.weights(model).items():
        np.testing.assert_array_equal(value, before[path], err_msg=path)
