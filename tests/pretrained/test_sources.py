"""`sources.locate`: what a source resolves to, with the side files that
belong to it; and a whole load from a URL, online then offline."""

import json

import numpy as np
import pytest

import keras_tokenlearner as ktl
from keras_tokenlearner.models import preprocessing
from keras_tokenlearner.pretrained import sources
from tests.pretrained import fixtures
from tests.pretrained import http_server
from tests.pretrained import layouts

NPZ = fixtures.path("vit_jax_token.npz")


@pytest.mark.backend_independent
def test_a_local_file_comes_with_the_side_files_beside_it(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    (tmp_path / "config.json").write_text(json.dumps({"pretrained_cfg": {"std": [0.5]}}))
    located = sources.locate(str(tmp_path / "model.safetensors"))
    assert located == sources.Located(str(tmp_path / "model.safetensors"),
                                      str(tmp_path / "model.safetensors"),
                                      {"config.json": {"pretrained_cfg": {"std": [0.5]}}})
    (tmp_path / "preprocessor_config.json").write_text('{"image_mean": [0.5]}')
    assert sources.locate(tmp_path).side_files == {
        "config.json": {"pretrained_cfg": {"std": [0.5]}},
        "preprocessor_config.json": {"image_mean": [0.5]}}
    assert sources.locate(NPZ).side_files == {}


@pytest.mark.backend_independent
def test_missing_and_foreign_sources_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match=r"argument `weights`. Expected an existing "
                       rf"checkpoint file or directory. Received: weights='{tmp_path}/no.npz'"):
        sources.locate(str(tmp_path / "no.npz"))
    with pytest.raises(ValueError, match=r"Received: weights=3"):
        sources.locate(3)
    with pytest.raises(ValueError, match=r"hf://ORG/REPO\[@REVISION\]\[/FILE\]"):
        sources.locate("hf://not a repo")


@pytest.mark.backend_independent
def test_the_helpers_the_readers_use(tmp_path):
    (tmp_path / "config.json").write_text('{"a": 1}')
    assert sources.read_json_if_present(str(tmp_path), "config.json") == {"a": 1}
    assert sources.read_json_if_present(str(tmp_path), "absent.json") is None
    assert sources.exists(sources.join(str(tmp_path), "config.json"))
    assert sources.isdir(str(tmp_path)) and not sources.isdir(NPZ)
    with sources.open_binary(NPZ) as handle:
        handle.seek(-22, 2)  # a zip ends with its 22-byte end-of-central-directory record
        assert handle.read(4) == b"PK\x05\x06"


def test_load_pretrained_from_a_url_cut_short_then_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    reference = fixtures.expected("vit_jax_token")
    data = open(NPZ, "rb").read()
    with http_server.Server(tmp_path / "served") as server:
        server.write("vit_jax_token.npz", data)
        server.cut("vit_jax_token.npz", len(data) // 2, send_length=False)  # the first answer
        url = server.url("vit_jax_token.npz")
        ktl.load_pretrained(fixtures.flax_vit("token"), url)
        assert server.count("vit_jax_token.npz") == 2
    model = fixtures.flax_vit("token")  # the server is gone: the cached copy serves
    ktl.load_pretrained(model, url)
    np.testing.assert_allclose(fixtures.run(model, reference["images"]), reference["logits"],
                               atol=1e-4, rtol=0)


def test_a_timm_file_at_a_url_takes_the_config_json_of_its_own_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    imagenet = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}  # DeiT's
    layouts.write(layouts.timm_from_vit_jax(dict(np.load(NPZ))), tmp_path / "model.safetensors")
    weights = (tmp_path / "model.safetensors").read_bytes()
    with http_server.Server(tmp_path / "served") as server:
        server.write("deit/model.safetensors", weights)
        server.write("deit/config.json", json.dumps({"pretrained_cfg": imagenet}).encode())
        server.write("bare/model.safetensors", weights)

        def create(folder):
            return ktl.create_model("vit_test_patch4", patch_size=8, image_shape=(32, 32, 3),
                                    weights=server.url(f"{folder}/model.safetensors"))

        deit, bare = create("deit"), create("bare")
    assert deit.arguments["preprocessing"] == preprocessing.canonical(imagenet)
    assert bare.arguments["preprocessing"] == preprocessing.MINUS_ONE_TO_ONE  # not deit's
