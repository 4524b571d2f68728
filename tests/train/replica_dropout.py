"""Dropout on 2 mirrored replicas draws a different mask on each.

Needs 2 logical CPUs, set before TensorFlow starts: tests/train/two_devices.py
runs `outcome()` in its fresh process.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_tokenlearner.train import loop
from keras_tokenlearner.train import strategies


def outcome():
    strategies.configure_cpu_devices(2)
    strategy = strategies.make_strategy("mirrored")
    with strategy.scope():
        inputs = keras.Input((64,))
        model = keras.Model(inputs, keras.layers.Dropout(0.5)(inputs))
    variables = model.non_trainable_variables

    def replica_masks(x):
        values, offsets = loop.replica_values(variables)
        masks, updated = model.stateless_call([], values, x, training=True)
        return masks, [value - offset for value, offset in zip(updated, offsets)]

    batches = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensors(tf.ones((4, 64))))
    masks, states = strategy.run(replica_masks, args=(next(iter(batches)),))
    first, second = (np.asarray(m) for m in strategy.experimental_local_results(masks))
    state_0, state_1 = (np.asarray(s) for s in strategy.experimental_local_results(states[0]))
    return {"masks_differ": not np.array_equal(first, second),
            "states_equal": bool(np.array_equal(state_0, state_1)),
            "states_advanced": bool(state_0[1] > np.asarray(variables[0].value)[1])}
