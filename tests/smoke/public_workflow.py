"""The public workflow on the installed stack, end to end, as a user runs it.

`KERAS_BACKEND=tensorflow python tests/smoke/public_workflow.py`: a row of
the support matrix (noxfile.py) runs it after installing a stack. Each step
asserts what it produced and prints one `ok` line; any failure exits
non-zero. The steps:

1. TokenLearner and TokenFuser in a functional model: `.keras` round trip
   (same config, same outputs).
2. A zoo model's forward pass.
3. A few trainer steps on the embedded `digits` data (TFDS, offline).
4. SavedModel export of the trained model (`keras_tokenlearner.export`).
5. The SavedModel served by a fresh process that cannot import the package:
   its probabilities match the Keras model's.

Not a pytest module: tests/smoke/conftest.py keeps it out of collection.
"""

import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_tokenlearner as ktl  # noqa: E402

TRAIN_STEPS = 4
NUM_CLASSES = 10  # digits
# Run by a process that blocks the package, so only TensorFlow can read the
# artifact: its outputs go to a .npz file for the parent to compare.
RELOAD_WITHOUT_PACKAGE = """
import sys
sys.modules["keras_tokenlearner"] = None  # any import of the package now fails
import numpy as np
import tensorflow as tf
try:
    import keras_tokenlearner  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("keras_tokenlearner was importable")
export_path, inputs_path, outputs_path = sys.argv[1:4]
inputs = np.load(inputs_path)
loaded = tf.saved_model.load(export_path)
raw = loaded.signatures["serving_default"](images=tf.constant(inputs["raw"]))
floats = loaded.signatures["serving_preprocessed"](images=tf.constant(inputs["floats"]))
np.savez(outputs_path, raw=raw["probabilities"].numpy(), floats=floats["probabilities"].numpy(),
         top_k_ids=raw["top_k_ids"].numpy())
"""


def check_layers_round_trip(directory):
    inputs = keras.Input((4, 4, 8))
    tokens = ktl.TokenLearner(num_tokens=3, name="learner")(inputs)
    fused = ktl.TokenFuser(name="fuser")(tokens, inputs)
    model = keras.Model(inputs, [tokens, fused])
    path = os.path.join(directory, "layers.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    for name in ("learner", "fuser"):
        assert reloaded.get_layer(name).get_config() == model.get_layer(name).get_config(), name
    features = np.random.default_rng(0).normal(size=(2, 4, 4, 8)).astype("float32")
    for before, after in zip(model(features), reloaded(features)):
        assert before.shape in ((2, 3, 8), (2, 4, 4, 8)), before.shape
        np.testing.assert_allclose(np.asarray(before), np.asarray(after), atol=1e-6)
    print("ok: TokenLearner and TokenFuser .keras round trip")


def check_zoo_forward():
    model = ktl.create_model("vit_test_patch4_tokenlearner", num_classes=NUM_CLASSES,
                             image_shape=(32, 32, 3))
    assert "vit_test_patch4_tokenlearner" in ktl.list_models("vit_test_*")
    logits = np.asarray(model(np.zeros((2, 32, 32, 3), "float32")))
    assert logits.shape == (2, NUM_CLASSES) and np.isfinite(logits).all(), logits
    print("ok: zoo model forward", logits.shape)


def check_training(directory):
    from keras_tokenlearner.train import train

    workdir = os.path.join(directory, "run")
    # A fresh data_dir: this stack's TFDS and protobuf write and read the dataset.
    metrics = train(model="vit_test_patch4_tokenlearner", dataset="digits",
                    data_dir=os.path.join(directory, "tensorflow_datasets"), steps=TRAIN_STEPS,
                    steps_per_call=2, batch_size=16, workdir=workdir, export=False,
                    verbose=False)
    assert metrics["steps"] == TRAIN_STEPS, metrics
    assert 0.0 <= metrics["test_accuracy"] <= 1.0, metrics
    model = keras.models.load_model(os.path.join(workdir, "model.keras"))
    assert model.outputs[0].shape[-1] == NUM_CLASSES, model.outputs
    print(f"ok: {TRAIN_STEPS} trainer steps on digits, test accuracy "
          f"{metrics['test_accuracy']:.3f}")
    return model


def check_export_and_reload(model, directory):
    from keras_tokenlearner.export import export_saved_model

    path = export_saved_model(model, os.path.join(directory, "export"))
    assert os.path.isfile(os.path.join(path, "saved_model.pb")), os.listdir(path)
    print("ok: SavedModel export", path)
    rng = np.random.default_rng(0)
    floats = rng.normal(size=(3, 32, 32, 3)).astype("float32")
    raw = rng.integers(0, 256, size=(3, 40, 40, 3)).astype("uint8")  # any size: resized
    inputs_path = os.path.join(directory, "inputs.npz")
    outputs_path = os.path.join(directory, "outputs.npz")
    np.savez(inputs_path, raw=raw, floats=floats)
    subprocess.run([sys.executable, "-c", RELOAD_WITHOUT_PACKAGE, path, inputs_path,
                    outputs_path], check=True)
    served = np.load(outputs_path)
    expected = np.asarray(keras.ops.softmax(model(floats, training=False)))
    np.testing.assert_allclose(served["floats"], expected, atol=1e-5)
    np.testing.assert_allclose(served["raw"].sum(axis=-1), 1.0, atol=1e-5)
    assert served["raw"].shape == (3, NUM_CLASSES), served["raw"].shape
    assert served["top_k_ids"].shape[0] == 3, served["top_k_ids"].shape
    print("ok: SavedModel served without the package, probabilities match Keras")


def main():
    assert keras.backend.backend() == "tensorflow", keras.backend.backend()
    with tempfile.TemporaryDirectory(prefix="public-workflow-") as directory:
        check_layers_round_trip(directory)
        check_zoo_forward()
        model = check_training(directory)
        check_export_and_reload(model, directory)
    print(json.dumps({"public_workflow": "passed", "keras": keras.__version__}))


if __name__ == "__main__":
    main()
