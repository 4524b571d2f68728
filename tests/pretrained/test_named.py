"""Named checkpoints: today's names keep their files; the 384 px AugReg
fine-tunes have names that state the resolution, which becomes the model's."""

import pytest

import keras_tokenlearner as ktl
from keras_tokenlearner.models import zoo
from keras_tokenlearner.pretrained import named
from tests.pretrained import fixtures

AUGREG = "https://storage.googleapis.com/vit_models/augreg/"
ARGUMENTS = {"B/16": dict(hidden_dim=768, num_layers=12, patch_size=16),
             "L/32": dict(hidden_dim=1024, num_layers=24, patch_size=32),
             "S/32": dict(hidden_dim=384, num_layers=12, patch_size=32),
             "L/16": dict(hidden_dim=1024, num_layers=24, patch_size=16)}


@pytest.mark.backend_independent
@pytest.mark.parametrize("name, size, url", [
    ("imagenet21k", "B/16", AUGREG + "B_16-i21k-300ep-lr_0.001-aug_medium1-wd_0.1-do_0.0-sd_0.0"
     ".npz"),
    ("imagenet21k+imagenet2012", "B/16", AUGREG + "B_16-i21k-300ep-lr_0.001-aug_medium1-wd_0.1-"
     "do_0.0-sd_0.0--imagenet2012-steps_20k-lr_0.01-res_224.npz"),
    ("imagenet21k+imagenet2012", "L/32", "https://storage.googleapis.com/vit_models/"
     "imagenet21k%2Bimagenet2012/ViT-L_32.npz"),
    # The vision_transformer README's recommended fine-tunes at 384 px.
    ("imagenet21k+imagenet2012-384", "B/16", AUGREG + "B_16-i21k-300ep-lr_0.001-aug_medium1-"
     "wd_0.1-do_0.0-sd_0.0--imagenet2012-steps_20k-lr_0.03-res_384.npz"),
    ("imagenet21k+imagenet2012-384", "S/32", AUGREG + "S_32-i21k-300ep-lr_0.001-aug_none-"
     "wd_0.1-do_0.0-sd_0.0--imagenet2012-steps_20k-lr_0.01-res_384.npz"),
    ("imagenet21k+imagenet2012-384", "L/16", AUGREG + "L_16-i21k-300ep-lr_0.001-aug_strong1-"
     "wd_0.1-do_0.0-sd_0.0--imagenet2012-steps_20k-lr_0.01-res_384.npz"),
])
def test_named_urls(name, size, url):
    assert named.url(name, ARGUMENTS[size]) == url


@pytest.mark.backend_independent
def test_the_384_files_are_fine_tunes_of_the_imagenet21k_files():
    for key, url in named.NAMED_WEIGHTS["imagenet21k+imagenet2012-384"].items():
        upstream = named.NAMED_WEIGHTS["imagenet21k"][key]
        assert url.startswith(upstream.removesuffix(".npz") + "--imagenet2012-steps_20k-lr_")
        assert url.endswith("-res_384.npz")
    assert set(named.NAMED_WEIGHTS["imagenet21k+imagenet2012-384"]) == {
        ("Ti", 16), ("S", 16), ("S", 32), ("B", 16), ("B", 32), ("L", 16)}


@pytest.mark.backend_independent
def test_image_size_of_a_name():
    assert named.image_size("imagenet21k+imagenet2012-384") == 384
    assert named.image_size("imagenet21k") is None
    assert named.image_size("imagenet21k+imagenet2012") is None  # mixed: L/32 is 384 px
    assert named.image_size("/path/to/file.npz") is None


def test_a_named_image_size_becomes_the_default_image_shape(monkeypatch):
    # The 384 px name, pointed at the committed fixture for the test model's size.
    monkeypatch.setitem(named.SIZES, (32, 2), "test")
    monkeypatch.setitem(named.NAMED_WEIGHTS, "imagenet21k+imagenet2012-384",
                        {("test", 8): fixtures.path("vit_jax_token.npz")})
    model, report = zoo.create_model_with_report("vit_test_patch4", patch_size=8,
                                                 weights="imagenet21k+imagenet2012-384")
    assert model.arguments["image_shape"] == (384, 384, 3)
    assert any("position" in path for path in report.adapted), report  # 4x4 grid to 48x48
    model = ktl.create_model("vit_test_patch4", patch_size=8, image_shape=(64, 64, 3),
                             weights="imagenet21k+imagenet2012-384")
    assert model.arguments["image_shape"] == (64, 64, 3)
