# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Scale and serve: tf.distribute, XLA, mixed precision, SavedModel
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-tokenlearner/keras_tokenlearner/blob/main/colab/03_scale_and_serve.ipynb)
#
# Pick a strategy, train with XLA (and optionally mixed precision), export a
# SavedModel for TF Serving, then send it a TF-Serving-style request.

# %%
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

# %% tags=["parameters"]
# SMOKE=1 (set by CI) shrinks training so the notebook runs in about a minute.
import os
import tempfile

SMOKE = os.environ.get("SMOKE", "0") == "1"
STEPS = 10 if SMOKE else 600
# Smoke runs get a fresh temporary workdir: a run resumes from its workdir.
WORKDIR = tempfile.mkdtemp(prefix="scale-smoke-") if SMOKE else "runs/scale"

# %% [markdown]
# ## Choose a strategy
# `"tpu"` where `strategies.tpu_address()` finds a TPU (a TPU VM such as
# Colab's TPU runtimes, a `TPU_NAME`, or Colab's former `COLAB_TPU_ADDR`) and
# TensorFlow's TPU build is installed (it brings `libtpu`; the install cell
# above does not add it, so without it this notebook trains on the CPU).
# Elsewhere `"mirrored"`: over several GPUs, or, on a CPU-only machine, over
# two logical devices that `cpu_devices=2` splits the CPU into, so mirrored
# training is real. That split must happen before TensorFlow starts, which is
# why no earlier cell touched TensorFlow.

# %%
import importlib.util
import json

import numpy as np
import tensorflow as tf

from keras_tokenlearner.train import strategies

ON_TPU = strategies.tpu_address() is not None and importlib.util.find_spec("libtpu") is not None
STRATEGY = "tpu" if ON_TPU else "mirrored"
CPU_DEVICES = 1 if tf.config.list_physical_devices("GPU") or STRATEGY == "tpu" else 2

# %% [markdown]
# ## Train with XLA and mixed precision
# `mixed_precision=True` means bfloat16 on CPU and TPU, float16 with loss
# scaling on GPU. The trainer compiles each replica's step with XLA.

# %%
from keras_tokenlearner.train import train

metrics = train(model="vit_test_patch4_tokenlearner", steps=STEPS, strategy=STRATEGY,
                cpu_devices=CPU_DEVICES, jit_compile=True, mixed_precision=not SMOKE,
                workdir=WORKDIR, verbose=False)
print(json.dumps({key: metrics[key] for key in
                  ("strategy", "num_replicas", "dtype_policy", "test_accuracy")}, indent=1))

# %% [markdown]
# ## The exported SavedModel
# The run exported `WORKDIR/export/1`: TF Serving's layout. Its
# `serving_default` signature takes raw uint8 images and returns named outputs.

# %%
export_path = metrics["export_path"]
print(sorted(os.listdir(export_path)))
loaded = tf.saved_model.load(export_path)
print(loaded.signatures["serving_default"].structured_outputs)

# %% [markdown]
# ## A TF-Serving-style request
# `predict_request` builds the JSON body of a REST `:predict` call. Here we
# decode it the way TF Serving does (JSON numbers to the signature's uint8)
# and run it through the signature, as the server would.

# %%
from keras_tokenlearner import data
from keras_tokenlearner.export import predict_request

builder, info = data.load("digits")
raw = [example.numpy() for example, _ in builder.as_dataset(split="test", as_supervised=True).take(3)]
images = np.repeat(np.stack(raw), 3, axis=-1)  # gray to the RGB the signature takes
body = predict_request(images)
print(body[:120], "...")
instances = np.array(json.loads(body)["instances"], dtype=np.uint8)
answer = loaded.signatures["serving_default"](images=tf.constant(instances))
print("top labels:", answer["top_k_labels"].numpy()[:, 0])
print("scores:", answer["top_k_scores"].numpy()[:, 0])
