"""Export for serving: a self-contained SavedModel in TF Serving's layout.

`export_saved_model(model, "exports/digits")` writes
`exports/digits/1/saved_model.pb` + `variables/`, atomically. Signatures:

* `serving_default`: raw uint8 images `(None, H, W, channels)` of any size,
  with the model's own channels (3, RGB, for every model the trainer
  builds; videos: `(None, T, H, W, channels)`). The preprocessing the model
  records (resize, then `pixels * scale + offset`: see
  `keras_tokenlearner.models.preprocessing`) is baked in. Outputs, by name:
  `probabilities` `(None, C)` for C classes, `top_k_ids` `(None, k)` int32,
  `top_k_scores` `(None, k)` and, when class names are given,
  `top_k_labels` `(None, k)` strings (a lookup table inside the model).
* `serving_preprocessed`: the same outputs from already-preprocessed float32
  input of the model's own shape.

`assets.extra/` holds TF Serving's warmup requests and batching parameters
(`keras_tokenlearner.serving_warmup`).

The batch size is dynamic. The artifact loads with `tf.saved_model.load` in a
process that never imports this package. TensorFlow backend only.
"""

import json

import keras

from keras_tokenlearner import atomic
from keras_tokenlearner import filesystem
from keras_tokenlearner import serving_warmup
from keras_tokenlearner import validation

DEFAULT_TOP_K = 5
CLASS_NAMES_FILE = "class_names.txt"
PREPROCESSING_FILE = "preprocessing.json"  # beside model.keras: the input it expects
FILE_EXTENSIONS = {"onnx": ".onnx", "litert": ".tflite"}  # Keras's exporters check them
LITERT_KERAS_VERSION = (3, 13)  # the first Keras with `model.export(format="litert")`
INPUT_NAME = "images"
WARMUP_INPUTS = {  # signature -> (input name, dtype, value): a mid-gray image of the model's size
    "serving_default": (INPUT_NAME, "uint8", 128),
    "serving_preprocessed": (INPUT_NAME, "float32", 0.0),
}


def _check_backend():
    """The SavedModel, ONNX and LiteRT exports trace the model with TensorFlow."""
    validation.check_tensorflow_backend("keras_tokenlearner.export", keras.backend.backend())


def _check_model(model):
    if not model.built or not getattr(model, "inputs", None):
        raise validation.invalid_value(
            "model", "a built functional model (call it on a batch first, or use a zoo model)",
            model.name,
        )
    input_shape = tuple(model.inputs[0].shape[1:])
    if len(input_shape) not in (3, 4) or None in input_shape:
        raise validation.invalid_value(
            "model", "images (H, W, C) or videos (T, H, W, C) of fixed size as input",
            input_shape,
        )
    output_shape = tuple(model.outputs[0].shape)
    no_head = getattr(model, "arguments", {}).get("num_classes", 1) is None  # zoo models
    if len(output_shape) != 2 or no_head:
        raise validation.invalid_value(
            "model", "a classifier with (batch, num_classes) logits (a model built with "
            "num_classes set)", f"{model.name} with outputs of shape {output_shape}",
        )
    return input_shape


def _outputs(tf, model, inputs, top_k, labels_table):
    """The named outputs of both signatures."""
    logits = tf.cast(model(inputs, training=False), tf.float32)
    probabilities = tf.nn.softmax(logits, axis=-1)  # (B, C)
    scores, ids = tf.math.top_k(probabilities, k=top_k)  # (B, k)
    outputs = {"probabilities": probabilities, "top_k_ids": ids, "top_k_scores": scores}
    if labels_table is not None:
        outputs["top_k_labels"] = labels_table.lookup(tf.cast(ids, tf.int64))
    return outputs


def _labels_table(tf, class_names, num_classes):
    """A class id -> name lookup table inside the SavedModel, or None."""
    if class_names is None:
        return None
    class_names = list(class_names)
    if not all(isinstance(name, str) for name in class_names):
        raise validation.invalid_value("class_names", "a list of strings", class_names)
    if len(class_names) != num_classes:
        raise validation.invalid_value(
            "class_names", f"{num_classes} names, one per class", len(class_names)
        )
    keys = tf.range(num_classes, dtype=tf.int64)
    initializer = tf.lookup.KeyValueTensorInitializer(keys, tf.constant(class_names))
    return tf.lookup.StaticHashTable(initializer, default_value="")


