"""TokenLearner: shapes, NumPy parity, invariants, serialization, errors."""

import keras
import numpy as np
import pytest

from keras_tokenlearner import TokenLearner
from tests import reference
from tests import testing
from tests.layers.weights import mlp_weights
from tests.layers.weights import norm_weights

VERSIONS = ["1.1", "1.0"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("num_tokens", [1, 8, 16, 111])
@pytest.mark.parametrize(
    "input_shape, positions",
    [((2, 36, 12), 36), ((2, 5, 7, 12), 35)],
    ids=["sequence", "non_square_grid"],
)
def test_output_shapes(version, num_tokens, input_shape, positions):
    layer = TokenLearner(num_tokens, version=version)
    tokens, maps = layer(
        testing.random_array(input_shape), return_attention_maps=True
    )
    assert tuple(tokens.shape) == (2, num_tokens, 12)
    assert tuple(maps.shape) == (2, num_tokens, positions)
    assert layer.compute_output_shape(input_shape) == (2, num_tokens, 12)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("num_frames", [1, 2, 4])
def test_video_learns_tokens_per_frame(version, num_frames):
    layer = TokenLearner(8, version=version)
    video = testing.random_array((2, num_frames, 4, 5, 12))
    tokens, maps = layer(video, return_attention_maps=True)
    assert tuple(tokens.shape) == (2, num_frames, 8, 12)
    assert tuple(maps.shape) == (2, num_frames, 8, 20)
    # Frame t's tokens depend on frame t alone.
    single = layer(video[:, -1:])
    np.testing.assert_allclose(
        testing.to_numpy(tokens)[:, -1:], testing.to_numpy(single), atol=1e-5
    )


def reference_tokens(layer, grid):
    """The NumPy reference's tokens for `layer` on `grid` (B, H, W, C)."""
    if layer.version == "1.1":
        flat = grid.reshape(grid.shape[0], -1, grid.shape[-1])
        return reference.token_learner_v11(
            flat, norm_weights(layer.norm), mlp_weights(layer.attention_mlp)
        )[0]
    kernels = [testing.to_numpy(c.kernel) for c in layer.convolutions]
    return reference.token_learner_v10(
        grid, norm_weights(layer.norm), kernels, layer.use_sum_pooling
    )[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_unknown_batch_and_spatial_sizes_under_xla(version):
    # Checked against NumPy, not an eager call: eager JAX compiles every op anew
    # for each shape, several times the cost of the compiled step.
    inputs = keras.Input((None, None, 12))
    layer = TokenLearner(4, version=version)
    model = keras.Model(inputs, layer(inputs))
    assert tuple(model.output.shape) == (None, 4, 12)
    testing.randomize_weights(layer, scale=0.3)
    model.compile(jit_compile=True)
    for shape in [(3, 4, 4, 12), (1, 6, 5, 12)]:
        x = testing.random_array(shape)
        np.testing.assert_allclose(
            model.predict(x, verbose=0), reference_tokens(layer, x), rtol=1e-5, atol=1e-4
        )


def test_v11_matches_numpy_reference():
    layer = TokenLearner(5, bottleneck_dim=16)
    x = testing.random_array((2, 3, 4, 6, 12))
    layer.build(x.shape)
    testing.randomize_weights(layer)
    tokens, maps = layer(x, return_attention_maps=True)
    flat = x.reshape(2, 3, 24, 12)
    expected_tokens, expected_maps = reference.token_learner_v11(
        flat, norm_weights(layer.norm), mlp_weights(layer.attention_mlp)
    )
    np.testing.assert_allclose(testing.to_numpy(maps), expected_maps, atol=1e-5)
    np.testing.assert_allclose(testing.to_numpy(tokens), expected_tokens, atol=1e-4)


@pytest.mark.parametrize("use_sum_pooling", [True, False])
@pytest.mark.parametrize(
    "grid_shape, offset",
    [((2, 5, 7, 12), 0.0), ((2, 1, 6, 12), 0.0), ((1, 1, 1, 12), 0.0), ((2, 4, 3, 12), 30.0)],
    ids=["grid", "one_row", "one_position", "mean_30"],
)
def test_v10_matches_numpy_reference(use_sum_pooling, grid_shape, offset):
    # Grids of one row or one position: every kernel offset but the centre
    # falls on the zero padding, in the convolutions and in the shifted sum.
    layer = TokenLearner(6, version="1.0", use_sum_pooling=use_sum_pooling)
    x = testing.random_array(grid_shape) + np.float32(offset)
    layer.build(x.shape)
    testing.randomize_weights(layer, scale=0.3)
    tokens, maps = layer(x, return_attention_maps=True)
    kernels = [testing.to_numpy(c.kernel) for c in layer.convolutions]
    expected_tokens, expected_maps = reference.token_learner_v10(
        x, norm_weights(layer.norm), kernels, use_sum_pooling
    )
    np.testing.assert_allclose(testing.to_numpy(maps), expected_maps, atol=1e-5)
    np.testing.assert_allclose(
        testing.to_numpy(tokens), expected_tokens, rtol=1e-5, atol=1e-4
    )


def test_v10_square_sequence_is_treated_as_grid():
    layer = TokenLearner(3, version="1.0")
    grid = testing.random_array((2, 4, 4, 8))
    from_grid = testing.to_numpy(layer(grid))
    from_sequence = testing.to_numpy(layer(grid.reshape(2, 16, 8)))
    np.testing.assert_allclose(from_sequence, from_grid, atol=1e-6)


def test_v11_attention_rows_sum_to_one_and_are_convex():
    layer = TokenLearner(8)
    x = testing.random_array((3, 6, 6, 16))
    tokens, maps = layer(x, return_attention_maps=True)
    maps = testing.to_numpy(maps)
    assert np.all(maps >= 0)
    np.testing.assert_allclose(maps.sum(axis=-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(
        testing.to_numpy(tokens), maps @ x.reshape(3, 36, 16), atol=1e-5
    )


def test_v11_is_invariant_to_permuting_positions():
    layer = TokenLearner(8)
    x = testing.random_array((2, 30, 16))
    permutation = np.random.default_rng(1).permutation(30)
    np.testing.assert_allclose(
        testing.to_numpy(layer(x[:, permutation])),
        testing.to_numpy(layer(x)),
        atol=1e-5,
    )


def test_v11_constant_input_gives_that_constant():
    layer = TokenLearner(8)
    x = np.broadcast_to(testing.random_array((2, 1, 1, 16)), (2, 5, 5, 16))
    tokens = testing.to_numpy(layer(np.ascontiguousarray(x)))
    np.testing.assert_allclose(tokens, np.repeat(x[:, 0, :1], 8, axis=1), atol=1e-5)


@pytest.mark.parametrize("version", VERSIONS)
def test_config_serialization_and_keras_file(version, tmp_path):
    layer = TokenLearner(4, version=version, bottleneck_dim=8, dropout_rate=0.1)
    testing.assert_config_complete(layer)
    testing.assert_config_round_trip(layer)
    model = testing.classifier_around(layer, (6, 6, 8))
    testing.assert_keras_file_round_trip(
        model, testing.random_array((2, 6, 6, 8)), tmp_path
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_jit_compiled_fit_step(version):
    model = testing.classifier_around(TokenLearner(4, version=version), (4, 4, 8))
    x, y = testing.random_array((4, 4, 4, 8)), np.array([0, 1, 2, 1])
    testing.assert_jit_fit_step_trains(model, x, y)
