"""What loading adapts: TokenLearner / TokenFuser fresh, video stems, class
tokens, heads, pre_logits; save_npz round trips; errors name the key and
the weight, and a failed load assigns nothing."""

import logging

import numpy as np
import pytest

import keras_tokenlearner as ktl
from tests.pretrained import fixtures

NPZ = fixtures.path("vit_jax_token.npz")
GAP_NPZ = fixtures.path("vit_jax_gap.npz")


def loaded_plain():
    model = fixtures.flax_vit("token")
    ktl.load_pretrained(model, NPZ)
    return fixtures.weights(model)


@pytest.mark.parametrize("fuser", [False, True])
def test_token_learner_models_keep_the_file_before_the_token_learner(fuser):
    model = fixtures.flax_vit("gap", num_tokens=4, token_learner_index=1, use_token_fuser=fuser)
    report = ktl.load_pretrained(model, NPZ)
    plain, loaded = loaded_plain(), fixtures.weights(model)
    for path in [p for p in plain if p.startswith(("patch_embedding", "block_"))]:
        np.testing.assert_array_equal(loaded[path], plain[path], err_msg=path)
    np.testing.assert_array_equal(loaded["position_embedding/embeddings"],
                                  plain["position_embedding/embeddings"][1:])
    fresh_layers = {path.split("/")[0] for path in report.fresh}
    assert fresh_layers == ({"token_learner_1", "token_fuser_1"} if fuser else {"token_learner"})
    assert "cls (1, 1, 32)" in report.dropped


@pytest.mark.parametrize("inflation", ["central_frame", "average"])
def test_video_stem_is_inflated_and_positions_repeated(inflation):
    model = ktl.VideoViT((32, 32, 3), num_frames=4, tubelet_size=(2, 8, 8),
                         **fixtures.FLAX_VIT, pooling="token")
    report = ktl.load_pretrained(model, NPZ, video_inflation=inflation)
    kernel = np.load(NPZ)["embedding/kernel"]
    inflated = fixtures.weights(model)["tubelet_embedding/kernel"]
    expected = [np.zeros_like(kernel), kernel] if inflation == "central_frame" else [kernel / 2] * 2
    np.testing.assert_allclose(inflated, np.stack(expected), rtol=1e-7)
    embedding = fixtures.weights(model)["position_embedding/embeddings"]
    grid = loaded_plain()["position_embedding/embeddings"]
    np.testing.assert_array_equal(embedding, np.concatenate([grid[:1], grid[1:], grid[1:]]))
    assert inflation in report.adapted["tubelet_embedding/kernel"]


def test_gap_file_into_a_class_token_model_leaves_the_token_fresh():
    model = fixtures.flax_vit("token")
    before = fixtures.weights(model)
    report = ktl.load_pretrained(model, GAP_NPZ)
    after = fixtures.weights(model)
    np.testing.assert_array_equal(after["class_token/token"], before["class_token/token"])
    np.testing.assert_array_equal(after["position_embedding/embeddings"][0],
                                  before["position_embedding/embeddings"][0])
    assert "class_token/token" in report.fresh
    assert "stays fresh" in report.adapted["position_embedding/embeddings"]


def test_head_of_another_shape_stays_zero_and_pre_logits_are_dropped(tmp_path):
    arrays = dict(np.load(NPZ), **{"pre_logits/kernel": np.ones((32, 32), np.float32),
                                   "pre_logits/bias": np.zeros(32, np.float32)})
    np.savez(tmp_path / "with_pre_logits.npz", **arrays)
    model = fixtures.flax_vit("token", num_classes=7)
    report = ktl.load_pretrained(model, str(tmp_path / "with_pre_logits.npz"))
    assert not fixtures.weights(model)["head/kernel"].any()
    assert "does not fit" in report.fresh["head/kernel"]
    assert {"pre_logits/kernel (32, 32)", "pre_logits/bias (32,)"} <= set(report.dropped)


@pytest.mark.parametrize("pooling", ["token", "gap"])
def test_save_npz_round_trip_is_exact(tmp_path, pooling):
    model = fixtures.flax_vit(pooling)
    ktl.load_pretrained(model, NPZ)
    ktl.save_npz(model, tmp_path / "model.npz")
    reloaded = fixtures.flax_vit(pooling)
    report = ktl.load_pretrained(reloaded, str(tmp_path / "model.npz"))
    images = fixtures.expected("vit_jax_token")["images"]
    np.testing.assert_array_equal(fixtures.run(reloaded, images), fixtures.run(model, images))
    assert report.format == "big_vision" and not report.fresh


def test_save_npz_refuses_token_learner_models(tmp_path):
    with pytest.raises(ValueError, match=r"argument `model`.*without TokenLearner"):
        ktl.save_npz(fixtures.flax_vit("gap", num_tokens=4), tmp_path / "model.npz")
    assert not (tmp_path / "model.npz").exists()


def test_numerics_mismatch_is_reported_and_logged(caplog):
    model = fixtures.flax_vit("token", approximate_gelu=False)
    with caplog.at_level(logging.INFO, logger="keras_tokenlearner"):
        report = ktl.load_pretrained(model, NPZ)
    assert report.numerics == ["the checkpoint was run with approximate_gelu=True, the model "
                               "has approximate_gelu=False"]
    assert any(record.levelname == "WARNING" for record in caplog.records)
    assert "Loaded vit_jax weights" in caplog.text
