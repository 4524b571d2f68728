"""MLP: the authors' initialisers, tanh-approximate GELU, serialization."""

import numpy as np
import pytest

from keras_tokenlearner import TokenFuser
from keras_tokenlearner import TokenLearner
from keras_tokenlearner.layers import MLP
from tests import reference
from tests import testing


def test_matches_numpy_with_tanh_gelu():
    mlp = MLP(hidden_dim=32, output_dim=6)
    x = testing.random_array((3, 10, 8), scale=2.0)
    mlp.build(x.shape)
    weights = [testing.to_numpy(w) for w in mlp.weights]
    np.testing.assert_allclose(
        testing.to_numpy(mlp(x)), reference.mlp(x, *weights), atol=1e-5
    )


def test_authors_initialisers():
    mlp = MLP(hidden_dim=256, output_dim=128)
    mlp.build((None, 512))
    kernel = testing.to_numpy(mlp.hidden.kernel)
    glorot_limit = np.sqrt(6.0 / (512 + 256))
    assert np.abs(kernel).max() <= glorot_limit
    assert np.abs(kernel).max() > 0.95 * glorot_limit  # uniform, not normal
    for bias in (mlp.hidden.bias, mlp.output_dense.bias):
        bias = testing.to_numpy(bias)
        assert 0 < bias.std() < 3e-6  # N(0, 1e-6), not zeros


def test_layers_use_epsilon_1e6_and_zero_token_mixing():
    learner, fuser = TokenLearner(4), TokenFuser()
    learner.build((None, 9, 8))
    fuser.build((None, 4, 8), (None, 9, 8))
    norms = [learner.norm, fuser.token_norm, fuser.mixed_norm, fuser.original_norm]
    assert all(norm.epsilon == 1e-6 for norm in norms)
    assert not np.any(testing.to_numpy(fuser.token_mixing.kernel))


def test_config():
    mlp = MLP(hidden_dim=4, output_dim=2, dropout_rate=0.5)
    testing.assert_config_complete(mlp)
    testing.assert_config_round_trip(mlp)
    assert mlp.compute_output_shape((None, 7, 3)) == (None, 7, 2)


@pytest.mark.backend_independent  # pure-Python checks in the constructor
@pytest.mark.parametrize("argument", ["hidden_dim", "output_dim"])
def test_widths_must_be_positive(argument):
    arguments = {"hidden_dim": 4, "output_dim": 2, argument: 0}
    with pytest.raises(ValueError, match=rf"`{argument}`.*{argument}=0"):
        MLP(**arguments)


def test_unknown_channels_are_a_clear_error():
    message = r"`inputs`.*a known last axis.*Received: inputs=\(2, 5, None\)"
    with pytest.raises(ValueError, match=message):
        MLP(hidden_dim=4, output_dim=2).build((2, 5, None))
