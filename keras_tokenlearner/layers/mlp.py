"""The two-layer MLP used by TokenLearner, TokenFuser and the ViT block."""

import keras
from keras import ops

from keras_tokenlearner import validation

# The authors' MLP initialisers (Scenic `MlpBlock`): Xavier-uniform kernels,
# biases drawn from N(0, 1e-6).
KERNEL_INITIALIZER = "glorot_uniform"


def bias_initializer():
    """A fresh N(0, 1e-6) bias initializer, as in the authors' MLPs."""
    return keras.initializers.RandomNormal(stddev=1e-6)


@keras.saving.register_keras_serializable(package="keras_tokenlearner")
class MLP(keras.layers.Layer):
    """Dense -> GELU -> Dropout -> Dense -> Dropout.

    The feed-forward block of the authors' code (Scenic `MlpBlock`). It is the
    attention MLP of TokenLearner v1.1, the mixing MLP of TokenFuser and the
    MLP of every transformer block in this package. GELU is the authors'
    tanh approximation unless `approximate_gelu=False` (the exact erf form,
    which weights from keras-hub, timm and Hugging Face were run with).

    Args:
        hidden_dim: int. Width of the hidden layer.
        output_dim: int. Width of the output.
        dropout_rate: float. Dropout after the activation and after the
            output layer. Defaults to `0.0`.
        approximate_gelu: bool. tanh-approximate GELU (`True`, the authors'
            Flax default) or exact erf GELU (`False`). Defaults to `True`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: A tensor of shape `(..., channels)`.
        training: bool. Whether dropout is active.
        norm: optional built `LayerNormalization` to apply to `inputs`
            first; see `normalized_dense`.

    Returns:
        A tensor of shape `(..., output_dim)`.

    Example:

    >>> import numpy as np
    >>> tuple(MLP(hidden_dim=16, output_dim=4)(np.zeros((2, 5, 8))).shape)
    (2, 5, 4)
    """

    def __init__(self, hidden_dim, output_dim, dropout_rate=0.0, approximate_gelu=True,
                 **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = validation.check_positive_int("hidden_dim", hidden_dim)
        self.output_dim = validation.check_positive_int("output_dim", output_dim)
        self.dropout_rate = validation.check_rate("dropout_rate", dropout_rate)
        self.approximate_gelu = validation.check_bool("approximate_gelu", approximate_gelu)
        activation = gelu_tanh if self.approximate_gelu else gelu_erf
        self.hidden = self._dense(self.hidden_dim, "hidden", activation=activation)
        self.output_dense = self._dense(self.output_dim, "output")
        self.dropout = keras.layers.Dropout(
            self.dropout_rate, dtype=self.dtype_policy, name="dropout"
        )

    def _dense(self, units, name, activation=None):
        return keras.layers.Dense(
            units,
            activation=activation,
            kernel_initializer=KERNEL_INITIALIZER,
            bias_initializer=bias_initializer(),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if input_shape[-1] is None:
            raise validation.invalid_value("inputs", "a known last axis (channels)", input_shape)
        self.hidden.build(input_shape)
        self.output_dense.build(input_shape[:-1] + (self.hidden_dim,))

    def call(self, inputs, training=None, norm=None):
        if norm is None:
            # One 2-D matmul with its bias and GELU inside the Dense: the form
            # TensorFlow's grappler fuses into a single oneDNN kernel.
            x = self.hidden(ops.reshape(inputs, (-1, inputs.shape[-1])))  # (rows, hidden)
        else:
            x = normalized_dense(inputs, norm, self.hidden)  # (..., hidden)
        x = self.dropout(x, training=training)
        x = self.dropout(self.output_dense(x), training=training)
        output_shape = tuple(ops.shape(inputs)[:-1]) + (self.output_dim,)
        return ops.reshape(x, output_shape)  # (..., output_dim)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1] + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_dim=self.hidden_dim,
            output_dim=self.output_dim,
            dropout_rate=self.dropout_rate,
            approximate_gelu=self.approximate_gelu,
        )
        return config


@keras.saving.register_keras_serializable(package="keras_tokenlearner")
def gelu_tanh(x):
    """GELU with the tanh approximation, the authors' (Flax) default."""
    return ops.gelu(x, approximate=True)


@keras.saving.register_keras_serializable(package="keras_tokenlearner")
def gelu_erf(x):
    """Exact (erf) GELU, as keras-hub, timm and Hugging Face ViTs compute it."""
    return ops.gelu(x, approximate=False)


def layer_norm(epsilon, dtype_policy, name):
    """The authors' LayerNorm: epsilon 1e-6 by default, not Keras's 1e-3."""
    return keras.layers.LayerNormalization(
        epsilon=epsilon, dtype=dtype_policy, name=name
    )


def normalized_dense(inputs, norm, dense):
    """`dense(norm(inputs))`, with the LayerNorm folded into the Dense.

    With mean m and variance v of each row of x, LayerNorm then Dense is
    ((x - m) / sqrt(v + eps) * gamma + beta) @ W + b
        = x @ K / sqrt(v + eps) + (beta @ W + b),
    where K is gamma W with its column means subtracted ((x - m) @ gamma W
    = x @ K), so the normalized copy of x is never written and read back:
    one pass over x for the statistics, one matmul on x. The variance is
    E[x^2] - m^2, as the authors' Flax LayerNorm computes it
    (`use_fast_variance`); like it, it loses digits on rows whose mean is
    large against their spread (for rows of mean 1000 and std 1, errors
    about a thousand times those of Keras's two-pass LayerNorm). Runs in
    float32 compute only; other dtypes (and quantized Dense kernels) take the
    plain path, where the subtraction would lose too many digits.
    """
    if not can_fold(inputs, norm, dense):
        return dense(norm(inputs))
    bias = dense.bias if dense.use_bias else None
    outputs = normalized_matmul(inputs, norm, dense.kernel, bias)  # (..., units)
    return dense.activation(outputs)  # Keras's `linear` when the Dense has none


def can_fold(inputs, norm, layer):
    """Whether `normalized_matmul` may stand in for `norm` then `layer`'s kernel.

    Only in float32 compute, for a LayerNorm over the last axis with both
    gamma and beta, and a kernel that is not quantized.
    """
    return (
        norm.compute_dtype == "float32" and layer.compute_dtype == "float32"
        and getattr(layer, "quantization_mode", None) is None
        and norm.center and norm.scale and not getattr(norm, "rms_scaling", False)
        and [axis % len(inputs.shape) for axis in norm.axis] == [len(inputs.shape) - 1]
    )


def normalized_matmul(inputs, norm, kernel, bias=None):
    """`norm(inputs) @ kernel (+ bias)` in float32, without writing `norm(inputs)`.

    `kernel` is `(C, units)`, `bias` `(units,)` or None; see `normalized_dense`
    for the algebra. Check `can_fold` first.
    """
    inputs = ops.cast(inputs, "float32")
    scaled_kernel = norm.gamma[:, None] * kernel  # (C, units)
    centered_kernel = scaled_kernel - ops.mean(scaled_kernel, axis=0)  # (C, units)
    channels = kernel.shape[0]  # C, known even where the input's last axis is not
    mean, mean_of_squares = _row_moments(inputs, channels)  # each (..., 1)
    variance = mean_of_squares - ops.square(mean)  # (..., 1)
    inverse_std = ops.rsqrt(ops.maximum(variance, 0.0) + norm.epsilon)  # (..., 1)
    projected = ops.matmul(inputs, centered_kernel)  # (..., units)
    offset = ops.matmul(norm.beta, kernel)  # (units,)
    if bias is not None:
        offset = offset + bias
    return projected * inverse_std + offset  # (..., units)


def _row_moments(values, channels):
    """E[x] and E[x^2] over the last axis (of size `channels`), kept: (..., 1) each.

    On TensorFlow with CPUs only, products with a column of ones, divided
    by C: XLA turns each product into a reduction fused with what feeds it
    (`square(x)` is never written), which TF 2.21's XLA runs on CPU faster
    than its own row reduction; without XLA it is slightly slower than
    `ops.mean` (`benchmarks/token_learner_layer.py`, and the README). On
    GPUs (TF32) and TPUs a float32 matmul may round its inputs, and JAX's
    newer XLA reduces rows well, so everywhere else it is `ops.mean`.
    """
    squares = ops.square(values)  # (..., C)
    if keras.backend.backend() != "tensorflow" or any(
        not device.startswith("cpu") for device in keras.distribution.list_devices()
    ):
        return tuple(ops.mean(x, axis=-1, keepdims=True) for x in (values, squares))  # (..., 1)
    ones = ops.ones((channels, 1), dtype=values.dtype)  # (C, 1)
    return tuple(ops.matmul(x, ones) / channels for x in (values, squares))  # (..., 1)
