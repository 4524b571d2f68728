"""Self-attention and the transformer block against the NumPy equations."""

import keras
import numpy as np
import pytest

from keras_tokenlearner.layers import MultiHeadSelfAttention
from keras_tokenlearner.layers import TransformerBlock
from tests import reference
from tests import testing
from tests.layers.weights import mlp_weights
from tests.layers.weights import norm_weights
from tests.layers.weights import projections

HIDDEN_DIM, NUM_HEADS, MLP_DIM = 16, 4, 32


def test_attention_matches_numpy():
    attention = MultiHeadSelfAttention(HIDDEN_DIM, NUM_HEADS)
    x = testing.random_array((2, 7, HIDDEN_DIM), scale=2.0)
    attention.build(x.shape)
    testing.randomize_weights(attention)
    expected = reference.self_attention(x, projections(attention), NUM_HEADS)
    np.testing.assert_allclose(testing.to_numpy(attention(x)), expected, atol=1e-5, rtol=1e-5)


def test_block_matches_numpy():
    block = TransformerBlock(HIDDEN_DIM, NUM_HEADS, MLP_DIM)
    x = testing.random_array((2, 9, HIDDEN_DIM))
    block.build(x.shape)
    testing.randomize_weights(block)
    norms = [norm_weights(norm) for norm in (block.attention_norm, block.mlp_norm)]
    expected = reference.transformer_block(
        x, norms[0], projections(block.attention), norms[1], mlp_weights(block.mlp), NUM_HEADS
    )
    np.testing.assert_allclose(testing.to_numpy(block(x)), expected, atol=1e-4)


def test_authors_initialisers():
    """Xavier-uniform over each (D, D) kernel, as Flax, and zero biases."""
    width = 256
    attention = MultiHeadSelfAttention(width, num_heads=8)
    attention.build((None, 4, width))
    limit = np.sqrt(6.0 / (width + width))
    for kernel, bias in projections(attention):
        assert kernel.shape == (width, width)
        assert limit * 0.95 < np.abs(kernel).max() <= limit  # uniform at the Xavier limit
        assert 0.9 < kernel.std() / (limit / np.sqrt(3.0)) < 1.1
        np.testing.assert_array_equal(bias, 0.0)


def test_attention_dropout_only_in_training():
    attention = MultiHeadSelfAttention(HIDDEN_DIM, NUM_HEADS, dropout_rate=0.5)
    x = testing.random_array((2, 7, HIDDEN_DIM))
    inference = testing.to_numpy(attention(x, training=False))
    np.testing.assert_array_equal(inference, testing.to_numpy(attention(x)))
    assert not np.allclose(testing.to_numpy(attention(x, training=True)), inference)


def test_mixed_bfloat16_outputs_bfloat16_close_to_float32():
    x = testing.random_array((2, 7, HIDDEN_DIM), scale=2.0)
    mixed = MultiHeadSelfAttention(HIDDEN_DIM, NUM_HEADS, dtype="mixed_bfloat16")
    mixed.build(x.shape)
    testing.randomize_weights(mixed)
    outputs = mixed(x)
    assert keras.backend.standardize_dtype(outputs.dtype) == "bfloat16"
    expected = reference.self_attention(x, projections(mixed), NUM_HEADS)
    error = np.abs(testing.to_numpy(outputs).astype("float32") - expected).max()
    assert error < 0.1 * np.abs(expected).max()  # bfloat16 keeps ~3 significant digits


@pytest.mark.parametrize("layer", [
    MultiHeadSelfAttention(HIDDEN_DIM, NUM_HEADS, dropout_rate=0.1),
    TransformerBlock(HIDDEN_DIM, NUM_HEADS, MLP_DIM, 0.1, 0.2),
])
def test_config_round_trip(layer):
    testing.assert_config_complete(layer)
    testing.assert_config_round_trip(layer)


def test_keras_file_round_trip(tmp_path):
    model = testing.classifier_around(TransformerBlock(HIDDEN_DIM, NUM_HEADS, MLP_DIM), (5, 16))
    testing.assert_keras_file_round_trip(model, testing.random_array((3, 5, 16)), tmp_path)


@pytest.mark.backend_independent  # pure-Python checks in the constructor
@pytest.mark.parametrize("layer_class", [MultiHeadSelfAttention, TransformerBlock])
def test_num_heads_must_divide_hidden_dim(layer_class):
    arguments = {"mlp_dim": MLP_DIM} if layer_class is TransformerBlock else {}
    message = r"`num_heads`\. Expected a divisor of hidden_dim=16\. Received: num_heads=3"
    with pytest.raises(ValueError, match=message):
        layer_class(HIDDEN_DIM, 3, **arguments)


@pytest.mark.parametrize("layer_class", [MultiHeadSelfAttention, TransformerBlock])
def test_input_width_must_be_hidden_dim(layer_class):
    arguments = {"mlp_dim": MLP_DIM} if layer_class is TransformerBlock else {}
    layer = layer_class(HIDDEN_DIM, NUM_HEADS, **arguments)
    with pytest.raises(ValueError, match=r"`inputs`.*hidden_dim=16.*12"):
        layer(np.zeros((2, 5, 12), "float32"))
