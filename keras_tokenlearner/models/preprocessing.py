"""The input a model expects, recorded with it: uint8 pixels p in [0, 255]
become `p * scale + offset`, per channel or for all channels at once.

A record is None (nothing recorded) or the canonical dict
`{"scale": (floats), "offset": (floats)}`, both tuples of the same length:
1 (every channel) or one entry per channel. `ViT` and `VideoViT` keep theirs
in `model.arguments["preprocessing"]` (so in `get_config` and `.keras`
files); they do not apply it: the data pipeline and export do.

NumPy only: no backend import, so the trainer, data and export share it.

Example:

>>> canonical({"mean": 0.5, "std": 0.5}) == MINUS_ONE_TO_ONE
True
>>> scale_and_offset(MINUS_ONE_TO_ONE)[0].shape
(1,)
"""

import numpy as np

from keras_tokenlearner import validation

# [-1, 1]: the input of Google's ViT / AugReg checkpoints and of the zoo's models.
MINUS_ONE_TO_ONE = {"scale": (1 / 127.5,), "offset": (-1.0,)}
EXPECTED = ("None, {'scale': s, 'offset': o} (uint8 pixels p become p * s + o) or "
            "{'mean': m, 'std': s} in [0, 1] pixel units: floats, or sequences of one "
            "entry per channel of the same length; scales and stds positive")


def canonical(value):
    """`value` as None or `{"scale": (floats), "offset": (floats)}`.

    Accepts None; `{"scale": s, "offset": o}` with floats or sequences
    (lists too, as JSON gives back); `{"mean": m, "std": s}` in [0, 1] pixel
    units, as timm and Hugging Face publish them, so that
    `scale = 1 / (255 * std)` and `offset = -mean / std`. Raises the
    package's `ValueError` naming `preprocessing` for anything else.
    """
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) not in ({"scale", "offset"}, {"mean", "std"}):
        raise validation.invalid_value("preprocessing", EXPECTED, value)
    if "mean" in value:
        std, mean = _floats(value["std"], value), _floats(value["mean"], value)
        _check(std, mean, value)
        scale = tuple(1.0 / (255.0 * s) for s in std)
        return {"scale": scale, "offset": tuple(-m / s for m, s in zip(mean, std))}
    scale, offset = _floats(value["scale"], value), _floats(value["offset"], value)
    _check(scale, offset, value)
    return {"scale": scale, "offset": offset}


def scale_and_offset(record):
    """`(scale, offset)`: float32 arrays of shape `(len,)` for the channel
    axis, so that `pixels * scale + offset` is the model's input."""
    record = canonical(record)
    if record is None:
        raise validation.invalid_value(
            "preprocessing", "a record, not None (the model records none: pass "
            "`preprocessing=` explicitly)", None)
    return tuple(np.asarray(record[key], np.float32) for key in ("scale", "offset"))


def of_model(model):
    """The canonical record a model carries, or None.

    `model.arguments["preprocessing"]` for a `ViT` or `VideoViT`, else the
    model's own `preprocessing` attribute (so your own model can set one).
    """
    arguments = getattr(model, "arguments", None)
    if isinstance(arguments, dict) and "preprocessing" in arguments:  # ViT, VideoViT
        return canonical(arguments["preprocessing"])
    return canonical(getattr(model, "preprocessing", None))


def resolve(given, model):
    """The record in use: `given` (canonical) if not None, else the model's own."""
    return canonical(given) or of_model(model)


def _floats(entry, value):
    """A float or a non-empty sequence of floats -> a tuple of floats."""
    entries = tuple(entry) if isinstance(entry, (list, tuple, np.ndarray)) else (entry,)
    if not entries or not all(validation.is_real(number) for number in entries):
        raise validation.invalid_value("preprocessing", EXPECTED, value)
    return tuple(float(number) for number in entries)


def _check(positive, other, value):
    """Finite entries, positive scales (or stds), both of the same length."""
    finite = bool(np.all(np.isfinite(positive + other)))
    if len(positive) != len(other) or not finite or min(positive) <= 0:
        raise validation.invalid_value("preprocessing", EXPECTED, value)
