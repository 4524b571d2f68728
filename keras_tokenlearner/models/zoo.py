"""The model zoo: one literal table of named variants.

Names: `vit_{size}_patch{p}` are the plain class-token ViTs of the ViT paper;
`_tokenlearner` adds TokenLearner (8 tokens, v1.1) before block
`num_layers // 2`, the paper's default; `_tokenfuser` uses TokenLearner ->
block -> TokenFuser in every block from there on. `vivit_*` are the video
models (32 frames, 2x16x16 tubelets, Kinetics-400 classes). The `test` size
gives tiny models for tests and demos. Every model records the input it
expects (`preprocessing`): `[-1, 1]` (`preprocessing.MINUS_ONE_TO_ONE`, as
Google's ViT checkpoints), or the pretrained source's.

Each entry pins its expected parameter count at its own defaults, so any
drift in the architecture fails a test: every pinned count is checked against
the architecture's equations, and entries covering every size, patch size and
variant are built and counted.
"""

import concurrent.futures
import difflib
import fnmatch
import inspect

import keras

from keras_tokenlearner import validation
from keras_tokenlearner.models import preprocessing
from keras_tokenlearner.models.vit import ViT
from keras_tokenlearner.models.vivit import VideoViT

SIZES = {
    "tiny": dict(hidden_dim=192, num_layers=12, num_heads=3, mlp_dim=768),
    "small": dict(hidden_dim=384, num_layers=12, num_heads=6, mlp_dim=1536),
    "base": dict(hidden_dim=768, num_layers=12, num_heads=12, mlp_dim=3072),
    "large": dict(hidden_dim=1024, num_layers=24, num_heads=16, mlp_dim=4096),
    "huge": dict(hidden_dim=1280, num_layers=32, num_heads=16, mlp_dim=5120),
    "test": dict(hidden_dim=32, num_layers=2, num_heads=2, mlp_dim=64),
}
IMAGENET = dict(image_shape=(224, 224, 3), num_classes=1000)
KINETICS = dict(num_frames=32, image_shape=(224, 224, 3), tubelet_size=(2, 16, 16), num_classes=400)
TEST_IMAGES = dict(image_shape=(16, 16, 3), num_classes=10)
TEST_VIDEOS = dict(num_frames=4, image_shape=(16, 16, 3), tubelet_size=(2, 4, 4), num_classes=10)
PLAIN = dict(pooling="token")
TOKENLEARNER = dict(pooling="gap", num_tokens=8)
TOKENFUSER = dict(pooling="gap", num_tokens=8, use_token_fuser=True)
TEST_TOKENLEARNER = dict(TOKENLEARNER, num_tokens=4)
TEST_TOKENFUSER = dict(TOKENFUSER, num_tokens=4)

