"""Datasets batched as every tf.data tutorial does, `.batch(n)`, whose last
batch is partial: trained on and evaluated, on one replica or several
(`tests/train/two_devices.py` runs `train_on` on 2)."""

import numpy as np
import tensorflow as tf

from keras_tokenlearner import datasets
from keras_tokenlearner.train import train

TRAIN_EXAMPLES, TEST_EXAMPLES = 1499, 298  # 23 batches of 64 and one of 27; 33 of 9 and one of 1
TRAIN_BATCH, TEST_BATCH = 64, 9


def digits():
    images, labels = datasets.load_digit_images(16)  # (1797, 16, 16, 1) uint8
    order = np.random.default_rng(0).permutation(len(labels))
    return images[order].astype("float32") / 127.5 - 1.0, labels[order].astype("int32")


def build_model():
    import keras

    inputs = keras.Input((16, 16, 1), name="images")
    features = keras.layers.Conv2D(16, 4, strides=4, activation="relu", name="patches")(inputs)
    pooled = keras.layers.Flatten(name="flatten")(features)  # (B, 256)
    return keras.Model(inputs, keras.layers.Dense(10, name="head")(pooled))


def train_on(workdir, **fields):
    """Three epochs over `.batch(64)` training data, evaluated on `.batch(9)`
    test data; returns the metrics."""
    images, labels = digits()
    train_batches = tf.data.Dataset.from_tensor_slices(
        (images[:TRAIN_EXAMPLES], labels[:TRAIN_EXAMPLES])).batch(TRAIN_BATCH)
    test_batches = tf.data.Dataset.from_tensor_slices(
        (images[TRAIN_EXAMPLES:], labels[TRAIN_EXAMPLES:])).batch(TEST_BATCH)
    metrics = train(model=build_model, dataset=train_batches, test_dataset=test_batches,
                    epochs=3, learning_rate=3e-3, export=False, verbose=False,
                    workdir=workdir, **fields)
    return {"metrics": metrics}
