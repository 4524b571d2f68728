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
# # TokenLearner quickstart
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-tokenlearner/keras_tokenlearner/blob/main/colab/01_quickstart.ipynb)
#
# TokenLearner (Ryoo et al., NeurIPS 2021) learns a handful of adaptive tokens
# from a feature map, so the attention after it runs on 8 tokens instead of
# hundreds of patches. This notebook drops the layer into a Keras model,
# trains a TokenLearner ViT on real handwritten digits (bundled, no download),
# plots what each token looks at, and compares it with a plain ViT.

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
EPOCHS = 1 if SMOKE else 30
# Smoke runs get a fresh temporary workdir: a run resumes from its workdir.
WORKDIR = tempfile.mkdtemp(prefix="quickstart-smoke-") if SMOKE else "runs/quickstart"
FIGURES = os.path.join(WORKDIR, "figures") if SMOKE else "figures"  # README figures

# %% [markdown]
# ## 1. TokenLearner inside your own Keras model
# `TokenLearner(num_tokens)` turns a `(batch, height, width, channels)` map
# into `(batch, num_tokens, channels)`; with `return_attention_maps=True` it
# also returns the weights that made each token.

# %%
import keras

import keras_tokenlearner as ktl

images = keras.Input((32, 32, 3))
patches = keras.layers.Conv2D(64, 4, strides=4)(images)  # (B, 8, 8, 64)
tokens, maps = ktl.TokenLearner(num_tokens=8)(patches, return_attention_maps=True)
print("patches:", patches.shape, "-> tokens:", tokens.shape, "maps:", maps.shape)

# %% [markdown]
# ## 2. Train a TokenLearner ViT on the embedded digits
# `train` is the same trainer as the `keras-tokenlearner train` command:
# tf.distribute, XLA, AdamW with warmup and cosine decay, checkpoints.

# %%
from keras_tokenlearner.train import train

learner_metrics = train(model="vit_test_patch4_tokenlearner", epochs=EPOCHS,
                        workdir=WORKDIR + "/tokenlearner", export=False, verbose=False)
print(f"TokenLearner ViT test accuracy: {learner_metrics['test_accuracy']:.3f}")

# %% [markdown]
# ## 3. What did the tokens learn to look at?
# Each row: a test digit, then the attention map of each token
# (the softmax weights that pooled the patches into that token; this small
# model learns 4 tokens, the zoo's full-size entries 8).

# %%
from keras_tokenlearner import data
from keras_tokenlearner import visualize

model = keras.models.load_model(WORKDIR + "/tokenlearner/model.keras")
builder, info = data.load("digits")
batch, labels = next(iter(data.pipeline(builder, info, "test", (32, 32, 3), 4, training=False)))
attention = visualize.attention_maps(model, batch)
os.makedirs(FIGURES, exist_ok=True)
figure = visualize.plot_attention_grid(batch.numpy(), attention, labels=labels.numpy(),
                                       path=os.path.join(FIGURES, "attention_digits.png"))

# %% [markdown]
# ## 4. Plain ViT against TokenLearner ViT
# Same size, same recipe; TokenLearner runs before block 1 of 2 (the paper's
# "at 1/2"), so the second block sees 4 tokens instead of 64 patches.

# %%
plain_metrics = train(model="vit_test_patch4", epochs=EPOCHS, workdir=WORKDIR + "/plain",
                      export=False, verbose=False)
print(f"{'model':<32}{'parameters':>12}{'GFLOPs':>10}{'accuracy':>10}")
for name, metrics in [("vit_test_patch4", plain_metrics),
                      ("vit_test_patch4_tokenlearner", learner_metrics)]:
    counted = ktl.flops(ktl.create_model(name, image_shape=(32, 32, 3)))
    print(f"{name:<32}{metrics['parameters']:>12,}{counted.gflops:>10.4f}"
          f"{metrics['test_accuracy']:>10.3f}")
