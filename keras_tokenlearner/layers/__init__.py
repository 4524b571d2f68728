"""Backend-agnostic Keras 3 layers: only `keras` and `keras.ops` are used."""

from keras_tokenlearner.layers.attention import MultiHeadSelfAttention
from keras_tokenlearner.layers.embedding import ClassToken
from keras_tokenlearner.layers.embedding import PositionEmbedding
from keras_tokenlearner.layers.mlp import MLP
from keras_tokenlearner.layers.token_fuser import TokenFuser
from keras_tokenlearner.layers.token_learner import TokenLearner
from keras_tokenlearner.layers.transformer import TransformerBlock

__all__ = [
    "MLP",
    "MultiHeadSelfAttention",
    "ClassToken",
    "PositionEmbedding",
    "TokenFuser",
    "TokenLearner",
    "TransformerBlock",
]
