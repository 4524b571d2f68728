"""TokenLearner: learns a few adaptive tokens from a feature map."""

import math

import keras
from keras import ops

from keras_tokenlearner import validation
from keras_tokenlearner.layers import shapes
from keras_tokenlearner.layers.mlp import MLP
from keras_tokenlearner.layers.mlp import layer_norm

VERSIONS = ("1.0", "1.1")
NUM_CONVOLUTIONS = 4  # Version 1.0: three 3x3 convolutions with GELU, one without.
KERNEL_SIZE = 3


@keras.saving.register_keras_serializable(package="keras_tokenlearner")
class TokenLearner(keras.layers.Layer):
    """Learns `num_tokens` adaptive tokens from a feature map.

    Each token is a weighted pooling of the input positions. The weights
    ("attention maps") are computed from the input itself, so the layer learns
    where to look. A transformer that runs on 8 or 16 learned tokens instead of
    hundreds of patches costs a fraction of the compute.

    Version `"1.1"` (the default, the authors' current recommendation):
    LayerNorm, then an MLP (Dense `bottleneck_dim`, tanh-approximate GELU,
    Dropout, Dense `num_tokens`, Dropout), then a softmax over the positions.
    Each token is a convex combination of the un-normalised input positions.

    Version `"1.0"` (the one in the paper's experiments): LayerNorm, three 3x3
    convolutions to `num_tokens` channels (no bias, GELU after each), a fourth
    3x3 convolution, a sigmoid, then sum pooling (`use_sum_pooling=True`) or
    mean pooling of input x map. It needs a 2-D grid: a `(B, N, C)` input must
    have a known, perfect-square `N`. In float32 the first convolution runs
    as one matmul of the normalized grid with all nine kernel slices and a
    shifted sum: the convolution's own sums, faster than a convolution to so
    few channels.

    Every LayerNorm is Keras's `LayerNormalization` with the authors' epsilon
    (`layers.mlp.layer_norm`): their equations, with the variance computed
    from the deviations from the mean rather than as E[x^2] - E[x]^2.
    Softmax, sigmoid and pooling sums run in float32 under mixed precision.

    Args:
        num_tokens: int. Number of tokens to learn (S). Must be positive.
        version: str. `"1.1"` or `"1.0"`. Defaults to `"1.1"`.
        bottleneck_dim: int. Hidden width of the v1.1 attention MLP.
            Defaults to `64`. Unused by version `"1.0"`.
        dropout_rate: float in [0, 1). Dropout inside the v1.1 MLP.
            Defaults to `0.0`.
        use_sum_pooling: bool. Version `"1.0"` only: sum (`True`, the
            authors' default) or mean (`False`) over positions.
        epsilon: float. LayerNorm epsilon. Defaults to `1e-6` (the authors'
            value; Keras's own default is 1e-3).
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        - `inputs`: `(B, N, C)`, `(B, H, W, C)` or video `(B, T, H, W, C)`.
        - `training`: bool. Whether dropout is active.
        - `return_attention_maps`: bool. Also return the maps. Defaults to
          False.

    Returns:
        Tokens of shape `(B, S, C)`, or `(B, T, S, C)` for video, in the
        layer's compute dtype. With `return_attention_maps=True`, the tuple
        `(tokens, maps)`: float32 maps of shape `(B, S, N)` or `(B, T, S, N)`,
        where `N = H * W`. Tokens equal `maps @ inputs` (divided by `N` for
        mean pooling).

    Example:

    >>> import numpy as np
    >>> layer = TokenLearner(num_tokens=8)
    >>> tuple(layer(np.zeros((2, 14, 14, 32))).shape)
    (2, 8, 32)

    Reference:
        Ryoo et al., "TokenLearner: What Can 8 Learned Tokens Do for Images
        and Videos?", NeurIPS 2021, https://arxiv.org/abs/2106.11297.
    """

    def __init__(
        self,
        num_tokens,
        version="1.1",
        bottleneck_dim=64,
        dropout_rate=0.0,
        use_sum_pooling=True,
        epsilon=1e-6,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_tokens = validation.check_positive_int("num_tokens", num_tokens)
        self.version = validation.check_choice("version", version, VERSIONS)
        self.bottleneck_dim = validation.check_positive_int(
            "bottleneck_dim", bottleneck_dim
        )
        self.dropout_rate = validation.check_rate("dropout_rate", dropout_rate)
        self.use_sum_pooling = validation.check_bool(
            "use_sum_pooling", use_sum_pooling
        )
        self.epsilon = validation.check_positive_float("epsilon", epsilon)
        self.norm = layer_norm(self.epsilon, self.dtype_policy, "norm")
        if self.version == "1.1":
            self.attention_mlp = MLP(
                self.bottleneck_dim,
                self.num_tokens,
                self.dropout_rate,
                dtype=self.dtype_policy,
                name="attention_mlp",
            )
        else:
            self.convolutions = [self._convolution(index) for index in range(NUM_CONVOLUTIONS)]

    def _convolution(self, index):
        """A bias-free 3x3 convolution to `num_tokens` channels (version 1.0)."""
        return keras.layers.Conv2D(
            self.num_tokens,
            kernel_size=KERNEL_SIZE,
            padding="same",
            use_bias=False,
            kernel_initializer="lecun_normal",  # Flax Conv default.
            dtype=self.dtype_policy,
            name=f"conv_{index}",
        )

    def _grid_shape(self, input_shape):
        """The (B', H, W, C) shape that the v1.0 convolutions see."""
        if len(input_shape) == 3:
            positions = input_shape[1]
            side = math.isqrt(positions) if positions is not None else None
            if side is None or side * side != positions:
                raise validation.invalid_value(
                    "inputs",
                    "version '1.0' to see a 2-D grid: pass (batch, height, "
                    "width, channels), or (batch, N, channels) with a known "
                    "N that is a perfect square",
                    input_shape,
                )
            return (input_shape[0], side, side, input_shape[2])
        return (None,) + tuple(input_shape[-3:])

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        shapes.check_feature_shape("inputs", input_shape)
        self.norm.build(input_shape)
        if self.version == "1.1":
            self.attention_mlp.build(shapes.flat_spatial_shape(input_shape))
            return
        grid_shape = self._grid_shape(input_shape)
        for convolution in self.convolutions:
            convolution.build(grid_shape)
            grid_shape = grid_shape[:-1] + (self.num_tokens,)

    def _logits_v10(self, inputs):
        """Convolutional attention logits of version 1.0: (..., N, S)."""
        _, height, width, channels = self._grid_shape(inputs.shape)
        shape = ops.shape(inputs)
        if len(inputs.shape) == 3:
            grid = ops.reshape(inputs, (-1, height, width, channels))  # (B, h, h, C)
        else:
            grid = ops.reshape(inputs, (-1, shape[-3], shape[-2], channels))  # (B*T, H, W, C)
        grid = ops.gelu(self._first_convolution(self.norm(grid)), approximate=True)
        for convolution in self.convolutions[1:-1]:
            grid = ops.gelu(convolution(grid), approximate=True)
        grid = self.convolutions[-1](grid)  # (B*T, H, W, S)
        if len(inputs.shape) == 5:
            return ops.reshape(grid, (shape[0], shape[1], -1, self.num_tokens))  # (B, T, H*W, S)
        return ops.reshape(grid, (shape[0], -1, self.num_tokens))  # (B, N, S)

    def _first_convolution(self, normalized):
        """The first convolution: (B', H, W, C) -> (B', H, W, S).

        In float32, one matmul of the grid with the nine (C, S) slices of the
        3x3 kernel side by side, then each slice's products shifted into
        place and summed (`_shifted_sum`). The sums are the convolution's,
        but a convolution from C channels to as few as S = 8 runs far below
        the matmul rate, where a (C, 9 S) matmul does not. Under mixed
        precision the `Conv2D` runs, summing in its own accumulator.
        """
        convolution = self.convolutions[0]
        if convolution.compute_dtype != "float32":
            return convolution(normalized)
        kernel = ops.transpose(convolution.kernel, (2, 0, 1, 3))  # (C, 3, 3, S)
        kernel = ops.reshape(kernel, (kernel.shape[0], -1))  # (C, 9 S)
        products = ops.matmul(normalized, kernel)  # (B', H, W, 9 S)
        return _shifted_sum(products, self.num_tokens)

    def call(self, inputs, training=None, return_attention_maps=False):
        features = shapes.flatten_spatial(inputs)  # (B, N, C) or (B, T, N, C)
        if self.version == "1.1":
            logits = self.attention_mlp(self.norm(features), training=training)  # (..., N, S)
        else:
            logits = self._logits_v10(inputs)  # (..., N, S)
        logits = ops.cast(ops.swapaxes(logits, -1, -2), "float32")  # (..., S, N)
        if self.version == "1.1":
            maps = ops.softmax(logits, axis=-1)  # (..., S, N), rows sum to 1
        else:
            maps = ops.sigmoid(logits)  # (..., S, N)
        tokens = ops.matmul(maps, ops.cast(features, "float32"))  # (..., S, C)
        if self.version == "1.0" and not self.use_sum_pooling:
            positions = ops.cast(ops.shape(features)[-2], "float32")
            tokens = tokens / positions
        tokens = ops.cast(tokens, self.compute_dtype)
        if return_attention_maps:
            return tokens, maps
        return tokens

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        shapes.check_feature_shape("inputs", input_shape)
        flat_shape = shapes.flat_spatial_shape(input_shape)
        return flat_shape[:-2] + (self.num_tokens, flat_shape[-1])

    def compute_output_spec(
        self, inputs, training=None, return_attention_maps=False
    ):
        tokens_shape = self.compute_output_shape(inputs.shape)
        tokens = keras.KerasTensor(tokens_shape, dtype=self.compute_dtype)
        if not return_attention_maps:
            return tokens
        positions = shapes.flat_spatial_shape(inputs.shape)[-2]
        maps_shape = tokens_shape[:-1] + (positions,)
        return tokens, keras.KerasTensor(maps_shape, dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            num_tokens=self.num_tokens,
            version=self.version,
            bottleneck_dim=self.bottleneck_dim,
            dropout_rate=self.dropout_rate,
            use_sum_pooling=self.use_sum_pooling,
            epsilon=self.epsilon,
        )
        return config


def _shifted_sum(products, channels):
    """A "same" 3x3 convolution from the products of each kernel offset.

    `products[b, i, j, (u, v, s)]` is `x[b, i, j] @ kernel[u, v, :, s]`; the
    convolution is `output[b, i, j, s] = sum over u, v of products[b, i + u - 1,
    j + v - 1, (u, v, s)]`, with zero outside the grid (the zero padding).
    (B', H, W, 9 S) -> (B', H, W, S).
    """
    shape = ops.shape(products)
    height, width, pad = shape[1], shape[2], KERNEL_SIZE // 2
    products = ops.reshape(
        products, (-1, height, width, KERNEL_SIZE, KERNEL_SIZE, channels)
    )  # (B', H, W, 3, 3, S)
    padded = ops.pad(
        products, ((0, 0), (pad, pad), (pad, pad), (0, 0), (0, 0), (0, 0))
    )  # (B', H + 2, W + 2, 3, 3, S)
    return sum(
        padded[:, row : row + height, column : column + width, row, column]  # (B', H, W, S)
        for row in range(KERNEL_SIZE)
        for column in range(KERNEL_SIZE)
    )
