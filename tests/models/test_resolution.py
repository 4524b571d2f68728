"""Position-embedding interpolation and weights across resolutions."""

import numpy as np
import pytest

import keras_tokenlearner as ktl
from tests import testing


def numpy_bilinear(grid, new_height, new_width):
    """Bilinear resize with half-pixel centres, edges clamped: (h, w, D)."""
    def axis_weights(old, new):
        source = np.clip((np.arange(new) + 0.5) * old / new - 0.5, 0, old - 1)
        low = np.floor(source).astype(int)
        high = np.minimum(low + 1, old - 1)
        return low, high, source - low

    rows, columns = axis_weights(grid.shape[0], new_height), axis_weights(grid.shape[1], new_width)
    top = grid[rows[0]] * (1 - rows[2])[:, None, None] + grid[rows[1]] * rows[2][:, None, None]
    left, right, fraction = columns
    return top[:, left] * (1 - fraction)[None, :, None] + top[:, right] * fraction[None, :, None]


@pytest.mark.parametrize("target", [(6, 5), (2, 2), (4, 4)])
def test_resize_matches_numpy_bilinear_and_keeps_class_token(target):
    embedding = testing.random_array((1 + 16, 8))
    resized = testing.to_numpy(
        ktl.resize_position_embedding(embedding, (4, 4), target, num_prefix_tokens=1)
    )
    assert resized.shape == (1 + target[0] * target[1], 8)
    np.testing.assert_array_equal(resized[0], embedding[0])
    expected = numpy_bilinear(embedding[1:].reshape(4, 4, 8), *target)
    np.testing.assert_allclose(resized[1:].reshape(expected.shape), expected, atol=1e-5)


def test_video_grid_is_resized_per_frame():
    embedding = testing.random_array((2 * 4 * 4, 8))
    resized = testing.to_numpy(ktl.resize_position_embedding(embedding, (2, 4, 4), (2, 6, 6)))
    expected = numpy_bilinear(embedding[16:].reshape(4, 4, 8), 6, 6)
    np.testing.assert_allclose(resized[36:].reshape(6, 6, 8), expected, atol=1e-5)
    with pytest.raises(ValueError, match=r"`target_grid`.*same rank and frames"):
        ktl.resize_position_embedding(embedding, (2, 4, 4), (3, 4, 4))


@pytest.mark.parametrize("name", ["vit_test_patch4", "vit_test_patch4_tokenlearner"])
def test_transfer_weights_to_a_higher_resolution(name):
    source = ktl.create_model(name)
    testing.randomize_weights(source, scale=0.1)
    target = ktl.transfer_weights(source, ktl.create_model(name, image_shape=(24, 24, 3)))
    prefix = 1 if name == "vit_test_patch4" else 0
    source_embedding = testing.to_numpy(source.get_layer("position_embedding").embeddings)
    target_embedding = testing.to_numpy(target.get_layer("position_embedding").embeddings)
    expected = numpy_bilinear(source_embedding[prefix:].reshape(4, 4, 32), 6, 6)
    np.testing.assert_allclose(target_embedding[prefix:], expected.reshape(36, 32), atol=1e-5)
    np.testing.assert_array_equal(
        testing.to_numpy(target.get_layer("block_1").weights[0]),
        testing.to_numpy(source.get_layer("block_1").weights[0]),
    )
    # Same resolution: every weight is copied exactly, so the model is the same
    # (checked on the weights: an eager forward pass costs seconds under JAX).
    same = ktl.transfer_weights(source, ktl.create_model(name))
    copied = {weight.path: testing.to_numpy(weight) for weight in same.weights}
    assert set(copied) == {weight.path for weight in source.weights}
    for weight in source.weights:
        np.testing.assert_array_equal(copied[weight.path], testing.to_numpy(weight), weight.path)


@pytest.mark.parametrize(
    "rows, num_prefix_tokens, message",
    [(17, 0, r"`embedding`.*= 16, width\).*Received: embedding=\(17, 4\)"),
     (16, 1, r"`embedding`.*= 17, width\)"),
     (16, -1, r"`num_prefix_tokens`.*num_prefix_tokens=-1")],
)
def test_resize_checks_the_embedding_against_the_grid(rows, num_prefix_tokens, message):
    embedding = np.zeros((rows, 4), "float32")
    with pytest.raises(ValueError, match=message):
        ktl.resize_position_embedding(embedding, (4, 4), (8, 8), num_prefix_tokens)
