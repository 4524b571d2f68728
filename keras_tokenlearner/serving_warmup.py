"""TF Serving warmup requests and batching parameters, for `export_saved_model`.

TF Serving runs the requests in `assets.extra/tf_serving_warmup_requests`
when it loads a model version (`--enable_model_warmup`, on by default), so
the first client requests after a load or a version switch do not pay for
graph initialization. That file is a TFRecord of `tensorflow.serving.
PredictionLog` protos. They are encoded here with TensorFlow's own
`TensorProto` and the protobuf wire format, so exporting needs no
`tensorflow-serving-api` (its wheel requires the full `tensorflow` and a
newer protobuf than TensorFlow 2.19 allows).

`batching_parameters.txt` beside it is the text proto that TF Serving's
`--batching_parameters_file` reads; its default values were measured with
`benchmarks/serving_batching.py` (see `BATCHING_PARAMETERS`).
"""

import numpy as np

from keras_tokenlearner import atomic
from keras_tokenlearner import filesystem
from keras_tokenlearner import validation

WARMUP_FILE = "tf_serving_warmup_requests"  # the name and folder TF Serving reads
BATCHING_FILE = "batching_parameters.txt"
MAX_WARMUP_RECORDS = 1000  # TF Serving refuses a file with more (WarmupConsts::kMaxNumRecords)

# Measured on a 2-core CPU (AMD EPYC, AVX-512) with the TokenLearner ViT-B/16 at
# 224 px: `python benchmarks/serving_batching.py` (benchmarks/results/
# serving_batching.json; that script states the rules). 1 image took 272 ms and
# 2 took 663 ms; batches of 4 or more took over 1 s, none raised the images/s.
BATCHING_PARAMETERS = {
    "max_batch_size": 2,
    "batch_timeout_micros": 0,
    "num_batch_threads": 2,
    "max_enqueued_batches": 2,
    "allowed_batch_sizes": (1, 2),
}
BATCHING_MEASURED_ON = "a 2-core CPU with the TokenLearner ViT-B/16 at 224 px"
WRAPPED_FIELDS = (  # the google.protobuf.Int64Value fields of BatchingParameters
    "max_batch_size", "batch_timeout_micros", "num_batch_threads", "max_enqueued_batches")
GPU_ADVICE = (
    "On a GPU (TF Serving's batching guide): keep num_batch_threads at the CPU core count,",
    "raise max_batch_size (hundreds) and allowed_batch_sizes with it until latency is too",
    "high, then set batch_timeout_micros to bound the tail latency. On a CPU, try",
    "batch_timeout_micros from 0 to 10000. Re-export to warm the new batch sizes up",
    "(keras_tokenlearner.export_saved_model(..., batching_parameters={...})).",
)

# Field numbers of tensorflow_serving/apis/*.proto (github.com/tensorflow/serving):
PREDICTION_LOG_PREDICT_LOG = 6  # prediction_log.proto: PredictionLog.predict_log
PREDICT_LOG_REQUEST = 1  # prediction_log.proto: PredictLog.request
PREDICT_REQUEST_MODEL_SPEC = 1  # predict.proto: PredictRequest.model_spec
PREDICT_REQUEST_INPUTS = 2  # predict.proto: PredictRequest.inputs, map<string, TensorProto>
MODEL_SPEC_NAME = 1  # model.proto: ModelSpec.name
MODEL_SPEC_SIGNATURE_NAME = 3  # model.proto: ModelSpec.signature_name
MAP_ENTRY_KEY, MAP_ENTRY_VALUE = 1, 2  # a map entry is a message {key = 1; value = 2}
LENGTH_DELIMITED = 2  # the wire type of strings, bytes and messages


def _varint(value):
    """`value` (>= 0) as a protobuf base-128 varint: 7 bits a byte, low bits first."""
    encoded = bytearray()
    while value > 0x7F:
        encoded.append((value & 0x7F) | 0x80)
        value >>= 7
    encoded.append(value)
    return bytes(encoded)


def _field(number, payload):
    """One length-delimited field: its tag, its length, then `payload` (bytes)."""
    return _varint(number << 3 | LENGTH_DELIMITED) + _varint(len(payload)) + payload


def prediction_log(model_name, signature_name, inputs):
    """A serialized `PredictionLog` holding a `PredictRequest` for one signature.

    Args:
        model_name: str. `model_spec.name`, the name TF Serving serves.
        signature_name: str. `model_spec.signature_name`.
        inputs: dict. Input name -> serialized `tensorflow.TensorProto`.
    """
    model_spec = (_field(MODEL_SPEC_NAME, model_name.encode())
                  + _field(MODEL_SPEC_SIGNATURE_NAME, signature_name.encode()))
    request = _field(PREDICT_REQUEST_MODEL_SPEC, model_spec)
    for name, tensor in sorted(inputs.items()):
        entry = _field(MAP_ENTRY_KEY, name.encode()) + _field(MAP_ENTRY_VALUE, tensor)
        request += _field(PREDICT_REQUEST_INPUTS, entry)
    return _field(PREDICTION_LOG_PREDICT_LOG, _field(PREDICT_LOG_REQUEST, request))


