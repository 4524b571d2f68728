"""SavedModel export: self-contained, named outputs, TF Serving contract."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_tokenlearner as ktl
from keras_tokenlearner import data
from keras_tokenlearner import export
from keras_tokenlearner import filesystem
from tests import testing

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLASS_NAMES = [f"class_{index}" for index in range(10)]


@pytest.fixture(scope="module")
def model():
    model = ktl.create_model("vit_test_patch4_tokenlearner")
    testing.randomize_weights(model, scale=0.2)
    return model


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    base = tmp_path_factory.mktemp("exports")
    return export.export_saved_model(model, str(base), class_names=CLASS_NAMES)


@pytest.fixture(scope="module")
def loaded(exported):
    """The export, loaded once for the module's tests."""
    return tf.saved_model.load(exported)


FRESH_BATCH_SIZES = (1, 5)


@pytest.fixture(scope="module")
def fresh_process(exported, tmp_path_factory):
    """One fresh process without the package serves the export, for each batch size."""
    directory = tmp_path_factory.mktemp("fresh_process")
    command = [sys.executable, os.path.join(ROOT, "tests", "export", "load_and_predict.py"),
               exported]
    for batch_size in FRESH_BATCH_SIZES:
        np.save(directory / f"inputs_{batch_size}.npy", raw_images(batch_size))
        command += [str(directory / f"inputs_{batch_size}.npy"),
                    str(directory / f"outputs_{batch_size}.npz")]
    result = subprocess.run(command, cwd=str(directory), capture_output=True, text=True,
                            timeout=300)
    return result, directory


def raw_images(batch_size, size=(20, 24)):
    rng = np.random.default_rng(batch_size)
    return rng.integers(0, 256, size=(batch_size,) + size + (3,), dtype=np.uint8)


def expected_probabilities(model, images):
    logits = model(data.preprocess(tf.constant(images), (16, 16, 3)))
    return tf.nn.softmax(logits).numpy()


@pytest.mark.parametrize("batch_size", FRESH_BATCH_SIZES)
def test_fresh_process_without_the_package_matches_keras(model, fresh_process, batch_size):
    result, directory = fresh_process
    assert result.returncode == 0, result.stderr[-3000:]
    images = np.load(directory / f"inputs_{batch_size}.npy")
    outputs = np.load(directory / f"outputs_{batch_size}.npz")
    expected = expected_probabilities(model, images)
    np.testing.assert_allclose(outputs["probabilities"], expected, atol=1e-5)
    top_ids = np.argsort(-expected, axis=-1)[:, :5]
    np.testing.assert_array_equal(outputs["top_k_ids"], top_ids)
    labels = [[name.decode() for name in row] for row in outputs["top_k_labels"]]
    assert labels == [[CLASS_NAMES[i] for i in row] for row in top_ids]


