"""Each source's preprocessing record: what `create_model(weights=...)` builds
with, and what `load_pretrained` reports on a model recording another."""

import json
import logging
import shutil

import numpy as np
import pytest

import keras_tokenlearner as ktl
from keras_tokenlearner import pretrained
from keras_tokenlearner.models import preprocessing
from tests.pretrained import fixtures
from tests.pretrained import layouts

NPZ = fixtures.path("vit_jax_token.npz")
FLAX_SIZE = dict(patch_size=8, image_shape=(32, 32, 3))  # vit_test_patch4 at the npz's shape
IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
IMAGENET_RECORD = preprocessing.canonical(IMAGENET)


def test_google_npz_expects_minus_one_to_one():
    assert pretrained.read_checkpoint(NPZ).preprocessing == preprocessing.MINUS_ONE_TO_ONE
    model = ktl.create_model("vit_test_patch4", weights=NPZ, **FLAX_SIZE)
    assert model.arguments["preprocessing"] == preprocessing.MINUS_ONE_TO_ONE


def test_the_callers_preprocessing_wins():
    model = ktl.create_model("vit_test_patch4", weights=NPZ, preprocessing=IMAGENET, **FLAX_SIZE)
    assert model.arguments["preprocessing"] == IMAGENET_RECORD


@pytest.mark.backend_independent  # reads the files only: no model
def test_keras_hub_preset_without_converter_expects_minus_one_to_one():
    checkpoint = pretrained.read_checkpoint(fixtures.KERAS_HUB_PRESET)
    assert checkpoint.preprocessing == preprocessing.MINUS_ONE_TO_ONE


def converter_config(**entries):
    """A keras-hub `ViTImageConverter` as `save_to_preset` writes it (abridged)."""
    return {"module": "keras_hub.src.models.vit.vit_image_converter",
            "class_name": "ViTImageConverter",
            "config": {"name": "vi_t_image_converter", "image_size": [16, 16], **entries}}


IMAGENET_CONVERTER = dict(scale=list(IMAGENET_RECORD["scale"]),
                          offset=list(IMAGENET_RECORD["offset"]))


@pytest.mark.parametrize("file_name, content", [
    ("image_converter.json", converter_config(**IMAGENET_CONVERTER)),
    ("preprocessor.json", {"class_name": "ViTImageClassifierPreprocessor",
                           "config": {"image_converter": converter_config(**IMAGENET_CONVERTER)}}),
    ("image_converter.json", converter_config(scale=1 / 255, offset=None,
                                              norm_mean=IMAGENET["mean"],
                                              norm_std=IMAGENET["std"])),  # older keras-hub
])
def test_keras_hub_preset_gives_its_image_converter(tmp_path, file_name, content):
    preset = tmp_path / "preset"
    shutil.copytree(fixtures.KERAS_HUB_PRESET, preset)
    (preset / file_name).write_text(json.dumps(content))
    model = ktl.create_model("vit_test_patch4", weights=str(preset))
    record = model.arguments["preprocessing"]
    np.testing.assert_allclose(record["scale"], IMAGENET_RECORD["scale"], rtol=1e-12)
    np.testing.assert_allclose(record["offset"], IMAGENET_RECORD["offset"], rtol=1e-12)


@pytest.mark.backend_independent  # reads the files only: no model
@pytest.mark.parametrize("processor, expected", [
    (None, preprocessing.MINUS_ONE_TO_ONE),
    ({"image_mean": [0.5] * 3, "image_std": [0.5] * 3, "rescale_factor": 0.00392156862745098},
     {"scale": (1 / 127.5,) * 3, "offset": (-1.0,) * 3}),
    ({"image_mean": IMAGENET["mean"], "image_std": IMAGENET["std"]}, IMAGENET_RECORD),
])
def test_hugging_face_directory_gives_its_preprocessor_config(tmp_path, processor, expected):
    timm_state = layouts.timm_from_vit_jax(dict(np.load(NPZ)))
    state = layouts.hugging_face_from_timm(timm_state)
    layouts.write(state, tmp_path / "model.safetensors", layouts.hugging_face_config())
    if processor is not None:
        (tmp_path / "preprocessor_config.json").write_text(json.dumps(processor))
    for source in (tmp_path, tmp_path / "model.safetensors"):  # the directory, or the file
        record = pretrained.read_checkpoint(str(source)).preprocessing
        for key in ("scale", "offset"):
            np.testing.assert_allclose(record[key], expected[key], rtol=1e-12)


@pytest.mark.backend_independent  # reads the files only: no model
def test_timm_safetensors_expect_minus_one_to_one(tmp_path):
    layouts.write(layouts.timm_from_vit_jax(dict(np.load(NPZ))), tmp_path / "model.safetensors")
    checkpoint = pretrained.read_checkpoint(str(tmp_path / "model.safetensors"))
    assert checkpoint.preprocessing == preprocessing.MINUS_ONE_TO_ONE


@pytest.mark.parametrize("recorded", [IMAGENET, None])
def test_load_pretrained_reports_another_record_and_keeps_it(caplog, recorded):
    model = fixtures.flax_vit("token", preprocessing=recorded)
    with caplog.at_level(logging.WARNING, logger="keras_tokenlearner"):
        report = ktl.load_pretrained(model, NPZ)
    assert len(report.preprocessing) == 1
    assert "the checkpoint expects preprocessing=" in report.preprocessing[0]
    assert "preprocessing differs" in report.summary()
    assert "preprocessing=" in caplog.text
    assert model.arguments["preprocessing"] == preprocessing.canonical(recorded)


def test_load_pretrained_accepts_the_same_record_per_channel():
    per_channel = {"scale": (1 / 127.5,) * 3, "offset": (-1.0,) * 3}
    report = ktl.load_pretrained(fixtures.flax_vit("token", preprocessing=per_channel), NPZ)
    assert report.preprocessing == []
