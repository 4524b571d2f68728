"""Attention maps from a model, and the figures drawn from them."""

import numpy as np
import pytest

import keras_tokenlearner as ktl
from keras_tokenlearner import visualize
from tests import testing


def test_attention_maps_are_the_layers_softmax_rows():
    model = ktl.create_model("vit_test_patch4_tokenlearner")
    x = testing.random_array((3, 16, 16, 3))
    maps = visualize.attention_maps(model, x)
    assert maps.shape == (3, 4, 4, 4)  # (B, S, h, w)
    np.testing.assert_allclose(maps.sum(axis=(-2, -1)), 1.0, atol=1e-5)


def test_video_maps_and_figures(tmp_path):
    model = ktl.create_model("vivit_test_patch4_tokenfuser")
    clips = testing.random_array((2, 4, 16, 16, 3))
    maps = visualize.attention_maps(model, clips, layer_name="token_learner_1")
    assert maps.shape == (2, 2, 4, 4, 4)  # (B, T', S, h, w)
    visualize.plot_video_attention(clips[0], maps[0], path=str(tmp_path / "video.png"))
    visualize.save_attention_gif(clips[0], maps[0], str(tmp_path / "video.gif"))
    image_maps = maps[:, 0]
    visualize.plot_attention_grid(clips[:, 0], image_maps, path=str(tmp_path / "grid.png"))
    for name in ("video.png", "video.gif", "grid.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_a_model_without_token_learner_is_a_clear_error():
    model = ktl.create_model("vit_test_patch4")
    with pytest.raises(ValueError, match=r"`model`.*a TokenLearner layer.*Received: model="):
        visualize.attention_maps(model, testing.random_array((1, 16, 16, 3)))
