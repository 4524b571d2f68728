"""keras-hub ViT presets, read with h5py alone (keras-hub is not a dependency).

A preset directory (as `save_to_preset` writes it and Kaggle serves it) holds
`config.json` (the `ViTBackbone` config), `model.weights.h5` (the backbone)
and, for a classifier, `task.weights.h5` (its `predictions` head). Keras's
weight files name their groups after Python attributes, not layers; each
group's `vars` carries the layer's name, so keys here are layer-name paths
such as `vit_encoder/transformer_block_1/mha/query/vars/0` (`vars/0` is the
kernel, gamma or embedding, `vars/1` the bias or beta). Older keras-hub
releases spelled the blocks `tranformer_block_`; both are read.
"""

import io

import h5py

from keras_tokenlearner import validation
from keras_tokenlearner.pretrained import checkpoint as ckpt
from keras_tokenlearner.pretrained import formats
from keras_tokenlearner.pretrained import layouts as lay

WEIGHTS_FILE = "model.weights.h5"
TASK_WEIGHTS_FILE = "task.weights.h5"
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


def read(config, weights_bytes, task_bytes, source):
    """A keras-hub ViT preset's config and weight files -> `Checkpoint`."""
    if config.get("class_name") != "ViTBackbone":
        raise validation.invalid_value(
            "weights", "a keras-hub preset of a ViTBackbone (config.json class_name)",
            f"{source} with class_name={config.get('class_name')!r}",
        )
    arrays = named_arrays(weights_bytes, source)
    if task_bytes is not None:
        arrays.update(named_arrays(task_bytes, source))
    weights, source_keys, dropped = lay.convert(arrays, LAYOUT, source)
    backbone = config["config"]
    return ckpt.Checkpoint(
        source=source, format="keras_hub", weights=weights, source_keys=source_keys,
        dropped=dropped, num_heads=backbone["num_heads"],
        class_row=backbone.get("use_class_token", True),
        approximate_gelu=False,  # keras-hub's MLP: activation="gelu", the exact form
        layer_norm_epsilon=float(backbone.get("layer_norm_epsilon", 1e-6)),
        grid_shape=formats.grid_of(backbone["image_shape"], backbone["patch_size"]),
    )


def named_arrays(data, source):
    """`{layer-name path/vars/i: array}` of a Keras `.weights.h5` file's layers."""
    arrays = {}
    try:
        with h5py.File(io.BytesIO(data), "r") as handle:
            if "layers" in handle:
                _collect(handle["layers"], "", arrays)
    except OSError as error:
        raise validation.invalid_value("weights", f"a readable HDF5 file ({error})",
                                       source) from None
    return arrays


def _collect(group, prefix, arrays):
    """Walks `group`: a child with a named `vars` is a layer, others are containers."""
    for key, child in group.items():
        if not isinstance(child, h5py.Group) or key == "vars":
            continue
        name = child["vars"].attrs.get("name") if "vars" in child else None
        path = prefix
        if name is not None:
            path = f"{prefix}{str(name).replace('tranformer_block_', 'transformer_block_')}/"
            for index, value in child["vars"].items():
                arrays[f"{path}vars/{index}"] = value[()]
        _collect(child, path, arrays)
