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

TENSORFLOW = "2.21.*"
DOCS = ["mkdocs>=1.6,<2", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.26"]

setup(
    name="keras_tokenlearner",
    version=VERSION,
    description="TokenLearner and TokenFuser (Ryoo et al., NeurIPS 2021) for Keras 3",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(include=["keras_tokenlearner", "keras_tokenlearner.*"]),
    # TensorFlow itself is an extra, so CPU users are not forced onto the
    # large CUDA build: pick `[cpu]` or `[gpu]`. The layers and models run on
    # any Keras backend (JAX included) without TensorFlow.
    install_requires=[
        "keras>=3.15,<4",
        "numpy>=1.26",
        "tensorflow-datasets>=4.9,<5",
        "importlib_resources",  # imported lazily by tensorflow-datasets 4.9
        "scikit-learn>=1.3",  # ships the embedded `digits` data
        "scipy>=1.10",  # ndimage.zoom upsamples the embedded digits
    ],
    extras_require={
        "cpu": [f"tensorflow-cpu=={TENSORFLOW}", "tensorboard"],
        "gpu": [f"tensorflow[and-cuda]=={TENSORFLOW}", "tensorboard"],
        "jax": ["jax[cpu]==0.10.*"],
        "onnx": ["tf2onnx>=1.17", "onnx", "onnxruntime"],
        "litert": ["ai-edge-litert"],
        "safetensors": ["safetensors"],  # timm and Hugging Face checkpoints
        "kaggle": ["kagglehub"],  # kaggle:// keras-hub preset handles
        "notebooks": ["matplotlib", "jupyter"],
        "docs": DOCS,  # the documentation site: `mkdocs build --strict`
        "test": [
            "pytest>=8",
            "jax[cpu]==0.10.*",
            "tf2onnx>=1.17",
            "onnx",
            "onnxruntime",
            "ai-edge-litert",
            "matplotlib",
            "jupytext",
            "nbmake",
            "ipykernel",
            "safetensors",
            *DOCS,
        ],
    },
    entry_points={
        "console_scripts": ["keras-tokenlearner=keras_tokenlearner.cli:main"]
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Framework :: Keras",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
