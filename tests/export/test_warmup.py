"""TF Serving warmup requests and batching parameters in the SavedModel export.

The records are parsed back with `tensorflow-serving-api` (installed with
`pip install --no-deps tensorflow-serving-api`), which the package itself
never imports, and replayed against the loaded SavedModel's signatures.
"""

import os
import re

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import descriptor_pb2
from google.protobuf import message_factory
from google.protobuf import text_format
from google.protobuf import wrappers_pb2

try:  # not in the `[test]` extra: the wheel asks for the full `tensorflow`
    from tensorflow_serving.apis import predict_pb2
    from tensorflow_serving.apis import prediction_log_pb2
except ImportError as error:
    raise ImportError("These tests parse the warmup file with TF Serving's protos: "
                      "pip install --no-deps tensorflow-serving-api==2.19.0") from error

import keras_tokenlearner as ktl
from keras_tokenlearner import cli
from keras_tokenlearner import export
from keras_tokenlearner import serving_warmup
from tests import testing

CLASS_NAMES = [f"class_{index}" for index in range(10)]
SMALL_BATCHING = {"max_batch_size": 4, "allowed_batch_sizes": (1, 4)}


def warmup_path(version_path):
    return os.path.join(version_path, "assets.extra", serving_warmup.WARMUP_FILE)


def read_warmup_logs(version_path):
    """The `PredictionLog`s of the export's warmup file, parsed by TF Serving's protos."""
    return [prediction_log_pb2.PredictionLog.FromString(record.numpy())
            for record in tf.data.TFRecordDataset(warmup_path(version_path))]


def request_inputs(log):
    inputs = log.predict_log.request.inputs
    return {name: tf.make_ndarray(tensor) for name, tensor in inputs.items()}


def described_requests(logs):
    """(signature, dtype, shape) of each record's one input, in file order."""
    described = []
    for log in logs:
        inputs = request_inputs(log)
        assert list(inputs) == ["images"]
        images = inputs["images"]
        described.append((log.predict_log.request.model_spec.signature_name,
                          images.dtype.name, images.shape))
    return described


def expected_requests(input_shape, batch_sizes, repeats=1):
    dtypes = {"serving_default": "uint8", "serving_preprocessed": "float32"}
    return [(signature, dtype, (batch_size,) + input_shape)
            for signature, dtype in dtypes.items() for batch_size in batch_sizes
            for _ in range(repeats)]


def replay(version_path, logs):
    """Runs every record through the loaded SavedModel's signature; the outputs."""
    loaded = tf.saved_model.load(version_path)
    return [loaded.signatures[log.predict_log.request.model_spec.signature_name](
        **{name: tf.constant(value) for name, value in request_inputs(log).items()})
        for log in logs]


@pytest.fixture(scope="module")
def image_export(tmp_path_factory):
    model = ktl.create_model("vit_test_patch4_tokenlearner")
    testing.randomize_weights(model, scale=0.2)
    base = tmp_path_factory.mktemp("exports") / "digits"
    return export.export_saved_model(model, str(base), class_names=CLASS_NAMES)


def test_warmup_file_holds_one_request_per_signature_and_allowed_batch_size(image_export):
    logs = read_warmup_logs(image_export)
    sizes = serving_warmup.BATCHING_PARAMETERS["allowed_batch_sizes"]
    assert described_requests(logs) == expected_requests((16, 16, 3), sizes)
    assert {log.predict_log.request.model_spec.name for log in logs} == {"digits"}
    raw = [request_inputs(log)["images"] for log in logs
           if log.predict_log.request.model_spec.signature_name == "serving_default"]
    assert all((images == 128).all() for images in raw)  # a mid-gray image
    assert os.path.getsize(warmup_path(image_export)) < 200 * len(logs)  # one value each


