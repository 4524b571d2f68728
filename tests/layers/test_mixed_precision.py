"""Mixed precision: float32 weights and sums, outputs close to float32."""

import keras
import numpy as np
import pytest

from keras_tokenlearner import TokenFuser
from keras_tokenlearner import TokenLearner
from tests import testing

POLICIES = ["mixed_float16", "mixed_bfloat16"]
# The mixed-vs-float32 error is the same on a 16 x 16 grid as on 56 x 56 (about
# 0.1% in float16, 1% in bfloat16, against 2% allowed): a small grid checks as much.
GRID_SHAPE = (2, 16, 16, 64)
TOKENS_SHAPE = (2, 8, 64)


def dtype(tensor):
    """The tensor's dtype as Keras names it, e.g. "float16", on any backend."""
    return keras.backend.standardize_dtype(tensor.dtype)


def assert_close_relative_to_max(actual, expected, tolerance=0.02):
    actual = testing.to_numpy(keras.ops.cast(actual, "float32"))
    expected = testing.to_numpy(expected)
    assert np.all(np.isfinite(actual))
    scale = np.abs(expected).max()
    assert np.abs(actual - expected).max() <= tolerance * scale


def float32_and_mixed(make_layer, policy, *shapes):
    reference_layer, mixed_layer = make_layer(), make_layer(dtype=policy)
    reference_layer.build(*shapes)
    mixed_layer.build(*shapes)
    testing.randomize_weights(reference_layer, scale=0.2)
    mixed_layer.set_weights(reference_layer.get_weights())
    assert all(w.dtype == "float32" for w in mixed_layer.weights)
    return reference_layer, mixed_layer


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("version", ["1.1", "1.0"])
def test_token_learner_mixed_precision(policy, version):
    def make_layer(**kwargs):
        return TokenLearner(8, version=version, use_sum_pooling=False, **kwargs)

    reference_layer, mixed_layer = float32_and_mixed(make_layer, policy, GRID_SHAPE)
    x = testing.random_array(GRID_SHAPE)
    expected_tokens, expected_maps = reference_layer(x, return_attention_maps=True)
    tokens, maps = mixed_layer(x, return_attention_maps=True)
    assert dtype(tokens) == keras.DTypePolicy(policy).compute_dtype
    assert dtype(maps) == "float32"
    assert_close_relative_to_max(tokens, expected_tokens)
    assert_close_relative_to_max(maps, expected_maps)


@pytest.mark.parametrize("policy", POLICIES)
def test_token_fuser_mixed_precision(policy):
    reference_layer, mixed_layer = float32_and_mixed(
        TokenFuser, policy, TOKENS_SHAPE, GRID_SHAPE
    )
    tokens = testing.random_array(TOKENS_SHAPE, seed=1)
    original = testing.random_array(GRID_SHAPE, seed=2)
    fused = mixed_layer(tokens, original)
    assert dtype(fused) == keras.DTypePolicy(policy).compute_dtype
    assert_close_relative_to_max(fused, reference_layer(tokens, original))
