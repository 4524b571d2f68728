"""Each checkpoint format: how it is recognised and its renaming table.

- Google `.npz` (vit_jax / AugReg, legacy pre-Linen numbering with the
  class row in `Transformer/posembed_input`; big_vision, Linen numbering and
  a top-level `pos_embedding` without one). Prefixes `params/`,
  `params/img/` and `opt/target/` are stripped; scanned blocks are split.
- keras-hub ViT presets (`transformer_block_` or `tranformer_block_`).
- timm and Hugging Face safetensors.
Every reader takes `{key: Stored}` (arrays not read yet; see `readers.py`)
and returns a `Checkpoint` (see `checkpoint.py`), with the input its weights
expect: [-1, 1] for Google's files; for timm's, the mean and std of the
`pretrained_cfg` in the `config.json` beside the file or in its Hub
repository (ImageNet's for DeiT and many timm ViTs, 0.5 for AugReg), and
[-1, 1] with a warning naming the assumption when there is none; a Hugging
Face model's `preprocessor_config.json` where there is one.
"""

import logging
import re

import numpy as np

from keras_tokenlearner import validation
from keras_tokenlearner.models import preprocessing
from keras_tokenlearner.pretrained import checkpoint as ckpt
from keras_tokenlearner.pretrained import errors
from keras_tokenlearner.pretrained import layouts as lay

GOOGLE_PREFIXES = ("opt/target/", "params/img/", "params/")
# (first LayerNorm, attention, second LayerNorm, MLP) under each block.
PRE_LINEN = ("LayerNorm_0", "MultiHeadDotProductAttention_1", "LayerNorm_2", "MlpBlock_3")
LINEN = ("LayerNorm_0", "MultiHeadDotProductAttention_0", "LayerNorm_1", "MlpBlock_0")
PRE_LOGITS = "a tanh representation layer that fine-tuning drops, as vit_jax does"
ERF_GELU = dict(approximate_gelu=False, layer_norm_epsilon=1e-6)
LOGGER = logging.getLogger("keras_tokenlearner")


FLAX_NORM = ("/scale", "/bias")
TORCH = (".weight", ".bias")


def google_layout(arrays):
    """The table of a Google npz, legacy or Linen numbering."""
    legacy = any(PRE_LINEN[1] in key for key in arrays)
    first_norm, attention, second_norm, mlp = PRE_LINEN if legacy else LINEN
    position = ("Transformer/posembed_input/pos_embedding"
                if "Transformer/posembed_input/pos_embedding" in arrays else "pos_embedding")
    block = {
        **lay.pair("attention_norm", first_norm, FLAX_NORM),
        **lay.projection_entries(attention + "/{name}", ("/kernel", lay.heads_in),
                                 ("/bias", lay.vector)),
        "attention/output/kernel": (f"{attention}/out/kernel", lay.heads_out),
        "attention/output/bias": (f"{attention}/out/bias", lay.same),
        **lay.pair("mlp_norm", second_norm, FLAX_NORM),
        "mlp/hidden/kernel": (f"{mlp}/Dense_0/kernel", lay.same),
        "mlp/hidden/bias": (f"{mlp}/Dense_0/bias", lay.same),
        "mlp/output/kernel": (f"{mlp}/Dense_1/kernel", lay.same),
        "mlp/output/bias": (f"{mlp}/Dense_1/bias", lay.same),
    }
    top = {
        ckpt.PATCH_KERNEL: ("embedding/kernel", lay.same),
        ckpt.PATCH_BIAS: ("embedding/bias", lay.same),
        ckpt.CLASS_TOKEN: ("cls", lay.same),
        ckpt.POSITION_EMBEDDING: (position, lay.squeeze_batch),
        **lay.pair("encoder_norm", "Transformer/encoder_norm", FLAX_NORM),
        "head/kernel": ("head/kernel", lay.same),
        "head/bias": ("head/bias", lay.same),
    }
    return lay.Layout(top, block, "Transformer/encoderblock_{index}/",
                      droppable={"pre_logits/": PRE_LOGITS}), legacy, position


