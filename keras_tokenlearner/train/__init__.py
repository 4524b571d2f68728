"""Training on tf.distribute with XLA: `keras-tokenlearner train`.

TensorFlow-only: import it explicitly (`from keras_tokenlearner.train import
train`); the package's top level never imports it. The names below load on
first use, so `keras_tokenlearner.train.config` (the command line's flags)
imports without TensorFlow.
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
    return getattr(importlib.import_module(_NAMES[name]), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
