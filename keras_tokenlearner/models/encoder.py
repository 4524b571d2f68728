"""The one encoder of every model: embeddings, blocks with optional
TokenLearner / TokenFuser, and the classification head.

ViT and VideoViT differ only in their stem (2-D patches or 3-D tubelets); both
hand a patch grid to `encode`, which builds the rest of the functional graph.
"""

import keras

from keras_tokenlearner import validation
from keras_tokenlearner.layers import ClassToken
from keras_tokenlearner.layers import PositionEmbedding
from keras_tokenlearner.layers import TokenFuser
from keras_tokenlearner.layers import TokenLearner
from keras_tokenlearner.layers import TransformerBlock
from keras_tokenlearner.layers.mlp import layer_norm
from keras_tokenlearner.layers.token_learner import VERSIONS
from keras_tokenlearner.models import preprocessing
from keras_tokenlearner.models.layer_walk import nested_layers

POOLINGS = ("gap", "token")
STEM_INITIALIZER = "lecun_normal"  # Flax Conv default, used by the authors.
FILTERS_KERAS_VERSION = (3, 13)  # the first with `Model.quantize(filters=...)`


class EncoderModel(keras.Model):
    """Config handling shared by ViT and VideoViT (functional subclasses).

    The subclass builds its graph in `__init__`, giving every layer (and the
    model) the policy of `resolve_policy(dtype)` explicitly, without touching
    the global policy, and stores its constructor arguments in
    `self.arguments`. `get_config` returns them and the model's dtype
    policy, and `from_config` calls the
    constructor, so a `.keras` file reloads as the same class with the same
    layers and the same policy (a mixed_bfloat16 model stays mixed_bfloat16
    whatever the global policy is when it is loaded). A model quantized with
    `model.quantize(mode)` also lists its quantized layers and their modes,
    and `from_config` quantizes the same layers again, so that they have the
    saved file's variables (int8, int4 and float8 reload this way, on Keras
    3.13 or newer; modes that need calibration data, such as GPTQ, cannot be
    redone here).
    """

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": self.dtype_policy.name, **self.arguments}
        quantized = {layer.path: layer.quantization_mode for layer in nested_layers(self)[1:]
                     if getattr(layer, "quantization_mode", None)}
        if quantized:
            config["quantized_layers"] = quantized
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        quantized = config.pop("quantized_layers", {})
        if quantized:  # quantizing the saved layers alone needs `quantize(filters=...)`
            validation.check_keras_version(
                f"Reloading a quantized {cls.__name__}", FILTERS_KERAS_VERSION, keras.version(),
                "`Model.quantize(filters=...)`",
                "Upgrade Keras, or reload the model saved before quantizing and quantize it again.")
        model = cls(**config)
        for mode in sorted(set(quantized.values())):
            model.quantize(mode, filters=lambda layer, mode=mode: quantized.get(layer.path) == mode)
        return model


def resolve_policy(dtype):
    """The `DTypePolicy` a model is built with: `dtype` (a name, a policy or
    its config), else the global policy, read once and never set."""
    if dtype is None:
        return keras.config.dtype_policy()
    return keras.dtype_policies.get(dtype)


def constructor_arguments(local_variables):
    """The constructor's arguments from its `locals()`, JSON-friendly, with
    `preprocessing` in its canonical form (`preprocessing.canonical`)."""
    arguments = {
        name: _plain(value)
        for name, value in local_variables.items()
        if name not in ("self", "kwargs", "__class__")
    }
    arguments["preprocessing"] = preprocessing.canonical(arguments["preprocessing"])
    return arguments


def _plain(value):
    """NumPy scalars as Python numbers; lists as tuples (JSON turns tuples into lists)."""
    if isinstance(value, (list, tuple)):
        return tuple(_plain(entry) for entry in value)
    if validation.is_int(value):
        return int(value)
    if validation.is_real(value):
        return float(value)
    return value


