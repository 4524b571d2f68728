"""ViT and VideoViT: shapes, token counts, training, reload, errors."""

import gc
import inspect

import keras
import numpy as np
import pytest

import keras_tokenlearner as ktl
from keras_tokenlearner.models.layer_walk import nested_layers
from tests import testing

TEST_ENTRIES = ktl.list_models("vi*_test_*")
# A compiled step of these two runs every layer of the six test entries: video with
# TokenLearner and TokenFuser (GAP), images with the class token (the layer tests
# also train TokenLearner and TokenFuser on images).
XLA_STEP_ENTRIES = ["vivit_test_patch4_tokenfuser", "vit_test_patch4"]


def make_input(model, batch_size=2):
    return testing.random_array((batch_size,) + tuple(model.input.shape[1:]))


def small_vit(**overrides):
    arguments = dict(image_shape=(16, 16, 3), patch_size=4, hidden_dim=16, num_layers=4,
                     num_heads=2, mlp_dim=32, num_classes=5)
    return ktl.ViT(**{**arguments, **overrides})


@pytest.mark.parametrize("index, expected", [(None, [16, 16, 3, 3]), (0, [3, 3, 3, 3]),
                                             (3, [16, 16, 16, 3])])
def test_token_count_drops_at_the_index(index, expected):
    model = small_vit(num_tokens=3, token_learner_index=index)
    seen = [model.get_layer(f"block_{i}").input.shape[1] for i in range(4)]
    assert seen == expected
    assert model.get_layer("token_learner").output.shape == (None, 3, 16)


def test_fuser_keeps_the_token_count():
    model = small_vit(num_tokens=3, use_token_fuser=True)
    assert [model.get_layer(f"block_{i}").input.shape[1] for i in range(4)] == [16, 16, 3, 3]
    for index in (2, 3):
        assert model.get_layer(f"token_fuser_{index}").output.shape == (None, 4, 4, 16)
    assert model.get_layer("encoder_norm").input.shape == (None, 16, 16)
    assert model.output.shape == (None, 5)


def test_plain_class_token_and_features():
    model = small_vit(pooling="token", num_classes=None)
    assert model.get_layer("block_0").input.shape == (None, 17, 16)
    assert model(make_input(model)).shape == (2, 16)


def test_video_tokens_are_learned_per_frame():
    model = ktl.VideoViT((16, 12, 3), num_frames=4, tubelet_size=(2, 4, 4), hidden_dim=16,
                         num_layers=2, num_heads=2, mlp_dim=32, num_classes=5, num_tokens=3)
    # 2 time steps, 3 tokens, width 16: the learner's output axes cannot pass for each other
    assert model.get_layer("block_0").input.shape == (None, 2 * 4 * 3, 16)
    assert model.get_layer("token_learner").output.shape == (None, 2, 3, 16)
    assert model.get_layer("block_1").input.shape == (None, 2 * 3, 16)
    assert model(make_input(model)).shape == (2, 5)


def test_video_fuser_keeps_the_token_count():
    model = ktl.create_model("vivit_test_patch4_tokenfuser")
    assert model.get_layer("token_fuser_1").output.shape == (None, 2, 4, 4, 32)
    assert model.get_layer("encoder_norm").input.shape == (None, 32, 32)


@pytest.mark.parametrize("name", TEST_ENTRIES)
def test_forward_is_finite(name):
    model = ktl.create_model(name)
    testing.randomize_weights(model, scale=0.3)  # the zero-initialised head gives zeros
    x = make_input(model, batch_size=3)
    logits = testing.to_numpy(model(x, training=True))
    assert logits.shape == (3, 10)
    assert np.all(np.isfinite(logits))
    assert np.ptp(logits, axis=0).min() > 0  # the examples' logits differ


@pytest.mark.parametrize("name", XLA_STEP_ENTRIES)
def test_one_xla_training_step_is_finite(name):
    model = ktl.create_model(name, dropout_rate=0.1)
    labels = np.array([0, 1, 2, 3])
    testing.assert_jit_fit_step_trains(model, make_input(model, 4), labels, steps=3)
    assert all(np.all(np.isfinite(testing.to_numpy(w))) for w in model.weights)


@pytest.mark.parametrize("name", ["vit_test_patch4_tokenfuser", "vivit_test_patch4_tokenfuser"])
def test_a_few_fit_steps_lower_the_loss(name):
    """Six Adam steps on eight examples, compiled as `compile` does by default
    on the backend: the loss on them drops from log(10) (a zero head) by over 10%."""
    model = ktl.create_model(name)
    inputs = make_input(model, batch_size=8)
    labels = np.arange(8) % 10
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = model.evaluate(inputs, labels, batch_size=8, verbose=0)
    model.fit(inputs, labels, batch_size=4, epochs=3, shuffle=False, verbose=0)
    after = model.evaluate(inputs, labels, batch_size=8, verbose=0)
    assert np.isclose(before, np.log(10))
    assert after < 0.9 * before


