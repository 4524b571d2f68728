"""Package metadata for keras_tokenlearner."""

import pathlib
import re

from setuptools import find_packages
from setuptools import setup

HERE = pathlib.Path(__file__).parent
VERSION = re.search(
    r'__version__ = "([^"]+)"',
    (HERE / "keras_tokenlearner" / "version.py").read_text(),
).group(1)

# The supported versions: docs/development.md#supported-versions gives the
# matrix and .ci/run proves it (noxfile.py). Python 3.11 to 3.13: TensorFlow
# 2.21 has no wheel for 3.14, TensorFlow 2.19 none for 3.13.
PYTHON = ">=3.11,<3.14"
TENSORFLOW = ">=2.19,<2.22"
# What the trainer, the datasets and `keras-tokenlearner train` need besides
# TensorFlow itself (the `[train]` extra, for a TensorFlow you already have).
TRAIN = [
    "tensorflow-datasets>=4.9,<5",
    # TFDS asks for any tensorflow-metadata; 1.21's generated code needs
    # protobuf >= 6.31 but does not say so, and TensorFlow 2.19 holds protobuf
    # 5.29. The 1.17.2+ releases (protobuf 4.25 code, no upper protobuf
    # bound) import on protobuf 5.29 (TensorFlow 2.19) through 7.x (2.21).
    "tensorflow-metadata>=1.17.2,<1.18",
    "importlib_resources",  # imported lazily by tensorflow-datasets 4.9
    "scikit-learn>=1.3",  # ships the embedded `digits` data
    "tensorboard",  # tf.summary; TensorFlow 2.21 no longer brings it
]
JAX = "jax[cpu]>=0.5.3"
DOCS = ["mkdocs>=1.6,<2", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.26"]

setup(
    name="keras_tokenlearner",
    version=VERSION,
    description="TokenLearner and TokenFuser (Ryoo et al., NeurIPS 2021) for Keras 3",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=PYTHON,
    packages=find_packages(include=["keras_tokenlearner", "keras_tokenlearner.*"]),
    # The base install is what the layers, the models and checkpoint loading
    # need, on any Keras backend. TensorFlow and the training stack are
    # extras: `[cpu]` or `[gpu]` bring TensorFlow, `[train]` keeps yours.
    install_requires=[
        "keras>=3.10,<4",
        "numpy>=1.26",
        # Not h5py (keras-hub preset weights), which Keras brings: named here,
        # resolvers take its newest, which TensorFlow 2.21 refuses (<3.15), and
        # fall back to TensorFlow 2.20.
        "scipy>=1.10",  # ndimage.zoom resizes position embeddings and digits
    ],
    extras_require={
        "cpu": [f"tensorflow-cpu{TENSORFLOW}", *TRAIN],
        "gpu": [f"tensorflow[and-cuda]{TENSORFLOW}", *TRAIN],
        "train": TRAIN,
        "jax": [JAX],
        "torch": ["torch>=2.14"],
        "onnx": ["tf2onnx>=1.17", "onnx", "onnxruntime"],
        "litert": ["ai-edge-litert"],
        "safetensors": ["safetensors"],  # timm and Hugging Face checkpoints
        "kaggle": ["kagglehub"],  # kaggle:// keras-hub preset handles
        "hub": ["huggingface_hub>=0.26"],  # hf:// Hugging Face Hub repositories
        "notebooks": ["matplotlib", "jupyter"],
        "docs": DOCS,  # the documentation site: `mkdocs build --strict`
        "test": [
            "pytest>=8",
            JAX,
            *TRAIN,
            "tf2onnx>=1.17",
            "onnx",
            "onnxruntime",
            "ai-edge-litert",
            "matplotlib",
            "jupytext",
            "nbmake",
            "ipykernel",
            "safetensors",
            "huggingface_hub>=0.26",
            *DOCS,
        ],
    },
    entry_points={
        "console_scripts": ["keras-tokenlearner=keras_tokenlearner.cli:main"]
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Framework :: Keras",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
