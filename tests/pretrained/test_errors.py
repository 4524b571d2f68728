"""Every load error names what is wrong: the checkpoint key, the model weight
and both shapes, or the path; a failed load changes no weight."""

import numpy as np
import pytest

import keras_tokenlearner as ktl
from tests.pretrained import fixtures

NPZ = fixtures.path("vit_jax_token.npz")


def test_width_mismatch_names_key_weight_and_shapes():
    model = fixtures.flax_vit("token", hidden_dim=16, mlp_dim=32)
    with pytest.raises(ValueError, match=r"checkpoint key embedding/kernel \(8, 8, 3, 32\) gives "
                       r"shape \(8, 8, 3, 32\), model weight 'patch_embedding/kernel' has "
                       r"shape \(8, 8, 3, 16\)"):
        ktl.load_pretrained(model, NPZ)


def test_patch_size_mismatch():
    with pytest.raises(ValueError, match=r"model weight 'patch_embedding/kernel' has shape "
                       r"\(4, 4, 3, 32\)"):
        ktl.load_pretrained(fixtures.flax_vit("token", patch_size=4), NPZ)


def test_depth_mismatch():
    with pytest.raises(ValueError, match=r"it has 2 transformer blocks \(last key Transformer/"
                       r"encoderblock_1/MlpBlock_3/Dense_1/bias \(32,\)\), the model has 3"):
        ktl.load_pretrained(fixtures.flax_vit("token", num_layers=3), NPZ)


def test_heads_mismatch():
    with pytest.raises(ValueError, match=r"MultiHeadDotProductAttention_1/query/kernel "
                       r"\(32, 2, 16\) has 2 heads, model weight 'block_0/attention/query/"
                       r"kernel' is in a block with num_heads=4"):
        ktl.load_pretrained(fixtures.flax_vit("token", num_heads=4), NPZ)


def test_a_failed_load_assigns_nothing(tmp_path):
    arrays = dict(np.load(NPZ))
    key = "Transformer/encoderblock_1/MlpBlock_3/Dense_1/kernel"
    arrays[key] = np.zeros((64, 16), np.float32)  # found after block 0 was planned
    np.savez(tmp_path / "bad.npz", **arrays)
    model = fixtures.flax_vit("token")
    before = fixtures.weights(model)
    with pytest.raises(ValueError, match=r"Dense_1/kernel \(64, 16\) gives shape \(64, 16\), "
                       r"model weight 'block_1/mlp/output/kernel' has shape \(64, 32\)"):
        ktl.load_pretrained(model, str(tmp_path / "bad.npz"))
    for path, value in fixtures.weights(model).items():
        np.testing.assert_array_equal(value, before[path], err_msg=path)


def test_missing_truncated_and_foreign_files_name_the_path(tmp_path):
    model = fixtures.flax_vit("token")
    missing = str(tmp_path / "nothing.npz")
    with pytest.raises(ValueError, match=f"an existing checkpoint.*{missing}"):
        ktl.load_pretrained(model, missing)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(open(NPZ, "rb").read()[:5000])
    with pytest.raises(ValueError, match=f"readable .npz archive.*{truncated}"):
        ktl.load_pretrained(model, str(truncated))
    foreign = tmp_path / "notes.txt"
    foreign.write_text("not weights")
    with pytest.raises(ValueError, match=f"{foreign} is neither a zip archive nor a safetensors"):
        ktl.load_pretrained(model, str(foreign))


@pytest.mark.backend_independent  # refused before any model is made
def test_named_weights_offline_name_the_url_and_the_way_out():
    with pytest.raises(ValueError) as error:
        ktl.create_model("vit_tiny_patch16", weights="imagenet21k")
    message = str(error.value)
    assert "\n" not in message
    assert "Could not download https://storage.googleapis.com/vit_models/" in message
    assert "pass the local file instead" in message


@pytest.mark.backend_independent  # refused before any model is made
def test_named_weights_for_a_size_without_a_file():
    with pytest.raises(ValueError, match=r"'imagenet21k' exists for ViT .*Ti/16.*"
                       r"hidden_dim=32, num_layers=2, patch 4"):
        ktl.create_model("vit_test_patch4", weights="imagenet21k")


def test_not_a_model_of_ours():
    import keras

    inputs = keras.Input((4,))
    with pytest.raises(ValueError, match="argument `model`"):
        ktl.load_pretrained(keras.Model(inputs, keras.layers.Dense(2)(inputs)), NPZ)
