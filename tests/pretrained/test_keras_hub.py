"""keras-hub presets: a randomised ViTBackbone (and classifier) saved by
keras-hub's `save_to_preset`, loaded without importing keras-hub."""

import shutil

import h5py
import keras
import numpy as np
import pytest

import keras_tokenlearner as ktl
from tests.pretrained import fixtures


@pytest.fixture(scope="module")
def reference():
    return fixtures.expected("keras_hub")


def test_class_token_output_matches_before_and_after_keras_round_trip(reference, tmp_path):
    model = ktl.create_model("vit_test_patch4", weights=fixtures.KERAS_HUB_PRESET,
                             num_classes=None)
    np.testing.assert_allclose(fixtures.run(model, reference["images"]),
                               reference["class_token"], atol=1e-5, rtol=0)
    assert model.arguments["approximate_gelu"] is False  # keras-hub's GELU is exact
    assert model.arguments["layer_norm_epsilon"] == 1e-6
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    assert reloaded.get_layer("block_0").mlp.approximate_gelu is False
    np.testing.assert_allclose(fixtures.run(reloaded, reference["images"]),
                               reference["class_token"], atol=1e-5, rtol=0)


def test_classifier_head_loads_from_task_weights(reference):
    model = ktl.create_model("vit_test_patch4", weights=fixtures.KERAS_HUB_PRESET)
    report = ktl.load_pretrained(model, fixtures.KERAS_HUB_PRESET)
    assert report.format == "keras_hub" and "head/kernel" in report.loaded
    np.testing.assert_allclose(fixtures.run(model, reference["images"]), reference["logits"],
                               atol=1e-5, rtol=0)


def test_older_tranformer_block_spelling(reference, tmp_path):
    preset = tmp_path / "preset"
    shutil.copytree(fixtures.KERAS_HUB_PRESET, preset)
    with h5py.File(preset / "model.weights.h5", "r+") as handle:
        renamed = []
        handle.visititems(lambda name, item: renamed.append(item) if name.endswith("vars")
                          and "transformer_block_" in str(item.attrs.get("name")) else None)
        for item in renamed:
            item.attrs["name"] = str(item.attrs["name"]).replace("transformer", "tranformer")
    assert len(renamed) == 2
    model = ktl.create_model("vit_test_patch4", weights=str(preset), num_classes=None)
    np.testing.assert_allclose(fixtures.run(model, reference["images"]),
                               reference["class_token"], atol=1e-5, rtol=0)


def test_tanh_model_differs_from_the_preset(reference):
    """The GELU form matters at this tolerance: the check above can fail."""
    model = ktl.create_model("vit_test_patch4", weights=fixtures.KERAS_HUB_PRESET,
                             num_classes=None, approximate_gelu=True)
    report = ktl.load_pretrained(model, fixtures.KERAS_HUB_PRESET)
    assert report.numerics and "approximate_gelu=False" in report.numerics[0]
    difference = np.abs(fixtures.run(model, reference["images"]) - reference["class_token"])
    assert difference.max() > 1e-4
