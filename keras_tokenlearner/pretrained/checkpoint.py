"""A checkpoint in this package's own naming, whatever file it came from.

Every reader (Google `.npz`, keras-hub preset, timm or Hugging Face
safetensors) turns its file into a `Checkpoint`: float32 NumPy arrays keyed
by the variable paths of a `ViT` (`patch_embedding/kernel`,
`block_3/attention/query/kernel`, ...), in this package's layouts (Keras
`(in, out)` Dense kernels, `(D, D)` attention projections, HWIO patch
kernels), plus what the source computes with (GELU form, LayerNorm epsilon),
the input it expects (`preprocessing`) and which of its keys were left
out. `layouts.convert` does the renaming from a table per format.
"""

import dataclasses
import math
import re

import numpy as np

from keras_tokenlearner import validation

POSITION_EMBEDDING = "position_embedding/embeddings"
CLASS_TOKEN = "class_token/token"
PATCH_KERNEL = "patch_embedding/kernel"
PATCH_BIAS = "patch_embedding/bias"
HEAD = ("head/kernel", "head/bias")
BLOCK_PATTERN = re.compile(r"block_(\d+)/")


@dataclasses.dataclass
class Checkpoint:
    """Weights of a ViT checkpoint under this package's variable paths.

    Attributes:
        source: the path, URL or name it was read from.
        format: `"vit_jax"`, `"big_vision"`, `"keras_hub"`, `"timm"`,
            `"huggingface"`.
        weights: variable path -> float32 array.
        source_keys: variable path -> the key (with its shape) it came from,
            for error messages.
        class_row: whether `position_embedding/embeddings` starts with a
            class-token row.
        num_heads: the attention heads, where the file says (None for timm).
        layer_norm_epsilon, approximate_gelu: the numerics the weights were
            trained or exported with.
        preprocessing: the input the weights expect, a canonical record of
            `models.preprocessing` (uint8 pixels p become p * scale +
            offset); None where a reader cannot say.
        dropped: source key -> why it is not loaded (e.g. `pre_logits`).
        grid_shape: the (h, w) grid of the position embedding where the
            file's config gives it; None for a square grid.
    """

    source: str
    format: str
    weights: dict
    source_keys: dict
    class_row: bool
    num_heads: int | None
    layer_norm_epsilon: float
    approximate_gelu: bool
    preprocessing: dict | None = None
    dropped: dict = dataclasses.field(default_factory=dict)
    grid_shape: tuple | None = None

    @property
    def num_layers(self):
        """The number of transformer blocks."""
        indices = {int(match.group(1)) for key in self.weights
                   if (match := BLOCK_PATTERN.match(key))}
        return len(indices)

    @property
    def grid(self):
        """The (h, w) grid of the position embedding, assumed square as by the
        authors' loaders unless the reader recorded another (`grid_shape`)."""
        if self.grid_shape:
            return tuple(self.grid_shape)
        rows = self.weights[POSITION_EMBEDDING].shape[0] - int(self.class_row)
        side = math.isqrt(rows)
        if side * side != rows:
            raise validation.invalid_value(
                "weights", f"a position embedding over a square grid in {self.source} (key "
                f"{self.source_keys[POSITION_EMBEDDING]})", f"{rows} grid rows",
            )
        return (side, side)


def to_float32(array):
    """A float32 copy of `array`; bfloat16 arrays saved by NumPy (dtype `V2`,
    as in big_vision files) are read as bfloat16 first."""
    array = np.asarray(array)
    if array.dtype.kind == "V" and array.dtype.itemsize == 2:
        import ml_dtypes  # installed with Keras's backends; only needed here

        array = array.view(ml_dtypes.bfloat16)
    return np.asarray(array, dtype=np.float32)
