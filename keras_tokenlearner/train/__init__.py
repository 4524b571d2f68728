"""Training on tf.distribute with XLA: `keras-tokenlearner train`.

TensorFlow-only: import it explicitly (`from keras_tokenlearner.train import
train`); the package's top level never imports it.
"""

from keras_tokenlearner.train.config import TrainConfig
from keras_tokenlearner.train.loop import TrainingError
from keras_tokenlearner.train.runner import train

__all__ = ["TrainConfig", "TrainingError", "train"]