@pytest.mark.parametrize("name", TEST_ENTRIES)
def test_keras_file_reload_gives_same_class_and_outputs(name, tmp_path):
    model = ktl.create_model(name)
    testing.randomize_weights(model, scale=0.1)
    restored = testing.assert_keras_file_round_trip(model, make_input(model), tmp_path)
    assert restored.get_config() == model.get_config()


def test_mixed_precision_model_reloads_with_its_policy(tmp_path):
    keras.config.set_dtype_policy("mixed_bfloat16")
    model = small_vit(num_tokens=3)
    keras.config.set_dtype_policy("float32")
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    for name in ("patch_embedding", "block_0", "token_learner", "head"):
        assert restored.get_layer(name).compute_dtype == "bfloat16", name
    assert keras.config.dtype_policy().name == "float32"


@pytest.fixture
def frozen_heap():
    """Keras runs a full `gc.collect()` for each kernel int8 quantization deletes
    (twice per layer: quantizing, then reloading); `gc.freeze()` leaves the
    objects of earlier tests out of those collections (0.5-1 s each otherwise)."""
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("frozen_heap")
@pytest.mark.parametrize("mode, only_block_1", [("int8", False), ("float8", False),
                                                ("int8", True)])
def test_quantized_model_reloads_quantized(mode, only_block_1, tmp_path):
    model = small_vit(num_layers=2, num_tokens=3)  # block_1 follows the TokenLearner
    testing.randomize_weights(model, scale=0.3)
    in_block_1 = (lambda layer: (layer.path or "").startswith("block_1/")) if only_block_1 else None
    if "filters" not in inspect.signature(keras.Model.quantize).parameters:  # Keras < 3.13
        model.quantize(mode)
        model.save(tmp_path / "model.keras")
        with pytest.raises(ValueError, match=r"needs Keras 3\.13 or newer"):
            keras.saving.load_model(tmp_path / "model.keras")
        return
    model.quantize(mode, filters=in_block_1)
    quantized = model.get_config()["quantized_layers"]
    assert set(quantized) == quantized_layer_paths(model)
    assert ("head" in quantized) != only_block_1  # a filter leaves the head in float
    assert set(quantized.values()) == {mode}
    x = make_input(model)
    expected = testing.to_numpy(model(x))
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    assert restored.get_config()["quantized_layers"] == quantized
    np.testing.assert_allclose(testing.to_numpy(restored(x)), expected, rtol=1e-5, atol=1e-6)


def quantized_layer_paths(model):
    """The paths of the layers that int8 and float8 quantization gave a kernel scale."""
    return {variable.path.rsplit("/", 1)[0] for variable in model.variables
            if variable.name == "kernel_scale"}


def test_reloading_quantized_layers_names_the_keras_it_needs(monkeypatch):
    config = small_vit(num_layers=1).get_config()

    def quantize_of_keras_3_12(self, mode, config=None, **kwargs):
        raise AssertionError("quantize called")

    monkeypatch.setattr(keras.Model, "quantize", quantize_of_keras_3_12)
    monkeypatch.setattr(keras, "version", lambda: "3.12.1")
    with pytest.raises(ValueError, match=r"needs Keras 3\.13 or newer.*this is Keras 3\.12\.1"):
        ktl.ViT.from_config({**config, "quantized_layers": {"head": "int8"}})
    assert ktl.ViT.from_config(config).count_params() == small_vit(num_layers=1).count_params()


def test_nested_layers_finds_every_layer_that_holds_a_variable():
    model = ktl.create_model("vit_test_patch4_tokenfuser", dropout_rate=0.1)
    layers = nested_layers(model)
    assert layers[0] is model and len({id(layer) for layer in layers}) == len(layers)
    assert {id(layer) for layer in model.layers} <= {id(layer) for layer in layers}
    paths = {layer.path for layer in layers}
    for variable in model.variables:
        if variable.name != "seed_generator_state":  # its path is its generator's
            assert variable.path.rsplit("/", 1)[0] in paths, variable.path
    assert "block_1/attention/query" in paths and "token_fuser_1/mixing_mlp/hidden" in paths


def policies(model):
    """The dtype policy names of the model and of every layer in it."""
    return {layer.dtype_policy.name for layer in nested_layers(model)}


def small_video_vit(**overrides):
    return ktl.VideoViT((16, 16, 3), num_frames=4, tubelet_size=(2, 4, 4), hidden_dim=16,
                        num_layers=2, num_heads=2, mlp_dim=32, num_classes=5, **overrides)


