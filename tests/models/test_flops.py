"""Analytic FLOPs: the paper's numbers and a measured XLA count."""

import json
import os
import subprocess
import sys

import pytest

import keras_tokenlearner as ktl
from keras_tokenlearner.models.flops import STAGES
from keras_tokenlearner.models.zoo import build_symbolic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def count(name, **overrides):
    """`flops()` reads only the config and the stem's kernel shape, which no
    backend changes: the tests of the analytic count are `backend_independent`."""
    return ktl.flops(build_symbolic(name, **overrides))


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "name, paper_gflops",
    [("vit_base_patch16", 55.6), ("vit_base_patch16_tokenlearner", 28.7)],
)
def test_paper_numbers_at_384_pixels(name, paper_gflops):
    gflops = count(name, image_shape=(384, 384, 3)).gflops
    assert abs(gflops - paper_gflops) / paper_gflops < 0.03


@pytest.mark.backend_independent
def test_stages_add_up_and_tokenlearner_halves_the_cost():
    plain = count("vit_base_patch16", pooling="gap")
    learner = count("vit_base_patch16_tokenlearner")
    fuser = count("vit_base_patch16_tokenfuser")
    assert tuple(learner.stages) == STAGES
    assert learner.total == sum(learner.stages.values())
    assert plain.stages["token_learner"] == plain.stages["blocks_after_token_learner"] == 0
    assert learner.stages["token_fuser"] == 0 < fuser.stages["token_fuser"]
    assert learner.stages["stem"] == plain.stages["stem"] == 196 * 768 * 768
    assert 1.8 < plain.total / learner.total < 2.0
    assert learner.total < fuser.total < plain.total


@pytest.mark.backend_independent
def test_video_counts_every_frame():
    one_step = count("vivit_test_patch4", num_frames=2)
    two_steps = count("vivit_test_patch4", num_frames=4)
    assert two_steps.stages["stem"] == 2 * one_step.stages["stem"]
    assert count("vivit_test_patch4_tokenlearner").stages["token_learner"] > 0


WIDE = {"hidden_dim": 128, "mlp_dim": 512, "num_heads": 4}  # matmuls dominate XLA's count
XLA_MODELS = {name: WIDE for name in ("vit_test_patch4", "vit_test_patch4_tokenlearner",
                                      "vit_test_patch4_tokenfuser",
                                      "vivit_test_patch4_tokenlearner")}


@pytest.fixture(scope="module")
def xla_counts():
    """XLA's FLOPs of every model in XLA_MODELS, measured in one JAX process."""
    environment = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, "-m", "tests.models.xla_flops", json.dumps(XLA_MODELS)],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.backend_independent  # the subprocess always runs JAX
@pytest.mark.parametrize("name", XLA_MODELS)
def test_analytic_count_matches_xla_cost_analysis(xla_counts, name):
    """XLA counts 2 FLOPs per multiply-add plus elementwise work (about 2-3% here)."""
    analytic = 2 * count(name, **XLA_MODELS[name]).total
    assert 1.0 <= xla_counts[name] / analytic < 1.06


@pytest.mark.backend_independent
def test_other_models_are_a_value_error():
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"`model`.*a ViT or VideoViT.*'Sequential'"):
        ktl.flops(model)
