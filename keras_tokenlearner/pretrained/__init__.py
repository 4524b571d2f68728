"""Public ViT checkpoints into the zoo's models: `load_pretrained`, `save_npz`.

Sources (read off the file, no format flag): Google `.npz` files (vit_jax /
AugReg and big_vision layouts, local, `gs://` or `https://`), keras-hub ViT
presets (a directory or a `kaggle://` handle), timm and Hugging Face
`model.safetensors`, and the names in `named.NAMED_WEIGHTS` (e.g.
`"imagenet21k"`), which resolve to the authors' public files.
"""

import logging

from keras_tokenlearner import validation
from keras_tokenlearner.models.encoder import EncoderModel
from keras_tokenlearner.pretrained import adapt
from keras_tokenlearner.pretrained import named
from keras_tokenlearner.pretrained import sources
from keras_tokenlearner.pretrained.adapt import LoadReport
from keras_tokenlearner.pretrained.checkpoint import Checkpoint
from keras_tokenlearner.pretrained.save import save_npz

LOGGER = logging.getLogger("keras_tokenlearner")
NUMERICS = ("approximate_gelu", "layer_norm_epsilon")  # model arguments a source sets

__all__ = ["Checkpoint", "LoadReport", "load_checkpoint", "load_pretrained", "numerics",
           "read_checkpoint", "save_npz"]


def numerics(checkpoint):
    """The model arguments that make a model compute as `checkpoint`'s source did."""
    return {name: getattr(checkpoint, name) for name in NUMERICS}


def read_checkpoint(source, model_arguments=None):
    """Reads `source` into a `Checkpoint`; a name from `named.NAMED_WEIGHTS`
    needs the model's constructor arguments to pick its file."""
    if isinstance(source, str) and source in named.NAMED_WEIGHTS:
        source = named.url(source, model_arguments)
    return sources.read_checkpoint(source)


def load_pretrained(model, source, video_inflation="central_frame"):
    """Loads a public ViT checkpoint into `model`, adapting it as the authors' loaders do.

    Args:
        model: a `ViT` or `VideoViT` (with or without TokenLearner or
            TokenFuser), of the checkpoint's width, depth, heads and patch
            size; any image size, class count and pooling.
        source: a path (`.npz`, `.safetensors`, a keras-hub preset or
            Hugging Face directory), a `gs://` path, an `https://` URL, a
            `kaggle://` handle, or a name such as `"imagenet21k"`.
        video_inflation: how an image patch kernel becomes a `VideoViT`'s
            tubelet kernel: `"central_frame"` (ViViT's default) or
            `"average"`.

    Returns:
        LoadReport: what was loaded, adapted (position embedding
        resized, stem inflated, ...), dropped from the checkpoint, and which
        weights start fresh. Its one-line summary is logged to the
        `keras_tokenlearner` logger. If the model's GELU form or LayerNorm
        epsilon differ from the checkpoint's, the report's `numerics` says
        so and a warning is logged: build the model with
        `create_model(name, weights=source)` to get the source's numerics.
        Likewise, if the input the model records (its `preprocessing`)
        differs from the one the checkpoint expects, the report's
        `preprocessing` says so and a warning is logged; the model is not
        changed.

    Raises:
        ValueError: the source is missing, truncated or foreign, or does
            not fit the model (naming the checkpoint key, the model weight
            and both shapes). Nothing is assigned unless every check passed.
    """
    if not isinstance(model, EncoderModel):
        raise validation.invalid_value("model", "a keras_tokenlearner ViT or VideoViT",
                                       type(model).__name__)
    return load_checkpoint(model, read_checkpoint(source, model.arguments), video_inflation)


def load_checkpoint(model, checkpoint, video_inflation="central_frame"):
    """`load_pretrained` for a `Checkpoint` already read."""
    values, report = adapt.plan(model, checkpoint, video_inflation)
    variables = {variable.path: variable for variable in model.weights}
    for path, value in values.items():
        variables[path].assign(value.astype(variables[path].dtype))
    LOGGER.info(report.summary())
    for difference in report.numerics + report.preprocessing:
        LOGGER.warning("load_pretrained: %s.", difference)
    return report