def check_encoder_arguments(arguments):
    """Validates the shared encoder arguments (see `constructor_arguments`:
    already plain Python values); fills token_learner_index."""
    validation.check_positive_int_tuple(
        "image_shape", arguments["image_shape"], "(height, width, channels)"
    )
    for name in ("hidden_dim", "num_layers", "num_heads", "mlp_dim"):
        validation.check_positive_int(name, arguments[name])
    if arguments["num_classes"] is not None:
        validation.check_positive_int("num_classes", arguments["num_classes"])
    validation.check_choice("pooling", arguments["pooling"], POOLINGS)
    validation.check_rate("dropout_rate", arguments["dropout_rate"])
    validation.check_rate("attention_dropout_rate", arguments["attention_dropout_rate"])
    validation.check_choice(
        "token_learner_version", arguments["token_learner_version"], VERSIONS
    )
    validation.check_bool("use_token_fuser", arguments["use_token_fuser"])
    validation.check_positive_float("layer_norm_epsilon", arguments["layer_norm_epsilon"])
    validation.check_bool("approximate_gelu", arguments["approximate_gelu"])
    if arguments["num_tokens"] is None:
        for name in ("token_learner_index", "use_token_fuser"):
            if arguments[name] not in (None, False):
                raise validation.invalid_value(
                    name, "None (or False) when num_tokens is None", arguments[name]
                )
        return arguments
    validation.check_positive_int("num_tokens", arguments["num_tokens"])
    num_layers = arguments["num_layers"]
    index = arguments["token_learner_index"]
    if index is None:
        index = num_layers // 2
    if not validation.is_int(index) or not 0 <= index < num_layers:
        raise validation.invalid_value(
            "token_learner_index", f"an int in [0, num_layers={num_layers})", index
        )
    if arguments["pooling"] == "token":
        raise validation.invalid_value(
            "pooling", "'gap' for a model with TokenLearner (num_tokens set)", "token"
        )
    return {**arguments, "token_learner_index": index}


def check_divisible(name, sizes, divisors, divisor_name):
    """Checks every size is a positive multiple of its divisor."""
    for size, divisor in zip(sizes, divisors):
        if not isinstance(size, int) or size < divisor or size % divisor:
            raise validation.invalid_value(
                name, f"sizes that are multiples of {divisor_name}={tuple(divisors)}",
                tuple(sizes),
            )


def _reshape(target_shape, arguments, name=None):
    """A `Reshape` layer with the model's dtype policy."""
    return keras.layers.Reshape(target_shape, dtype=arguments["dtype"], name=name)


def _learn_tokens(x, layout, token_learner, arguments):
    """(B, prod(layout), D) -> TokenLearner over each frame's grid -> (B, T*S, D)."""
    hidden_dim = arguments["hidden_dim"]
    grid = _reshape(layout + (hidden_dim,), arguments)(x)  # (B, [T,] h, w, D)
    tokens = token_learner(grid)  # (B, [T,] S, D)
    return _reshape((-1, hidden_dim), arguments)(tokens), grid  # (B, T*S, D)


def _fused_block(x, layout, index, block, arguments):
    """TokenLearner -> block -> TokenFuser -> + residual: keeps N tokens."""
    hidden_dim = arguments["hidden_dim"]
    token_learner = _token_learner(arguments, f"token_learner_{index}")
    tokens, grid = _learn_tokens(x, layout, token_learner, arguments)  # (B, T*S, D)
    tokens = block(tokens)  # (B, T*S, D)
    frames = layout[:-2]  # () for images, (T,) for video
    tokens = _reshape(frames + (-1, hidden_dim), arguments)(tokens)  # (B, [T,] S, D)
    fuser = TokenFuser(dropout_rate=arguments["dropout_rate"], dtype=arguments["dtype"],
                       name=f"token_fuser_{index}")
    fused = fuser(tokens, grid)  # (B, [T,] h, w, D)
    return x + _reshape((-1, hidden_dim), arguments)(fused)  # (B, N, D)


