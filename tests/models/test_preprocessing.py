"""The preprocessing record: canonical forms, errors, and how ViT, VideoViT,
their configs, `.keras` files and the zoo carry it."""

import json

import keras
import numpy as np
import pytest

import keras_tokenlearner as ktl
from keras_tokenlearner.models import preprocessing
from tests import testing

IMAGENET = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}
# By hand: scale = 1 / (255 * std), offset = -mean / std.
IMAGENET_SCALE = (1 / 58.395, 1 / 57.12, 1 / 57.375)
IMAGENET_OFFSET = (-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225)


def small_vit(**overrides):
    return ktl.ViT((16, 16, 3), patch_size=4, hidden_dim=16, num_layers=1, num_heads=2,
                   mlp_dim=32, num_classes=3, **overrides)


@pytest.mark.backend_independent  # pure Python
def test_mean_and_std_become_scale_and_offset():
    record = preprocessing.canonical(IMAGENET)
    assert set(record) == {"scale", "offset"}
    np.testing.assert_allclose(record["scale"], IMAGENET_SCALE, rtol=1e-12)
    np.testing.assert_allclose(record["offset"], IMAGENET_OFFSET, rtol=1e-12)
    np.testing.assert_allclose(record["scale"][0], 0.017124753831663668, rtol=1e-12)
    np.testing.assert_allclose(record["offset"][0], -2.1179039301310043, rtol=1e-12)
    pixels = np.array([0.0, 127.5, 255.0])  # 0.485 * 255 = 123.675 maps to 0
    np.testing.assert_allclose(pixels * record["scale"][0] + record["offset"][0],
                               (pixels / 255 - 0.485) / 0.229, rtol=1e-12)


@pytest.mark.backend_independent  # pure Python
def test_half_mean_and_std_is_minus_one_to_one():
    assert preprocessing.canonical({"mean": 0.5, "std": 0.5}) == preprocessing.MINUS_ONE_TO_ONE
    scale, offset = preprocessing.scale_and_offset(preprocessing.MINUS_ONE_TO_ONE)
    np.testing.assert_allclose(np.array([0, 255]) * scale + offset, [-1, 1], rtol=1e-6)


@pytest.mark.backend_independent  # pure Python
@pytest.mark.parametrize("value, expected", [
    (None, None),
    ({"scale": 2, "offset": -1}, {"scale": (2.0,), "offset": (-1.0,)}),
    ({"scale": [1, 2, 3], "offset": (0, 0, np.float32(0.5))},
     {"scale": (1.0, 2.0, 3.0), "offset": (0.0, 0.0, 0.5)}),
    (preprocessing.MINUS_ONE_TO_ONE, preprocessing.MINUS_ONE_TO_ONE),
])
def test_canonical_forms_are_tuples_of_floats_and_idempotent(value, expected):
    record = preprocessing.canonical(value)
    assert record == expected
    assert preprocessing.canonical(record) == record
    assert preprocessing.canonical(json.loads(json.dumps(record))) == record  # lists back
    if record is not None:
        assert all(type(entry) is float for key in record for entry in record[key])


@pytest.mark.backend_independent  # refused before any layer is made
@pytest.mark.parametrize("value", [
    "minus_one_to_one", [1 / 127.5, -1.0], {"scale": 1.0}, {"scale": 1, "offset": 0, "x": 1},
    {"mean": 0.5, "scale": 1}, {"scale": 0, "offset": 0}, {"scale": -1, "offset": 0},
    {"mean": 0.5, "std": 0.0}, {"scale": (1, 2), "offset": (0, 0, 0)}, {"scale": (), "offset": ()},
    {"scale": "1", "offset": 0}, {"scale": True, "offset": 0}, {"scale": np.nan, "offset": 0},
])
def test_bad_records_name_the_argument(value):
    with pytest.raises(ValueError, match=r"argument `preprocessing`.*Received: preprocessing="):
        preprocessing.canonical(value)
    with pytest.raises(ValueError, match=r"argument `preprocessing`"):
        small_vit(preprocessing=value)


@pytest.mark.backend_independent  # pure Python
def test_scale_and_offset_are_float32_per_channel():
    scale, offset = preprocessing.scale_and_offset(IMAGENET)
    assert scale.dtype == offset.dtype == np.float32
    assert scale.shape == offset.shape == (3,)
    with pytest.raises(ValueError, match=r"`preprocessing`.*preprocessing=None"):
        preprocessing.scale_and_offset(None)


def test_of_model_reads_the_record_or_an_attribute():
    assert preprocessing.of_model(small_vit(preprocessing=IMAGENET)) == preprocessing.canonical(
        IMAGENET)
    assert preprocessing.of_model(small_vit()) is None
    own = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    assert preprocessing.of_model(own) is None
    own.preprocessing = {"scale": [1 / 255], "offset": [0]}
    assert preprocessing.of_model(own) == {"scale": (1 / 255,), "offset": (0.0,)}


def test_the_record_survives_config_and_keras_file(tmp_path):
    model = small_vit(preprocessing=IMAGENET)
    config = model.get_config()
    assert config["preprocessing"] == preprocessing.canonical(IMAGENET)
    assert ktl.ViT.from_config(json.loads(json.dumps(config))).get_config() == config
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    assert restored.arguments["preprocessing"] == preprocessing.canonical(IMAGENET)
    video = ktl.VideoViT((16, 16, 3), num_frames=2, tubelet_size=(2, 4, 4), hidden_dim=16,
                         num_layers=1, num_heads=2, mlp_dim=32, preprocessing=IMAGENET)
    assert ktl.VideoViT.from_config(video.get_config()).arguments["preprocessing"] == (
        preprocessing.canonical(IMAGENET))


def test_the_model_does_not_apply_it():
    recorded, plain = small_vit(preprocessing=IMAGENET), small_vit()
    testing.randomize_weights(plain, scale=0.3)
    recorded.set_weights(plain.get_weights())
    x = testing.random_array((2, 16, 16, 3))
    np.testing.assert_array_equal(testing.to_numpy(recorded(x)), testing.to_numpy(plain(x)))


def test_zoo_models_record_minus_one_to_one_unless_overridden():
    assert ktl.create_model("vit_test_patch4").arguments["preprocessing"] == (
        preprocessing.MINUS_ONE_TO_ONE)
    video = ktl.create_model("vivit_test_patch4")
    assert preprocessing.of_model(video) == preprocessing.MINUS_ONE_TO_ONE
    model = ktl.create_model("vit_test_patch4", preprocessing=IMAGENET)
    assert model.arguments["preprocessing"] == preprocessing.canonical(IMAGENET)
    assert ktl.create_model("vit_test_patch4", preprocessing=None).arguments[
        "preprocessing"] is None
