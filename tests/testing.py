"""A small test harness for the package's layers and models.

It checks the Keras layer contract (config, serialization, saving, a compiled
training step, mixed precision) the way Keras's own tests do, written anew.
"""

import inspect
import json

import keras
import numpy as np

BASE_CONFIG_KEYS = {"name", "trainable", "dtype"}


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def random_array(shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype(
        "float32"
    )


def randomize_weights(layer, seed=0, scale=0.5):
    """Replaces every weight by random values, so no weight can hide."""
    rng = np.random.default_rng(seed)
    layer.set_weights(
        [rng.normal(size=w.shape).astype("float32") * scale for w in layer.weights]
    )


def assert_config_complete(layer):
    """`get_config` holds exactly the constructor arguments (plus base ones)."""
    signature = inspect.signature(type(layer).__init__)
    arguments = {
        name
        for name, parameter in signature.parameters.items()
        if name != "self" and parameter.kind is not parameter.VAR_KEYWORD
    }
    assert set(layer.get_config()) - BASE_CONFIG_KEYS == arguments


def assert_config_round_trip(layer):
    """A JSON round trip of the config gives a layer with the same config."""
    config = json.loads(json.dumps(layer.get_config()))
    clone = type(layer).from_config(config)
    assert clone.get_config() == layer.get_config()
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"].startswith("keras_tokenlearner>")
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is type(layer)


def assert_keras_file_round_trip(model, inputs, tmp_path):
    """Saving to `.keras` and loading gives the same class and outputs."""
    expected = model.predict(inputs, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert type(restored) is type(model)
    actual = restored.predict(inputs, verbose=0)
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)
    return restored


def assert_jit_fit_step_trains(model, inputs, labels, steps=1):
    """`steps` fit steps with `jit_compile=True` run and change every weight.

    Zero-initialised heads and fusers pass gradients on only from their
    second step, so models need `steps=3` for every weight to move.
    """
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=True,
    )
    before = [to_numpy(w).copy() for w in model.trainable_weights]
    history = model.fit(inputs, labels, batch_size=len(inputs), epochs=steps, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    after = [to_numpy(w) for w in model.trainable_weights]
    changed = [not np.array_equal(a, b) for a, b in zip(before, after)]
    assert sum(changed) >= len(changed) - 1  # at most one weight without grad


def classifier_around(layer_call, input_shape, num_classes=3):
    """Input -> layer_call -> mean over all but channels -> Dense logits."""
    inputs = keras.Input(input_shape)
    features = layer_call(inputs)
    rank = len(features.shape)
    pooled = keras.ops.mean(features, axis=tuple(range(1, rank - 1)))
    outputs = keras.layers.Dense(num_classes)(pooled)
    return keras.Model(inputs, outputs)
