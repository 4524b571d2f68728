"""Parity with the authors' code: checkpoints the authors' Flax ViTs wrote, loaded
into our models, give the logits those modules computed."""

import ml_dtypes
import numpy as np
import pytest

import keras_tokenlearner as ktl
from tests.pretrained import fixtures

CASES = [("vit_jax_token", "token", "vit_jax"), ("vit_jax_gap", "gap", "vit_jax"),
         ("big_vision_tok", "token", "big_vision"), ("big_vision_gap", "gap", "big_vision")]


@pytest.mark.parametrize("name, pooling, layout", CASES, ids=[case[0] for case in CASES])
def test_flax_logits_reproduced(name, pooling, layout):
    model = fixtures.flax_vit(pooling)
    report = ktl.load_pretrained(model, fixtures.path(f"{name}.npz"))
    reference = fixtures.expected(name)
    np.testing.assert_allclose(fixtures.run(model, reference["images"]), reference["logits"],
                               atol=1e-4, rtol=0)
    assert report.format == layout and not report.fresh and not report.numerics


def test_48px_model_from_32px_file_matches_vit_jax_load_pretrained():
    model = fixtures.flax_vit("token", image_size=48)
    report = ktl.load_pretrained(model, fixtures.path("vit_jax_token.npz"))
    reference = fixtures.expected("vit_jax_token_48px")
    embedding = fixtures.weights(model)["position_embedding/embeddings"]
    np.testing.assert_allclose(embedding, reference["pos_embedding"][0], atol=1e-6)
    np.testing.assert_allclose(fixtures.run(model, reference["images"]), reference["logits"],
                               atol=1e-4, rtol=0)
    assert "(4, 4) grid to (6, 6)" in report.adapted["position_embedding/embeddings"]


@pytest.mark.parametrize("prefix", ["params/", "params/img/", "opt/target/"])
def test_big_vision_prefix_and_bfloat16(tmp_path, prefix):
    arrays = dict(np.load(fixtures.path("big_vision_tok.npz")))
    rounded = {key: value.astype(ml_dtypes.bfloat16) for key, value in arrays.items()}
    np.savez(tmp_path / "bf16.npz", **{prefix + key: value for key, value in rounded.items()})
    np.savez(tmp_path / "f32.npz", **{key: value.astype(np.float32)
                                      for key, value in rounded.items()})
    from_bfloat16, from_float32 = fixtures.flax_vit("token"), fixtures.flax_vit("token")
    ktl.load_pretrained(from_bfloat16, str(tmp_path / "bf16.npz"))
    ktl.load_pretrained(from_float32, str(tmp_path / "f32.npz"))
    for path, value in fixtures.weights(from_float32).items():
        np.testing.assert_array_equal(fixtures.weights(from_bfloat16)[path], value, err_msg=path)


def test_create_model_with_weights_overrides_the_zoo_entry():
    model = ktl.create_model("vit_test_patch4", weights=fixtures.path("vit_jax_token.npz"),
                             patch_size=8, image_shape=(32, 32, 3))
    reference = fixtures.expected("vit_jax_token")
    np.testing.assert_allclose(fixtures.run(model, reference["images"]), reference["logits"],
                               atol=1e-4, rtol=0)
    assert model.arguments["approximate_gelu"] is True
