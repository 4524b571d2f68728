"""Fitting a `Checkpoint` to a model, as the authors' loaders do, and reporting it.

`plan` checks every shape against the model and returns, per model weight,
a `Stored` value that reads (and adapts) its array only when
`load_pretrained` assigns it, after the whole plan succeeded: a failed load
leaves the model untouched, and a load holds one array at a time. A
checkpoint that does not fit raises `CheckpointMismatchError`, carrying the
`LoadReport` as far as it got. What is adapted:

- the position embedding (read while planning: it is small): resized over
  the grid by `models.resize_position_embedding(method="zoom")`, which is
  `scipy.ndimage.zoom(order=1)` (corner-aligned, as vit_jax, big_vision and
  Scenic), then repeated over the frames of a video model;
- the class token: dropped for a GAP model (every TokenLearner model), with
  its position row; a zero position row for a big_vision `tok` file; fresh
  for a GAP file going into a class-token model;
- the head: loaded when its shape matches, else the model's zero head;
- a 2-D patch kernel into a video model's tubelet kernel (ViViT's
  `central_frame` or `average` inflation);
- TokenLearner and TokenFuser layers start fresh.

The model itself is never rebuilt: where its GELU form, LayerNorm epsilon or
recorded preprocessing differ from the checkpoint's, the report says so.
"""

import dataclasses

import keras
import numpy as np

from keras_tokenlearner import validation
from keras_tokenlearner.models import preprocessing
from keras_tokenlearner.models.resolution import patch_grid
from keras_tokenlearner.models.resolution import resize_position_embedding
from keras_tokenlearner.pretrained import checkpoint as ckpt
from keras_tokenlearner.pretrained import errors

INFLATIONS = ("central_frame", "average")
FRESH_LAYERS = ("token_learner", "token_fuser")


@dataclasses.dataclass
class LoadReport:
    """What `load_pretrained` did. Every dict maps a name to a reason.

    Attributes:
        source, format: where the weights came from.
        loaded: model weight paths set from the checkpoint as they were.
        adapted: model weight path -> how its value was adapted.
        fresh: model weight path -> why it keeps its initial value.
        dropped: checkpoint key -> why it was not loaded.
        numerics: differences between the model's GELU / LayerNorm epsilon
            and the checkpoint's; empty when they agree.
        preprocessing: a line when the input the model records
            (`model.arguments["preprocessing"]`) differs from the one the
            checkpoint expects; empty when they agree.
    """

    source: str
    format: str
    loaded: list = dataclasses.field(default_factory=list)
    adapted: dict = dataclasses.field(default_factory=dict)
    fresh: dict = dataclasses.field(default_factory=dict)
    dropped: dict = dataclasses.field(default_factory=dict)
    numerics: list = dataclasses.field(default_factory=list)
    preprocessing: list = dataclasses.field(default_factory=list)

    def summary(self):
        """One line: counts, and the adapted and fresh weights' names."""
        parts = [f"Loaded {self.format} weights from {self.source}: {len(self.loaded)} as they "
                 f"were, {len(self.adapted)} adapted ({', '.join(self.adapted) or 'none'}), "
                 f"{len(self.fresh)} fresh ({_layers(self.fresh) or 'none'}), "
                 f"{len(self.dropped)} checkpoint keys dropped ({_layers(self.dropped) or 'none'})"]
        parts += [f"numerics differ: {difference}" for difference in self.numerics]
        parts += [f"preprocessing differs: {difference}" for difference in self.preprocessing]
        return "; ".join(parts) + "."

    def __str__(self):
        lines = [self.summary()]
        for title, entries in (("adapted", self.adapted), ("fresh", self.fresh),
                               ("dropped", self.dropped)):
            lines += [f"  {title}: {name}: {why}" for name, why in entries.items()]
        return "\n".join(lines)


def _layers(entries):
    """The distinct top-level names of weight paths or checkpoint keys."""
    return ", ".join(dict.fromkeys(name.split("/")[0] for name in entries))