def test_building_never_sets_the_global_policy(monkeypatch):
    def refuse(policy):
        raise AssertionError(f"keras.config.set_dtype_policy({policy!r}) called")

    monkeypatch.setattr(keras.config, "set_dtype_policy", refuse)
    for model in (small_vit(num_tokens=3, use_token_fuser=True, dtype="mixed_bfloat16"),
                  small_vit(pooling="token", dtype="mixed_bfloat16"),
                  small_video_vit(num_tokens=3, use_token_fuser=True, dtype="mixed_bfloat16")):
        assert policies(model) == {"mixed_bfloat16"}, model.name
        assert model.get_config()["dtype"] == "mixed_bfloat16"


def test_a_float32_model_under_a_mixed_global_policy_is_float32_throughout():
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        models = [small_vit(num_layers=2, num_tokens=3, use_token_fuser=True, dtype="float32"),
                  small_video_vit(num_tokens=3, dtype="float32")]
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    finally:
        keras.config.set_dtype_policy("float32")
    for model in models:
        assert policies(model) == {"float32"}, model.name
        assert testing.to_numpy(model(make_input(model))).dtype == np.float32


@pytest.mark.backend_independent  # refused before any layer is made
@pytest.mark.parametrize("build", [
    lambda: ktl.ViT((16, 16, 3), 4, hidden_dim=16, num_layers=1, num_heads=2, mlp_dim=32),
    lambda: ktl.VideoViT((16, 16, 3), 4, hidden_dim=16, num_layers=1, num_heads=2,
                         mlp_dim=32, tubelet_size=(2, 4, 4)),
])
def test_arguments_after_image_shape_are_keyword_only(build):
    with pytest.raises(TypeError, match="positional argument"):
        build()


def test_dtype_argument_sets_the_model_policy_and_leaves_the_global_one():
    model = small_vit(num_tokens=3, dtype="mixed_bfloat16")
    assert keras.config.dtype_policy().name == "float32"
    assert model.get_config()["dtype"] == "mixed_bfloat16"
    assert model.get_layer("block_1").compute_dtype == "bfloat16"
    assert model.get_layer("block_1").variable_dtype == "float32"
    assert small_vit().get_layer("block_1").compute_dtype == "float32"


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(token_learner_index=4, num_tokens=3), r"`token_learner_index`.*\[0, num_layers=4\)"),
        (dict(token_learner_index=-1, num_tokens=3), r"token_learner_index=-1"),
        (dict(num_tokens=0), r"`num_tokens`.*num_tokens=0"),
        (dict(image_shape=(18, 16, 3)), r"`image_shape`.*multiples of patch_size.*\(18, 16\)"),
        (dict(pooling="max"), r"`pooling`.*'gap', 'token'.*pooling='max'"),
        (dict(pooling="token", num_tokens=3), r"`pooling`.*'gap' for a model with TokenLearner"),
        (dict(use_token_fuser=True), r"`use_token_fuser`.*num_tokens is None"),
        (dict(num_heads=3), r"`num_heads`.*divisor of hidden_dim=16"),
        (dict(image_shape=(16, 16)), r"`image_shape`.*\(height, width, channels\) tuple"),
        (dict(image_shape=(16, 16, 0)), r"`image_shape`.*image_shape=\(16, 16, 0\)"),
    ],
)
def test_bad_arguments(overrides, message):
    with pytest.raises(ValueError, match=message):
        small_vit(**overrides)


@pytest.mark.backend_independent  # refused before any layer is made
def test_video_frames_must_divide_by_tubelet_time():
    with pytest.raises(ValueError, match=r"`num_frames`.*tubelet_size\[0\]=\(2,\).*\(5,\)"):
        ktl.create_model("vivit_test_patch4", num_frames=5)


@pytest.mark.backend_independent  # refused before any layer is made
@pytest.mark.parametrize("tubelet_size", [5, (2, 4), (2, 4, 4.0)])
def test_tubelet_size_must_be_three_positive_ints(tubelet_size):
    with pytest.raises(ValueError, match=r"`tubelet_size`.*\(time, height, width\) tuple"):
        ktl.create_model("vivit_test_patch4", tubelet_size=tubelet_size)


def test_numpy_ints_are_accepted_and_stored_as_python_ints():
    model = small_vit(num_tokens=np.int64(3), token_learner_index=np.int64(1),
                      mlp_dim=np.int64(32), image_shape=(np.int64(16), 16, 3))
    config = model.get_config()
    assert (config["num_tokens"], config["token_learner_index"]) == (3, 1)
    assert all(type(value) is int for value in config["image_shape"] + (config["mlp_dim"],))
    assert model.get_layer("token_learner").output.shape == (None, 3, 16)
