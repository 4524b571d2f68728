"""Finding and reading a checkpoint: a local path, a `gs://` (or any
`tf.io.gfile`) path, an `https://` URL, a `kaggle://` handle.

The format is read off the file itself: an `.npz` (a zip archive), a
`.safetensors` file (an 8-byte header length, then JSON), or a directory
holding a keras-hub preset (`config.json` + `model.weights.h5`) or a Hugging
Face model (`config.json` + `model.safetensors`); a Hugging Face
`preprocessor_config.json` and a keras-hub preset's image converter, where
present, give the input the weights expect. TensorFlow is imported
only for paths with a scheme (`gs://`, `s3://`, ...), and `kagglehub` and
`safetensors` only for their sources.
"""

import io
import json
import os
import posixpath
import re
import urllib.parse
import zipfile

import keras
import numpy as np

from keras_tokenlearner import validation
from keras_tokenlearner.pretrained import formats
from keras_tokenlearner.pretrained import keras_hub_preset

CACHE_SUBDIR = "keras_tokenlearner"
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")


def read_checkpoint(source):
    """Reads `source` (path, URL or handle; see module doc) into a `Checkpoint`."""
    path = local_or_remote_path(source)
    if not _exists(path):
        raise validation.invalid_value("weights", "an existing checkpoint file or directory",
                                       source)
    if _isdir(path):
        return _read_directory(path, source)
    return _read_file(path, source)


def local_or_remote_path(source):
    """Downloads URLs and Kaggle handles into the Keras cache; other paths as given."""
    if not isinstance(source, (str, os.PathLike)):
        raise validation.invalid_value("weights", "a path, URL, kaggle:// handle or name", source)
    source = os.fspath(source)
    if source.startswith(("https://", "http://")):
        return download(source)
    if source.startswith("kaggle://"):
        return _kaggle(source)
    return source


def download(url):
    """`url` into the Keras cache (`~/.keras/keras_tokenlearner/`), once."""
    parsed = urllib.parse.urlparse(url)
    name = (parsed.netloc + parsed.path).strip("/").replace("/", "--")  # unique per URL
    try:
        return keras.utils.get_file(fname=name, origin=url, cache_subdir=CACHE_SUBDIR)
    except Exception as error:  # get_file raises a bare Exception when offline
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(
            f"Could not download {url} ({reason}). Download it yourself and pass the local "
            f"file instead: weights='/path/to/{posixpath.basename(parsed.path)}'."
        ) from None


def _kaggle(handle):
    try:
        import kagglehub
    except ImportError:
        raise ValueError(
            f"Loading {handle} needs the kagglehub package: pip install kagglehub "
            "(or download the preset and pass its directory)."
        ) from None
    return kagglehub.model_download(handle.removeprefix("kaggle://"))


def _gfile():
    import tensorflow as tf  # only for paths with a scheme, e.g. gs://

    return tf.io.gfile


def _exists(path):
    return _gfile().exists(path) if SCHEME.match(path) else os.path.exists(path)


def _isdir(path):
    return _gfile().isdir(path) if SCHEME.match(path) else os.path.isdir(path)


def read_bytes(path):
    if SCHEME.match(path):
        with _gfile().GFile(path, "rb") as handle:
            return handle.read()
    with open(path, "rb") as handle:
        return handle.read()


def _join(directory, name):
    return posixpath.join(directory, name) if SCHEME.match(directory) else os.path.join(
        directory, name)


def _optional_json(directory, name):
    """The parsed JSON file `name` in `directory`, or None where there is none."""
    path = _join(directory, name)
    return json.loads(read_bytes(path)) if _exists(path) else None


def _read_directory(path, source):
    config = _optional_json(path, "config.json") or {}
    if _exists(_join(path, keras_hub_preset.WEIGHTS_FILE)):
        task_path = _join(path, keras_hub_preset.TASK_WEIGHTS_FILE)
        task = read_bytes(task_path) if _exists(task_path) else None
        converter = keras_hub_preset.image_converter(
            _optional_json(path, keras_hub_preset.CONVERTER_FILE),
            _optional_json(path, keras_hub_preset.PREPROCESSOR_FILE))
        return keras_hub_preset.read(config, read_bytes(_join(path, keras_hub_preset.WEIGHTS_FILE)),
                                     task, source, converter)
    if _exists(_join(path, "model.safetensors")):
        arrays = _safetensors(read_bytes(_join(path, "model.safetensors")), source)
        return _from_safetensors(arrays, path, source)
    raise validation.invalid_value(
        "weights", "a directory holding a keras-hub preset (config.json, model.weights.h5) or a "
        "Hugging Face model (config.json, model.safetensors)", source,
    )


def _read_file(path, source):
    data = read_bytes(path)
    if data[:2] == b"PK":
        return formats.read_google(_npz(data, source), source)
    if len(data) > 8 and data[8:9] == b"{":
        directory = posixpath.dirname(path) if SCHEME.match(path) else os.path.dirname(path)
        return _from_safetensors(_safetensors(data, source), directory, source)
    raise validation.invalid_value(
        "weights", "a ViT checkpoint: an .npz, a .safetensors file, or a keras-hub or Hugging "
        f"Face directory; {path} is neither a zip archive nor a safetensors file", source,
    )


def _npz(data, source):
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise validation.invalid_value(
            "weights", f"a readable .npz archive ({type(error).__name__}: {error})", source
        ) from None


def _safetensors(data, source):
    try:
        from safetensors.numpy import load
    except ImportError:
        raise ValueError(
            f"Reading {source} needs the safetensors package: "
            "pip install 'keras_tokenlearner[safetensors]'."
        ) from None
    try:
        return load(data)
    except Exception as error:  # safetensors raises its own SafetensorError
        raise validation.invalid_value(
            "weights", f"a readable safetensors file ({error})", source
        ) from None


def _from_safetensors(arrays, directory, source):
    """timm or Hugging Face weights; the latter with the `config.json` and
    `preprocessor_config.json` found in `directory`."""
    if formats.is_timm(arrays):
        return formats.read_timm(arrays, source)
    if formats.is_hugging_face(arrays):
        config = _optional_json(directory, "config.json") or {}
        return formats.read_hugging_face(arrays, config, source,
                                         _optional_json(directory, "preprocessor_config.json"))
    raise validation.invalid_value(
        "weights", "a timm or Hugging Face ViT safetensors file (patch_embed.proj.weight or "
        f"embeddings.patch_embeddings.*); keys: {sorted(arrays)[:5]}", source,
    )
