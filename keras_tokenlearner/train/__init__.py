"""Training on tf.distribute with XLA: `keras-tokenlearner train`.

TensorFlow-only: import it explicitly (`from keras_tokenlearner.train import
train`); the package's top level never imports it. The names below load on
first use, so `keras_tokenlearner.train.config` (the command line's flags)
imports without TensorFlow; where that import fails, the ImportError names
the error it raised.
"""

import importlib

_NAMES = {
    "TrainConfig": "keras_tokenlearner.train.config",
    "TrainingError": "keras_tokenlearner.train.loop",
    "train": "keras_tokenlearner.train.runner",
    "configure_cpu_devices": "keras_tokenlearner.train.strategies",
}

__all__ = ["TrainConfig", "TrainingError", "configure_cpu_devices", "train"]


def __getattr__(name):
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(_NAMES[name])
    except Exception as error:  # raised as is, an AttributeError would read "cannot import name"
        raise ImportError(
            f"{__name__}.{name} could not be imported, as importing {_NAMES[name]} raised "
            f"{type(error).__name__}: {error} (the trainer needs TensorFlow and "
            "tensorflow-datasets: the package's [cpu] or [gpu] extra, or [train] beside your "
            "own TensorFlow)"
        ) from error
    return getattr(module, name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
