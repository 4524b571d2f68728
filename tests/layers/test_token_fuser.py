"""TokenFuser: zero at init, rank kept, NumPy parity, serialization."""

import keras
import numpy as np
import pytest

from keras_tokenlearner import TokenFuser
from keras_tokenlearner import TokenLearner
from tests import reference
from tests import testing
from tests.layers.weights import fuser_weights

LAYOUTS = {
    "sequence": ((2, 4, 12), (2, 30, 12)),
    "grid": ((2, 4, 12), (2, 5, 6, 12)),
    "video": ((2, 3, 4, 12), (2, 3, 5, 6, 12)),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_outputs_zero_at_init_and_keeps_rank(layout):
    tokens_shape, original_shape = LAYOUTS[layout]
    fuser = TokenFuser()
    tokens = testing.random_array(tokens_shape, seed=1)
    original = testing.random_array(original_shape, seed=2)
    fused = testing.to_numpy(fuser(tokens, original))
    assert fused.shape == original_shape
    assert fuser.compute_output_shape(tokens_shape, original_shape) == original_shape
    assert np.all(fused == 0.0)


@pytest.mark.parametrize("use_normalization", [True, False])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_matches_numpy_reference(layout, use_normalization):
    tokens_shape, original_shape = LAYOUTS[layout]
    fuser = TokenFuser(use_normalization=use_normalization, bottleneck_dim=16)
    fuser.build(tokens_shape, original_shape)
    testing.randomize_weights(fuser)
    tokens = testing.random_array(tokens_shape, seed=1)
    original = testing.random_array(original_shape, seed=2)
    fused = testing.to_numpy(fuser(tokens, original))
    flat_original = original.reshape(tokens_shape[:-2] + (-1, 12))  # (..., N, C)
    expected = reference.token_fuser(
        tokens, flat_original, fuser_weights(fuser), use_normalization
    )
    np.testing.assert_allclose(fused.reshape(expected.shape), expected, atol=1e-4)


def learner_fuser_classifier(input_shape):
    def body(inputs):
        tokens = TokenLearner(4)(inputs)
        return inputs + TokenFuser(bottleneck_dim=8)(tokens, inputs)

    return testing.classifier_around(body, input_shape)


def test_config_serialization_and_keras_file(tmp_path):
    fuser = TokenFuser(use_normalization=False, bottleneck_dim=8, dropout_rate=0.2)
    testing.assert_config_complete(fuser)
    testing.assert_config_round_trip(fuser)
    model = learner_fuser_classifier((5, 5, 8))
    for layer in model.layers:
        if isinstance(layer, TokenFuser):
            testing.randomize_weights(layer, scale=0.1)
    testing.assert_keras_file_round_trip(
        model, testing.random_array((2, 5, 5, 8)), tmp_path
    )


def test_jit_compiled_fit_step():
    model = learner_fuser_classifier((4, 4, 8))
    for layer in model.layers:
        if isinstance(layer, TokenFuser):
            testing.randomize_weights(layer, scale=0.1)
    x, y = testing.random_array((4, 4, 4, 8)), np.array([0, 1, 2, 1])
    testing.assert_jit_fit_step_trains(model, x, y)


def test_unknown_batch_and_grid_in_a_functional_model():
    inputs = keras.Input((None, None, 8))
    tokens = TokenLearner(4)(inputs)
    model = keras.Model(inputs, TokenFuser()(tokens, inputs))
    assert tuple(model.output.shape) == (None, None, None, 8)
    assert model.predict(testing.random_array((3, 5, 7, 8)), verbose=0).shape == (3, 5, 7, 8)
