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

    def call(self, inputs, training=None):
        # One 2-D matmul with its bias and GELU inside the Dense: the form
        # TensorFlow's grappler fuses into a single oneDNN kernel.
        x = self.hidden(ops.reshape(inputs, (-1, inputs.shape[-1])))  # (rows, hidden)
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
    """Keras's `LayerNormalization` with the authors' epsilon (1e-6, not 1e-3).

    The authors' equations, gamma and beta, the same layer on every backend
    and device. Keras takes the variance from the deviations from the mean,
    mean((x - mean(x))^2) (PyTorch's `layer_norm` kernel on that backend);
    the authors' Flax LayerNorm takes E[x^2] - E[x]^2 (`use_fast_variance`),
    which loses digits on rows whose mean is large against their spread.
    """
    return keras.layers.LayerNormalization(
        epsilon=epsilon, dtype=dtype_policy, name=name
    )

