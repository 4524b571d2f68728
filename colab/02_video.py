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
# # TokenLearner on video: moving digits
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-tokenlearner/keras_tokenlearner/blob/main/colab/02_video.ipynb)
#
# `moving_digits` clips (bundled, generated from real handwritten digits) show
# a digit drifting left or right; the label is digit x direction, so one frame
# is never enough. The video ViT cuts the clip into 2x4x4 tubelets and
# TokenLearner learns its tokens per time step.

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
EPOCHS = 1 if SMOKE else 40
# Smoke runs get a fresh temporary workdir: a run resumes from its workdir.
WORKDIR = tempfile.mkdtemp(prefix="video-smoke-") if SMOKE else "runs/video"
FIGURES = os.path.join(WORKDIR, "figures") if SMOKE else "figures"  # README figures

# %%
import keras

import keras_tokenlearner as ktl
from keras_tokenlearner import data
from keras_tokenlearner import visualize
from keras_tokenlearner.train import train

builder, info = data.load("moving_digits")
print(info.num_classes, "classes, e.g.", info.class_names[:4], "; clips of", info.example_shape)

# %% [markdown]
# ## Train the TokenLearner video ViT

# %%
metrics = train(model="vivit_test_patch4_tokenlearner", dataset="moving_digits",
                epochs=EPOCHS, workdir=WORKDIR, export=False, verbose=False)
model = keras.models.load_model(WORKDIR + "/model.keras")
print(f"test accuracy {metrics['test_accuracy']:.3f} over {info.num_classes} classes; "
      f"{ktl.flops(model).gflops * 1e3:.2f} MFLOPs per clip")

# %% [markdown]
# ## Per-frame attention maps
# Each row is one time step of the tubelet grid (2 frames each); the columns
# are the tokens TokenLearner learned for that step.

# %%
clips, labels = next(iter(data.pipeline(builder, info, "test", (32, 32, 3), 2, training=False)))
attention = visualize.attention_maps(model, clips)  # (B, T', S, h, w)
os.makedirs(FIGURES, exist_ok=True)
figure = visualize.plot_video_attention(clips[0].numpy(), attention[0],
                                        path=os.path.join(FIGURES, "attention_video.png"))
print("label:", info.class_names[int(labels[0])])

# %%
gif = visualize.save_attention_gif(clips[0].numpy(), attention[0],
                                   os.path.join(FIGURES, "attention_video.gif"))
print("animated:", gif)
