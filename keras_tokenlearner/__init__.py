"""keras_tokenlearner: TokenLearner and TokenFuser for Keras 3.

Import the package before `keras.models.load_model` on a `.keras` file that
holds its layers or models: importing it registers them with Keras.
"""

# ruff: noqa: E402  (the command's start runs before the imports that load TensorFlow)
from keras_tokenlearner import quiet

quiet.command_start()  # `keras-tokenlearner` only: hides TensorFlow's C++ log lines

# isort: split
from keras_tokenlearner import layers
from keras_tokenlearner import models
from keras_tokenlearner.export import export_saved_model
from keras_tokenlearner.layers import TokenFuser
from keras_tokenlearner.layers import TokenLearner
from keras_tokenlearner.models import VideoViT
from keras_tokenlearner.models import ViT
from keras_tokenlearner.models import create_model
from keras_tokenlearner.models import flops
from keras_tokenlearner.models import list_models
from keras_tokenlearner.models import resize_position_embedding
from keras_tokenlearner.models import transfer_weights
from keras_tokenlearner.pretrained import load_pretrained
from keras_tokenlearner.pretrained import save_npz
from keras_tokenlearner.version import __version__

__all__ = [
    "TokenFuser",
    "TokenLearner",
    "VideoViT",
    "ViT",
    "__version__",
    "create_model",
    "export_saved_model",
    "flops",
    "layers",
    "list_models",
    "load_pretrained",
    "models",
    "resize_position_embedding",
    "save_npz",
    "transfer_weights",
]