def read_google(arrays, source):
    """A Google `.npz`'s `{key: Stored}` -> `Checkpoint`."""
    arrays = split_scanned_blocks(strip_prefix(arrays))
    if "embedding/kernel" not in arrays:
        raise errors.CorruptCheckpointError(
            f"The checkpoint {source} is an .npz without 'embedding/kernel', so not a ViT "
            f"checkpoint; its first keys: {sorted(arrays)[:5]}.", source=source)
    layout, legacy, position = google_layout(arrays)
    weights, source_keys, dropped = lay.convert(arrays, layout, source)
    query = arrays[layout.block_prefix.format(index=0) + layout.block["attention/query/kernel"][0]]
    in_posembed_input = position.startswith("Transformer/")
    return ckpt.Checkpoint(
        source=source, format="vit_jax" if legacy else "big_vision", weights=weights,
        source_keys=source_keys, dropped=dropped, num_heads=int(query.shape[1]),
        # vit_jax adds the position embedding after prepending the class token.
        class_row=in_posembed_input and ckpt.CLASS_TOKEN in weights,
        approximate_gelu=True, layer_norm_epsilon=1e-6,
        preprocessing=preprocessing.MINUS_ONE_TO_ONE,
    )


def strip_prefix(arrays):
    for prefix in GOOGLE_PREFIXES:
        if any(key.startswith(prefix + "embedding/") for key in arrays):
            return {key[len(prefix):]: value for key, value in arrays.items()
                    if key.startswith(prefix)}
    return arrays


def split_scanned_blocks(arrays):
    """big_vision's `scan=True` layout (`Transformer/encoderblock/...` with a
    leading depth axis) -> one `encoderblock_{i}` per block (each reads the
    scanned array and keeps its row: one array in memory at a time, the
    file read once per block)."""
    scanned = "Transformer/encoderblock/"
    split = {}
    for key, stored in arrays.items():
        if not key.startswith(scanned):
            split[key] = stored
            continue
        for index in range(stored.shape[0]):
            split[key.replace(scanned, f"Transformer/encoderblock_{index}/")] = stored.row(index)
    return split


def torch_block(prefix_norms, attention, mlp):
    """The block table shared by timm and Hugging Face, given their names."""
    first_norm, second_norm = prefix_norms
    return {
        **lay.pair("attention_norm", first_norm, TORCH),
        **attention,
        **lay.pair("mlp_norm", second_norm, TORCH),
        "mlp/hidden/kernel": (f"{mlp[0]}.weight", lay.transpose),
        "mlp/hidden/bias": (f"{mlp[0]}.bias", lay.same),
        "mlp/output/kernel": (f"{mlp[1]}.weight", lay.transpose),
        "mlp/output/bias": (f"{mlp[1]}.bias", lay.same),
    }


def torch_top(patch, class_token, position, norm, head):
    return {
        ckpt.PATCH_KERNEL: (f"{patch}.weight", lay.oihw),
        ckpt.PATCH_BIAS: (f"{patch}.bias", lay.same),
        ckpt.CLASS_TOKEN: (class_token, lay.same),
        ckpt.POSITION_EMBEDDING: (position, lay.squeeze_batch),
        **lay.pair("encoder_norm", norm, TORCH),
        "head/kernel": (f"{head}.weight", lay.transpose),
        "head/bias": (f"{head}.bias", lay.same),
    }


TIMM = lay.Layout(
    top=torch_top("patch_embed.proj", "cls_token", "pos_embed", "norm", "head"),
    block=torch_block(
        ("norm1", "norm2"),
        {**{f"attention/{name}/{variable}": (f"attn.qkv.{source}", lay.fused_qkv(part, kernel))
            for part, name in enumerate(("query", "key", "value"))
            for variable, source, kernel in (("kernel", "weight", True), ("bias", "bias", False))},
         "attention/output/kernel": ("attn.proj.weight", lay.transpose),
         "attention/output/bias": ("attn.proj.bias", lay.same)},
        ("mlp.fc1", "mlp.fc2"),
    ),
    block_prefix="blocks.{index}.",
)
HUGGING_FACE = lay.Layout(
    top=torch_top("embeddings.patch_embeddings.projection", "embeddings.cls_token",
                  "embeddings.position_embeddings", "layernorm", "classifier"),
    block=torch_block(
        ("layernorm_before", "layernorm_after"),
        {**lay.projection_entries("attention.attention.{name}", (".weight", lay.transpose),
                                  (".bias", lay.same)),
         "attention/output/kernel": ("attention.output.dense.weight", lay.transpose),
         "attention/output/bias": ("attention.output.dense.bias", lay.same)},
        ("intermediate.dense", "output.dense"),
    ),
    block_prefix="encoder.layer.{index}.",
    droppable={"pooler.": "the tanh pooler (vit_jax's pre_logits), which fine-tuning drops",
               "embeddings.mask_token": "used only for masked image modelling"},
)
HUGGING_FACE_ACTIVATIONS = {"gelu": False, "gelu_new": True, "gelu_pytorch_tanh": True}


