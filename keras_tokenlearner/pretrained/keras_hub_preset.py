"""keras-hub ViT presets, read with h5py alone (keras-hub is not a dependency).

A preset directory (as `save_to_preset` writes it and Kaggle serves it) holds
`config.json` (the `ViTBackbone` config), `model.weights.h5` (the backbone)
and, for a classifier, `task.weights.h5` (its `predictions` head). Keras's
weight files name their groups after Python attributes, not layers; each
group's `vars` carries the layer's name, so keys here are layer-name paths
such as `vit_encoder/transformer_block_1/mha/query/vars/0` (`vars/0` is the
kernel, gamma or embedding, `vars/1` the bias or beta). Older keras-hub
releases spelled the blocks `tranformer_block_`; both are read.

A preset with a preprocessor also holds `image_converter.json` and
`preprocessor.json` (the converter inside): its `scale` and `offset` (and
an older `ViTImageConverter`'s `norm_mean` and `norm_std`) say what input
the weights expect. Without them, [-1, 1], as Google's ViTs.
"""

import h5py
import numpy as np

from keras_tokenlearner import validation
from keras_tokenlearner.models import preprocessing
from keras_tokenlearner.pretrained import checkpoint as ckpt
from keras_tokenlearner.pretrained import errors
from keras_tokenlearner.pretrained import formats
from keras_tokenlearner.pretrained import layouts as lay

WEIGHTS_FILE = "model.weights.h5"
TASK_WEIGHTS_FILE = "task.weights.h5"
CONVERTER_FILE = "image_converter.json"
PREPROCESSOR_FILE = "preprocessor.json"
EMBEDDING = "vit_patching_and_embedding/"


VARS = ("/vars/0", "/vars/1")


def _entries(path, layer, variables=("kernel", "bias"), transforms=(lay.same, lay.same)):
    return lay.pair(path, layer, VARS, variables, transforms)


LAYOUT = lay.Layout(
    top={
        ckpt.PATCH_KERNEL: (EMBEDDING + "patch_embedding/vars/0", lay.same),
        ckpt.PATCH_BIAS: (EMBEDDING + "patch_embedding/vars/1", lay.same),
        ckpt.CLASS_TOKEN: (EMBEDDING + "vars/0", lay.same),
        ckpt.POSITION_EMBEDDING: (EMBEDDING + "position_embedding/vars/0", lay.same),
        **lay.pair("encoder_norm", "vit_encoder/ln", VARS),
        **_entries("head", "predictions"),
    },
    block={
        **lay.pair("attention_norm", "ln_1", VARS),
        **{key: entry for name in ("query", "key", "value")
           for key, entry in _entries(f"attention/{name}", f"mha/{name}",
                                      transforms=(lay.heads_in, lay.vector)).items()},
        **_entries("attention/output", "mha/attention_output", transforms=(lay.heads_out,
                                                                            lay.same)),
        **lay.pair("mlp_norm", "ln_2", VARS),
        **_entries("mlp/hidden", "mlp/dense_1"),
        **_entries("mlp/output", "mlp/dense_2"),
    },
    block_prefix="vit_encoder/transformer_block_{index}/",
    first_block=1,  # keras-hub counts its blocks from 1
)


def read(config, arrays, source, converter=None):
    """A keras-hub ViT preset's config and the `named_arrays` of its weight
    files (`model.weights.h5` and, for a classifier, `task.weights.h5`) ->
    `Checkpoint`; `converter` is its image converter's config (see
    `image_converter`)."""
    if config.get("class_name") != "ViTBackbone":
        raise validation.invalid_value(
            "weights", "a keras-hub preset of a ViTBackbone (config.json class_name)",
            f"{source} with class_name={config.get('class_name')!r}",
        )
    weights, source_keys, dropped = lay.convert(arrays, LAYOUT, source)
    backbone = config["config"]
    return ckpt.Checkpoint(
        source=source, format="keras_hub", weights=weights, source_keys=source_keys,
        dropped=dropped, num_heads=backbone["num_heads"],
        class_row=backbone.get("use_class_token", True),
        approximate_gelu=False,  # keras-hub's MLP: activation="gelu", the exact form
        layer_norm_epsilon=float(backbone.get("layer_norm_epsilon", 1e-6)),
        grid_shape=formats.grid_of(backbone["image_shape"], backbone["patch_size"]),
        preprocessing=converter_preprocessing(converter),
    )


def image_converter(converter_json, preprocessor_json):
    """The image converter's config from a preset's `image_converter.json`
    or `preprocessor.json` (each a parsed file or None), or None."""
    if converter_json is not None:
        return converter_json.get("config")
    if preprocessor_json is not None:
        nested = preprocessor_json.get("config", {}).get("image_converter")
        return nested.get("config") if isinstance(nested, dict) else None
    return None


def converter_preprocessing(converter):
    """The record of an image converter's config: pixels times `scale`, plus
    `offset`, then (older ViT converters) minus `norm_mean`, over `norm_std`."""
    if converter is None:
        return preprocessing.MINUS_ONE_TO_ONE
    entries = [converter.get(key) for key in ("scale", "offset", "norm_mean", "norm_std")]
    defaults = (1.0, 0.0, 0.0, 1.0)  # None: the step is skipped
    try:
        scale, offset, mean, std = np.broadcast_arrays(*[
            np.atleast_1d(np.asarray(default if entry is None else entry, np.float64))
            for entry, default in zip(entries, defaults)])  # each (C,) or (1,)
    except (TypeError, ValueError):
        raise validation.invalid_value("preprocessing", "an image converter with numeric "
                                       "scale, offset, norm_mean and norm_std", converter) from None
    return preprocessing.canonical({"scale": tuple(scale / std),
                                    "offset": tuple((offset - mean) / std)})


def open_weights(path, open_binary):
    """A `.weights.h5` file as a `ReopeningFile` of an `h5py.File`."""
    return ckpt.ReopeningFile(path, open_binary, lambda binary: h5py.File(binary, "r"))


def named_arrays(file, source):
    """`{layer-name path/vars/i: Stored}` of a Keras `.weights.h5` file's
    layers; each dataset is read from the file when its entry is read."""
    arrays = {}
    try:
        handle = file.handle()
        if "layers" in handle:
            _collect(handle["layers"], "", arrays, file)
    except OSError as error:  # HDF5 refuses a truncated file when opening it
        raise errors.CorruptCheckpointError(
            f"The checkpoint {source} holds an unreadable HDF5 file {file.path} ({error}). "
            "Download it again.", source=source, path=file.path) from None
    return arrays


def _collect(group, prefix, arrays, file):
    """Walks `group`: a child with a named `vars` is a layer, others are containers."""
    for key, child in group.items():
        if not isinstance(child, h5py.Group) or key == "vars":
            continue
        name = child["vars"].attrs.get("name") if "vars" in child else None
        path = prefix
        if name is not None:
            path = f"{prefix}{str(name).replace('tranformer_block_', 'transformer_block_')}/"
            for index, dataset in child["vars"].items():
                arrays[f"{path}vars/{index}"] = ckpt.Stored(
                    dataset.name, tuple(dataset.shape), dataset.dtype,
                    lambda name=dataset.name: _read_dataset(file, name))
        _collect(child, path, arrays, file)


def _read_dataset(file, name):
    """Dataset `name` of `file`, read now (the file reopened if closed)."""
    return file.handle()[name][()]
