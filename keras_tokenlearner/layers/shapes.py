"""Shape helpers shared by the TokenLearner and TokenFuser layers.

Both layers accept three layouts, named by their rank:
    3: (batch, positions, channels)               a token sequence
    4: (batch, height, width, channels)           an image feature map
    5: (batch, frames, height, width, channels)   a video feature map
Tokens are always learned per frame, so a video keeps its frame axis.
"""

from keras import ops

from keras_tokenlearner.validation import invalid_value

SUPPORTED_RANKS = (3, 4, 5)


def check_feature_shape(name, shape):
    """Checks a feature map's rank and channel dimension; returns channels."""
    shape = tuple(shape)
    if len(shape) not in SUPPORTED_RANKS:
        raise invalid_value(
            name,
            "a tensor of rank 3 (batch, positions, channels), 4 (batch, "
            "height, width, channels) or 5 (batch, frames, height, width, "
            f"channels), but got rank {len(shape)}",
            shape,
        )
    if shape[-1] is None:
        raise invalid_value(
            name, "a known (not None) channel dimension as last axis", shape
        )
    return shape[-1]


def flat_spatial_shape(shape):
    """Static shape after `flatten_spatial`: (B, N, C) or (B, T, N, C)."""
    shape = tuple(shape)
    if len(shape) == 3:
        return shape
    height, width = shape[-3], shape[-2]
    positions = None if height is None or width is None else height * width
    return shape[:-3] + (positions, shape[-1])


def flatten_spatial(inputs):
    """Merges the height and width axes of a rank-4 or rank-5 tensor."""
    rank = len(inputs.shape)
    if rank == 3:
        return inputs  # (B, N, C)
    shape = ops.shape(inputs)
    channels = inputs.shape[-1]
    if rank == 4:
        return ops.reshape(inputs, (shape[0], -1, channels))  # (B, H*W, C)
    return ops.reshape(inputs, (shape[0], shape[1], -1, channels))  # (B, T, H*W, C)

