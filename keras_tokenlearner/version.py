"""The package version, importable without Keras or TensorFlow (the CLI's `--version`)."""

__version__ = "0.1.0"
