"""Moving weights between resolutions: position-embedding interpolation.

As the authors do for fine-tuning at a new resolution, the learned position
embedding is resized bilinearly over the patch grid; every other weight is
independent of the resolution and is copied as is.
"""

import math

import keras
from keras import ops

from keras_tokenlearner import validation
from keras_tokenlearner.layers import ClassToken


def patch_grid(model):
    """The patch grid of a zoo model: (h, w), or (T, h, w) for video."""
    return tuple(model.get_layer("flatten_patches").input.shape[1:-1])


def resize_position_embedding(embedding, source_grid, target_grid, num_prefix_tokens=0):
    """Resizes a (prefix + prod(source_grid), D) position embedding.

    Args:
        embedding: array of shape `(num_prefix_tokens + prod(source_grid), D)`.
        source_grid: `(h, w)`, or `(T, h, w)` for video.
        target_grid: the new grid; for video, T must not change.
        num_prefix_tokens: leading rows that are not on the grid (1 for a
            class token); they are kept as they are.

    Returns:
        tensor: shape `(num_prefix_tokens + prod(target_grid), D)`, the
        bilinear interpolation of each frame's (h, w) grid, half-pixel centres.
    """
    source_grid, target_grid = tuple(source_grid), tuple(target_grid)
    if len(source_grid) != len(target_grid) or source_grid[:-2] != target_grid[:-2]:
        raise validation.invalid_value(
            "target_grid", f"the same rank and frames as source_grid={source_grid}", target_grid
        )
    validation.check_non_negative_int("num_prefix_tokens", num_prefix_tokens)
    embedding = ops.convert_to_tensor(embedding)
    rows = num_prefix_tokens + math.prod(source_grid)
    if len(embedding.shape) != 2 or embedding.shape[0] != rows:
        raise validation.invalid_value(
            "embedding", f"an array of shape (num_prefix_tokens + prod(source_grid) = {rows}, "
            "width)", tuple(embedding.shape),
        )
    width = embedding.shape[-1]
    prefix, grid = embedding[:num_prefix_tokens], embedding[num_prefix_tokens:]
    grid = ops.reshape(grid, (-1,) + source_grid[-2:] + (width,))  # (T, h, w, D)
    resized = ops.image.resize(
        grid, target_grid[-2:], interpolation="bilinear", antialias=False
    )  # (T, h', w', D)
    resized = ops.reshape(resized, (-1, width))  # (T*h'*w', D)
    return ops.concatenate([prefix, ops.cast(resized, prefix.dtype)], axis=0)


def transfer_weights(source, target):
    """Copies every weight of `source` into `target`, another resolution.

    Both are zoo models of the same architecture that differ only in
    `image_shape`. The position embedding is interpolated; all other
    weights must have equal shapes.

    Args:
        source: the trained model.
        target: the same architecture at another `image_shape`.

    Returns:
        `target`, holding `source`'s weights.
    """
    num_prefix_tokens = int(any(isinstance(layer, ClassToken) for layer in source.layers))
    for target_layer in target.layers:
        if not target_layer.weights:
            continue
        source_layer = source.get_layer(target_layer.name)
        weights = source_layer.get_weights()
        if target_layer.name == "position_embedding":
            resized = resize_position_embedding(
                weights[0], patch_grid(source), patch_grid(target), num_prefix_tokens
            )
            weights = [keras.ops.convert_to_numpy(resized)]
        target_layer.set_weights(weights)
    return target
