"""Named public checkpoints: `weights="imagenet21k"` and friends -> the authors' URLs.

A name picks one file per ViT size and patch size; the size is read off the
model's width and depth, the patch off its patch (or tubelet) size, so the
same name serves the TokenLearner, TokenFuser and video variants. A name
that states a resolution (`"imagenet21k+imagenet2012-384"`) gives the
image size its files were fine-tuned at (`image_size`).
"""

from keras_tokenlearner import validation

AUGREG = "https://storage.googleapis.com/vit_models/augreg/"
ORIGINAL = "https://storage.googleapis.com/vit_models/"
# (hidden_dim, num_layers) -> the authors' size letter.
SIZES = {(192, 12): "Ti", (384, 12): "S", (768, 12): "B", (1024, 24): "L", (1280, 32): "H"}
# The authors' recommended AugReg ImageNet-21k files (best upstream validation,
# vision_transformer README), else the original ViT files; their ImageNet-2012
# fine-tunes at 224 px (S/32, B/32 and L/16: the 224 px fine-tunes timm ships,
# of another AugReg upstream; L/32: the original, fine-tuned at 384 px).
FINE_TUNED = "--imagenet2012-steps_20k-lr_{}-res_224.npz"
FINE_TUNED_384 = "--imagenet2012-steps_20k-lr_{}-res_384.npz"
UPSTREAMS = {
    ("Ti", 16): "Ti_16-i21k-300ep-lr_0.001-aug_none-wd_0.03-do_0.0-sd_0.0",
    ("S", 16): "S_16-i21k-300ep-lr_0.001-aug_light1-wd_0.03-do_0.0-sd_0.0",
    ("S", 32): "S_32-i21k-300ep-lr_0.001-aug_none-wd_0.1-do_0.0-sd_0.0",
    ("B", 8): "B_8-i21k-300ep-lr_0.001-aug_medium2-wd_0.1-do_0.0-sd_0.0",
    ("B", 16): "B_16-i21k-300ep-lr_0.001-aug_medium1-wd_0.1-do_0.0-sd_0.0",
    ("B", 32): "B_32-i21k-300ep-lr_0.001-aug_light1-wd_0.1-do_0.0-sd_0.0",
    ("L", 16): "L_16-i21k-300ep-lr_0.001-aug_strong1-wd_0.1-do_0.0-sd_0.0",
}
NAMED_WEIGHTS = {
    "imagenet21k": {
        **{key: AUGREG + name + ".npz" for key, name in UPSTREAMS.items()},
        ("L", 32): ORIGINAL + "imagenet21k/ViT-L_32.npz",
        ("H", 14): ORIGINAL + "imagenet21k/ViT-H_14.npz",
    },
    "imagenet21k+imagenet2012": {
        ("Ti", 16): AUGREG + UPSTREAMS[("Ti", 16)] + FINE_TUNED.format("0.03"),
        ("S", 16): AUGREG + UPSTREAMS[("S", 16)] + FINE_TUNED.format("0.03"),
        ("S", 32): AUGREG + "S_32-i21k-300ep-lr_0.001-aug_light1-wd_0.03-do_0.0-sd_0.0"
        + FINE_TUNED.format("0.03"),
        ("B", 8): AUGREG + UPSTREAMS[("B", 8)] + FINE_TUNED.format("0.03"),
        ("B", 16): AUGREG + UPSTREAMS[("B", 16)] + FINE_TUNED.format("0.01"),
        ("B", 32): AUGREG + "B_32-i21k-300ep-lr_0.001-aug_medium1-wd_0.03-do_0.0-sd_0.0"
        + FINE_TUNED.format("0.03"),
        ("L", 16): AUGREG + "L_16-i21k-300ep-lr_0.001-aug_medium1-wd_0.1-do_0.1-sd_0.1"
        + FINE_TUNED.format("0.01"),
        ("L", 32): ORIGINAL + "imagenet21k%2Bimagenet2012/ViT-L_32.npz",
    },
    # The authors' recommended AugReg checkpoints fine-tuned on ImageNet-2012
    # at 384 px: the "Fine-tuned checkpoint" column of the table in
    # google-research/vision_transformer README.md ("Available ViT models",
    # commit c6de1e5), which lists files of gs://vit_models/augreg/index.csv.
    # Each is a fine-tune of this module's `imagenet21k` file of its size.
    "imagenet21k+imagenet2012-384": {
        ("Ti", 16): AUGREG + UPSTREAMS[("Ti", 16)] + FINE_TUNED_384.format("0.03"),
        ("S", 16): AUGREG + UPSTREAMS[("S", 16)] + FINE_TUNED_384.format("0.03"),
        ("S", 32): AUGREG + UPSTREAMS[("S", 32)] + FINE_TUNED_384.format("0.01"),
        ("B", 16): AUGREG + UPSTREAMS[("B", 16)] + FINE_TUNED_384.format("0.03"),
        ("B", 32): AUGREG + UPSTREAMS[("B", 32)] + FINE_TUNED_384.format("0.01"),
        ("L", 16): AUGREG + UPSTREAMS[("L", 16)] + FINE_TUNED_384.format("0.01"),
    },
}
# The image size a name's files were fine-tuned at, where the name states it.
IMAGE_SIZES = {"imagenet21k+imagenet2012-384": 384}
# Expected size (bytes) or sha256 of a named file, where a public source
# states one: `cache.fetch` checks them. None is stated for the files above:
# the vision_transformer README gives sizes rounded to MiB, and GCS lists
# no checksums outside its API.
CHECKSUMS = {}


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


def image_size(name):
    """The image size checkpoint `name` was fine-tuned at, where its name
    states one (384 for `"imagenet21k+imagenet2012-384"`), else None."""
    return IMAGE_SIZES.get(name) if isinstance(name, str) else None


def checksums(url):
    """`{"size": ..., "sha256": ...}` known for `url` (empty where none is)."""
    return dict(CHECKSUMS.get(url, {}))
