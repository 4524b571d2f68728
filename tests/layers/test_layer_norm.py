"""Every LayerNorm computes what Keras's LayerNormalization computes.

Rows of mean 1000 and standard deviation 1, against the float64 NumPy
reference. There float32 holds E[x^2] (about 1e6) only to about 0.06, so a
variance taken as E[x^2] - E[x]^2 is off by several percent; the two-pass
variance, mean((x - mean)^2), is not. Each tolerance is 4 to 8 times the
largest two-pass error measured on TensorFlow, JAX and PyTorch, and 8 to 300
times below the errors of the LayerNorm folded in with the one-pass variance
(TokenLearner 1.1 maps 7e-3, 1.0 maps 0.14 to 0.35, TokenFuser 0.05 to 0.14).
"""

import numpy as np

from keras_tokenlearner import TokenFuser
from keras_tokenlearner import TokenLearner
from keras_tokenlearner.layers import TransformerBlock
from tests import reference
from tests import testing
from tests.layers import weights

MEAN, CHANNELS = 1000.0, 64


def far_from_zero(shape, seed=0):
    """Float32 rows of mean 1000 and standard deviation 1."""
    return testing.random_array(shape, seed) + np.float32(MEAN)


def built_and_randomized(layer, *shapes):
    layer.build(*shapes)
    testing.randomize_weights(layer, scale=0.3)
    return layer


def test_token_learner_v11():
    x = far_from_zero((2, 8, 8, CHANNELS))
    layer = built_and_randomized(TokenLearner(8, bottleneck_dim=16), x.shape)
    tokens, maps = layer(x, return_attention_maps=True)
    flat = x.reshape(2, 64, CHANNELS)  # (B, N, C)
    norm, mlp = weights.norm_weights(layer.norm), weights.mlp_weights(layer.attention_mlp)
    expected_tokens, expected_maps = reference.token_learner_v11(
        *reference.float64([flat, norm, mlp])
    )  # (B, S, C), (B, S, N)
    np.testing.assert_allclose(testing.to_numpy(maps), expected_maps, rtol=0, atol=2e-5)
    np.testing.assert_allclose(testing.to_numpy(tokens), expected_tokens, rtol=2e-6)


def test_token_learner_v10():
    x = far_from_zero((2, 6, 6, CHANNELS))
    layer = built_and_randomized(TokenLearner(8, version="1.0"), x.shape)
    tokens, maps = layer(x, return_attention_maps=True)
    kernels = [testing.to_numpy(c.kernel) for c in layer.convolutions]
    expected_tokens, expected_maps = reference.token_learner_v10(
        *reference.float64([x, weights.norm_weights(layer.norm), kernels])
    )  # (B, S, C), (B, S, N)
    # Four convolutions with weights of scale 0.3 amplify the LayerNorm's errors.
    np.testing.assert_allclose(testing.to_numpy(maps), expected_maps, rtol=0, atol=1e-3)
    np.testing.assert_allclose(testing.to_numpy(tokens), expected_tokens, rtol=1.5e-4)


def test_token_fuser():
    tokens, original = far_from_zero((2, 8, CHANNELS), 1), far_from_zero((2, 6, 6, CHANNELS), 2)
    fuser = built_and_randomized(TokenFuser(bottleneck_dim=16), tokens.shape, original.shape)
    fused = testing.to_numpy(fuser(tokens, original))
    flat_original = original.reshape(2, 36, CHANNELS)  # (B, N, C)
    expected = reference.token_fuser(
        *reference.float64([tokens, flat_original, weights.fuser_weights(fuser)])
    )  # (B, N, C)
    fused = fused.reshape(expected.shape)  # (B, H, W, C) -> (B, N, C)
    np.testing.assert_allclose(fused, expected, rtol=0, atol=1e-3)


def test_transformer_block():
    x = far_from_zero((2, 9, CHANNELS))
    block = built_and_randomized(TransformerBlock(CHANNELS, 4, 2 * CHANNELS), x.shape)
    norms = [weights.norm_weights(n) for n in (block.attention_norm, block.mlp_norm)]
    arguments = [x, norms[0], weights.projections(block.attention), norms[1],
                 weights.mlp_weights(block.mlp)]
    expected = reference.transformer_block(*reference.float64(arguments), num_heads=4)  # (B, L, C)
    # What the block adds to its input, the residual taken away in float64.
    added = testing.to_numpy(block(x)).astype("float64") - x
    np.testing.assert_allclose(added, expected - x, rtol=0, atol=2e-3)
