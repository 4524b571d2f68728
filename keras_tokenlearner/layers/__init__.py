"""Backend-agnostic Keras 3 layers: only `keras` and `keras.ops` are used."""

from keras_tokenlearner.layers.mlp import MLP
from keras_tokenlearner.layers.token_fuser import TokenFuser
from keras_tokenlearner.layers.token_learner import TokenLearner

__all__ = ["MLP", "TokenFuser", "TokenLearner"]