def plan(model, checkpoint, video_inflation="central_frame"):
    """(`Stored` values by weight path, LoadReport): checks every shape,
    reads only the position embedding, assigns nothing."""
    validation.check_choice("video_inflation", video_inflation, INFLATIONS)
    report = LoadReport(checkpoint.source, checkpoint.format, dropped=dict(checkpoint.dropped))
    report.numerics = numerics_differences(model, checkpoint)
    report.preprocessing = preprocessing_differences(model, checkpoint)
    _check_depth_and_heads(model, checkpoint, report)
    values = {}
    for variable in model.weights:
        path = variable.path
        if path.split("/")[0].startswith(FRESH_LAYERS):
            report.fresh[path] = "a TokenLearner / TokenFuser layer: no pretrained counterpart"
            continue
        value = _value_for(path, tuple(variable.shape), model, checkpoint, report,
                           video_inflation)
        if value is not None:
            values[path] = value
    used = set(values) | {ckpt.PATCH_KERNEL, ckpt.PATCH_BIAS, ckpt.POSITION_EMBEDDING}
    for path in sorted(set(checkpoint.weights) - used):
        report.dropped.setdefault(checkpoint.source_keys[path], _why_unused(path))
    return values, report


def _why_unused(path):
    if path == ckpt.CLASS_TOKEN:
        return "the model pools by global average (no class token), as Scenic's GAP models"
    return "the model has no classification head (num_classes=None)"


def _value_for(path, shape, model, checkpoint, report, video_inflation):
    """The value for model weight `path`, or None when it stays fresh."""
    weights = checkpoint.weights
    if path == "tubelet_embedding/kernel":
        return _inflate(checkpoint, shape, report, video_inflation)
    path_in_checkpoint = "patch_embedding/bias" if path == "tubelet_embedding/bias" else path
    if path == ckpt.POSITION_EMBEDDING:
        return _position_embedding(model, checkpoint, shape, report)
    if path in ckpt.HEAD + (ckpt.CLASS_TOKEN,):
        if path in weights and weights[path].shape == shape:
            report.loaded.append(path)
            return weights[path]
        report.fresh[path] = ("the checkpoint has no class token" if path == ckpt.CLASS_TOKEN
                              else _head_reason(checkpoint, path, shape))
        return None
    if path_in_checkpoint not in weights:
        raise errors.CheckpointMismatchError(
            f"The checkpoint {checkpoint.source} holds nothing for model weight {path!r} "
            f"{shape}.", source=checkpoint.source, report=report)
    value = weights[path_in_checkpoint]
    _check_shape(checkpoint, path_in_checkpoint, path, value.shape, shape, report)
    report.loaded.append(path)
    return value


def _head_reason(checkpoint, path, shape):
    if path not in checkpoint.weights:
        return "the checkpoint has no head"
    found = checkpoint.source_keys[path]
    return f"the checkpoint's head {found} does not fit the model's {shape}: fresh zero head"


def _check_shape(checkpoint, path_in_checkpoint, path, found, expected, report):
    if tuple(found) != tuple(expected):
        raise errors.CheckpointMismatchError(
            f"The checkpoint {checkpoint.source} does not fit the model: checkpoint key "
            f"{checkpoint.source_keys[path_in_checkpoint]} gives shape {tuple(found)}, model "
            f"weight {path!r} has shape {tuple(expected)}. Build the model with the "
            f"checkpoint's width, depth, heads and patch size.",
            source=checkpoint.source, report=report)


def _check_depth_and_heads(model, checkpoint, report):
    blocks = [layer for layer in model.layers if layer.name.startswith("block_")]
    if checkpoint.num_layers != len(blocks):
        raise errors.CheckpointMismatchError(
            f"The checkpoint {checkpoint.source} does not fit the model: it has "
            f"{checkpoint.num_layers} transformer blocks (last key "
            f"{checkpoint.source_keys[f'block_{checkpoint.num_layers - 1}/mlp/output/bias']}), "
            f"the model has {len(blocks)} (num_layers={len(blocks)}).",
            source=checkpoint.source, report=report)
    heads = blocks[0].num_heads
    if checkpoint.num_heads is not None and checkpoint.num_heads != heads:
        raise errors.CheckpointMismatchError(
            f"The checkpoint {checkpoint.source} does not fit the model: checkpoint key "
            f"{checkpoint.source_keys['block_0/attention/query/kernel']} has "
            f"{checkpoint.num_heads} heads, model weight 'block_0/attention/query/kernel' is in "
            f"a block with num_heads={heads}.", source=checkpoint.source, report=report)


def numerics_differences(model, checkpoint):
    block = model.get_layer("block_0")
    differences = []
    if block.approximate_gelu != checkpoint.approximate_gelu:
        differences.append(
            f"the checkpoint was run with approximate_gelu={checkpoint.approximate_gelu}, the "
            f"model has approximate_gelu={block.approximate_gelu}")
    if not np.isclose(block.epsilon, checkpoint.layer_norm_epsilon, rtol=1e-6, atol=0):
        differences.append(
            f"the checkpoint was run with layer_norm_epsilon={checkpoint.layer_norm_epsilon:g}, "
            f"the model has layer_norm_epsilon={block.epsilon:g}")
    return differences


