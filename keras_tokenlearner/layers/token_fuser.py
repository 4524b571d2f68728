"""TokenFuser: maps learned tokens back onto the full grid."""

import keras
from keras import ops

from keras_tokenlearner import validation
from keras_tokenlearner.layers import shapes
from keras_tokenlearner.layers.mlp import MLP
from keras_tokenlearner.layers.mlp import layer_norm

# Rank of `original` accepted for each rank of `tokens`.
ORIGINAL_RANKS = {3: (3, 4), 4: (5,)}


def check_fuser_shapes(tokens_shape, original_shape):
    """Checks that tokens and original agree on layout, batch, frames, channels."""
    tokens_shape, original_shape = tuple(tokens_shape), tuple(original_shape)
    if len(tokens_shape) not in ORIGINAL_RANKS:
        raise validation.invalid_value(
            "tokens",
            "a tensor of rank 3 (batch, tokens, channels) or 4 (batch, "
            f"frames, tokens, channels), but got rank {len(tokens_shape)}",
            tokens_shape,
        )
    shapes.check_feature_shape("original", original_shape)
    if len(original_shape) not in ORIGINAL_RANKS[len(tokens_shape)]:
        expected = " or ".join(map(str, ORIGINAL_RANKS[len(tokens_shape)]))
        raise validation.invalid_value(
            "original",
            f"rank {expected} for tokens of shape {tokens_shape}, but got "
            f"rank {len(original_shape)}",
            original_shape,
        )
    names = ["batch"] + (["frames"] if len(tokens_shape) == 4 else [])
    pairs = list(zip(names, tokens_shape, original_shape))
    pairs.append(("channels", tokens_shape[-1], original_shape[-1]))
    for axis_name, token_dim, original_dim in pairs:
        if None not in (token_dim, original_dim) and token_dim != original_dim:
            raise validation.invalid_value(
                "original",
                f"the same {axis_name} dimension as `tokens` ({token_dim}), "
                f"but got {original_dim}",
                original_shape,
            )


