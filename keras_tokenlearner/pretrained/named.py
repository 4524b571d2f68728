"""Named public checkpoints: `weights="imagenet21k"` and friends -> the authors' URLs.

A name picks one file per ViT size and patch size; the size is read off the
model's width and depth, the patch off its patch (or tubelet) size, so the
same name serves the TokenLearner, TokenFuser and video variants.
"""

from keras_tokenlearner import validation

AUGREG = "https://storage.googleapis.com/vit_models/augreg/"
ORIGINAL = "https://storage.googleapis.com/vit_models/"
# (hidden_dim, num_layers) -> the authors' size letter.
SIZES = {(192, 12): "Ti", (384, 12): "S", (768, 12): "B", (1024, 24): "L", (1280, 32): "H"}
NAMED_WEIGHTS = {}  # name -> {(size, patch): url}; filled below


def url(name, model_arguments):
    """The URL of checkpoint `name` for a model with these constructor arguments."""
    files = NAMED_WEIGHTS[name]
    arguments = model_arguments or {}
    size = SIZES.get((arguments.get("hidden_dim"), arguments.get("num_layers")))
    patch = arguments.get("patch_size") or (arguments.get("tubelet_size") or (None, None))[1]
    if (size, patch) not in files:
        available = ", ".join(f"{size}/{patch}" for size, patch in files)
        raise validation.invalid_value(
            "weights", f"a checkpoint name for this model's size; {name!r} exists for ViT "
            f"{available}", f"{name!r} for a model of hidden_dim="
            f"{arguments.get('hidden_dim')}, num_layers={arguments.get('num_layers')}, "
            f"patch {patch}",
        )
    return files[(size, patch)]