def preprocessing_differences(model, checkpoint):
    """A line when the model's recorded input is not the checkpoint's."""
    recorded, expected = preprocessing.of_model(model), checkpoint.preprocessing
    if expected is None or _same_preprocessing(recorded, expected):
        return []
    return [f"the checkpoint expects preprocessing={expected}, the model records "
            f"preprocessing={recorded} (the model is unchanged: build it with "
            "create_model(name, weights=source) to record the checkpoint's)"]


def _same_preprocessing(first, second):
    """Whether two records map pixels alike (one entry or one per channel)."""
    if first is None or second is None:
        return first is second
    for a, b in zip(preprocessing.scale_and_offset(first), preprocessing.scale_and_offset(second)):
        if len(a) != len(b) and 1 not in (len(a), len(b)):
            return False
        if not np.allclose(a, b, rtol=1e-6, atol=0):
            return False
    return True


def _inflate(checkpoint, shape, report, video_inflation):
    """(P, P, C, D) patch kernel -> (t, P, P, C, D) tubelet kernel, as ViViT."""
    kernel = checkpoint.weights[ckpt.PATCH_KERNEL]
    _check_shape(checkpoint, ckpt.PATCH_KERNEL, "tubelet_embedding/kernel", kernel.shape,
                 shape[1:], report)
    frames = shape[0]

    def inflate(kernel):
        if video_inflation == "average":
            return np.repeat(kernel[None] / frames, frames, axis=0)  # (t, P, P, C, D)
        inflated = np.zeros(shape, np.float32)  # (t, P, P, C, D)
        inflated[frames // 2] = kernel
        return inflated

    report.adapted["tubelet_embedding/kernel"] = (
        f"2-D patch kernel inflated over {frames} frames ({video_inflation})")
    return kernel.transformed(inflate)


def _position_embedding(model, checkpoint, shape, report):
    """The checkpoint's position embedding on the model's grid, class row as the model needs."""
    embedding = checkpoint.array(ckpt.POSITION_EMBEDDING)  # (prefix + h * w, D)
    class_row, grid = embedding[:int(checkpoint.class_row)], embedding[int(checkpoint.class_row):]
    _check_shape(checkpoint, ckpt.POSITION_EMBEDDING, ckpt.POSITION_EMBEDDING, grid.shape[-1:],
                 shape[-1:], report)
    source_grid, target_grid = checkpoint.grid, patch_grid(model)
    changes = []
    if source_grid != target_grid[-2:]:
        grid = keras.ops.convert_to_numpy(resize_position_embedding(
            grid, source_grid, target_grid[-2:], method="zoom"))  # (h' * w', D)
        changes.append(f"resized from a {source_grid} grid to {target_grid[-2:]} "
                       "(scipy.ndimage.zoom, order=1)")
    if len(target_grid) == 3:
        grid = np.tile(grid, (target_grid[0], 1))  # (T * h' * w', D)
        changes.append(f"repeated over {target_grid[0]} frames")
    model_has_class_row = shape[0] == grid.shape[0] + 1
    if model_has_class_row:
        grid = np.concatenate([_class_row(model, checkpoint, class_row, changes), grid])
    elif checkpoint.class_row:
        report.dropped.setdefault(checkpoint.source_keys[ckpt.POSITION_EMBEDDING] + " row 0",
                                  "the class token's position: the model has no class token")
    if changes:
        report.adapted[ckpt.POSITION_EMBEDDING] = "; ".join(changes)
    else:
        report.loaded.append(ckpt.POSITION_EMBEDDING)
    return ckpt.Stored.of(grid, checkpoint.source_keys[ckpt.POSITION_EMBEDDING])


def _class_row(model, checkpoint, class_row, changes):
    """The class token's position row: the file's, zeros, or the model's own."""
    if checkpoint.class_row:
        return class_row
    if ckpt.CLASS_TOKEN in checkpoint.weights:
        changes.append("zero row for the class token, whose position the file does not add "
                       "(big_vision layout)")
        return np.zeros((1, class_row.shape[-1]), np.float32)  # (1, D)
    changes.append("row 0 (the class token's) stays fresh: the checkpoint has no class token")
    embedding = model.get_layer("position_embedding").embeddings  # (1 + N, D)
    return keras.ops.convert_to_numpy(embedding)[:1]
