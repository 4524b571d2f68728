"""keras_tokenlearner: TokenLearner and TokenFuser for Keras 3.

Import the package before `keras.models.load_model` on a `.keras` file that
holds its layers: importing it registers them with Keras's serializer.
"""

from keras_tokenlearner import layers
from keras_tokenlearner.layers import TokenFuser
from keras_tokenlearner.layers import TokenLearner

__version__ = "0.1.0"

__all__ = ["TokenFuser", "TokenLearner", "__version__", "layers"]
