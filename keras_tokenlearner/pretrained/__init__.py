"""Public ViT checkpoints into the zoo's models: `load_pretrained`, `save_npz`.

Sources (read off the file, no format flag): Google `.npz` files (vit_jax /
AugReg and big_vision layouts, local, `gs://` or `https://`), keras-hub ViT
presets (a directory or a `kaggle://` handle), timm and Hugging Face
`model.safetensors`, and the names in `named.NAMED_WEIGHTS` (e.g.
`"imagenet21k"`), which resolve to the authors' public files.

A load goes down three modules once: `sources` (where the bytes come from),
`readers` (what format they are in, read tensor by tensor) and `adapt` (how
they map onto the model). Failures are `errors.CheckpointError`s, by kind.
"""

import logging

from keras_tokenlearner import validation
from keras_tokenlearner.models.encoder import EncoderModel
from keras_tokenlearner.pretrained import adapt
from keras_tokenlearner.pretrained import checkpoint as checkpoint_module
from keras_tokenlearner.pretrained import named
from keras_tokenlearner.pretrained import readers
from keras_tokenlearner.pretrained import sources
from keras_tokenlearner.pretrained.adapt import LoadReport
from keras_tokenlearner.pretrained.checkpoint import Checkpoint
from keras_tokenlearner.pretrained.errors import CheckpointError
from keras_tokenlearner.pretrained.errors import CheckpointMismatchError
from keras_tokenlearner.pretrained.errors import CorruptCheckpointError
from keras_tokenlearner.pretrained.errors import DownloadError
from keras_tokenlearner.pretrained.save import save_npz

LOGGER = logging.getLogger("keras_tokenlearner")
NUMERICS = ("approximate_gelu", "layer_norm_epsilon")  # model arguments a source sets

__all__ = ["Checkpoint", "CheckpointError", "CheckpointMismatchError", "CorruptCheckpointError",
           "DownloadError", "LoadReport", "load_checkpoint", "load_pretrained", "numerics",
           "read_checkpoint", "save_npz"]


def numerics(checkpoint):
    """The model arguments that make a model compute as `checkpoint`'s source did."""
    return {name: getattr(checkpoint, name) for name in NUMERICS}


def read_checkpoint(source, model_arguments=None, preprocessing=None):
    """Reads `source`'s headers into a `Checkpoint` (its arrays are read
    when loaded); a name from `named.NAMED_WEIGHTS` needs the model's
    constructor arguments to pick its file. `preprocessing`: the input the
    weights expect, overriding the checkpoint's (None: the checkpoint's,
    or the `preprocessing` in `model_arguments` where given)."""
    if isinstance(source, str) and source in named.NAMED_WEIGHTS:
        source = named.url(source, model_arguments)
    if preprocessing is None:
        preprocessing = (model_arguments or {}).get("preprocessing")
    return readers.read(sources.locate(source), preprocessing)


def load_pretrained(model, source, video_inflation="central_frame", preprocessing=None):
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
        preprocessing: the input the weights expect, as `create_model`
            takes it (e.g. `{"mean": [...], "std": [...]}`), where the
            checkpoint does not say it right (a timm file without its
            `config.json`); None: what the checkpoint says.

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
        ValueError: a bad argument, or one of the `CheckpointError`s (all
            `ValueError`s): `DownloadError` (the bytes could not be
            fetched), `CorruptCheckpointError` (a truncated, corrupt or
            foreign file), `CheckpointMismatchError` (the checkpoint does
            not fit the model, naming the checkpoint key, the model weight
            and both shapes; its `report` holds the `LoadReport`). Nothing
            is assigned unless every check passed.
    """
    if not isinstance(model, EncoderModel):
        raise validation.invalid_value("model", "a keras_tokenlearner ViT or VideoViT",
                                       type(model).__name__)
    arguments = {key: value for key, value in model.arguments.items()
                 if key != "preprocessing"}  # the model's own record is compared, not assumed
    checkpoint = read_checkpoint(source, arguments, preprocessing)
    return load_checkpoint(model, checkpoint, video_inflation)


def load_checkpoint(model, checkpoint, video_inflation="central_frame"):
    """`load_pretrained` for a `Checkpoint` already read: plans every weight,
    then reads, casts and assigns them one at a time; closes its files."""
    heap = checkpoint_module.Heap()
    with checkpoint:
        values, report = adapt.plan(model, checkpoint, video_inflation)
        variables = {variable.path: variable for variable in model.weights}
        for path, value in values.items():
            variable = variables[path]
            array = value.read().astype(variable.dtype, copy=False)
            variable.assign(array)
            heap.freed(array.nbytes)
    LOGGER.info(report.summary())
    for difference in report.numerics + report.preprocessing:
        LOGGER.warning("load_pretrained: %s.", difference)
    return report
