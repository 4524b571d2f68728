"""A short demo: TokenLearner inside a small Keras model, run once.

It builds patches -> TokenLearner -> transformer-free head, runs a batch of
random images, and prints how many positions went in, how many tokens came out,
and what each token attends to.
"""

import time

import keras
import numpy as np

from keras_tokenlearner import validation
from keras_tokenlearner.layers import TokenLearner

PATCH_SIZE = 4
HIDDEN_DIM = 64


def build_model(num_tokens, image_size, version):
    """Images -> 4x4 patch embedding -> TokenLearner -> mean -> 10 logits."""
    validation.check_positive_int("image_size", image_size)
    if image_size % PATCH_SIZE:
        raise validation.invalid_value(
            "image_size", f"a multiple of the patch size {PATCH_SIZE}", image_size
        )
    images = keras.Input((image_size, image_size, 3), name="images")
    patches = keras.layers.Conv2D(
        HIDDEN_DIM, PATCH_SIZE, strides=PATCH_SIZE, name="patch_embedding"
    )(images)
    tokens, maps = TokenLearner(num_tokens, version=version, name="token_learner")(
        patches, return_attention_maps=True
    )
    pooled = keras.layers.GlobalAveragePooling1D(name="pool")(tokens)
    logits = keras.layers.Dense(10, name="head")(pooled)
    return keras.Model(images, [logits, maps], name="token_learner_demo")


def run(num_tokens=8, image_size=32, batch_size=4, version="1.1"):
    """Builds the demo model, runs one batch and prints what happened."""
    validation.check_positive_int("batch_size", batch_size)
    model = build_model(num_tokens, image_size, version)
    images = np.random.default_rng(0).uniform(size=(batch_size, image_size, image_size, 3))
    start = time.perf_counter()
    logits, maps = model(images.astype("float32"))
    elapsed = time.perf_counter() - start
    maps = keras.ops.convert_to_numpy(maps)
    positions = maps.shape[-1]
    print(f"backend: {keras.backend.backend()}, TokenLearner version {version}")
    print(f"model: {model.count_params():,} parameters")
    print(f"input: {batch_size} images of {image_size}x{image_size}x3")
    print(f"patches: {positions} positions of width {HIDDEN_DIM}")
    print(f"TokenLearner: {positions} positions -> {num_tokens} tokens")
    print(f"logits: {tuple(logits.shape)} in {elapsed * 1000:.1f} ms")
    peaks = maps[0].argmax(axis=-1)
    side = image_size // PATCH_SIZE
    for token, peak in enumerate(peaks):
        row, column = divmod(int(peak), side)
        weight = maps[0, token, peak]
        print(f"  token {token}: strongest weight {weight:.4f} at patch ({row}, {column})")
    return model