def read_timm(arrays, source, config=None, preprocessing_given=False):
    """timm safetensors with the `config.json` that belongs to it (or None);
    `preprocessing_given`: the caller gives the input, so none is assumed."""
    if "dist_token" in arrays:
        raise errors.CheckpointMismatchError(
            f"The checkpoint {source} is a distilled DeiT (key 'dist_token' "
            f"{tuple(arrays['dist_token'].shape)}): its second token and head have no place in "
            "this package's ViT. Use the non-distilled DeiT weights instead.", source=source)
    weights, source_keys, dropped = lay.convert(arrays, TIMM, source)
    rows = weights[ckpt.POSITION_EMBEDDING].shape[0]
    square = int(np.sqrt(rows)) ** 2 == rows  # no class row (timm's no_embed_class)
    return ckpt.Checkpoint(
        source=source, format="timm", weights=weights, source_keys=source_keys,
        dropped=dropped, num_heads=None,
        class_row=ckpt.CLASS_TOKEN in weights and not square, **ERF_GELU,
        preprocessing=None if preprocessing_given else timm_preprocessing(config, source),
    )


def timm_preprocessing(config, source):
    """The record of a timm `config.json`'s `pretrained_cfg` mean and std;
    without one, [-1, 1] (timm's AugReg and original ViTs), with a warning."""
    pretrained_cfg = (config or {}).get("pretrained_cfg") or {}
    if "mean" in pretrained_cfg and "std" in pretrained_cfg:
        return preprocessing.canonical({"mean": pretrained_cfg["mean"],
                                        "std": pretrained_cfg["std"]})
    LOGGER.warning(
        "The timm checkpoint %s comes with no config.json giving its pretrained_cfg mean and "
        "std: assuming mean = std = 0.5, inputs in [-1, 1], as timm's AugReg and original ViTs. "
        "A timm file trained with ImageNet mean and std (DeiT and others) needs "
        "preprocessing={'mean': [0.485, 0.456, 0.406], 'std': [0.229, 0.224, 0.225]}; pass "
        "preprocessing= to say which.", source)
    return preprocessing.MINUS_ONE_TO_ONE


def read_hugging_face(arrays, config, source, preprocessor_config=None):
    """Hugging Face safetensors with its `config.json` and, where there is
    one, its `preprocessor_config.json` (else [-1, 1], as Google's ViTs)."""
    arrays = {key.removeprefix("vit."): value for key, value in arrays.items()}
    weights, source_keys, dropped = lay.convert(arrays, HUGGING_FACE, source)
    activation = config.get("hidden_act", "gelu")
    validation.check_choice("hidden_act", activation, tuple(HUGGING_FACE_ACTIVATIONS))
    image, patch = config.get("image_size"), config.get("patch_size")
    return ckpt.Checkpoint(
        source=source, format="huggingface", weights=weights, source_keys=source_keys,
        dropped=dropped, num_heads=config.get("num_attention_heads"), class_row=True,
        approximate_gelu=HUGGING_FACE_ACTIVATIONS[activation],
        layer_norm_epsilon=float(config.get("layer_norm_eps", 1e-12)),
        grid_shape=grid_of(image, patch),
        preprocessing=hugging_face_preprocessing(preprocessor_config),
    )


def hugging_face_preprocessing(config):
    """The record of a `preprocessor_config.json` (None: [-1, 1]): pixels
    times `rescale_factor`, then `(x - image_mean) / image_std`, with
    `ViTImageProcessor`'s defaults (1 / 255, mean = std = 0.5)."""
    if config is None:
        return preprocessing.MINUS_ONE_TO_ONE
    rescale = config.get("rescale_factor", 1 / 255) if config.get("do_rescale", True) else 1.0
    if not config.get("do_normalize", True):
        return preprocessing.canonical({"scale": rescale, "offset": 0.0})
    mean = np.atleast_1d(np.asarray(config.get("image_mean", 0.5), np.float64))  # (C,) or (1,)
    std = np.atleast_1d(np.asarray(config.get("image_std", 0.5), np.float64))  # (C,) or (1,)
    mean, std = np.broadcast_arrays(mean, std)
    return preprocessing.canonical({"scale": tuple(rescale / std), "offset": tuple(-mean / std)})


def grid_of(image_size, patch_size):
    """(h, w) patch grid from a config's image and patch sizes (ints or pairs)."""
    if image_size is None or patch_size is None:
        return None
    pair = lambda value: tuple(value) if isinstance(value, (list, tuple)) else (value, value)  # noqa: E731
    return tuple(size // patch for size, patch in zip(pair(image_size)[:2], pair(patch_size)))


def is_timm(arrays):
    return "patch_embed.proj.weight" in arrays


def is_hugging_face(arrays):
    return any(re.match(r"(vit\.)?embeddings\.patch_embeddings", key) for key in arrays)
