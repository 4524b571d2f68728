"""ViT with optional TokenLearner and TokenFuser, as a functional model."""

import keras

from keras_tokenlearner import validation
from keras_tokenlearner.models import encoder


@keras.saving.register_keras_serializable(package="keras_tokenlearner")
class ViT(encoder.EncoderModel):
    """Vision Transformer with optional TokenLearner / TokenFuser.

    Stem: a strided convolution cuts `patch_size` patches, then a learned
    position embedding. Encoder: pre-LN transformer blocks. Head: LayerNorm,
    global average pooling (`"gap"`, the authors' choice for TokenLearner
    models) or the class token (`"token"`), then `Dense(num_classes)`.

    With `num_tokens` set, TokenLearner runs once before block
    `token_learner_index` (default `num_layers // 2`, the paper's "at 1/2"),
    and later blocks see `num_tokens` tokens. With `use_token_fuser=True`
    instead, every block from that index on runs TokenLearner -> block ->
    TokenFuser -> + residual, so the token count stays at the patch count.

    Every argument after `image_shape` is keyword-only.

    Args:
        image_shape: tuple `(height, width, channels)`; height and width must
            be multiples of `patch_size`.
        patch_size: int. Side of the square patches.
        hidden_dim: int. Token width; divisible by `num_heads`.
        num_layers: int. Number of transformer blocks.
        num_heads: int. Attention heads per block.
        mlp_dim: int. Hidden width of each block's MLP.
        num_classes: int or None. None returns the pooled features.
        pooling: `"gap"` or `"token"`. Defaults to `"gap"`.
        dropout_rate: float in [0, 1). Dropout after the position embedding,
            in the blocks and in TokenLearner / TokenFuser. Defaults to `0.0`.
        attention_dropout_rate: float in [0, 1). Dropout on the attention
            weights. Defaults to `0.0`.
        num_tokens: int or None. TokenLearner's token count; None: plain ViT.
        token_learner_index: int in [0, num_layers) or None. The block
            TokenLearner runs before; None: `num_layers // 2`.
        use_token_fuser: bool. Defaults to False.
        token_learner_version: `"1.1"` or `"1.0"`. Defaults to `"1.1"`.
        layer_norm_epsilon: float. Epsilon of the blocks' and the encoder's
            LayerNorms. Defaults to `1e-6`, the authors' (Flax) value.
        approximate_gelu: bool. tanh-approximate GELU in the blocks' MLPs
            (`True`, the authors' Flax default) or exact erf GELU (`False`,
            what keras-hub, timm and Hugging Face weights were run with).
            TokenLearner and TokenFuser keep the authors' tanh GELU.
        preprocessing: None or a dict: the input the model expects. uint8
            pixels p become `p * scale + offset` before the model
            (`{"scale": s, "offset": o}`, or `{"mean": m, "std": s}` in
            [0, 1] pixel units; see `models.preprocessing.canonical`, which
            gives the form stored in `get_config`). The model does not apply
            it: it is a record, which the data pipeline and export apply.
            None records nothing (export then needs an explicit
            `preprocessing=`). The zoo's models record `[-1, 1]`
            (`preprocessing.MINUS_ONE_TO_ONE`), pretrained ones their source's.
        **kwargs: `name`, `trainable`, `dtype` (the dtype policy of the model
            and of every layer; defaults to the global one, which building
            neither changes nor needs afterwards).

    Layers are named `patch_embedding`, `position_embedding`, `block_{i}`,
    `token_learner` (or `token_learner_{i}` and `token_fuser_{i}`),
    `encoder_norm` and `head`.

    Example:

    >>> model = ViT((32, 32, 3), patch_size=8, hidden_dim=16, num_layers=2,
    ...             num_heads=2, mlp_dim=32, num_classes=10, num_tokens=4)
    >>> model.get_layer("token_learner").output.shape
    (None, 4, 16)
    """

    def __init__(
        self,
        image_shape,
        *,
        patch_size,
        hidden_dim,
        num_layers,
        num_heads,
        mlp_dim,
        num_classes=None,
        pooling="gap",
        dropout_rate=0.0,
        attention_dropout_rate=0.0,
        num_tokens=None,
        token_learner_index=None,
        use_token_fuser=False,
        token_learner_version="1.1",
        layer_norm_epsilon=1e-6,
        approximate_gelu=True,
        preprocessing=None,
        **kwargs,
    ):
        arguments = encoder.constructor_arguments(locals())
        checked = encoder.check_encoder_arguments(arguments)
        patch_size = validation.check_positive_int("patch_size", patch_size)
        image_shape = checked["image_shape"]
        encoder.check_divisible("image_shape", image_shape[:2], (patch_size,) * 2, "patch_size")
        policy = encoder.resolve_policy(kwargs.pop("dtype", None))
        images, outputs = encoder.stem_and_encode(
            image_shape, "images", keras.layers.Conv2D, patch_size, "patch_embedding",
            {**checked, "dtype": policy},
        )
        super().__init__(images, outputs, name=kwargs.pop("name", "vit"), **kwargs)
        self.dtype_policy = policy  # a functional model ignores a `dtype` argument
        self.arguments = arguments