# name: (model class, constructor arguments, expected parameter count)
ZOO = {
    "vit_tiny_patch8": (ViT, dict(SIZES["tiny"], patch_size=8, **IMAGENET, **PLAIN), 5_719_720),
    "vit_tiny_patch8_tokenlearner": (ViT, dict(SIZES["tiny"], patch_size=8, **IMAGENET, **TOKENLEARNER), 5_732_592),
    "vit_tiny_patch8_tokenfuser": (ViT, dict(SIZES["tiny"], patch_size=8, **IMAGENET, **TOKENFUSER), 5_883_448),
    "vit_tiny_patch14": (ViT, dict(SIZES["tiny"], patch_size=14, **IMAGENET, **PLAIN), 5_694_376),
    "vit_tiny_patch14_tokenlearner": (ViT, dict(SIZES["tiny"], patch_size=14, **IMAGENET, **TOKENLEARNER), 5_707_248),
    "vit_tiny_patch14_tokenfuser": (ViT, dict(SIZES["tiny"], patch_size=14, **IMAGENET, **TOKENFUSER), 5_858_104),
    "vit_tiny_patch16": (ViT, dict(SIZES["tiny"], patch_size=16, **IMAGENET, **PLAIN), 5_717_416),
    "vit_tiny_patch16_tokenlearner": (ViT, dict(SIZES["tiny"], patch_size=16, **IMAGENET, **TOKENLEARNER), 5_730_288),
    "vit_tiny_patch16_tokenfuser": (ViT, dict(SIZES["tiny"], patch_size=16, **IMAGENET, **TOKENFUSER), 5_881_144),
    "vit_tiny_patch32": (ViT, dict(SIZES["tiny"], patch_size=32, **IMAGENET, **PLAIN), 6_131_560),
    "vit_tiny_patch32_tokenlearner": (ViT, dict(SIZES["tiny"], patch_size=32, **IMAGENET, **TOKENLEARNER), 6_144_432),
    "vit_tiny_patch32_tokenfuser": (ViT, dict(SIZES["tiny"], patch_size=32, **IMAGENET, **TOKENFUSER), 6_295_288),
    "vit_small_patch8": (ViT, dict(SIZES["small"], patch_size=8, **IMAGENET, **PLAIN), 22_055_272),
    "vit_small_patch8_tokenlearner": (ViT, dict(SIZES["small"], patch_size=8, **IMAGENET, **TOKENLEARNER), 22_080_432),
    "vit_small_patch8_tokenfuser": (ViT, dict(SIZES["small"], patch_size=8, **IMAGENET, **TOKENFUSER), 22_375_288),
    "vit_small_patch14": (ViT, dict(SIZES["small"], patch_size=14, **IMAGENET, **PLAIN), 22_004_584),
    "vit_small_patch14_tokenlearner": (ViT, dict(SIZES["small"], patch_size=14, **IMAGENET, **TOKENLEARNER), 22_029_744),
    "vit_small_patch14_tokenfuser": (ViT, dict(SIZES["small"], patch_size=14, **IMAGENET, **TOKENFUSER), 22_324_600),
    "vit_small_patch16": (ViT, dict(SIZES["small"], patch_size=16, **IMAGENET, **PLAIN), 22_050_664),
    "vit_small_patch16_tokenlearner": (ViT, dict(SIZES["small"], patch_size=16, **IMAGENET, **TOKENLEARNER), 22_075_824),
    "vit_small_patch16_tokenfuser": (ViT, dict(SIZES["small"], patch_size=16, **IMAGENET, **TOKENFUSER), 22_370_680),
    "vit_small_patch32": (ViT, dict(SIZES["small"], patch_size=32, **IMAGENET, **PLAIN), 22_878_952),
    "vit_small_patch32_tokenlearner": (ViT, dict(SIZES["small"], patch_size=32, **IMAGENET, **TOKENLEARNER), 22_904_112),
    "vit_small_patch32_tokenfuser": (ViT, dict(SIZES["small"], patch_size=32, **IMAGENET, **TOKENFUSER), 23_198_968),
    "vit_base_patch8": (ViT, dict(SIZES["base"], patch_size=8, **IMAGENET, **PLAIN), 86_576_872),
    "vit_base_patch8_tokenlearner": (ViT, dict(SIZES["base"], patch_size=8, **IMAGENET, **TOKENLEARNER), 86_626_608),
    "vit_base_patch8_tokenfuser": (ViT, dict(SIZES["base"], patch_size=8, **IMAGENET, **TOKENFUSER), 87_209_464),
    "vit_base_patch14": (ViT, dict(SIZES["base"], patch_size=14, **IMAGENET, **PLAIN), 86_475_496),
    "vit_base_patch14_tokenlearner": (ViT, dict(SIZES["base"], patch_size=14, **IMAGENET, **TOKENLEARNER), 86_525_232),
    "vit_base_patch14_tokenfuser": (ViT, dict(SIZES["base"], patch_size=14, **IMAGENET, **TOKENFUSER), 87_108_088),
    "vit_base_patch16": (ViT, dict(SIZES["base"], patch_size=16, **IMAGENET, **PLAIN), 86_567_656),
    "vit_base_patch16_tokenlearner": (ViT, dict(SIZES["base"], patch_size=16, **IMAGENET, **TOKENLEARNER), 86_617_392),
    "vit_base_patch16_tokenfuser": (ViT, dict(SIZES["base"], patch_size=16, **IMAGENET, **TOKENFUSER), 87_200_248),
    "vit_base_patch32": (ViT, dict(SIZES["base"], patch_size=32, **IMAGENET, **PLAIN), 88_224_232),
    "vit_base_patch32_tokenlearner": (ViT, dict(SIZES["base"], patch_size=32, **IMAGENET, **TOKENLEARNER), 88_273_968),
    "vit_base_patch32_tokenfuser": (ViT, dict(SIZES["base"], patch_size=32, **IMAGENET, **TOKENFUSER), 88_856_824),
    "vit_large_patch8": (ViT, dict(SIZES["large"], patch_size=8, **IMAGENET, **PLAIN), 304_338_920),
    "vit_large_patch8_tokenlearner": (ViT, dict(SIZES["large"], patch_size=8, **IMAGENET, **TOKENLEARNER), 304_405_040),
    "vit_large_patch8_tokenfuser": (ViT, dict(SIZES["large"], patch_size=8, **IMAGENET, **TOKENFUSER), 306_022_920),
    "vit_large_patch14": (ViT, dict(SIZES["large"], patch_size=14, **IMAGENET, **PLAIN), 304_203_752),
    "vit_large_patch14_tokenlearner": (ViT, dict(SIZES["large"], patch_size=14, **IMAGENET, **TOKENLEARNER), 304_269_872),
    "vit_large_patch14_tokenfuser": (ViT, dict(SIZES["large"], patch_size=14, **IMAGENET, **TOKENFUSER), 305_887_752),
    "vit_large_patch16": (ViT, dict(SIZES["large"], patch_size=16, **IMAGENET, **PLAIN), 304_326_632),
    "vit_large_patch16_tokenlearner": (ViT, dict(SIZES["large"], patch_size=16, **IMAGENET, **TOKENLEARNER), 304_392_752),
    "vit_large_patch16_tokenfuser": (ViT, dict(SIZES["large"], patch_size=16, **IMAGENET, **TOKENFUSER), 306_010_632),
    "vit_large_patch32": (ViT, dict(SIZES["large"], patch_size=32, **IMAGENET, **PLAIN), 306_535_400),
    "vit_large_patch32_tokenlearner": (ViT, dict(SIZES["large"], patch_size=32, **IMAGENET, **TOKENLEARNER), 306_601_520),
    "vit_large_patch32_tokenfuser": (ViT, dict(SIZES["large"], patch_size=32, **IMAGENET, **TOKENFUSER), 308_219_400),
    "vit_huge_patch8": (ViT, dict(SIZES["huge"], patch_size=8, **IMAGENET, **PLAIN), 632_214_760),
    "vit_huge_patch8_tokenlearner": (ViT, dict(SIZES["huge"], patch_size=8, **IMAGENET, **TOKENLEARNER), 632_297_264),
    "vit_huge_patch8_tokenfuser": (ViT, dict(SIZES["huge"], patch_size=8, **IMAGENET, **TOKENFUSER), 635_017_320),
    "vit_huge_patch14": (ViT, dict(SIZES["huge"], patch_size=14, **IMAGENET, **PLAIN), 632_045_800),
    "vit_huge_patch14_tokenlearner": (ViT, dict(SIZES["huge"], patch_size=14, **IMAGENET, **TOKENLEARNER), 632_128_304),
    "vit_huge_patch14_tokenfuser": (ViT, dict(SIZES["huge"], patch_size=14, **IMAGENET, **TOKENFUSER), 634_848_360),
    "vit_huge_patch16": (ViT, dict(SIZES["huge"], patch_size=16, **IMAGENET, **PLAIN), 632_199_400),
    "vit_huge_patch16_tokenlearner": (ViT, dict(SIZES["huge"], patch_size=16, **IMAGENET, **TOKENLEARNER), 632_281_904),
    "vit_huge_patch16_tokenfuser": (ViT, dict(SIZES["huge"], patch_size=16, **IMAGENET, **TOKENFUSER), 635_001_960),
    "vit_huge_patch32": (ViT, dict(SIZES["huge"], patch_size=32, **IMAGENET, **PLAIN), 634_960_360),
    "vit_huge_patch32_tokenlearner": (ViT, dict(SIZES["huge"], patch_size=32, **IMAGENET, **TOKENLEARNER), 635_042_864),
    "vit_huge_patch32_tokenfuser": (ViT, dict(SIZES["huge"], patch_size=32, **IMAGENET, **TOKENFUSER), 637_762_920),
    "vivit_tiny_patch16": (VideoViT, dict(SIZES["tiny"], **KINETICS, **PLAIN), 6_313_552),
    "vivit_tiny_patch16_tokenlearner": (VideoViT, dict(SIZES["tiny"], **KINETICS, **TOKENLEARNER), 6_326_424),
    "vivit_tiny_patch16_tokenfuser": (VideoViT, dict(SIZES["tiny"], **KINETICS, **TOKENFUSER), 6_477_280),
    "vivit_small_patch16": (VideoViT, dict(SIZES["small"], **KINETICS, **PLAIN), 23_243_536),
    "vivit_small_patch16_tokenlearner": (VideoViT, dict(SIZES["small"], **KINETICS, **TOKENLEARNER), 23_268_696),
    "vivit_small_patch16_tokenfuser": (VideoViT, dict(SIZES["small"], **KINETICS, **TOKENFUSER), 23_563_552),
    "vivit_base_patch16": (VideoViT, dict(SIZES["base"], **KINETICS, **PLAIN), 88_954_000),
    "vivit_base_patch16_tokenlearner": (VideoViT, dict(SIZES["base"], **KINETICS, **TOKENLEARNER), 89_003_736),
    "vivit_base_patch16_tokenfuser": (VideoViT, dict(SIZES["base"], **KINETICS, **TOKENFUSER), 89_586_592),
    "vivit_large_patch16": (VideoViT, dict(SIZES["large"], **KINETICS, **PLAIN), 307_508_624),
    "vivit_large_patch16_tokenlearner": (VideoViT, dict(SIZES["large"], **KINETICS, **TOKENLEARNER), 307_574_744),
    "vivit_large_patch16_tokenfuser": (VideoViT, dict(SIZES["large"], **KINETICS, **TOKENFUSER), 309_192_624),
    "vit_test_patch4": (ViT, dict(SIZES["test"], patch_size=4, **TEST_IMAGES, **PLAIN), 19_626),
    "vit_test_patch4_tokenlearner": (ViT, dict(SIZES["test"], patch_size=4, **TEST_IMAGES, **TEST_TOKENLEARNER), 21_998),
    "vit_test_patch4_tokenfuser": (ViT, dict(SIZES["test"], patch_size=4, **TEST_IMAGES, **TEST_TOKENFUSER), 24_582),
    "vivit_test_patch4": (VideoViT, dict(SIZES["test"], **TEST_VIDEOS, **PLAIN), 21_674),
    "vivit_test_patch4_tokenlearner": (VideoViT, dict(SIZES["test"], **TEST_VIDEOS, **TEST_TOKENLEARNER), 24_046),
    "vivit_test_patch4_tokenfuser": (VideoViT, dict(SIZES["test"], **TEST_VIDEOS, **TEST_TOKENFUSER), 26_630),
}


