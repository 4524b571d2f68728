"""The zoo: every entry's parameter count, names, overrides, errors."""

import math

import keras
import numpy as np
import pytest

import keras_tokenlearner as ktl
from keras_tokenlearner.models.zoo import ZOO
from keras_tokenlearner.models.zoo import build_symbolic

PUBLISHED = {  # class-token ViTs at 224 px with 1000 classes
    "vit_tiny_patch16": 5_717_416,
    "vit_small_patch16": 22_050_664,
    "vit_base_patch16": 86_567_656,
    "vit_large_patch16": 304_326_632,
}


def expected_parameters(arguments):
    """Parameter count from the architecture's equations, independently."""
    d, mlp, layers = arguments["hidden_dim"], arguments["mlp_dim"], arguments["num_layers"]
    height, width, channels = arguments["image_shape"]
    if "patch_size" in arguments:
        kernel, frames, side = (arguments["patch_size"],) * 2, 1, arguments["patch_size"]
    else:
        time, side, _ = arguments["tubelet_size"]
        kernel, frames = (time, side, side), arguments["num_frames"] // time
    positions = (height // side) * (width // side)
    class_token = arguments.get("pooling", "gap") == "token"
    stem = math.prod(kernel) * channels * d + d
    embeddings = (frames * positions + class_token) * d + class_token * d
    block = 4 * d + (4 * d * d + 4 * d) + (2 * d * mlp + mlp + d)
    head = 2 * d + d * arguments["num_classes"] + arguments["num_classes"]
    total = stem + embeddings + layers * block + head
    tokens = arguments.get("num_tokens")
    if tokens is None:
        return total
    learner = 2 * d + (d * 64 + 64) + (64 * tokens + tokens)
    fuser = 6 * d + tokens * tokens + tokens + (d * 64 + 64) + (64 * tokens + tokens)
    later = layers - layers // 2
    if arguments.get("use_token_fuser"):
        return total + later * (learner + fuser)
    return total + learner


# Building takes up to 2 s an entry: these are built, one for every size, patch
# size and variant (checked below); every row is checked against the formula.
BUILT = [
    "vit_huge_patch32",
    "vit_large_patch14_tokenlearner",
    "vit_tiny_patch8_tokenfuser",
    "vivit_base_patch16",
    "vivit_small_patch16_tokenfuser",
    "vivit_test_patch4_tokenlearner",
    "vit_test_patch4_tokenfuser",
]


def features(names):
    """The sizes, patch sizes and (family, variant) pairs among zoo `names`."""
    parts = [name.split("_") + ["plain"] for name in names]  # vit, base, patch16, variant
    return {part[1] for part in parts}, {part[2] for part in parts}, {
        (part[0], part[3]) for part in parts}


@pytest.mark.backend_independent
def test_every_entry_pins_the_formulas_parameter_count_and_its_class():
    wrong = {name: (pinned, expected_parameters(arguments))
             for name, (_, arguments, pinned) in ZOO.items()
             if pinned != expected_parameters(arguments)}
    assert wrong == {}  # name: (pinned, formula)
    video = {name for name, (model_class, _, _) in ZOO.items() if model_class is ktl.VideoViT}
    image = {name for name, (model_class, _, _) in ZOO.items() if model_class is ktl.ViT}
    assert video == set(ktl.list_models("vivit_*"))
    assert image == set(ktl.list_models("vit_*")) == set(ZOO) - video


@pytest.mark.backend_independent
def test_the_built_entries_cover_every_size_patch_and_variant():
    assert features(BUILT) == features(ZOO)
    assert len(features(ZOO)[2]) == 6  # plain, TokenLearner, TokenFuser; images and videos


@pytest.mark.parametrize("name", BUILT)
def test_entry_builds_with_its_pinned_parameter_count(name):
    model_class, _, pinned = ZOO[name]
    model = build_symbolic(name)
    assert type(model) is model_class
    assert model.name == name
    assert model.count_params() == pinned


def test_build_symbolic_leaves_the_callers_session_alone(monkeypatch):
    calls = []
    initialize = keras.initializers.RandomNormal.__call__

    def counted(initializer, shape, dtype=None):
        calls.append(tuple(shape))
        return initialize(initializer, shape, dtype=dtype)

    monkeypatch.setattr(keras.initializers.RandomNormal, "__call__", counted)
    dense = keras.layers.Dense(2)
    before = keras.ops.convert_to_numpy(dense(np.ones((1, 3), np.float32)))
    with keras.StatelessScope(initialize_variables=False):  # the caller's own unfilled variable
        keras.Variable(initializer=keras.initializers.RandomNormal(), shape=(5, 7))
    model = build_symbolic("vit_test_patch4", dtype="mixed_bfloat16")
    assert model.dtype_policy.name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"
    after = keras.ops.convert_to_numpy(dense(np.ones((1, 3), np.float32)))
    np.testing.assert_array_equal(after, before)  # the caller's layer still runs
    assert keras.layers.Dense(2).name != dense.name  # auto-naming not reset
    del calls[:]
    with keras.StatelessScope():  # exits by filling Keras's unfilled variables
        pass
    assert calls == [(5, 7)]  # the caller's variable; the model's stay unfilled
    ktl.create_model("vit_test_patch4")
    assert len(calls) > 1  # the model's RandomNormal variables would have counted


def test_build_symbolic_takes_the_callers_global_policy():
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = build_symbolic("vit_test_patch4")
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    finally:
        keras.config.set_dtype_policy("float32")
    assert model.dtype_policy.name == "mixed_bfloat16"
    assert model.get_layer("block_0").compute_dtype == "bfloat16"


@pytest.mark.backend_independent
@pytest.mark.parametrize("name", PUBLISHED)
def test_published_vit_parameter_counts(name):
    assert ZOO[name][2] == PUBLISHED[name]


@pytest.mark.backend_independent
def test_names_follow_the_scheme():
    names = ktl.list_models()
    for size in ("tiny", "small", "base", "large", "huge"):
        for patch in (8, 14, 16, 32):
            for suffix in ("", "_tokenlearner", "_tokenfuser"):
                assert f"vit_{size}_patch{patch}{suffix}" in names
    for size in ("tiny", "small", "base", "large"):
        assert f"vivit_{size}_patch16_tokenlearner" in names
        assert f"vivit_{size}_patch16_tokenfuser" in names
    assert ktl.list_models("vit_base_patch16*") == [
        "vit_base_patch16",
        "vit_base_patch16_tokenfuser",
        "vit_base_patch16_tokenlearner",
    ]


def test_tokenlearner_entries_use_the_papers_default():
    arguments = ZOO["vit_base_patch16_tokenlearner"][1]
    assert arguments["num_tokens"] == 8 and arguments["pooling"] == "gap"
    model = build_symbolic("vit_base_patch16_tokenlearner")
    assert model.get_layer("token_learner").output.shape == (None, 8, 768)
    assert model.get_layer("block_6").input.shape == (None, 8, 768)
    assert model.get_layer("block_5").input.shape == (None, 196, 768)


def test_overrides_reach_the_constructor():
    model = ktl.create_model(
        "vit_test_patch4_tokenlearner",
        image_shape=(24, 20, 3),
        num_classes=7,
        num_tokens=3,
        token_learner_index=0,
        name="custom",
    )
    assert model.name == "custom"
    assert model.output.shape == (None, 7)
    assert model.get_layer("block_0").input.shape == (None, 3, 32)
    assert model.get_config()["image_shape"] == (24, 20, 3)


@pytest.mark.backend_independent
def test_unknown_name_lists_the_closest_names():
    with pytest.raises(ValueError, match=r"`name`.*closest: vit_base_patch16_tokenlearner"):
        ktl.create_model("vit_base_patch16_tokenlerner")


@pytest.mark.backend_independent
def test_unknown_override_is_an_error():
    with pytest.raises(ValueError, match=r"Unknown argument `num_token`.*Closest.*num_tokens"):
        ktl.create_model("vit_test_patch4", num_token=8)