def input_record(model, preprocessing=None):
    """The preprocessing to bake in: `preprocessing` if given, else the
    model's record; a model that records none needs it given."""
    from keras_tokenlearner.models import preprocessing as records

    record = records.resolve(preprocessing, model)
    if record is None:
        raise validation.invalid_value(
            "preprocessing", f"the input model {model.name!r} expects, as it records none: "
            "e.g. {'scale': 1 / 127.5, 'offset': -1.0} for [-1, 1], or {'mean': (0.485, "
            "0.456, 0.406), 'std': (0.229, 0.224, 0.225)}", None,
        )
    return record


def build_archive(model, class_names=None, top_k=DEFAULT_TOP_K, preprocessing=None):
    """A `keras.export.ExportArchive` with both signatures (not yet written)."""
    _check_backend()
    import tensorflow as tf

    from keras_tokenlearner.data import preprocess

    input_shape = _check_model(model)
    record = input_record(model, preprocessing)
    num_classes = model.outputs[0].shape[-1]
    top_k = min(validation.check_positive_int("top_k", top_k), num_classes)
    archive = keras.export.ExportArchive()
    archive.track(model)
    labels_table = _labels_table(tf, class_names, num_classes)
    if labels_table is not None:
        archive.track(labels_table)
    raw_shape = (None,) + input_shape[:-3] + (None, None, input_shape[-1])  # any size

    raw_spec = tf.TensorSpec(raw_shape, tf.uint8, name=INPUT_NAME)
    preprocessed_spec = tf.TensorSpec((None,) + input_shape, tf.float32, name=INPUT_NAME)

    def serve_raw(images):
        images = tf.ensure_shape(images, raw_spec.shape)  # names the expected shape
        preprocessed = preprocess(images, input_shape[-3:], record)
        return _outputs(tf, model, preprocessed, top_k, labels_table)

    def serve_preprocessed(images):
        images = tf.ensure_shape(images, preprocessed_spec.shape)
        return _outputs(tf, model, images, top_k, labels_table)

    archive.add_endpoint("serving_default", serve_raw, [raw_spec])
    archive.add_endpoint("serving_preprocessed", serve_preprocessed, [preprocessed_spec])
    return archive


def export_saved_model(model, export_dir, version=1, class_names=None,
                       top_k=DEFAULT_TOP_K, overwrite=False, preprocessing=None,
                       warmup_requests=1, batching_parameters=None):
    """Writes `export_dir/<version>/` atomically; returns that path.

    Args:
        model: a built Keras classifier with a fixed input shape and
            `(batch, num_classes)` logits (e.g. a zoo model with
            `num_classes` set).
        export_dir: the model's base path, as TF Serving's `--model_base_path`.
        version: positive int, the version folder TF Serving loads.
        class_names: optional list of C label strings; adds `top_k_labels`
            and a `class_names.txt` asset for clients.
        top_k: how many top classes to return. Defaults to 5.
        overwrite: replace an existing version. Defaults to False, which
            raises a `ValueError` instead.
        preprocessing: how `serving_default` maps uint8 pixels to the
            model's input (`{"scale": s, "offset": o}` or `{"mean": m,
            "std": s}`, see `keras_tokenlearner.models.preprocessing`).
            Defaults to the model's own record; a model that records none
            (e.g. your own functional model) is refused without it.
        warmup_requests: int. The requests in `assets.extra/
            tf_serving_warmup_requests` for each signature and each of
            `allowed_batch_sizes`: a mid-gray input of the model's size,
            which TF Serving runs when it loads the version. Defaults to 1;
            0 writes no warmup file.
        batching_parameters: dict. Overrides of
            `serving_warmup.BATCHING_PARAMETERS` (measured on a 2-core
            CPU), written to `assets.extra/batching_parameters.txt` for
            TF Serving's `--batching_parameters_file`.

    Returns:
        str: the path of the version folder written, `export_dir/<version>`.

    Raises:
        ValueError: the Keras backend is not TensorFlow; the version
            exists and `overwrite` is False; the model does not fit (no
            fixed input shape, or no class logits); no preprocessing is
            known; or `warmup_requests` or `batching_parameters` is invalid.
    """
    _check_backend()
    version = validation.check_positive_int("version", version)
    batching = serving_warmup.batching_parameters(batching_parameters)
    serving_warmup.check_warmup_requests(warmup_requests, len(WARMUP_INPUTS), batching)
    path = filesystem.join(export_dir, str(version))  # local, gs://, s3://, ram://
    if filesystem.exists(path) and not overwrite:
        raise validation.invalid_value(
            "version", f"a version not yet in {export_dir} (or overwrite=True)", version
        )
    archive = build_archive(model, class_names, top_k, preprocessing)
    atomic.remove_stale_temporaries(export_dir)
    with atomic.atomic_directory(path, overwrite=overwrite) as temporary:
        archive.write_out(temporary, verbose=False)
        assets = filesystem.join(temporary, "assets.extra")
        filesystem.makedirs(assets)
        if class_names is not None:
            write_class_names(filesystem.join(assets, CLASS_NAMES_FILE), class_names)
        serving_warmup.write_assets(
            assets, filesystem.split(filesystem.abspath(export_dir))[1],  # as MODEL_NAME
            WARMUP_INPUTS, tuple(model.inputs[0].shape[1:]), warmup_requests, batching)
    return path


