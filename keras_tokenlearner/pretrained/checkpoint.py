"""A checkpoint in this package's own naming, whatever file it came from.

Every reader (Google `.npz`, keras-hub preset, timm or Hugging Face
safetensors; see `readers.py`) turns its file into a `Checkpoint`: one
`Stored` entry per variable path of a `ViT` (`patch_embedding/kernel`,
`block_3/attention/query/kernel`, ...), which knows its shape in this
package's layouts (Keras `(in, out)` Dense kernels, `(D, D)` attention
projections, HWIO patch kernels) and reads its float32 array from the file
only when asked, one at a time; plus what the source computes with (GELU
form, LayerNorm epsilon), the input it expects (`preprocessing`) and which
of its keys were left out. `layouts.convert` does the renaming from a table
per format.
"""

import contextlib
import ctypes
import dataclasses
import math
import re
from typing import Callable

import numpy as np

from keras_tokenlearner import validation

POSITION_EMBEDDING = "position_embedding/embeddings"
CLASS_TOKEN = "class_token/token"
PATCH_KERNEL = "patch_embedding/kernel"
PATCH_BIAS = "patch_embedding/bias"
HEAD = ("head/kernel", "head/bias")
BLOCK_PATTERN = re.compile(r"block_(\d+)/")


@dataclasses.dataclass(frozen=True)
class Stored:
    """One array of a checkpoint, not read yet.

    Attributes:
        key: the file's key, for messages.
        shape: the array's shape.
        dtype: the array's NumPy dtype.
        read: a function of no arguments that reads the array from the file.
    """

    key: str
    shape: tuple
    dtype: object
    read: Callable

    @classmethod
    def of(cls, array, key="(computed)"):
        """An array already in memory, as a `Stored`."""
        array = np.asarray(array)
        return cls(key, tuple(array.shape), array.dtype, lambda: array)

    def transformed(self, transform):
        """This array after `transform` (a layout change), as float32; the
        shape comes from `transform` applied to a stand-in that holds no
        memory, so nothing is read."""
        stand_in = np.broadcast_to(np.zeros((), self.dtype), self.shape)  # (shape), strides 0
        shape = tuple(transform(stand_in).shape)
        return Stored(self.key, shape, np.dtype(np.float32),
                      lambda: to_float32(transform(self.read())))

    def row(self, index):
        """Entry `index` of the first axis (one block of a scanned array)."""
        return Stored(f"{self.key}[{index}]", self.shape[1:], self.dtype,
                      lambda: self.read()[index])


@dataclasses.dataclass
class Checkpoint:
    """Weights of a ViT checkpoint under this package's variable paths.

    Attributes:
        source: the path, URL or name it was read from.
        format: `"vit_jax"`, `"big_vision"`, `"keras_hub"`, `"timm"`,
            `"huggingface"`.
        weights: variable path -> `Stored` float32 array, read on demand.
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
        files: the open files the entries read from; `close()` closes
            them (a later read opens them again).
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
    files: list = dataclasses.field(default_factory=list)

    def array(self, path):
        """The float32 array of variable `path`, read from the file now."""
        return self.weights[path].read()

    def close(self):
        """Closes the files the checkpoint reads from."""
        for file in self.files:
            file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.close()

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


class ReopeningFile:
    """A checkpoint file, opened on first use and again after `close()`.

    `handle()` gives `opener(binary file)` (a `zipfile.ZipFile`, an
    `h5py.File`, or the binary file itself when `opener` is None), and
    `binary()` the binary file under it.
    """

    RECENT = 2  # arrays kept by `recent`: a weight and its bias

    def __init__(self, path, open_binary, opener=None):
        self.path, self._open_binary, self._opener = path, open_binary, opener
        self._stack, self._handle, self._binary = None, None, None
        self._recent = {}

    def recent(self, key, read):
        """`read()`, kept for the next calls with `key` until two other keys
        were read: timm's fused `qkv` weight and bias are read once each for
        the query, key and value, which take turns with them."""
        if key not in self._recent:
            self._recent[key] = read()
            while len(self._recent) > self.RECENT:
                del self._recent[next(iter(self._recent))]  # the oldest
        return self._recent[key]

    def handle(self):
        """The open handle."""
        if self._stack is None:
            stack = contextlib.ExitStack()
            self._binary = stack.enter_context(self._open_binary(self.path))
            self._handle = self._binary if self._opener is None else stack.enter_context(
                self._opener(self._binary))
            self._stack = stack
        return self._handle

    def binary(self):
        """The open binary file."""
        self.handle()
        return self._binary

    def close(self):
        """Closes the file, if open."""
        self._recent.clear()
        if self._stack is not None:
            self._stack.close()
            self._stack, self._handle, self._binary = None, None, None


def to_float32(array):
    """`array` as float32, not copied when it is float32 already; bfloat16
    arrays saved by NumPy (dtype `V2`, as in big_vision files) are read as
    bfloat16 first."""
    array = np.asarray(array)
    if array.dtype.kind == "V" and array.dtype.itemsize == 2:
        import ml_dtypes  # installed with Keras's backends; only needed here

        array = array.view(ml_dtypes.bfloat16)
    return np.asarray(array, dtype=np.float32)


# === Memory given back while assigning ===
# Each assign replaces a variable's buffer: the backend frees the old one and
# allocates the new one. glibc's `malloc` keeps freed buffers of a few MB in
# its heap rather than unmapping them (its mmap threshold rises once a large
# block is freed), so under JAX a ViT-B/16 load grew the resident memory by
# 0.8x the file although it held one array at a time. `Heap.freed` calls
# `malloc_trim` after every `TRIM_EVERY` bytes assigned (a few calls per
# load): the peak stays within about that much of the built model. Without
# glibc it does nothing.
TRIM_EVERY = 64 << 20  # bytes assigned between two trims


def _malloc_trim():
    """glibc's `malloc_trim` (from the symbols already loaded), or None."""
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except (OSError, TypeError):  # no dynamic loader access (e.g. Windows)
        return None


class Heap:
    """Counts the bytes assigned and trims the heap every `TRIM_EVERY`."""

    def __init__(self, every=TRIM_EVERY):
        self.every, self.pending = every, 0
        self.malloc_trim = _malloc_trim()

    def freed(self, size):
        """`size` more bytes were assigned, so about as many freed."""
        self.pending += size
        if self.pending >= self.every and self.malloc_trim is not None:
            self.malloc_trim(0)
            self.pending = 0