def test_layout_and_signatures_with_saved_model_cli(exported, tmp_path):
    assert os.path.basename(exported) == "1"
    assert os.path.isfile(os.path.join(exported, "saved_model.pb"))
    assert os.path.isdir(os.path.join(exported, "variables"))
    assert export.read_class_names(os.path.join(exported, "assets.extra", "class_names.txt")) == (
        CLASS_NAMES
    )
    cli = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
    shown = subprocess.run(cli + ["show", "--dir", exported, "--all"],
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr[-2000:]
    text = shown.stdout
    for signature in ("serving_default", "serving_preprocessed"):
        assert f"signature_def['{signature}']" in text
    assert "dtype: DT_UINT8" in text and "shape: (-1, -1, -1, 3)" in text
    for output in ("probabilities", "top_k_ids", "top_k_scores", "top_k_labels"):
        assert f"outputs['{output}']" in text
    assert "output_0" not in text
    np.save(tmp_path / "x.npy", raw_images(2))
    ran = subprocess.run(cli + ["run", "--dir", exported, "--tag_set", "serve",
                                "--signature_def", "serving_default",
                                "--inputs", f"images={tmp_path / 'x.npy'}"],
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "probabilities" in ran.stdout


@pytest.mark.parametrize("row_format", [True, False])
def test_rest_request_body_runs_through_the_signature(model, loaded, row_format):
    images = raw_images(3)
    body = json.loads(export.predict_request(images, row_format=row_format))
    assert body["signature_name"] == "serving_default"
    # TF Serving decodes JSON numbers to the signature's dtype, row by row.
    decoded = body["instances"] if row_format else body["inputs"]["images"]
    tensor = tf.constant(np.array(decoded, dtype=np.uint8))
    outputs = loaded.signatures[body["signature_name"]](images=tensor)
    np.testing.assert_allclose(
        outputs["probabilities"].numpy(), expected_probabilities(model, images), atol=1e-5
    )


def test_preprocessed_signature(model, loaded):
    x = testing.random_array((4, 16, 16, 3))
    outputs = loaded.signatures["serving_preprocessed"](images=tf.constant(x))
    expected = tf.nn.softmax(model(x)).numpy()
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-5)


def test_wrong_dtype_or_shape_names_the_expected_spec(loaded):
    signature = loaded.signatures["serving_default"]
    errors = (TypeError, ValueError, tf.errors.InvalidArgumentError)
    with pytest.raises(errors, match=r"expected to be a uint8 tensor but is a float"):
        signature(images=tf.zeros((1, 16, 16, 3), tf.float32))
    with pytest.raises(errors, match=r"not compatible with expected shape \[\?,\?,\?,3\]"):
        signature(images=tf.zeros((1, 16, 16, 4), tf.uint8))


def test_refuses_to_overwrite_a_version(model, exported):
    with pytest.raises(ValueError, match=r"`version`.*overwrite=True.*version=1"):
        export.export_saved_model(model, os.path.dirname(exported))
    again = export.export_saved_model(model, os.path.dirname(exported), overwrite=True)
    assert again == exported


def test_export_to_ram_serves_what_the_local_export_serves(model, loaded):
    # ram://, TensorFlow's in-memory filesystem, stands for gs:// and s3://.
    base = "ram://exports/digits"
    path = export.export_saved_model(model, base, class_names=CLASS_NAMES)
    assert path == f"{base}/1" and filesystem.listdir(base) == ["1"]  # no temporary left
    assert export.read_class_names(f"{path}/assets.extra/class_names.txt") == CLASS_NAMES
    images = tf.constant(raw_images(3))
    remote = tf.saved_model.load(path).signatures["serving_default"](images=images)
    local = loaded.signatures["serving_default"](images=images)
    np.testing.assert_allclose(remote["probabilities"], local["probabilities"], atol=1e-6)
    with pytest.raises(ValueError, match=r"`version`.*overwrite=True"):
        export.export_saved_model(model, base)
    filesystem.rmtree(base)


def test_video_model_export_matches_keras(tmp_path):
    model = ktl.create_model("vivit_test_patch4_tokenlearner")
    testing.randomize_weights(model, scale=0.2)  # a fresh head gives uniform probabilities
    path = export.export_saved_model(model, str(tmp_path), version=3)
    clips = np.random.default_rng(0).integers(0, 256, (2, 4, 18, 18, 3), dtype=np.uint8)
    outputs = tf.saved_model.load(path).signatures["serving_default"](images=tf.constant(clips))
    expected = tf.nn.softmax(model(data.preprocess(clips, model.input.shape[-3:])))  # (2, 10)
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected.numpy(), atol=1e-5)
    assert np.ptp(expected.numpy()) > 1e-3  # not uniform, so the comparison means something
    assert "top_k_labels" not in outputs