def _token_learner(arguments, name):
    return TokenLearner(
        arguments["num_tokens"],
        version=arguments["token_learner_version"],
        dropout_rate=arguments["dropout_rate"],
        dtype=arguments["dtype"],
        name=name,
    )


def encoder_stack(x, layout, arguments):
    """Runs `num_layers` blocks on (B, N, D), with TokenLearner / fuser.

    `layout` is the patch grid (h, w), or (T, h, w) for video. Without a
    fuser, TokenLearner runs once, before block `token_learner_index`, and
    later blocks see S tokens (T*S for video). With the fuser, every block
    from that index on runs TokenLearner -> block -> TokenFuser -> + residual.
    `arguments` are the checked constructor arguments plus `dtype`, the
    resolved `DTypePolicy`, which every layer here is given.
    """
    for index in range(arguments["num_layers"]):
        block = TransformerBlock(
            arguments["hidden_dim"],
            arguments["num_heads"],
            arguments["mlp_dim"],
            arguments["dropout_rate"],
            arguments["attention_dropout_rate"],
            epsilon=arguments["layer_norm_epsilon"],
            approximate_gelu=arguments["approximate_gelu"],
            dtype=arguments["dtype"],
            name=f"block_{index}",
        )
        learns_tokens = arguments["num_tokens"] is not None and (
            index >= arguments["token_learner_index"]
        )
        if learns_tokens and arguments["use_token_fuser"]:
            x = _fused_block(x, layout, index, block, arguments)
            continue
        if learns_tokens and index == arguments["token_learner_index"]:
            token_learner = _token_learner(arguments, "token_learner")
            x, _ = _learn_tokens(x, layout, token_learner, arguments)
        x = block(x)
    return x


def stem_and_encode(input_shape, input_name, convolution, patch_size, stem_name, arguments):
    """The model's input, its strided-convolution stem (`Conv2D` patches or
    `Conv3D` tubelets of `patch_size`) and `encode`: (input, outputs)."""
    input_layer = keras.layers.InputLayer(shape=input_shape, name=input_name)
    input_layer.dtype_policy = arguments["dtype"]  # computes nothing; one policy for all
    inputs = input_layer.output  # (B, [T,] H, W, C), float32
    patch_grid = convolution(
        arguments["hidden_dim"],
        patch_size,
        strides=patch_size,
        kernel_initializer=STEM_INITIALIZER,
        dtype=arguments["dtype"],
        name=stem_name,
    )(inputs)  # (B, [T',] h, w, D)
    return inputs, encode(patch_grid, arguments)


def encode(patch_grid, arguments):
    """(B, [T,] h, w, D) patch grid -> logits, or pooled features; every
    layer gets `arguments["dtype"]` (see `encoder_stack`)."""
    hidden_dim, dtype = arguments["hidden_dim"], arguments["dtype"]
    layout = tuple(patch_grid.shape[1:-1])  # (h, w) or (T, h, w)
    x = _reshape((-1, hidden_dim), arguments, "flatten_patches")(patch_grid)  # (B, N, D)
    if arguments["pooling"] == "token":
        x = ClassToken(dtype=dtype, name="class_token")(x)  # (B, 1 + N, D)
    x = PositionEmbedding(dtype=dtype, name="position_embedding")(x)
    x = keras.layers.Dropout(arguments["dropout_rate"], dtype=dtype, name="embedding_dropout")(x)
    x = encoder_stack(x, layout, arguments)
    x = layer_norm(arguments["layer_norm_epsilon"], dtype, "encoder_norm")(x)
    if arguments["pooling"] == "gap":
        x = keras.layers.GlobalAveragePooling1D(dtype=dtype, name="gap")(x)  # (B, D)
    else:
        x = x[:, 0]  # (B, D): the class token (an op, not a layer: no policy)
    if arguments["num_classes"] is None:
        return x
    return keras.layers.Dense(
        arguments["num_classes"], kernel_initializer="zeros", dtype=dtype, name="head"
    )(x)