def warmup_records(model_name, signatures, input_shape, batch_sizes, repeats):
    """The serialized `PredictionLog`s: `repeats` per signature and batch size.

    Args:
        model_name: str. The name TF Serving serves the model under.
        signatures: dict. Signature name -> (input name, dtype, fill value).
        input_shape: tuple. One example's shape at the model's own size,
            `(H, W, C)` or `(T, H, W, C)`.
        batch_sizes: the batch sizes to warm up.
        repeats: int. Records per signature and batch size.

    Every input is one value repeated over the whole shape (a `TensorProto`
    with a single value, which TensorFlow broadcasts), so a record takes a
    few dozen bytes whatever the model's input size.
    """
    import tensorflow as tf

    records = []
    for signature_name, (input_name, dtype, fill_value) in signatures.items():
        for batch_size in batch_sizes:
            shape = (batch_size,) + tuple(input_shape)  # (B, H, W, C) or (B, T, H, W, C)
            tensor = tf.make_tensor_proto(np.asarray(fill_value, dtype), shape=shape)
            record = prediction_log(model_name, signature_name,
                                    {input_name: tensor.SerializeToString()})
            records += [record] * repeats
    return records


def write_warmup_requests(path, records):
    """Writes `records` as a TFRecord file at `path` (local or remote)."""
    import tensorflow as tf

    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)


def check_warmup_requests(value, num_signatures, batching):
    """Checks `warmup_requests`: an int >= 0 that keeps the file within TF Serving's limit."""
    value = validation.check_non_negative_int("warmup_requests", value)
    records_each = num_signatures * len(batching["allowed_batch_sizes"])
    if value * records_each > MAX_WARMUP_RECORDS:
        raise validation.invalid_value(
            "warmup_requests", f"at most {MAX_WARMUP_RECORDS // records_each}, so that the "
            f"file holds at most TF Serving's {MAX_WARMUP_RECORDS} records ({records_each} "
            "per request: one per signature and allowed batch size)", value)
    return value


def batching_parameters(overrides=None):
    """`BATCHING_PARAMETERS` updated with `overrides`, checked as TF Serving checks them."""
    overrides = {} if overrides is None else overrides
    if not isinstance(overrides, dict) or not set(overrides) <= set(BATCHING_PARAMETERS):
        raise validation.invalid_value(
            "batching_parameters", f"a dict with keys among {sorted(BATCHING_PARAMETERS)}",
            overrides)
    parameters = {**BATCHING_PARAMETERS, **overrides}
    for name in WRAPPED_FIELDS:  # a timeout of 0 never waits; the others count things
        check = (validation.check_non_negative_int if name == "batch_timeout_micros"
                 else validation.check_positive_int)
        parameters[name] = check(f"batching_parameters['{name}']", parameters[name])
    sizes = parameters["allowed_batch_sizes"]
    if (not isinstance(sizes, (list, tuple)) or not sizes
            or not all(validation.is_int(size) and size > 0 for size in sizes)
            or list(sizes) != sorted(set(sizes)) or sizes[-1] != parameters["max_batch_size"]):
        raise validation.invalid_value(
            "batching_parameters['allowed_batch_sizes']", "increasing positive ints ending "
            f"in max_batch_size={parameters['max_batch_size']}", sizes)
    parameters["allowed_batch_sizes"] = tuple(int(size) for size in sizes)
    return parameters


def batching_parameters_text(parameters):
    """The text proto of `BatchingParameters` (session_bundle_config.proto), with comments."""
    measured = parameters == batching_parameters()
    lines = ["# TF Serving batching: tensorflow_model_server --enable_batching "
             "--batching_parameters_file=THIS_FILE",
             f"# Measured on {BATCHING_MEASURED_ON} (benchmarks/serving_batching.py);"
             if measured else "# Given as export_saved_model(batching_parameters=...);",
             "# measure your own serving machine and model the same way.",
             *(f"# {line}" for line in GPU_ADVICE)]
    lines += [f"{name} {{ value: {parameters[name]} }}" for name in WRAPPED_FIELDS]
    lines += [f"allowed_batch_sizes: {size}" for size in parameters["allowed_batch_sizes"]]
    return "\n".join(lines) + "\n"


def write_batching_parameters(path, parameters):
    """Writes `batching_parameters_text(parameters)` to `path`, atomically."""
    with atomic.atomic_file(path) as temporary, filesystem.open(temporary, "w") as handle:
        handle.write(batching_parameters_text(parameters))


def write_assets(assets, model_name, signatures, input_shape, warmup_requests, batching):
    """Writes the batching parameters and (unless `warmup_requests` is 0) the
    warmup requests into the SavedModel's `assets` (`assets.extra/`) folder."""
    write_batching_parameters(filesystem.join(assets, BATCHING_FILE), batching)
    if warmup_requests > 0:
        records = warmup_records(model_name, signatures, input_shape,
                                 batching["allowed_batch_sizes"], warmup_requests)
        write_warmup_requests(filesystem.join(assets, WARMUP_FILE), records)