def test_gray_model_takes_gray_raw_images(tmp_path):
    model = ktl.ViT((8, 8, 1), patch_size=4, hidden_dim=8, num_layers=1, num_heads=2,
                    mlp_dim=8, num_classes=3, preprocessing={"scale": 1 / 127.5, "offset": -1.0})
    testing.randomize_weights(model, scale=0.3)
    path = export.export_saved_model(model, str(tmp_path))
    images = np.random.default_rng(1).integers(0, 256, (2, 10, 12, 1), dtype=np.uint8)
    outputs = tf.saved_model.load(path).signatures["serving_default"](images=tf.constant(images))
    expected = tf.nn.softmax(model(data.preprocess(images, (8, 8, 1))))  # (2, 3)
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected.numpy(), atol=1e-5)


@pytest.mark.parametrize("num_classes", [None, "sequence"])
def test_model_without_class_logits_is_a_clear_error(num_classes, tmp_path):
    if num_classes is None:
        model = ktl.create_model("vit_test_patch4", num_classes=None)  # pooled features
    else:
        inputs = keras.Input((8, 8, 3))
        model = keras.Model(inputs, keras.layers.Reshape((64, 3))(inputs), name="sequence")
    with pytest.raises(ValueError, match=r"`model`.*a classifier.*Received: model="):
        export.export_saved_model(model, str(tmp_path))


def test_killed_export_leaves_no_version(tmp_path):
    script = (
        "import keras_tokenlearner as ktl, keras_tokenlearner.export as e;"
        "m = ktl.create_model('vit_test_patch4_tokenfuser');"
        f"e.export_saved_model(m, {str(tmp_path)!r})"
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not any(n.startswith(".1") for n in os.listdir(tmp_path)):
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    leftovers = [name for name in os.listdir(tmp_path) if name.startswith(".1.tmp-")]
    assert leftovers, "the export was not caught midway"
    assert not (tmp_path / "1").exists()  # nothing TF Serving would load
    model = ktl.create_model("vit_test_patch4_tokenfuser")
    export.export_saved_model(model, str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["1"]  # the leftover was cleaned


def test_unbuilt_model_is_a_clear_error(tmp_path):
    class Unbuilt(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match=r"`model`.*built functional model"):
        export.export_saved_model(Unbuilt(), str(tmp_path))


def test_token_learner_with_unknown_sizes_in_a_saved_model(tmp_path):
    import keras

    inputs = keras.Input((None, None, 8))
    tokens = ktl.TokenLearner(4)(inputs)
    model = keras.Model(inputs, ktl.TokenFuser()(tokens, inputs) + inputs)
    testing.randomize_weights(model, scale=0.3)  # a fresh fuser would output zeros
    model.export(str(tmp_path / "dynamic"), format="tf_saved_model", verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "dynamic"))  # keep it alive while serving
    for shape in [(1, 5, 7, 8), (3, 6, 6, 8)]:
        x = testing.random_array(shape)
        served = loaded.serve(tf.constant(x)).numpy()
        np.testing.assert_allclose(served, model(x).numpy(), atol=1e-5)


def test_class_names_must_be_strings(model, tmp_path):
    with pytest.raises(ValueError, match=r"`class_names`. Expected a list of strings"):
        export.export_saved_model(model, str(tmp_path), class_names=list(range(10)))


def test_a_model_that_records_no_preprocessing_needs_it_given(tmp_path):
    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(inputs))
    model = keras.Model(inputs, outputs)
    with pytest.raises(ValueError, match="`preprocessing`.*records none"):
        export.export_saved_model(model, str(tmp_path / "refused"))
    assert not os.path.exists(tmp_path / "refused")
    path = export.export_saved_model(model, str(tmp_path / "given"),
                                     preprocessing={"mean": (0.5,) * 3, "std": (0.25,) * 3})
    served = tf.saved_model.load(path).signatures["serving_default"]
    pixels = np.full((1, 8, 8, 3), 255, np.uint8)  # (1 - 0.5) / 0.25 = 2
    expected = keras.ops.softmax(model(np.full((1, 8, 8, 3), 2.0, np.float32))).numpy()
    np.testing.assert_allclose(served(images=tf.constant(pixels))["probabilities"], expected,
                               atol=1e-6)
