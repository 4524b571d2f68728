"""Video ViT with per-frame TokenLearner, as a functional model."""

import keras

from keras_tokenlearner import validation
from keras_tokenlearner.models import encoder


@keras.saving.register_keras_serializable(package="keras_tokenlearner")
class VideoViT(encoder.EncoderModel):
    """Video Vision Transformer (ViViT, joint space-time) with TokenLearner.

    Stem: a 3-D strided convolution cuts `tubelet_size` tubelets, giving a
    (T', h, w) grid with `T' = num_frames // tubelet_size[0]`, then a learned
    position embedding over all T' * h * w positions. The encoder, head and
    TokenLearner options are those of `ViT`. TokenLearner learns
    `num_tokens` tokens per frame of the grid, so blocks after it see T' * S
    tokens; the fuser variant maps them back per frame.

    As for `ViT`, the first argument is the shape of one image (frame) and
    every other argument is keyword-only.

    Args:
        image_shape: tuple `(height, width, channels)` of each frame; height
            and width must be multiples of `tubelet_size[1:]`.
        num_frames: int. Frames per clip; a multiple of `tubelet_size[0]`.
        tubelet_size: tuple `(time, height, width)`. Defaults to `(2, 16, 16)`.
        hidden_dim: int. Token width; divisible by `num_heads`.
        num_layers: int. Number of transformer blocks.
        num_heads: int. Attention heads per block.
        mlp_dim: int. Hidden width of each block's MLP.
        num_classes: int or None. None returns the pooled features.
        pooling: `"gap"` or `"token"`. Defaults to `"gap"`.
        dropout_rate: float in [0, 1). As `ViT`. Defaults to `0.0`.
        attention_dropout_rate: float in [0, 1). Defaults to `0.0`.
        num_tokens: int or None. Tokens TokenLearner learns per frame of the
            grid; None: plain video ViT.
        token_learner_index: int in [0, num_layers) or None. The block
            TokenLearner runs before; None: `num_layers // 2`.
        use_token_fuser: bool. Defaults to False.
        token_learner_version: `"1.1"` or `"1.0"`. Defaults to `"1.1"`.
        layer_norm_epsilon: float. As `ViT`. Defaults to `1e-6`.
        approximate_gelu: bool. As `ViT`. Defaults to `True`.
        preprocessing: None or a dict: the input the model expects, as `ViT`.
        **kwargs: `name`, `trainable`, `dtype`, as `ViT`.

    Layers are named as in `ViT`, except the stem: `tubelet_embedding`.

    Example:

    >>> model = VideoViT((16, 16, 3), num_frames=4, tubelet_size=(2, 8, 8),
    ...                  hidden_dim=16, num_layers=2, num_heads=2, mlp_dim=32,
    ...                  num_tokens=3)
    >>> model.get_layer("block_1").output.shape  # 2 frames x 3 tokens
    (None, 6, 16)
    """

    def __init__(
        self,
        image_shape,
        *,
        num_frames,
        tubelet_size=(2, 16, 16),
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
        num_frames = validation.check_positive_int("num_frames", num_frames)
        tubelet_size = validation.check_positive_int_tuple(
            "tubelet_size", tubelet_size, "(time, height, width)"
        )
        encoder.check_divisible("num_frames", (num_frames,), tubelet_size[:1], "tubelet_size[0]")
        image_shape = checked["image_shape"]
        encoder.check_divisible(
            "image_shape", image_shape[:2], tubelet_size[1:], "tubelet_size[1:]"
        )
        policy = encoder.resolve_policy(kwargs.pop("dtype", None))
        videos, outputs = encoder.stem_and_encode(
            (num_frames,) + image_shape, "videos", keras.layers.Conv3D, tubelet_size,
            "tubelet_embedding", {**checked, "dtype": policy},
        )
        super().__init__(videos, outputs, name=kwargs.pop("name", "video_vit"), **kwargs)
        self.dtype_policy = policy  # a functional model ignores a `dtype` argument
        self.arguments = arguments
