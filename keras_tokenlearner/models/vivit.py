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
        image_shape: tuple `(height, width, channels)` of each frame.
        num_frames: int. Frames per clip; a multiple of `tubelet_size[0]`.
        tubelet_size: tuple `(time, height, width)`. Defaults to `(2, 16, 16)`.
        Other arguments, `preprocessing` included: as `ViT`.

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
