"""Backend-agnostic models: ViT and VideoViT with TokenLearner / TokenFuser."""

from keras_tokenlearner.models.flops import FlopsCount
from keras_tokenlearner.models.flops import flops
from keras_tokenlearner.models.resolution import resize_position_embedding
from keras_tokenlearner.models.resolution import transfer_weights
from keras_tokenlearner.models.vit import ViT
from keras_tokenlearner.models.vivit import VideoViT
from keras_tokenlearner.models.zoo import create_model
from keras_tokenlearner.models.zoo import list_models

__all__ = [
    "FlopsCount",
    "VideoViT",
    "ViT",
    "create_model",
    "flops",
    "list_models",
    "resize_position_embedding",
    "transfer_weights",
]
