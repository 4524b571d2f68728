# Installs the package on Colab, keeping the runtime's TensorFlow, Keras, JAX
# and torch where the package supports them; elsewhere (and in CI) it is
# already installed. KERAS_TOKENLEARNER_SOURCE, a pip URL (a fork, a branch,
# file:///path/to/a/checkout), installs from there, on Colab or not.
import importlib.metadata
import os
import subprocess
import sys

SOURCE = os.environ.get("KERAS_TOKENLEARNER_SOURCE",
                        "git+https://github.com/keras-tokenlearner/keras_tokenlearner")
TENSORFLOW_RANGE, OLDEST_TENSORFLOW, NEWEST_TENSORFLOW = ">=2.19,<2.22", (2, 19), (2, 21)


def installed_tensorflow():
    """The runtime's TensorFlow distribution and its version, or (None, None)."""
    for name in ("tensorflow", "tensorflow-cpu", "tensorflow-tpu"):
        try:
            return name, importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return None, None


def requirements():
    """What pip installs: the package, with the extra that suits the runtime."""
    name, version = installed_tensorflow()
    if name is None:  # Colab's TPU runtime has JAX but no TensorFlow, which training needs
        print("No TensorFlow here: installing tensorflow-cpu", TENSORFLOW_RANGE)
        return [f"keras_tokenlearner[cpu] @ {SOURCE}"]
    package = f"keras_tokenlearner[train] @ {SOURCE}"  # [train] brings no TensorFlow
    minor = tuple(int(part) for part in version.split(".")[:2])
    if minor < OLDEST_TENSORFLOW:  # upgrade that same distribution, never add a second
        print(f"Upgrading {name} {version} to {TENSORFLOW_RANGE}")
        return [package, f"{name}{TENSORFLOW_RANGE}"]
    if minor > NEWEST_TENSORFLOW:
        print(f"Keeping {name} {version}, newer than the tested {TENSORFLOW_RANGE}")
    # Named, so that pip keeps it and honours its pins (protobuf, numpy).
    return [package, f"{name}=={version}"]


if "google.colab" in sys.modules or "KERAS_TOKENLEARNER_SOURCE" in os.environ:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *requirements()], check=True)