def test_every_warmup_record_replays_against_the_saved_model(image_export):
    logs = read_warmup_logs(image_export)
    outputs = replay(image_export, logs)
    for log, output in zip(logs, outputs):
        batch_size = request_inputs(log)["images"].shape[0]
        assert output["probabilities"].shape == (batch_size, 10)
        assert output["top_k_labels"].shape == (batch_size, 5)
        np.testing.assert_allclose(output["probabilities"].numpy().sum(-1), 1.0, atol=1e-5)
    default, preprocessed = outputs[0], outputs[len(logs) // 2]  # batch 1, mid-gray both
    np.testing.assert_allclose(default["probabilities"], preprocessed["probabilities"],
                               atol=1e-2)  # 128 / 127.5 - 1 is about 0


def test_video_model_warms_up_at_its_own_frames_and_size(tmp_path):
    model = ktl.create_model("vivit_test_patch4_tokenlearner", num_classes=3)
    path = export.export_saved_model(model, str(tmp_path / "clips"),
                                     batching_parameters=SMALL_BATCHING)
    logs = read_warmup_logs(path)
    input_shape = tuple(model.inputs[0].shape[1:])
    assert len(input_shape) == 4  # (T, H, W, C)
    assert described_requests(logs) == expected_requests(input_shape, (1, 4))
    for log, output in zip(logs, replay(path, logs)):
        assert output["probabilities"].shape == (request_inputs(log)["images"].shape[0], 3)


@pytest.mark.parametrize("warmup_requests", [0, 2])
def test_warmup_requests_sets_the_records_per_signature_and_batch_size(tmp_path,
                                                                       warmup_requests):
    model = ktl.create_model("vit_test_patch4_tokenlearner")
    path = export.export_saved_model(model, str(tmp_path / "digits"),
                                     warmup_requests=warmup_requests,
                                     batching_parameters=SMALL_BATCHING)
    with open(os.path.join(path, "assets.extra", serving_warmup.BATCHING_FILE)) as handle:
        text = handle.read()  # written either way, with the batch sizes given
    assert "# Given as export_saved_model(batching_parameters=...)" in text
    parsed = text_format.Parse(text, batching_parameters_class()())
    assert (parsed.max_batch_size.value, tuple(parsed.allowed_batch_sizes)) == (4, (1, 4))
    if warmup_requests == 0:
        assert not os.path.exists(warmup_path(path))
        return
    assert described_requests(read_warmup_logs(path)) == expected_requests(
        (16, 16, 3), (1, 4), repeats=2)


@pytest.mark.parametrize("value", [-1, 1.5, True, "1", None, 251])
def test_bad_warmup_requests_is_refused(tmp_path, value):
    model = ktl.create_model("vit_test_patch4_tokenlearner")
    with pytest.raises(ValueError, match="argument `warmup_requests`") as error:
        export.export_saved_model(model, str(tmp_path), warmup_requests=value,
                                  batching_parameters=SMALL_BATCHING)
    assert f"Received: warmup_requests={value!r}" in str(error.value)
    if value == 251:  # 251 x 2 signatures x 2 batch sizes > 1000
        assert "at most 250" in str(error.value)
    assert not os.listdir(tmp_path)  # refused before writing anything


@pytest.mark.parametrize("overrides, argument", [
    ({"max_batch_sizes": 4}, "batching_parameters"),
    ([("max_batch_size", 4)], "batching_parameters"),
    ({"max_batch_size": 0, "allowed_batch_sizes": (0,)}, "batching_parameters['max_batch_size']"),
    ({"batch_timeout_micros": -1}, "batching_parameters['batch_timeout_micros']"),
    ({"max_batch_size": 16}, "batching_parameters['allowed_batch_sizes']"),
    ({"max_batch_size": 4, "allowed_batch_sizes": (4, 1)},
     "batching_parameters['allowed_batch_sizes']"),
    ({"max_batch_size": 4, "allowed_batch_sizes": ()},
     "batching_parameters['allowed_batch_sizes']"),
])
def test_bad_batching_parameters_are_refused(tmp_path, overrides, argument):
    model = ktl.create_model("vit_test_patch4_tokenlearner")
    with pytest.raises(ValueError, match=re.escape(f"argument `{argument}`")):
        export.export_saved_model(model, str(tmp_path), batching_parameters=overrides)


def batching_parameters_class():
    """TF Serving's `BatchingParameters` (session_bundle_config.proto), which the
    tensorflow-serving-api wheel does not ship, rebuilt from its field list."""
    wrappers = {1: "Int64Value", 2: "Int64Value", 3: "Int64Value", 4: "Int64Value",
                5: "StringValue"}
    names = {1: "max_batch_size", 2: "batch_timeout_micros", 3: "max_enqueued_batches",
             4: "num_batch_threads", 5: "thread_pool_name", 6: "allowed_batch_sizes",
             7: "pad_variable_length_inputs"}
    field = descriptor_pb2.FieldDescriptorProto
    message = descriptor_pb2.DescriptorProto(name="BatchingParameters")
    for number, name in names.items():
        entry = message.field.add(name=name, number=number, label=field.LABEL_OPTIONAL)
        if number in wrappers:
            entry.type, entry.type_name = field.TYPE_MESSAGE, f".google.protobuf.{wrappers[number]}"
        elif number == 6:
            entry.type, entry.label = field.TYPE_INT64, field.LABEL_REPEATED
        else:
            entry.type = field.TYPE_BOOL
    file = descriptor_pb2.FileDescriptorProto(
        name="test_session_bundle_config.proto", package="test_serving", syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"], message_type=[message])
    wrappers_file = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers_file)  # Int64Value, StringValue
    return message_factory.GetMessages([wrappers_file, file])["test_serving.BatchingParameters"]


def test_batching_parameters_file_parses_as_tf_serving_reads_it(image_export):
    path = os.path.join(image_export, "assets.extra", serving_warmup.BATCHING_FILE)
    with open(path) as handle:
        text = handle.read()
    assert "# Measured on " in text
    parsed = text_format.Parse(text, batching_parameters_class()())
    expected = serving_warmup.BATCHING_PARAMETERS
    for name in ("max_batch_size", "batch_timeout_micros", "num_batch_threads",
                 "max_enqueued_batches"):
        assert getattr(parsed, name).value == expected[name], name
    assert tuple(parsed.allowed_batch_sizes) == expected["allowed_batch_sizes"]
    assert parsed.allowed_batch_sizes[-1] == parsed.max_batch_size.value  # TF Serving's rule


def test_hand_encoded_log_is_byte_for_byte_the_protobuf_one():
    images = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    tensor = tf.make_tensor_proto(images)  # 1,536 bytes: a two-byte length
    ours = serving_warmup.prediction_log("digits", "serving_default",
                                         {"images": tensor.SerializeToString()})
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "digits"
    request.model_spec.signature_name = "serving_default"
    request.inputs["images"].CopyFrom(tensor)
    log = prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request))
    assert ours == log.SerializeToString(deterministic=True)
    parsed = prediction_log_pb2.PredictionLog.FromString(ours)
    np.testing.assert_array_equal(tf.make_ndarray(parsed.predict_log.request.inputs["images"]),
                                  images)


def test_cli_export_takes_warmup_requests(tmp_path):
    model = ktl.create_model("vit_test_patch4_tokenlearner")
    model.save(tmp_path / "model.keras")
    export.write_preprocessing(str(tmp_path / export.PREPROCESSING_FILE),
                               {"scale": 1 / 127.5, "offset": -1.0})
    assert cli.main(["export", "--model-path", str(tmp_path / "model.keras"),
                     "--out", str(tmp_path / "none"), "--warmup-requests", "0"]) == 0
    assert not os.path.exists(warmup_path(str(tmp_path / "none" / "1")))
    assert cli.main(["export", "--model-path", str(tmp_path / "model.keras"),
                     "--out", str(tmp_path / "two"), "--warmup-requests", "2"]) == 0
    logs = read_warmup_logs(str(tmp_path / "two" / "1"))
    sizes = serving_warmup.BATCHING_PARAMETERS["allowed_batch_sizes"]
    assert len(logs) == 2 * 2 * len(sizes)
