"""timm and Hugging Face safetensors: a fixture rewritten in each layout loads
into the same model as the original file, once the numerics are the same."""

import numpy as np
import pytest

import keras_tokenlearner as ktl
from tests.pretrained import fixtures
from tests.pretrained import layouts

NPZ = fixtures.path("vit_jax_token.npz")


@pytest.fixture(scope="module")
def timm_state():
    return layouts.timm_from_vit_jax(dict(np.load(NPZ)))


@pytest.fixture(scope="module")
def images():
    return fixtures.expected("vit_jax_token")["images"]


def reference_model(images, **numerics):
    """The model loaded from the original npz, with the given numerics."""
    model = fixtures.flax_vit("token", **numerics)
    ktl.load_pretrained(model, NPZ)
    return fixtures.run(model, images)


def test_timm_safetensors(tmp_path, timm_state, images):
    layouts.write(timm_state, tmp_path / "model.safetensors")
    model = ktl.create_model("vit_test_patch4", weights=str(tmp_path / "model.safetensors"),
                             patch_size=8, image_shape=(32, 32, 3))
    assert model.arguments["approximate_gelu"] is False
    assert model.arguments["layer_norm_epsilon"] == 1e-6
    np.testing.assert_allclose(fixtures.run(model, images),
                               reference_model(images, approximate_gelu=False), atol=1e-5)


def test_hugging_face_directory(tmp_path, timm_state, images):
    state = layouts.hugging_face_from_timm(timm_state)
    layouts.write(state, tmp_path / "model.safetensors", layouts.hugging_face_config())
    model = ktl.create_model("vit_test_patch4", weights=str(tmp_path), patch_size=8,
                             image_shape=(32, 32, 3))
    assert model.arguments["layer_norm_epsilon"] == 1e-12
    expected = reference_model(images, approximate_gelu=False, layer_norm_epsilon=1e-12)
    np.testing.assert_allclose(fixtures.run(model, images), expected, atol=1e-5)


def test_hugging_face_vit_model_without_prefix_drops_the_pooler(tmp_path, timm_state, images):
    state = layouts.hugging_face_from_timm(timm_state, prefix="", with_pooler=True)
    layouts.write(state, tmp_path / "model.safetensors", layouts.hugging_face_config())
    model = fixtures.flax_vit("token", num_classes=None, approximate_gelu=False,
                              layer_norm_epsilon=1e-12)
    report = ktl.load_pretrained(model, str(tmp_path / "model.safetensors"))
    assert set(report.dropped) == {"pooler.dense.weight (32, 32)", "pooler.dense.bias (32,)"}
    features = fixtures.flax_vit("token", num_classes=None, approximate_gelu=False,
                                 layer_norm_epsilon=1e-12)
    ktl.load_pretrained(features, NPZ)
    np.testing.assert_allclose(fixtures.run(model, images), fixtures.run(features, images),
                               atol=1e-5)


def test_timm_global_pool_norm_is_refused(tmp_path, timm_state):
    state = dict(timm_state, **{"fc_norm.weight": np.ones(32, np.float32)})
    layouts.write(state, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match=r"also holds 'fc_norm.weight' \(32,\), which has no"):
        ktl.load_pretrained(fixtures.flax_vit("gap"), str(tmp_path / "model.safetensors"))