def write_preprocessing(path, record):
    """Writes a preprocessing record as JSON (what `read_preprocessing` reads)."""
    with atomic.atomic_file(path) as temporary, filesystem.open(temporary, "w") as handle:
        handle.write(json.dumps(record))


def read_preprocessing(model_path):
    """The record in `preprocessing.json` beside `model_path` (the trainer
    writes one for every run), or None."""
    path = filesystem.join(filesystem.split(filesystem.abspath(model_path))[0],
                           PREPROCESSING_FILE)
    if not filesystem.exists(path):
        return None
    with filesystem.open(path, "r") as handle:
        return json.loads(handle.read())


def write_class_names(path, class_names):
    """Writes one class name per line (what `read_class_names` reads), atomically."""
    with atomic.atomic_file(path) as temporary, filesystem.open(temporary, "w") as handle:
        handle.write("\n".join(class_names) + "\n")


def read_class_names(path=None, model_path=None):
    """Class names from `path`, else `class_names.txt` beside `model_path`."""
    if path is None and model_path is not None:
        parent, _ = filesystem.split(filesystem.abspath(model_path))
        path = filesystem.join(parent, CLASS_NAMES_FILE)
        if not filesystem.exists(path):
            return None
    if path is None:
        return None
    if not filesystem.isfile(path):
        raise validation.invalid_value("class_names", "a path to an existing text file", path)
    with filesystem.open(path) as handle:
        return [line.rstrip("\n") for line in handle if line.strip()]


def predict_request(images, signature_name="serving_default", row_format=True):
    """The JSON body of a TF Serving REST `:predict` request.

    `row_format=True` gives `{"instances": [...]}` (one entry per example),
    False gives the columnar `{"inputs": {"images": [...]}}`.
    """
    body = {"signature_name": signature_name}
    values = images.tolist() if hasattr(images, "tolist") else list(images)
    if row_format:
        body["instances"] = values
    else:
        body["inputs"] = {"images": values}
    return json.dumps(body)


def _called_once(model):
    """A model reloaded from `.keras` must run once before ONNX export."""
    import numpy as np

    model(np.zeros((1,) + tuple(model.inputs[0].shape[1:]), "float32"))
    return model


def export_onnx(model, path):
    """Exports the model (preprocessed float input) to ONNX; needs `[onnx]`.

    Writes `path` atomically; the batch size stays dynamic.
    """
    _check_backend()
    _check_model(model)
    _called_once(model)
    return _export_file(model, path, "onnx")


def export_litert(model, path):
    """Exports the model (preprocessed float input) to LiteRT; needs `[litert]`
    and Keras 3.13 or newer (`model.export(format="litert")`)."""
    _check_backend()
    validation.check_keras_version(
        "LiteRT export", LITERT_KERAS_VERSION, keras.version(),
        "`model.export(format='litert')`", "Upgrade Keras, or export to ONNX or a SavedModel.")
    _check_model(model)
    _called_once(model)
    return _export_file(model, path, "litert")


def _export_file(model, path, format_name):
    extension = FILE_EXTENSIONS[format_name]
    if not str(path).endswith(extension):
        raise validation.invalid_value(
            "path", f"a file name ending in {extension} for format {format_name!r}", path
        )
    with atomic.atomic_file(path) as temporary:  # local, even for a remote path
        model.export(temporary, format=format_name, verbose=False)
    return filesystem.abspath(path)