@keras.saving.register_keras_serializable(package="keras_tokenlearner")
class TokenFuser(keras.layers.Layer):
    """Maps learned tokens back onto every position of the original input.

    Steps: optional LayerNorm of the tokens, a Dense layer that mixes the
    token axis (initialised to zero), optional LayerNorm; then mixing weights
    `sigmoid(MLP(LayerNorm(original)))` of shape `(..., N, S)`; the output is
    `mix @ tokens`, then dropout. Every LayerNorm is Keras's
    `LayerNormalization` with the authors' epsilon (`layers.mlp.layer_norm`):
    their equations, with the variance computed from the deviations from the
    mean rather than as E[x^2] - E[x]^2.

    The output has the same shape and rank as `original`; the caller adds the
    residual (`original + fuser(tokens, original)`). Because the token-mixing
    Dense starts at zero, a freshly built fuser outputs exactly zero, so the
    residual block starts as the identity.

    Args:
        use_normalization: bool. LayerNorm before and after the token mixing.
            Defaults to `True`.
        bottleneck_dim: int. Hidden width of the mixing-weight MLP.
            Defaults to `64`.
        dropout_rate: float in [0, 1). Dropout in the MLP and on the output.
            Defaults to `0.0`.
        epsilon: float. LayerNorm epsilon. Defaults to `1e-6`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        - `tokens`: `(B, S, C)`, or `(B, T, S, C)` for video.
        - `original`: `(B, N, C)` or `(B, H, W, C)` for `(B, S, C)` tokens;
          `(B, T, H, W, C)` for video tokens.
        - `training`: bool. Whether dropout is active.

    Returns:
        A tensor with the shape of `original`, in the compute dtype.

    Example:

    >>> import numpy as np
    >>> fuser = TokenFuser()
    >>> tuple(fuser(np.ones((2, 8, 32)), np.ones((2, 14, 14, 32))).shape)
    (2, 14, 14, 32)

    Reference:
        Ryoo et al., "TokenLearner: What Can 8 Learned Tokens Do for Images
        and Videos?", NeurIPS 2021, https://arxiv.org/abs/2106.11297.
    """

    def __init__(
        self,
        use_normalization=True,
        bottleneck_dim=64,
        dropout_rate=0.0,
        epsilon=1e-6,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.use_normalization = validation.check_bool(
            "use_normalization", use_normalization
        )
        self.bottleneck_dim = validation.check_positive_int(
            "bottleneck_dim", bottleneck_dim
        )
        self.dropout_rate = validation.check_rate("dropout_rate", dropout_rate)
        self.epsilon = validation.check_positive_float("epsilon", epsilon)
        if self.use_normalization:
            self.token_norm = layer_norm(self.epsilon, self.dtype_policy, "token_norm")
            self.mixed_norm = layer_norm(self.epsilon, self.dtype_policy, "mixed_norm")
        self.original_norm = layer_norm(
            self.epsilon, self.dtype_policy, "original_norm"
        )
        self.dropout = keras.layers.Dropout(
            self.dropout_rate, dtype=self.dtype_policy, name="dropout"
        )

    def build(self, tokens_shape, original_shape):
        check_fuser_shapes(tokens_shape, original_shape)
        num_tokens = tokens_shape[-2]
        if num_tokens is None:
            raise validation.invalid_value(
                "tokens", "a known (not None) number of tokens", tokens_shape
            )
        # Mixes the token axis; zeros make the fuser output 0 at init.
        self.token_mixing = keras.layers.Dense(
            num_tokens,
            kernel_initializer="zeros",
            dtype=self.dtype_policy,
            name="token_mixing",
        )
        self.mixing_mlp = MLP(
            self.bottleneck_dim,
            num_tokens,
            self.dropout_rate,
            dtype=self.dtype_policy,
            name="mixing_mlp",
        )
        tokens_shape = tuple(tokens_shape)
        flat_original_shape = shapes.flat_spatial_shape(original_shape)
        if self.use_normalization:
            self.token_norm.build(tokens_shape)
            self.mixed_norm.build(tokens_shape)
        self.token_mixing.build(tokens_shape[:-2] + (tokens_shape[-1], num_tokens))
        self.original_norm.build(flat_original_shape)
        self.mixing_mlp.build(flat_original_shape)

    def _mix_tokens(self, tokens):
        """Norm -> Dense over the token axis -> norm: (..., S, C) -> same."""
        if self.use_normalization:
            tokens = self.token_norm(tokens)
        tokens = ops.swapaxes(tokens, -1, -2)  # (..., C, S)
        tokens = self.token_mixing(tokens)  # (..., C, S)
        tokens = ops.swapaxes(tokens, -1, -2)  # (..., S, C)
        if self.use_normalization:
            tokens = self.mixed_norm(tokens)
        return tokens

    def call(self, tokens, original, training=None):
        check_fuser_shapes(tokens.shape, original.shape)
        mixed_tokens = self._mix_tokens(tokens)  # (..., S, C)
        flat_original = shapes.flatten_spatial(original)  # (..., N, C)
        mix_logits = self.mixing_mlp(
            self.original_norm(flat_original), training=training
        )  # (..., N, S)
        mix = ops.sigmoid(ops.cast(mix_logits, "float32"))  # (..., N, S)
        fused = ops.matmul(mix, ops.cast(mixed_tokens, "float32"))  # (..., N, C)
        fused = self.dropout(ops.cast(fused, self.compute_dtype), training=training)
        return ops.reshape(fused, ops.shape(original))  # shape of `original`

    def compute_output_shape(self, tokens_shape, original_shape):
        check_fuser_shapes(tokens_shape, original_shape)
        return tuple(original_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            use_normalization=self.use_normalization,
            bottleneck_dim=self.bottleneck_dim,
            dropout_rate=self.dropout_rate,
            epsilon=self.epsilon,
        )
        return config
