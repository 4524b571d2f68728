"""Renaming tables: each checkpoint format's keys -> this package's variable paths.

One table per format says, for every weight of a `ViT`, which source key
holds it and how its array is laid out there. `convert` walks a table over
a flat `{key: Stored}` dict (arrays not read yet) and returns the
`Checkpoint` fields, each weight a `Stored` that applies its transform when
read; keys the table does not use are either known extras (a `pre_logits`
layer, the Hugging Face pooler), reported as dropped, or a
`CheckpointMismatchError` naming them (a variant this package does not
implement). A key the table needs and the file lacks is a
`CorruptCheckpointError`.
"""

import dataclasses
import re

from keras_tokenlearner.pretrained import checkpoint as ckpt
from keras_tokenlearner.pretrained import errors


def same(array):
    return array


def squeeze_batch(array):
    """(1, L, D) position embedding -> (L, D)."""
    return array.reshape(-1, array.shape[-1])  # (L, D)


def vector(array):
    """(H, K) per-head bias -> (H*K,)."""
    return array.reshape(-1)  # (H*K,)


def heads_in(array):
    """Flax query/key/value kernel (D, H, K) -> Dense kernel (D, H*K), head-major."""
    return array.reshape(array.shape[0], -1)  # (D, H*K)


def heads_out(array):
    """Flax output kernel (H, K, D) -> Dense kernel (H*K, D)."""
    return array.reshape(-1, array.shape[-1])  # (H*K, D)


def transpose(array):
    """PyTorch Linear weight (out, in) -> Keras kernel (in, out)."""
    return array.T


def oihw(array):
    """PyTorch Conv2d weight (D, C, P, P) -> Keras Conv2D kernel (P, P, C, D)."""
    return array.transpose(2, 3, 1, 0)


def fused_qkv(part, is_kernel):
    """timm's fused `qkv` rows [q; k; v] -> the `part`-th (0, 1, 2) as a kernel or bias."""
    def take(array):
        width = array.shape[0] // 3
        rows = array[part * width:(part + 1) * width]  # (D, D) or (D,)
        return rows.T if is_kernel else rows
    return take


def pair(path, key, suffixes, variables=("gamma", "beta"), transforms=(same, same)):
    """Two variables of one layer (`gamma`/`beta` or `kernel`/`bias`) from
    `key + suffix` each: `{path/variable: (source key, transform)}`."""
    return {f"{path}/{variable}": (key + suffix, transform)
            for variable, suffix, transform in zip(variables, suffixes, transforms)}


def projection_entries(template, kernel, bias):
    """query/key/value: each from `template.format(name=...)`'s kernel and bias."""
    return {
        f"attention/{name}/{variable}": (template.format(name=source) + suffix, transform)
        for name, source in (("query", "query"), ("key", "key"), ("value", "value"))
        for variable, suffix, transform in (("kernel", kernel[0], kernel[1]),
                                            ("bias", bias[0], bias[1]))
    }


@dataclasses.dataclass
class Layout:
    """A format's table. `top` and `block` map variable paths (block paths
    relative to `block_{i}/`) to `(source key, transform)`; `block_prefix`
    holds `{index}`, counted from `first_block`; `optional` top paths may be
    absent; `droppable` maps a key prefix to why such keys are not loaded."""

    top: dict
    block: dict
    block_prefix: str
    first_block: int = 0
    optional: tuple = (ckpt.CLASS_TOKEN,) + ckpt.HEAD
    droppable: dict = dataclasses.field(default_factory=dict)


def convert(arrays, layout, source):
    """`{key: Stored}` -> (weights, source_keys, dropped) by `layout`; reads nothing."""
    weights, source_keys, used = {}, {}, set()

    def take(path, key, transform):
        if key not in arrays:
            raise errors.CorruptCheckpointError(
                f"The checkpoint {source} has no key {key!r}, which model weight {path!r} "
                "loads from.", source=source)
        stored = arrays[key]
        weights[path] = stored.transformed(transform)
        source_keys[path] = f"{key} {tuple(stored.shape)}"
        used.add(key)

    for path, (key, transform) in layout.top.items():
        if key in arrays or path not in layout.optional:
            take(path, key, transform)
    for index in block_indices(arrays, layout, source):
        prefix = layout.block_prefix.format(index=index + layout.first_block)
        for path, (key, transform) in layout.block.items():
            take(f"block_{index}/{path}", prefix + key, transform)
    dropped = {}
    for key in sorted(set(arrays) - used):
        reason = next((why for start, why in layout.droppable.items() if key.startswith(start)),
                      None)
        if reason is None:
            raise errors.CheckpointMismatchError(
                f"The checkpoint {source} also holds {key!r} {tuple(arrays[key].shape)}, which "
                "has no place in this package's ViT (a variant it does not implement).",
                source=source)
        dropped[f"{key} {tuple(arrays[key].shape)}"] = reason
    return weights, source_keys, dropped


def block_indices(arrays, layout, source):
    """The blocks 0..n-1 under `layout.block_prefix` (numbered from
    `layout.first_block` there), or a ValueError."""
    pattern = re.compile(re.escape(layout.block_prefix).replace(r"\{index\}", r"(\d+)"))
    numbers = sorted({int(match.group(1)) for key in arrays if (match := pattern.match(key))})
    first = layout.first_block
    if not numbers or numbers != list(range(first, first + len(numbers))):
        raise errors.CorruptCheckpointError(
            f"The checkpoint {source} does not hold transformer blocks {layout.block_prefix} "
            f"numbered from {first}: found {numbers}.", source=source)
    return [number - first for number in numbers]
