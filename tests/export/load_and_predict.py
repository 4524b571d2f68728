"""Loads a SavedModel and runs it, WITHOUT importing keras_tokenlearner.

`python tests/export/load_and_predict.py EXPORT_PATH INPUTS.npy OUT.npz [INPUTS.npy OUT.npz ...]`:
runs `serving_default` on each file of uint8 inputs and saves every named
output; the export is loaded once.
"""

import sys

import numpy as np
import tensorflow as tf

if __name__ == "__main__":
    export_path, paths = sys.argv[1], sys.argv[2:]
    loaded = tf.saved_model.load(export_path)
    for inputs_path, outputs_path in zip(paths[::2], paths[1::2]):
        images = tf.constant(np.load(inputs_path))
        outputs = loaded.signatures["serving_default"](images=images)
        assert "keras_tokenlearner" not in sys.modules
        arrays = {name: value.numpy() for name, value in outputs.items()}
        arrays = {name: a.astype(bytes) if a.dtype == object else a for name, a in arrays.items()}
        np.savez(outputs_path, **arrays)
