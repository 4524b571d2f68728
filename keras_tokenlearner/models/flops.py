"""Analytic FLOPs of the zoo's models, in multiply-adds (the papers' unit).

The ViT and TokenLearner papers call multiply-adds "FLOPs"; so does this
module. Counted: every matrix product and convolution (stem, attention
projections, attention scores and values, MLPs, TokenLearner, TokenFuser,
head). Not counted: normalisation, softmax, activations and additions, which
are a small fraction. Profilers and XLA count 2 FLOPs per multiply-add.
"""

import dataclasses
import math

from keras_tokenlearner import validation
from keras_tokenlearner.layers import TokenFuser
from keras_tokenlearner.layers import TokenLearner
from keras_tokenlearner.models import encoder
from keras_tokenlearner.models.resolution import patch_grid

STAGES = (
    "stem",
    "blocks_before_token_learner",
    "token_learner",
    "blocks_after_token_learner",
    "token_fuser",
    "head",
)
CONVOLUTION_TAPS = 9  # 3x3 kernels of TokenLearner v1.0
STEM_NAMES = ("patch_embedding", "tubelet_embedding")


@dataclasses.dataclass(frozen=True)
class FlopsCount:
    """Multiply-adds of one forward pass for a single example, by stage."""

    stages: dict

    @property
    def total(self):
        return sum(self.stages.values())

    @property
    def gflops(self):
        return self.total / 1e9

    def __str__(self):
        rows = [f"{stage:<28} {count / 1e9:10.3f}" for stage, count in self.stages.items()]
        return "\n".join(rows + [f"{'total GFLOPs':<28} {self.gflops:10.3f}"])


def block_macs(positions, hidden_dim, mlp_dim):
    """One pre-LN transformer block on `positions` tokens."""
    projections = 4 * positions * hidden_dim * hidden_dim  # Q, K, V, output
    attention = 2 * positions * positions * hidden_dim  # QK^T and weights @ V
    mlp = 2 * positions * hidden_dim * mlp_dim
    return projections + attention + mlp


def token_learner_macs(layer, positions, hidden_dim):
    """TokenLearner on one frame of `positions` positions."""
    num_tokens = layer.num_tokens
    pooling = num_tokens * positions * hidden_dim  # maps @ inputs
    if layer.version == "1.1":
        bottleneck = layer.bottleneck_dim
        return positions * bottleneck * (hidden_dim + num_tokens) + pooling
    first = positions * CONVOLUTION_TAPS * hidden_dim * num_tokens
    others = 3 * positions * CONVOLUTION_TAPS * num_tokens * num_tokens
    return first + others + pooling


def token_fuser_macs(layer, num_tokens, positions, hidden_dim):
    """TokenFuser mapping `num_tokens` tokens onto one frame's positions."""
    token_mixing = hidden_dim * num_tokens * num_tokens
    mixing_mlp = positions * layer.bottleneck_dim * (hidden_dim + num_tokens)
    return token_mixing + mixing_mlp + positions * num_tokens * hidden_dim


def _first_layer(model, layer_class):
    return next((layer for layer in model.layers if isinstance(layer, layer_class)), None)


def flops(model):
    """Counts multiply-adds of a `ViT` or `VideoViT` for one example.

    Multiply-adds are the unit the ViT and TokenLearner papers call FLOPs.

    Args:
        model: a `ViT` or `VideoViT` of this package.

    Returns:
        FlopsCount: `.total`, `.gflops` and `.stages` (stem, blocks before
        TokenLearner, TokenLearner, blocks after, fuser, head). Plain models
        count all blocks as "before".
    """
    if not isinstance(model, encoder.EncoderModel):
        raise validation.invalid_value(
            "model", "a ViT or VideoViT of this package", type(model).__name__
        )
    arguments = encoder.check_encoder_arguments(model.get_config())  # resolves the index
    hidden_dim, mlp_dim = arguments["hidden_dim"], arguments["mlp_dim"]
    grid = patch_grid(model)  # (h, w) or (T, h, w)
    frames, positions = math.prod(grid[:-2]), grid[-2] * grid[-1]
    stem = next(layer for layer in model.layers if layer.name in STEM_NAMES)
    stem_inputs = math.prod(stem.kernel.shape[:-1])
    stages = dict.fromkeys(STAGES, 0)
    stages["stem"] = frames * positions * stem_inputs * hidden_dim
    if arguments["num_classes"]:
        stages["head"] = hidden_dim * arguments["num_classes"]
    sequence = frames * positions + (arguments["pooling"] == "token")
    index = arguments["token_learner_index"]
    if arguments["num_tokens"] is None:
        index = arguments["num_layers"]  # every block is "before"
    stages["blocks_before_token_learner"] = index * block_macs(sequence, hidden_dim, mlp_dim)
    if arguments["num_tokens"] is None:
        return FlopsCount(stages)
    num_tokens, later_blocks = arguments["num_tokens"], arguments["num_layers"] - index
    learner_macs = frames * token_learner_macs(
        _first_layer(model, TokenLearner), positions, hidden_dim
    )
    if arguments["use_token_fuser"]:
        fuser = _first_layer(model, TokenFuser)
        fuser_macs = frames * token_fuser_macs(fuser, num_tokens, positions, hidden_dim)
        stages["token_fuser"] = later_blocks * fuser_macs
        learner_macs *= later_blocks
    stages["token_learner"] = learner_macs
    stages["blocks_after_token_learner"] = later_blocks * block_macs(
        frames * num_tokens, hidden_dim, mlp_dim
    )
    return FlopsCount(stages)
