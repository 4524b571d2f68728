"""ONNX and LiteRT exports match Keras; a `.keras` reload exports too."""

import keras
import numpy as np
import onnxruntime
import pytest
from ai_edge_litert.interpreter import Interpreter

import keras_tokenlearner as ktl
from keras_tokenlearner import export
from keras_tokenlearner import filesystem
from tests import testing


@pytest.fixture(scope="module")
def reloaded(tmp_path_factory):
    """A trained-looking model, saved and reloaded: never called after loading."""
    model = ktl.create_model("vit_test_patch4_tokenfuser")
    testing.randomize_weights(model, scale=0.2)
    path = str(tmp_path_factory.mktemp("model") / "model.keras")
    model.save(path)
    return keras.models.load_model(path), model


@pytest.mark.parametrize("batch_size", [1, 4])
def test_onnx_matches_keras(reloaded, tmp_path, batch_size):
    loaded, original = reloaded
    path = export.export_onnx(loaded, str(tmp_path / "model.onnx"))
    session = onnxruntime.InferenceSession(path)
    x = testing.random_array((batch_size, 16, 16, 3), seed=batch_size)
    (logits,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(logits, testing.to_numpy(original(x)), atol=1e-4)
    assert np.abs(logits).max() > 1e-3  # not the zero head of a fresh model


def test_onnx_to_ram(reloaded):
    # ram://, TensorFlow's in-memory filesystem, stands for gs:// and s3://.
    loaded, original = reloaded
    path = export.export_onnx(loaded, "ram://formats/model.onnx")
    with filesystem.open(path, "rb") as handle:
        session = onnxruntime.InferenceSession(handle.read())
    x = testing.random_array((2, 16, 16, 3))
    (logits,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(logits, testing.to_numpy(original(x)), atol=1e-4)
    assert filesystem.listdir("ram://formats") == ["model.onnx"]
    filesystem.rmtree("ram://formats")


def test_litert_matches_keras(reloaded, tmp_path):
    loaded, original = reloaded
    runner = Interpreter(model_path=export.export_litert(loaded, str(tmp_path / "m.tflite")))
    x = testing.random_array((3, 16, 16, 3))
    (logits,) = runner.get_signature_runner()(images=x).values()
    np.testing.assert_allclose(logits, testing.to_numpy(original(x)), atol=1e-4)


def test_litert_export_on_keras_before_3_13_names_the_version(reloaded, tmp_path, monkeypatch):
    monkeypatch.setattr(keras, "version", lambda: "3.12.4")
    message = r"LiteRT export needs Keras 3\.13.*this is Keras 3\.12\.4"
    with pytest.raises(ValueError, match=message):
        export.export_litert(reloaded[0], str(tmp_path / "m.tflite"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("exporter, path", [
    (export.export_onnx, "model.tflite"), (export.export_litert, "model"),
])
def test_file_extension_is_checked_before_writing(reloaded, tmp_path, exporter, path):
    with pytest.raises(ValueError, match=r"`path`.*a file name ending in \.(onnx|tflite)"):
        exporter(reloaded[0], str(tmp_path / path))
    assert list(tmp_path.iterdir()) == []


def test_missing_class_names_file_is_a_value_error(tmp_path):
    missing = str(tmp_path / "labels.txt")
    with pytest.raises(ValueError, match=r"`class_names`.*existing text file.*labels\.txt"):
        export.read_class_names(missing)