def list_models(pattern="*"):
    """Sorted zoo names matching a glob `pattern`, e.g. `"vit_base_*"`."""
    return sorted(name for name in ZOO if fnmatch.fnmatchcase(name, pattern))


def model_arguments(name):
    """A copy of the constructor arguments of zoo entry `name`."""
    if name not in ZOO:
        close = difflib.get_close_matches(str(name), ZOO, n=5, cutoff=0.6)
        hint = f"; closest: {', '.join(close)}" if close else ""
        raise validation.invalid_value(
            "name", f"a model from list_models(){hint}", name
        )
    return dict(ZOO[name][1])


def create_model(name, /, weights=None, video_inflation="central_frame", **overrides):
    """Builds zoo entry `name`; any constructor argument can be overridden.

    Example: `create_model("vit_base_patch16_tokenlearner", num_classes=10,
    image_shape=(384, 384, 3))`. An unknown name or argument raises a
    `ValueError` listing the closest names.

    The model records `preprocessing=preprocessing.MINUS_ONE_TO_ONE` (uint8
    pixels to [-1, 1]) unless `preprocessing` is overridden here.

    `weights` starts the model from a public checkpoint: a name such as
    `"imagenet21k"`, a path, URL or handle (see
    `keras_tokenlearner.load_pretrained`, which does the loading and whose
    `video_inflation` this passes on). The model then computes with the
    checkpoint's numerics (GELU form, LayerNorm epsilon) and records the
    checkpoint's preprocessing unless `approximate_gelu`,
    `layer_norm_epsilon` or `preprocessing` are overridden here.

    Args:
        name: a name from `list_models()`. Positional only.
        weights: None (random initialization), or a checkpoint name, path,
            URL or handle, as `load_pretrained` takes.
        video_inflation: `"central_frame"` or `"average"`: how a `VideoViT`'s
            tubelet kernel is made from an image checkpoint's patch kernel.
        **overrides: any constructor argument of the entry's class (`ViT`
            or `VideoViT`), plus `name`, `trainable` and `dtype`.

    Returns:
        The `ViT` or `VideoViT`, built, with the checkpoint's weights when
        `weights` is given.

    Raises:
        ValueError: an unknown name or argument (listing the closest ones),
            or weights that do not fit the model.
    """
    return create_model_with_report(name, weights, video_inflation, **overrides)[0]


