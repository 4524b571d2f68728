"""Multi-head self-attention of the transformer block, as the authors' Flax one."""

import math

import keras
from keras import ops

from keras_tokenlearner import validation
from keras_tokenlearner.layers.mlp import KERNEL_INITIALIZER

PROJECTIONS = ("query", "key", "value")


@keras.saving.register_keras_serializable(package="keras_tokenlearner")
class MultiHeadSelfAttention(keras.layers.Layer):
    """Multi-head scaled dot-product self-attention: (B, L, D) -> (B, L, D).

    Flax `MultiHeadDotProductAttention` as the authors' encoder block uses it:
    query, key, value and output projections with Xavier-uniform kernels
    over their `(D, D)` matrices and zero biases; the query scaled by
    1/sqrt(head_dim); softmax over the keys in float32 (also under mixed
    precision); dropout on the attention weights.

    Keras's `MultiHeadAttention` would draw its `(D, heads, head_dim)`
    kernels with fans of `heads * D` and `head_dim * D`, about 6x smaller
    than the authors' Xavier-uniform over `(D, D)`. Here each projection is a
    `Dense` on the flattened `(B * L, D)` rows, so the fans are the authors'
    and every projection is one plain matrix product.

    Args:
        hidden_dim: int. Token width D. Must be divisible by `num_heads`.
        num_heads: int. Number of attention heads.
        dropout_rate: float in [0, 1). Dropout on the attention weights.
            Defaults to `0.0`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(B, L, hidden_dim)`.
        training: bool. Whether dropout is active.

    Returns:
        `(B, L, hidden_dim)`.

    Example:

    >>> import numpy as np
    >>> attention = MultiHeadSelfAttention(hidden_dim=16, num_heads=4)
    >>> tuple(attention(np.zeros((2, 5, 16))).shape)
    (2, 5, 16)
    """

    def __init__(self, hidden_dim, num_heads, dropout_rate=0.0, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = validation.check_positive_int("hidden_dim", hidden_dim)
        self.num_heads = validation.check_positive_int("num_heads", num_heads)
        if self.hidden_dim % self.num_heads:
            raise validation.invalid_value(
                "num_heads", f"a divisor of hidden_dim={hidden_dim}", num_heads
            )
        self.dropout_rate = validation.check_rate("dropout_rate", dropout_rate)
        self.head_dim = self.hidden_dim // self.num_heads
        self.projections = [self._dense(name) for name in PROJECTIONS]
        self.output_dense = self._dense("output")
        self.dropout = keras.layers.Dropout(
            self.dropout_rate, dtype=self.dtype_policy, name="dropout"
        )

    def _dense(self, name):
        return keras.layers.Dense(
            self.hidden_dim,
            kernel_initializer=KERNEL_INITIALIZER,  # Xavier uniform, as the MLPs
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, input_shape):
        if tuple(input_shape)[-1] != self.hidden_dim:
            raise validation.invalid_value(
                "inputs", f"a last axis of size hidden_dim={self.hidden_dim}", input_shape
            )
        for dense in self.projections + [self.output_dense]:
            dense.build((None, self.hidden_dim))

    def call(self, inputs, training=None):
        batch_size, length = ops.shape(inputs)[0], ops.shape(inputs)[1]
        rows = ops.reshape(inputs, (-1, self.hidden_dim))  # (B * L, D)
        query, key, value = (
            self._split_heads(dense(rows), batch_size, length) for dense in self.projections
        )  # each (B, H, L, K)
        query = query * ops.cast(1.0 / math.sqrt(self.head_dim), query.dtype)
        logits = ops.matmul(query, ops.transpose(key, (0, 1, 3, 2)))  # (B, H, L, L)
        weights = ops.softmax(ops.cast(logits, "float32"), axis=-1)
        weights = self.dropout(ops.cast(weights, self.compute_dtype), training=training)
        context = ops.matmul(weights, value)  # (B, H, L, K)
        context = ops.transpose(context, (0, 2, 1, 3))  # (B, L, H, K)
        context = ops.reshape(context, (-1, self.hidden_dim))  # (B * L, D)
        outputs = self.output_dense(context)  # (B * L, D)
        return ops.reshape(outputs, (batch_size, length, self.hidden_dim))  # (B, L, D)

    def _split_heads(self, projected, batch_size, length):
        """(B * L, D) -> (B, H, L, K)."""
        shape = (batch_size, length, self.num_heads, self.head_dim)
        return ops.transpose(ops.reshape(projected, shape), (0, 2, 1, 3))  # (B, H, L, K)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_dim=self.hidden_dim,
            num_heads=self.num_heads,
            dropout_rate=self.dropout_rate,
        )
        return config
