"""The one pre-LayerNorm transformer block that every model here uses."""

import keras

from keras_tokenlearner import validation
from keras_tokenlearner.layers.attention import MultiHeadSelfAttention
from keras_tokenlearner.layers.mlp import MLP
from keras_tokenlearner.layers.mlp import layer_norm


@keras.saving.register_keras_serializable(package="keras_tokenlearner")
class TransformerBlock(keras.layers.Layer):
    """Pre-LN encoder block: x + Attention(LN(x)), then x + MLP(LN(x)).

    The block of ViT and of the authors' TokenLearner models (Scenic
    `Encoder1DBlock`): LayerNorm (epsilon 1e-6), multi-head self-attention
    (`MultiHeadSelfAttention`: Xavier-uniform kernels, float32 softmax),
    dropout, residual; LayerNorm, the MLP with tanh-approximate GELU,
    residual. `epsilon` and `approximate_gelu` let the block compute what
    weights from another source were trained with (exact GELU, epsilon 1e-12
    for Hugging Face).

    Args:
        hidden_dim: int. Token width D. Must be divisible by `num_heads`.
        num_heads: int. Number of attention heads.
        mlp_dim: int. Hidden width of the MLP.
        dropout_rate: float in [0, 1). Dropout after attention and in the
            MLP. Defaults to `0.0`.
        attention_dropout_rate: float in [0, 1). Dropout on the attention
            weights. Defaults to `0.0`.
        epsilon: float. LayerNorm epsilon. Defaults to `1e-6`.
        approximate_gelu: bool. tanh-approximate GELU in the MLP (`True`) or
            exact erf GELU (`False`). Defaults to `True`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(B, L, hidden_dim)`.
        training: bool. Whether dropout is active.

    Returns:
        `(B, L, hidden_dim)`.

    Example:

    >>> import numpy as np
    >>> block = TransformerBlock(hidden_dim=16, num_heads=2, mlp_dim=32)
    >>> tuple(block(np.zeros((2, 5, 16))).shape)
    (2, 5, 16)
    """

    def __init__(
        self,
        hidden_dim,
        num_heads,
        mlp_dim,
        dropout_rate=0.0,
        attention_dropout_rate=0.0,
        epsilon=1e-6,
        approximate_gelu=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_dim = validation.check_positive_int("hidden_dim", hidden_dim)
        self.num_heads = validation.check_positive_int("num_heads", num_heads)
        self.mlp_dim = validation.check_positive_int("mlp_dim", mlp_dim)
        self.dropout_rate = validation.check_rate("dropout_rate", dropout_rate)
        self.attention_dropout_rate = validation.check_rate(
            "attention_dropout_rate", attention_dropout_rate
        )
        self.epsilon = validation.check_positive_float("epsilon", epsilon)
        self.approximate_gelu = validation.check_bool("approximate_gelu", approximate_gelu)
        self.attention_norm = layer_norm(self.epsilon, self.dtype_policy, "attention_norm")
        self.attention = MultiHeadSelfAttention(
            self.hidden_dim,
            self.num_heads,
            self.attention_dropout_rate,
            dtype=self.dtype_policy,
            name="attention",
        )
        self.dropout = keras.layers.Dropout(
            self.dropout_rate, dtype=self.dtype_policy, name="dropout"
        )
        self.mlp_norm = layer_norm(self.epsilon, self.dtype_policy, "mlp_norm")
        self.mlp = MLP(
            self.mlp_dim, self.hidden_dim, self.dropout_rate, self.approximate_gelu,
            dtype=self.dtype_policy, name="mlp",
        )

    def build(self, input_shape):
        self.attention.build(input_shape)  # checks the width is hidden_dim
        self.attention_norm.build(input_shape)
        self.mlp_norm.build(input_shape)
        self.mlp.build(input_shape)

    def call(self, inputs, training=None):
        normed = self.attention_norm(inputs)
        attended = self.attention(normed, training=training)  # (B, L, D)
        x = inputs + self.dropout(attended, training=training)
        return x + self.mlp(self.mlp_norm(x), training=training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_dim=self.hidden_dim,
            num_heads=self.num_heads,
            mlp_dim=self.mlp_dim,
            dropout_rate=self.dropout_rate,
            attention_dropout_rate=self.attention_dropout_rate,
            epsilon=self.epsilon,
            approximate_gelu=self.approximate_gelu,
        )
        return config
