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
# # Fine-tune a pretrained ViT, with and without TokenLearner
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-tokenlearner/keras_tokenlearner/blob/main/colab/04_finetune_pretrained.ipynb)
#
# Start from Google's public AugReg ViT-Ti/16 checkpoint (ImageNet-21k) and
# fine-tune it on `tf_flowers` three ways: the plain ViT, and the same ViT
# with TokenLearner inserted at 1/2 and at 3/4 of its depth. The transformer
# blocks come from the checkpoint; TokenLearner starts fresh. Then compare
# accuracy, cost and speed, look at what the tokens attend to, and export the
# best model for TF Serving.

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
# SMOKE=1 (set by CI) runs offline in about a minute: instead of downloading
# the checkpoint, it trains a tiny ViT on the bundled digits and fine-tunes from that.
import os
import tempfile

SMOKE = os.environ.get("SMOKE", "0") == "1"
MODEL = "vit_test_patch4" if SMOKE else "vit_tiny_patch16"  # ViT-Ti/16 on Colab
DATASET = "digits" if SMOKE else "tf_flowers"
IMAGE_SIZE = None if SMOKE else 224  # None: the dataset's own size (32 px digits)
NUM_LAYERS = 4 if SMOKE else 12  # 4 smoke blocks, so that 1/2 (2) and 3/4 (3) differ
EPOCHS = 1 if SMOKE else 5
STEPS = 10 if SMOKE else None  # None: EPOCHS full passes over the training split
LEARNING_RATE = 3e-4
# A run resumes from its workdir: smoke runs get a fresh temporary one.
WORKDIR = tempfile.mkdtemp(prefix="finetune-smoke-") if SMOKE else "runs/finetune"

# %% [markdown]
# ## 1. The pretrained checkpoint
# On Colab, `weights="imagenet21k"` names the AugReg ViT-Ti/16 ImageNet-21k
# checkpoint (the file is picked from the model's width, depth and patch
# size) and is downloaded once into `~/.keras/keras_tokenlearner/`. A smoke
# run has no network, so it makes a stand-in: a plain ViT trained briefly on
# the digits, written by `save_npz` in the big_vision `.npz` layout that the
# public checkpoints use.

# %%
import keras

import keras_tokenlearner as ktl
from keras_tokenlearner import data
from keras_tokenlearner import visualize
from keras_tokenlearner.train import train

DEPTH = {"num_layers": NUM_LAYERS}
if SMOKE:
    train(model=MODEL, dataset=DATASET, steps=20, model_overrides=DEPTH,
          workdir=os.path.join(WORKDIR, "pretrain"), export=False, verbose=False)
    pretrained = keras.models.load_model(os.path.join(WORKDIR, "pretrain", "model.keras"))
    WEIGHTS = ktl.save_npz(pretrained, os.path.join(WORKDIR, "vit_digits.npz"))
else:
    WEIGHTS = "imagenet21k"
print("pretrained weights:", WEIGHTS)

# %% [markdown]
# ## 2. What a TokenLearner ViT takes from the checkpoint
# `load_pretrained` fits the checkpoint to the model and says what it did:
# the patch embedding and the transformer blocks load as they are; the
# position embedding is resized when the patch grid differs; the class token
# is dropped, as the TokenLearner models pool by global average; the head
# loads only if it has the right number of classes; and the TokenLearner
# layer has no pretrained counterpart, so it starts fresh.

# %%
builder, info = data.load(DATASET)
size = IMAGE_SIZE or info.example_shape[0]
model = ktl.create_model(MODEL + "_tokenlearner", num_classes=info.num_classes,
                         image_shape=(size, size, 3), **DEPTH)
print(ktl.load_pretrained(model, WEIGHTS))

# %% [markdown]
# ## 3. Fine-tune three models from the same checkpoint
# `train(weights=...)` builds each model from the checkpoint the same way,
# then fine-tunes all of it with the same recipe (AdamW, warmup and cosine
# decay, learning rate 3e-4).

# %%
VARIANTS = {  # workdir: (label, zoo name, constructor overrides)
    "vit": ("plain ViT", MODEL, {}),
    "tokenlearner_half": ("TokenLearner at 1/2", MODEL + "_tokenlearner",
                          {"token_learner_index": NUM_LAYERS // 2}),
    "tokenlearner_3_4": ("TokenLearner at 3/4", MODEL + "_tokenlearner",
                         {"token_learner_index": 3 * NUM_LAYERS // 4}),
}
results = {}
for run, (label, name, overrides) in VARIANTS.items():
    results[run] = train(model=name, dataset=DATASET, weights=WEIGHTS,
                         learning_rate=LEARNING_RATE, epochs=EPOCHS, steps=STEPS,
                         image_size=IMAGE_SIZE, model_overrides={**DEPTH, **overrides},
                         workdir=os.path.join(WORKDIR, run), export=False, verbose=not SMOKE)

# %% [markdown]
# ## 4. Results
# A caveat from the TokenLearner authors: asked whether TokenLearner works
# inside a pretrained ViT for transfer learning, they answered
# ([Scenic issue #112](https://github.com/google-research/scenic/issues/112)):
# "If you mean initializing the normal transformer layers from a pretrained
# ViT, we have tried this. This, unfortunately, doesn't help when there are
# TokenLearners in between ViT layers." The pretrained blocks after a
# TokenLearner see 8 learned tokens instead of the patches they were trained
# on. We draw no conclusion here: the table below is left to speak for itself.

# %%
print(f"{'model':<22}{'test accuracy':>15}{'GFLOPs':>10}{'images/s':>10}")
for run, (label, _, _) in VARIANTS.items():
    metrics = results[run]
    print(f"{label:<22}{metrics['test_accuracy']:>15.3f}{metrics['gflops_per_example']:>10.4f}"
          f"{metrics['train_images_per_second']:>10.0f}")

# %% [markdown]
# ## 5. What the fine-tuned tokens look at
# The more accurate of the two TokenLearner models: each row a test image,
# then the attention map of each of its learned tokens.

# %%
learner = max(["tokenlearner_half", "tokenlearner_3_4"],
              key=lambda run: results[run]["test_accuracy"])
model = keras.models.load_model(os.path.join(WORKDIR, learner, "model.keras"))
images, labels = next(iter(data.pipeline(builder, info, info.test_split, model.input_shape[1:],
                                         4, training=False)))
attention = visualize.attention_maps(model, images)
figure = visualize.plot_attention_grid(
    images.numpy(), attention, labels=[info.class_names[label] for label in labels.numpy()],
    path=os.path.join(WORKDIR, "attention.png"))
print(VARIANTS[learner][0])

# %% [markdown]
# ## 6. Export the best model for TF Serving
# `export_saved_model` writes `WORKDIR/export/1`, TF Serving's layout; its
# `serving_default` signature takes raw uint8 images of any size (the resize
# is inside) and returns probabilities and the top class names.

# %%
best = max(results, key=lambda run: results[run]["test_accuracy"])
model = keras.models.load_model(os.path.join(WORKDIR, best, "model.keras"))
export_path = ktl.export_saved_model(model, os.path.join(WORKDIR, "export"),
                                     class_names=list(info.class_names), overwrite=True)
print(f"{VARIANTS[best][0]} exported to {export_path}:", sorted(os.listdir(export_path)))