def create_model_with_report(name, /, weights=None, video_inflation="central_frame",
                             **overrides):
    """`create_model`, also returning the `LoadReport` of `weights` (None without).

    A checkpoint name that states its resolution (such as
    `"imagenet21k+imagenet2012-384"`) makes that resolution the model's
    `image_shape` unless `image_shape` is overridden.
    """
    arguments = model_arguments(name)
    model_class = ZOO[name][0]
    accepted = set(inspect.signature(model_class.__init__).parameters) - {"self", "kwargs"}
    accepted |= {"name", "trainable", "dtype"}
    for key in overrides:
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=3, cutoff=0.6)
            raise ValueError(
                f"Unknown argument `{key}` for {model_class.__name__} (model "
                f"{name!r}). Closest arguments: {', '.join(close) or 'none'}. "
                f"Accepted: {', '.join(sorted(accepted))}"
            )
    arguments.update(overrides)
    arguments.setdefault("name", name)
    if weights is None:
        return model_class(**{"preprocessing": preprocessing.MINUS_ONE_TO_ONE, **arguments}), None
    from keras_tokenlearner import pretrained  # NumPy and SciPy only; no backend code

    size = pretrained.named.image_size(weights)
    if size is not None and "image_shape" not in overrides:  # the size it was fine-tuned at
        arguments["image_shape"] = (size, size, *arguments["image_shape"][2:])
    checkpoint = pretrained.read_checkpoint(weights, arguments)
    source = {**pretrained.numerics(checkpoint), "preprocessing": checkpoint.preprocessing}
    model = model_class(**{**source, **arguments})
    return model, pretrained.load_checkpoint(model, checkpoint, video_inflation)


def build_symbolic(name, /, **overrides):
    """Builds zoo entry `name` without filling its variables.

    Enough for `count_params()` and `flops()` on any entry, even the huge
    ones, in about a second and no memory for weights; the model cannot run.
    It takes the caller's global dtype policy unless `dtype` is given.

    Keras's session is left as it was (layer names, models, the global dtype
    policy, the variables a `keras.StatelessScope` fills when it exits): the
    model is built in a `keras.StatelessScope(initialize_variables=False)` on
    a thread of its own, and Keras keeps that state per thread, so the
    variables it leaves unfilled end with the thread instead of being filled
    when the caller's next `StatelessScope` exits.
    """
    if overrides.get("dtype") is None:  # the worker thread has Keras's default policy
        overrides["dtype"] = keras.config.dtype_policy()

    def build_unfilled():
        with keras.StatelessScope(initialize_variables=False):
            return create_model(name, **overrides)

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(build_unfilled).result()
