"""Loads a SavedModel and runs it, WITHOUT importing keras_tokenlearner.

`python tests/export/load_and_predict.py EXPORT_PATH INPUTS.npy OUT.npz`: runs
`serving_default` on the uint8 inputs and saves every named output.
"""

import sys

import numpy as np
import tensorflow as tf

if __name__ == "__main__":
    export_path, inputs_path, outputs_path = sys.argv[1:4]
    loaded = tf.saved_model.load(export_path)
    outputs = loaded.signatures["serving_default"](images=tf.constant(np.load(inputs_path)))
    assert "keras_tokenlearner" not in sys.modules
    arrays = {name: value.numpy() for name, value in outputs.items()}
    arrays = {name: a.astype(bytes) if a.dtype == object else a for name, a in arrays.items()}
    np.savez(outputs_path, **arrays)
