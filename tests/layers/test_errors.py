"""Bad input raises a ValueError naming the argument and the value."""

import keras
import numpy as np
import pytest

from keras_tokenlearner import TokenFuser
from keras_tokenlearner import TokenLearner
from keras_tokenlearner.layers import ClassToken
from keras_tokenlearner.layers import PositionEmbedding


@pytest.mark.backend_independent  # pure-Python checks in the constructor
@pytest.mark.parametrize("value", [0, -3, 2.5, True, "8", None])
def test_num_tokens_must_be_a_positive_int(value):
    message = (
        r"Invalid value received for argument `num_tokens`\. Expected a "
        rf"positive int\. Received: num_tokens={value!r}"
    )
    with pytest.raises(ValueError, match=message):
        TokenLearner(value)


@pytest.mark.backend_independent  # pure-Python checks in the constructor
def test_unknown_version():
    with pytest.raises(ValueError, match=r"`version`.*'1\.0', '1\.1'.*version='2'"):
        TokenLearner(8, version="2")


@pytest.mark.backend_independent  # pure-Python checks in the constructor
@pytest.mark.parametrize("value", [1.0, -0.1, 1.5, "0.1"])
@pytest.mark.parametrize("layer_cls", [TokenLearner, TokenFuser])
def test_dropout_rate_outside_unit_interval(layer_cls, value):
    arguments = {"num_tokens": 8} if layer_cls is TokenLearner else {}
    with pytest.raises(ValueError, match=rf"`dropout_rate`.*\[0, 1\).*{value!r}"):
        layer_cls(dropout_rate=value, **arguments)


@pytest.mark.backend_independent  # pure-Python checks in the constructor
@pytest.mark.parametrize("argument", ["bottleneck_dim", "epsilon"])
def test_other_arguments_are_checked(argument):
    with pytest.raises(ValueError, match=rf"`{argument}`.*{argument}=0"):
        TokenFuser(**{argument: 0})


@pytest.mark.parametrize("shape", [(2, 8), (2, 1, 2, 3, 4, 8)])
def test_token_learner_rejects_other_ranks(shape):
    with pytest.raises(ValueError, match=r"`inputs`.*rank 3.*4.*5.*got rank"):
        TokenLearner(4)(np.zeros(shape, "float32"))


def test_unknown_channel_dimension():
    with pytest.raises(ValueError, match=r"`inputs`.*channel dimension"):
        TokenLearner(4)(keras.Input((4, 4, None)))


@pytest.mark.parametrize("shape", [(2, 15, 8), (None, None, 8)])
def test_v10_sequence_needs_a_square_grid(shape):
    inputs = keras.Input(shape[1:], batch_size=shape[0])
    with pytest.raises(ValueError, match=r"`inputs`.*version '1\.0'.*perfect square"):
        TokenLearner(4, version="1.0")(inputs)


@pytest.mark.parametrize(
    "tokens_shape, original_shape, message",
    [
        ((2, 8, 16), (3, 10, 16), "same batch dimension.*got 3"),
        ((2, 8, 16), (2, 10, 12), "same channels dimension.*got 12"),
        ((2, 3, 8, 16), (2, 4, 5, 5, 16), "same frames dimension.*got 4"),
        ((2, 8, 16), (2, 3, 5, 5, 16), "rank 3 or 4.*got rank 5"),
        ((2, 3, 8, 16), (2, 25, 16), "rank 5.*got rank 3"),
    ],
)
def test_fuser_rejects_mismatched_tokens_and_original(
    tokens_shape, original_shape, message
):
    tokens = np.zeros(tokens_shape, "float32")
    original = np.zeros(original_shape, "float32")
    with pytest.raises(ValueError, match=rf"`original`.*{message}"):
        TokenFuser()(tokens, original)


def test_fuser_rejects_bad_token_rank():
    with pytest.raises(ValueError, match=r"`tokens`.*got rank 5"):
        TokenFuser()(np.zeros((1, 2, 3, 4, 5)), np.zeros((1, 2, 3, 4, 5)))


def test_numpy_ints_are_accepted():
    layer = TokenLearner(np.int64(4), bottleneck_dim=np.int64(8))
    assert tuple(layer(np.zeros((1, 3, 3, 8), "float32")).shape) == (1, 4, 8)
    assert type(layer.get_config()["num_tokens"]) is int


@pytest.mark.parametrize("layer_cls", [ClassToken, PositionEmbedding])
@pytest.mark.parametrize("shape", [(2, 8), (2, 3, 3, 8)])
def test_embeddings_need_a_token_sequence(layer_cls, shape):
    with pytest.raises(ValueError, match=r"`inputs`.*\(batch, length, width\).*Received: inputs="):
        layer_cls()(np.zeros(shape, "float32"))
