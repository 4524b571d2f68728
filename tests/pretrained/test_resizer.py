"""One position-embedding resizer: `models.resize_position_embedding`, whose
`"zoom"` method is the authors' (`scipy.ndimage.zoom(order=1)`, corner
aligned) and is what `load_pretrained` uses."""

import numpy as np
import pytest
import scipy.ndimage

import keras_tokenlearner as ktl
from keras_tokenlearner.pretrained import adapt
from tests import testing
from tests.pretrained import fixtures


@pytest.mark.parametrize("source, target", [((4, 4), (6, 6)), ((14, 14), (24, 24)),
                                            ((6, 5), (3, 7)), ((4, 4), (1, 2)), ((3, 3), (3, 3))])
def test_zoom_is_scipy_ndimage_zoom_order_1(source, target):
    embedding = testing.random_array((1 + source[0] * source[1], 8))
    resized = testing.to_numpy(ktl.resize_position_embedding(
        embedding, source, target, num_prefix_tokens=1, method="zoom"))
    grid = embedding[1:].reshape(source + (8,)).astype(np.float64)  # (h, w, D)
    factors = (target[0] / source[0], target[1] / source[1], 1)
    expected = scipy.ndimage.zoom(grid, factors, order=1)  # (h', w', D)
    np.testing.assert_allclose(resized[1:].reshape(expected.shape), expected, atol=1e-6)
    np.testing.assert_array_equal(resized[0], embedding[0])


def test_zoom_reproduces_vit_jax_load_pretrained():
    """The 48 px fixture's position embedding is what the authors'
    `vit_jax.checkpoint.load_pretrained` made of the 32 px file's."""
    embedding = np.load(fixtures.path("vit_jax_token.npz"))[
        "Transformer/posembed_input/pos_embedding"][0]  # (1 + 4 * 4, D)
    expected = fixtures.expected("vit_jax_token_48px")["pos_embedding"][0]  # (1 + 6 * 6, D)
    resized = ktl.resize_position_embedding(embedding, (4, 4), (6, 6), num_prefix_tokens=1,
                                            method="zoom")
    np.testing.assert_allclose(testing.to_numpy(resized), expected, atol=1e-6)
    bilinear = ktl.resize_position_embedding(embedding, (4, 4), (6, 6), num_prefix_tokens=1)
    assert np.abs(testing.to_numpy(bilinear) - expected).max() > 1e-3  # the method matters


def test_video_grid_is_zoomed_per_frame():
    embedding = testing.random_array((2 * 4 * 4, 8))
    resized = testing.to_numpy(ktl.resize_position_embedding(embedding, (2, 4, 4), (2, 5, 5),
                                                             method="zoom"))
    expected = scipy.ndimage.zoom(embedding[16:].reshape(4, 4, 8), (5 / 4, 5 / 4, 1), order=1)
    np.testing.assert_allclose(resized[25:].reshape(5, 5, 8), expected, atol=1e-6)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match=r"argument `method`.*'bilinear', 'zoom'.*"
                       r"Received: method='bicubic'"):
        ktl.resize_position_embedding(np.zeros((16, 4), "float32"), (4, 4), (8, 8),
                                      method="bicubic")


def test_load_pretrained_resizes_with_the_shared_resizer_by_zoom(monkeypatch):
    calls = []
    original = adapt.resize_position_embedding

    def spy(*arguments, **keywords):
        calls.append(keywords.get("method"))
        return original(*arguments, **keywords)

    monkeypatch.setattr(adapt, "resize_position_embedding", spy)
    ktl.load_pretrained(fixtures.flax_vit("token", image_size=48),
                        fixtures.path("vit_jax_token.npz"))
    assert calls == ["zoom"]
