"""`save_npz`: a ViT's weights as a big_vision `.npz`, which `load_pretrained` reads back.

The file uses big_vision's keys (Linen numbering, a top-level
`pos_embedding` without a class row), written from the same table that
reads such files, with each layout change undone. big_vision adds no
position to the class token, so a class-token model's position row 0 is
added into `cls`, as big_vision's `fix_old_checkpoints` does: loaded back,
the model computes the same class token input, `cls + row`, exactly.
"""

import os

import keras
import numpy as np

from keras_tokenlearner import atomic
from keras_tokenlearner import validation
from keras_tokenlearner.pretrained import checkpoint as ckpt
from keras_tokenlearner.pretrained import formats
from keras_tokenlearner.pretrained import layouts as lay

# Each reading transform's inverse, given the number of heads.
INVERSES = {
    lay.same: lambda array, heads: array,
    lay.squeeze_batch: lambda array, heads: array[None],  # (L, D) -> (1, L, D)
    lay.vector: lambda array, heads: array.reshape(heads, -1),  # (D,) -> (H, K)
    lay.heads_in: lambda array, heads: array.reshape(array.shape[0], heads, -1),  # (D, H, K)
    lay.heads_out: lambda array, heads: array.reshape(heads, -1, array.shape[-1]),  # (H, K, D)
}


def save_npz(model, path):
    """Writes `model`'s weights to `path` as a big_vision `.npz` (atomically).

    Args:
        model: a `ViT` without TokenLearner or TokenFuser (the big_vision
            layout has no place for their weights; save those models with
            `model.save("name.keras")`).
        path: a local file path, e.g. `"vit_digits.npz"`.

    `load_pretrained(other_model, path)` reads it back; into the same
    architecture it reproduces `model`'s outputs exactly.
    """
    values = _check_and_collect(model)
    heads = model.get_layer("block_0").num_heads
    layout, _, _ = formats.google_layout({})
    entries = dict(layout.top)
    for index in range(model.arguments["num_layers"]):
        prefix = layout.block_prefix.format(index=index)
        entries.update({f"block_{index}/{name}": (prefix + key, transform)
                        for name, (key, transform) in layout.block.items()})
    if ckpt.CLASS_TOKEN in values:  # the class row moves into the token
        embedding = values[ckpt.POSITION_EMBEDDING]
        values[ckpt.CLASS_TOKEN] = values[ckpt.CLASS_TOKEN] + embedding[:1][None]  # (1, 1, D)
        values[ckpt.POSITION_EMBEDDING] = embedding[1:]  # (N, D)
    unknown = sorted(set(values) - set(entries))
    if unknown:  # e.g. a quantized model's scales
        raise validation.invalid_value("model", "a float ViT (no quantized weights)", unknown)
    arrays = {entries[name][0]: INVERSES[entries[name][1]](value, heads).astype(np.float32)
              for name, value in values.items()}
    with atomic.atomic_file(os.fspath(path)) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays)
    return os.fspath(path)


def _check_and_collect(model):
    """`{weight path: array}` of a ViT that the big_vision layout can hold."""
    names = {layer.name for layer in model.layers}
    if "patch_embedding" not in names or "block_0" not in names:
        raise validation.invalid_value("model", "a keras_tokenlearner ViT", type(model).__name__)
    extra = sorted(name for name in names if name.startswith(("token_learner", "token_fuser")))
    if extra:
        raise validation.invalid_value(
            "model", "a ViT without TokenLearner or TokenFuser (the big_vision layout has no "
            "place for their weights; use model.save('name.keras'))", f"a model with {extra}",
        )
    return {variable.path: keras.ops.convert_to_numpy(variable) for variable in model.weights}
