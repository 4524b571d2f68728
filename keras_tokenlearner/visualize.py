"""Attention maps of a trained model, and the paper-style figures of them.

`attention_maps(model, inputs)` returns what TokenLearner looked at: one map
per token over the patch grid. `plot_attention_grid` draws the figure of the
paper (each row: the image, then one heat map per token);
`plot_video_attention` does the same per frame of a clip, and
`save_attention_gif` animates it. Needs matplotlib (`pip install matplotlib`).
"""

import keras
import numpy as np

from keras_tokenlearner import validation
from keras_tokenlearner.layers import TokenLearner


def _token_learner(model, layer_name):
    if layer_name is not None:
        return model.get_layer(layer_name)
    for layer in model.layers:
        if isinstance(layer, TokenLearner):
            return layer
    raise validation.invalid_value("model", "a model with a TokenLearner layer", model.name)


def attention_maps(model, inputs, layer_name=None):
    """TokenLearner maps of `model` on `inputs`, reshaped onto the patch grid.

    Args:
        model: a zoo model (or any model with a TokenLearner layer).
        inputs: a batch the model accepts (already preprocessed).
        layer_name: the TokenLearner layer; defaults to the first one.

    Returns:
        float32 numpy array `(B, S, h, w)`, or `(B, T', S, h, w)` for video:
        the softmax (v1.1) or sigmoid (v1.0) weights behind each token.
    """
    layer = _token_learner(model, layer_name)
    grid = keras.Model(model.input, layer.input)(inputs, training=False)  # (B, [T,] h, w, D)
    _, maps = layer(grid, return_attention_maps=True)  # (B, [T,] S, h*w)
    maps = np.asarray(keras.ops.convert_to_numpy(maps))
    height, width = grid.shape[-3], grid.shape[-2]
    return maps.reshape(maps.shape[:-1] + (height, width))  # (B, [T,] S, h, w)


def _upsample(attention, shape):
    """Nearest-neighbour upsampling of a (h, w) map to an image's (H, W)."""
    rows = np.arange(shape[0]) * attention.shape[0] // shape[0]
    columns = np.arange(shape[1]) * attention.shape[1] // shape[1]
    return attention[rows][:, columns]


def _show(axis, image, attention=None):
    axis.imshow(image.squeeze(), cmap="gray")
    if attention is not None:
        axis.imshow(_upsample(attention, image.shape[:2]), cmap="inferno", alpha=0.6)
    axis.set_xticks([])
    axis.set_yticks([])


def _grid_figure(rows, images, maps, row_label, path):
    """rows x (1 + S) panels: the image, then each token's map over it."""
    import matplotlib.pyplot as plt

    num_tokens = maps.shape[1]
    figure, axes = plt.subplots(rows, 1 + num_tokens, figsize=(1.4 * (1 + num_tokens), 1.4 * rows),
                                squeeze=False)
    for row in range(rows):
        _show(axes[row, 0], images[row])
        axes[row, 0].set_ylabel(row_label(row), fontsize=8)
        for token in range(num_tokens):
            _show(axes[row, 1 + token], images[row], maps[row, token])
            if row == 0:
                axes[row, 1 + token].set_title(f"token {token}", fontsize=8)
    figure.tight_layout()
    if path:
        figure.savefig(path, dpi=120)
    return figure


def plot_attention_grid(images, maps, path=None, max_rows=4, labels=None):
    """The paper's figure: each row an image, then one heat map per token.

    `images`: (B, H, W, C) in any range; `maps`: (B, S, h, w) from
    `attention_maps`. Saves a PNG when `path` is given; returns the figure.
    """
    rows = min(max_rows, len(images))
    images = _displayable(images)

    def row_label(row):
        return f"label {labels[row]}" if labels is not None else f"image {row}"

    return _grid_figure(rows, images, maps, row_label, path)


def plot_video_attention(clip, maps, path=None):
    """Per-frame maps of one clip: each row a tubelet step, then its tokens.

    `clip`: (T, H, W, C); `maps`: (T', S, h, w) for that clip. Row t shows
    the first frame of tubelet step t.
    """
    steps = maps.shape[0]
    frames = _displayable(clip)[:: len(clip) // steps][:steps]
    return _grid_figure(steps, frames, maps, lambda row: f"step {row}", path)


def save_attention_gif(clip, maps, path, milliseconds_per_frame=250):
    """An animated GIF: the clip with each token's map over it, side by side."""
    from PIL import Image

    steps, num_tokens = maps.shape[:2]
    frames = _displayable(clip)
    pictures = []
    for index, frame in enumerate(frames):
        step = min(index * steps // len(frames), steps - 1)
        gray = (frame.mean(axis=-1) * 255).astype(np.uint8)  # (H, W)
        heat = [(_upsample(maps[step, token], frame.shape[:2]) / max(maps[step].max(), 1e-9)
                 * 255).astype(np.uint8) for token in range(num_tokens)]
        pictures.append(Image.fromarray(np.concatenate([gray] + heat, axis=1)).resize(
            (64 * (1 + num_tokens), 64), Image.NEAREST))
    pictures[0].save(path, save_all=True, append_images=pictures[1:],
                     duration=milliseconds_per_frame, loop=0)
    return path


def _displayable(images):
    """Scales any image batch to [0, 1] for display."""
    images = np.asarray(images, dtype=np.float32)
    low, high = images.min(), images.max()
    return (images - low) / max(high - low, 1e-9)
