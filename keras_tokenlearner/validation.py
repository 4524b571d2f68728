"""Argument checks shared by the whole package.

Every check raises a `ValueError` in the Keras style, naming the argument and
the value received, e.g.:

    Invalid value received for argument `num_tokens`. Expected a positive
    int. Received: num_tokens=0

Pure Python: no backend import, so layers, models and the trainer share it.
"""

import numbers


def invalid_value(name, expected, value):
    """Returns the package's one `ValueError` for a bad argument value."""
    return ValueError(
        f"Invalid value received for argument `{name}`. Expected {expected}. "
        f"Received: {name}={value!r}"
    )


def is_int(value):
    """Whether `value` is an int (NumPy ints too, bools not)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value):
    """Whether `value` is a real number (NumPy floats and ints too, bools not)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_positive_int(name, value):
    """Checks `value` is an int >= 1 (bools are rejected)."""
    if not is_int(value) or value < 1:
        raise invalid_value(name, "a positive int", value)
    return int(value)


def check_non_negative_int(name, value):
    """Checks `value` is an int >= 0 (bools are rejected)."""
    if not is_int(value) or value < 0:
        raise invalid_value(name, "a non-negative int", value)
    return int(value)


def check_rate(name, value):
    """Checks `value` is a float in [0, 1), as dropout rates must be."""
    if not is_real(value) or not 0.0 <= value < 1.0:
        raise invalid_value(name, "a float in the range [0, 1)", value)
    return float(value)


def check_positive_float(name, value):
    """Checks `value` is a real number > 0."""
    if not is_real(value) or not value > 0:
        raise invalid_value(name, "a positive float", value)
    return float(value)


def check_non_negative_float(name, value):
    """Checks `value` is a real number >= 0."""
    if not is_real(value) or not value >= 0:
        raise invalid_value(name, "a non-negative float", value)
    return float(value)


def check_positive_int_tuple(name, value, description):
    """Checks `value` is a tuple (or list) of positive ints, e.g. a shape.

    `description` names the entries, e.g. "(height, width, channels)".
    """
    length = description.count(",") + 1
    valid = isinstance(value, (tuple, list)) and len(value) == length and all(
        is_int(entry) and entry > 0 for entry in value
    )
    if not valid:
        raise invalid_value(name, f"a {description} tuple of positive ints", value)
    return tuple(int(entry) for entry in value)


def check_bool(name, value):
    """Checks `value` is a bool."""
    if not isinstance(value, bool):
        raise invalid_value(name, "a bool", value)
    return value


def check_choice(name, value, choices):
    """Checks `value` is one of `choices`."""
    if value not in choices:
        listed = ", ".join(repr(choice) for choice in choices)
        raise invalid_value(name, f"one of {listed}", value)
    return value


def check_tensorflow_backend(feature, backend):
    """Checks `backend` (`keras.backend.backend()`) is TensorFlow, as `feature` needs.

    `feature` starts the message, e.g. "keras_tokenlearner.train".
    """
    if backend != "tensorflow":
        raise ValueError(
            f"{feature} runs on the TensorFlow backend only. Expected "
            "keras.backend.backend() == 'tensorflow': set KERAS_BACKEND=tensorflow before "
            f"Keras is first imported. Received: backend={backend!r}"
        )
    return backend


def check_keras_version(feature, minimum, installed, api, alternative):
    """Checks the installed Keras (`keras.version()`) is `minimum` (major, minor)
    or newer, as `feature` needs for `api`; `alternative` ends the message."""
    if tuple(int(part) for part in installed.split(".")[:2]) < minimum:
        raise ValueError(
            f"{feature} needs Keras {minimum[0]}.{minimum[1]} or newer ({api}); this is "
            f"Keras {installed}. {alternative}"
        )
    return installed
