"""Paths to the committed checkpoint fixtures and models that fit them.

The Flax files and logits come from the authors' own modules
(`fixtures/make_flax_fixtures.py`), the keras-hub preset from keras-hub
(`fixtures/make_keras_hub_fixture.py`); see `fixtures/flax_fixtures.json`.
"""

import os

import keras
import numpy as np

import keras_tokenlearner as ktl

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
KERAS_HUB_PRESET = os.path.join(FIXTURES, "keras_hub_vit_test")
# The Flax fixtures' ViT: 32 px, 8 px patches, width 32, 2 blocks of 2 heads.
FLAX_VIT = dict(patch_size=8, hidden_dim=32, num_layers=2, num_heads=2, mlp_dim=64,
                num_classes=10)


def path(name):
    return os.path.join(FIXTURES, name)


def expected(name):
    """`images` and `logits` (or `class_token`) the source library computed."""
    return dict(np.load(path(f"{name}_expected.npz")))


def flax_vit(pooling, image_size=32, **overrides):
    """A ViT of the Flax fixtures' shape (randomly initialised)."""
    return ktl.ViT((image_size, image_size, 3), pooling=pooling, **{**FLAX_VIT, **overrides})


def run(model, images):
    return keras.ops.convert_to_numpy(model(images, training=False))


def weights(model):
    return {variable.path: keras.ops.convert_to_numpy(variable) for variable in model.weights}
