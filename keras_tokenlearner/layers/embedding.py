"""Learned position embedding and class token of the ViT stem."""

import keras
from keras import ops

from keras_tokenlearner import validation


@keras.saving.register_keras_serializable(package="keras_tokenlearner")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned embedding to each position: (B, L, D) -> (B, L, D).

    Initialised from N(0, 0.02), as the authors' `AddPositionEmbs`.
    `keras_tokenlearner.models.resize_position_embedding` interpolates it to
    another grid for fine-tuning at a new resolution.

    Example:

    >>> import numpy as np
    >>> tuple(PositionEmbedding()(np.zeros((2, 9, 4))).shape)
    (2, 9, 4)
    """

    def build(self, input_shape):
        input_shape = _check_sequence_shape(input_shape)
        _, length, width = input_shape
        if length is None or width is None:
            raise validation.invalid_value(
                "inputs", "a known sequence length and width", input_shape
            )
        self.embeddings = self.add_weight(
            shape=(length, width),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="embeddings",
        )

    def call(self, inputs):
        return inputs + ops.cast(self.embeddings, inputs.dtype)  # (B, L, D)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


@keras.saving.register_keras_serializable(package="keras_tokenlearner")
class ClassToken(keras.layers.Layer):
    """Prepends a learned class token: (B, L, D) -> (B, 1 + L, D), zero-init.

    Example:

    >>> import numpy as np
    >>> tuple(ClassToken()(np.zeros((2, 9, 4))).shape)
    (2, 10, 4)
    """

    def build(self, input_shape):
        input_shape = _check_sequence_shape(input_shape)
        if input_shape[-1] is None:
            raise validation.invalid_value("inputs", "a known width", input_shape)
        self.token = self.add_weight(
            shape=(1, 1, input_shape[-1]), initializer="zeros", name="token"
        )

    def call(self, inputs):
        batch_size = ops.shape(inputs)[0]
        token = ops.cast(self.token, inputs.dtype)
        token = ops.broadcast_to(token, (batch_size, 1, inputs.shape[-1]))  # (B, 1, D)
        return ops.concatenate([token, inputs], axis=1)  # (B, 1 + L, D)

    def compute_output_shape(self, input_shape):
        length = None if input_shape[1] is None else input_shape[1] + 1
        return (input_shape[0], length, input_shape[2])


def _check_sequence_shape(input_shape):
    """The (batch, length, width) shape of a token sequence, or a ValueError."""
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise validation.invalid_value(
            "inputs", "a (batch, length, width) token sequence", input_shape
        )
    return input_shape
