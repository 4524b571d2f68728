"""Moving weights between resolutions: position-embedding interpolation.

As the authors do for fine-tuning at a new resolution, the learned position
embedding is resized linearly over the patch grid (`resize_position_embedding`,
half-pixel or corner-aligned); every other weight is independent of the
resolution and is copied as is.
"""

import math

import keras
import numpy as np
from keras import ops

from keras_tokenlearner import validation
from keras_tokenlearner.layers import ClassToken


def patch_grid(model):
    """The patch grid of a zoo model: (h, w), or (T, h, w) for video."""
    return tuple(model.get_layer("flatten_patches").input.shape[1:-1])


def resize_position_embedding(embedding, source_grid, target_grid, num_prefix_tokens=0,
                              method="bilinear"):
    """Resizes a (prefix + prod(source_grid), D) position embedding.

    The one resizer of the package: `transfer_weights` uses `"bilinear"`,
    `load_pretrained` uses `"zoom"`, as the authors' loaders do.

    Args:
        embedding: array of shape `(num_prefix_tokens + prod(source_grid), D)`.
        source_grid: `(h, w)`, or `(T, h, w)` for video.
        target_grid: the new grid; for video, T must not change.
        num_prefix_tokens: leading rows that are not on the grid (1 for a
            class token); they are kept as they are.
        method: `"bilinear"`: half-pixel centres, edges clamped, no
            antialiasing (`keras.ops.image.resize`'s bilinear). `"zoom"`:
            corner-aligned linear interpolation, as
            `scipy.ndimage.zoom(order=1)` in vit_jax, big_vision and Scenic.
            Defaults to `"bilinear"`.

    Returns:
        tensor: shape `(num_prefix_tokens + prod(target_grid), D)`, each
        frame's (h, w) grid interpolated by `method`.
    """
    source_grid, target_grid = tuple(source_grid), tuple(target_grid)
    if len(source_grid) != len(target_grid) or source_grid[:-2] != target_grid[:-2]:
        raise validation.invalid_value(
            "target_grid", f"the same rank and frames as source_grid={source_grid}", target_grid
        )
    validation.check_non_negative_int("num_prefix_tokens", num_prefix_tokens)
    validation.check_choice("method", method, tuple(INTERPOLATIONS))
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
    coordinates = INTERPOLATIONS[method]
    row_weights = interpolation_matrix(coordinates(source_grid[-2], target_grid[-2]),
                                       source_grid[-2])  # (h', h)
    column_weights = interpolation_matrix(coordinates(source_grid[-1], target_grid[-1]),
                                          source_grid[-1])  # (w', w)
    resized = ops.einsum("yh,thwd,xw->tyxd", ops.cast(row_weights, grid.dtype), grid,
                         ops.cast(column_weights, grid.dtype))  # (T, h', w', D)
    resized = ops.reshape(resized, (-1, width))  # (T*h'*w', D)
    return ops.concatenate([prefix, ops.cast(resized, prefix.dtype)], axis=0)


def half_pixel_coordinates(old, new):
    """Where each of `new` samples falls on `old` (pixel centres at i + 0.5)."""
    return (np.arange(new) + 0.5) * old / new - 0.5


def corner_aligned_coordinates(old, new):
    """Where each of `new` samples falls on `old`, first and last samples on
    the first and last entries (`scipy.ndimage.zoom`'s default grid)."""
    if new == 1:
        return np.zeros(1)
    return np.arange(new) * (old - 1) / (new - 1)


INTERPOLATIONS = {"bilinear": half_pixel_coordinates, "zoom": corner_aligned_coordinates}


def interpolation_matrix(coordinates, old):
    """(new, old) linear interpolation weights at `coordinates`, clamped to the edges."""
    coordinates = np.clip(coordinates, 0, old - 1)
    low = np.floor(coordinates).astype(int)
    high = np.minimum(low + 1, old - 1)
    fraction = coordinates - low
    matrix = np.zeros((len(coordinates), old))  # (new, old)
    rows = np.arange(len(coordinates))
    np.add.at(matrix, (rows, low), 1 - fraction)
    np.add.at(matrix, (rows, high), fraction)
    return matrix.astype(np.float32)


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
