"""The TokenLearner layer alone: against two published designs, and as N grows.

1. B=32, a 28x28x768 feature map, 8 tokens. Our layer against
   - the RT-1 TensorFlow TokenLearner (google-research/robotics_transformer,
     tokenizers/token_learner.py, version 1.1), and
   - the keras-io example's `token_learner` ("Learning to tokenize in Vision
     Transformers", version 1.0 with mean pooling),
   both re-implemented below from their published descriptions (not copied),
   loaded with our layer's weights and checked to give the same tokens. Each
   is timed with XLA on and off, turn by turn with ours. Our layer's time is also compared with its
   own FLOPs (2 x multiply-adds) at the float32 matmul rate measured in the
   same run.
2. Our layer at N = 196, 784 and 3136 positions (14^2, 28^2, 56^2): time and
   peak memory of one call, which should grow linearly in N.

    python benchmarks/token_learner_layer.py
"""

import argparse
import math

import harness
import keras
import numpy as np
import tensorflow as tf

from keras_tokenlearner import TokenLearner
from keras_tokenlearner.models.flops import token_learner_macs

BATCH_SIZE, SIDE, CHANNELS, NUM_TOKENS = 32, 28, 768, 8


def gelu_tanh(x):
    """GELU, tanh approximation, written out as RT-1 does."""
    return 0.5 * x * (1.0 + tf.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


class RT1TokenLearner(keras.layers.Layer):
    """RT-1's version 1.1 design: a static-shape reshape, LayerNorm, a 2-layer
    MLP to S logits per position, transpose, softmax over positions, einsum."""

    def __init__(self, num_tokens, bottleneck_dim=64):
        super().__init__()
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.hidden = keras.layers.Dense(bottleneck_dim)
        self.output_dense = keras.layers.Dense(num_tokens)

    def call(self, inputs):
        batch, height, width, channels = inputs.shape  # static shapes, as in RT-1
        inputs = tf.reshape(inputs, [batch, height * width, channels])  # (B, N, C)
        selected = self.output_dense(gelu_tanh(self.hidden(self.norm(inputs))))  # (B, N, S)
        selected = tf.nn.softmax(tf.transpose(selected, [0, 2, 1]), axis=-1)  # (B, S, N)
        return tf.einsum("bsn,bnc->bsc", selected, inputs)  # (B, S, C)


class KerasIoTokenLearner(keras.layers.Layer):
    """The keras-io example's version 1.0 design: LayerNorm, four bias-free 3x3
    convolutions (GELU on three, sigmoid on the last), then every input
    position times every map, averaged over the positions."""

    def __init__(self, num_tokens):
        super().__init__()
        self.num_tokens = num_tokens
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6)
        activations = ["gelu"] * 3 + ["sigmoid"]
        self.convolutions = [
            keras.layers.Conv2D(num_tokens, 3, padding="same", use_bias=False,
                                activation=activation)
            for activation in activations
        ]

    def call(self, inputs):
        maps = self.norm(inputs)  # (B, H, W, C)
        for convolution in self.convolutions:
            maps = convolution(maps)  # (B, H, W, S)
        maps = tf.reshape(maps, [-1, SIDE * SIDE, self.num_tokens])  # (B, N, S)
        maps = tf.transpose(maps, [0, 2, 1])  # (B, S, N)
        flat = tf.reshape(inputs, [-1, 1, SIDE * SIDE, inputs.shape[-1]])  # (B, 1, N, C)
        return tf.reduce_mean(flat * maps[..., None], axis=2)  # (B, S, N, C) -> (B, S, C)


def matched_pair(version):
    """Our layer and the matching published design, holding the same weights."""
    if version == "1.1":
        ours, theirs = TokenLearner(NUM_TOKENS), RT1TokenLearner(NUM_TOKENS)
    else:
        ours = TokenLearner(NUM_TOKENS, version="1.0", use_sum_pooling=False)
        theirs = KerasIoTokenLearner(NUM_TOKENS)
    shape = (BATCH_SIZE, SIDE, SIDE, CHANNELS)
    ours.build(shape)
    theirs(tf.zeros(shape))
    theirs.set_weights(ours.get_weights())
    features = tf.random.normal(shape, seed=0)
    difference = np.abs(np.asarray(ours(features)) - np.asarray(theirs(features))).max()
    if difference > 1e-4:  # the comparison would be meaningless
        raise RuntimeError(f"version {version}: tokens differ from ours by {difference}")
    return ours, theirs, features


def compare_designs(repeats, roof):
    rows = []
    for version, name in (("1.1", "RT-1 (TF)"), ("1.0", "keras-io example")):
        ours, theirs, features = matched_pair(version)
        ideal = 2 * BATCH_SIZE * token_learner_macs(ours, SIDE * SIDE, CHANNELS) / roof
        for jit_compile in (True, False):
            seconds = harness.time_calls({
                label: tf.function(layer, jit_compile=jit_compile)
                for label, layer in (("ours", ours), ("theirs", theirs))}, features, repeats)
            rows.append({"version": version, "reference": name, "xla": jit_compile,
                         "ours_ms": 1000 * seconds["ours"], "theirs_ms": 1000 * seconds["theirs"],
                         "speedup": seconds["theirs"] / seconds["ours"],
                         "flops_bound_ms": 1000 * ideal,
                         "ours_vs_flops_bound": seconds["ours"] / ideal})
            row = rows[-1]
            print(f"v{version} ours {row['ours_ms']:8.1f} ms  {name:<17} {row['theirs_ms']:8.1f} ms"
                  f"  xla={str(jit_compile):<5} ours {row['speedup']:5.2f}x faster;"
                  f" {row['ours_vs_flops_bound']:.2f}x its FLOPs at the matmul rate"
                  f" ({row['flops_bound_ms']:.1f} ms)", flush=True)
    return rows


def peak_bytes(function, features):
    """Peak allocator bytes of one call beyond what was allocated before it.

    On the device the call runs on: the GPU where there is one, else the CPU.
    """
    device = harness.compute_device()
    np.asarray(function(features))  # compile first
    tf.config.experimental.reset_memory_stats(device)
    before = tf.config.experimental.get_memory_info(device)["current"]
    np.asarray(function(features))
    return tf.config.experimental.get_memory_info(device)["peak"] - before


def scaling(sides, repeats):
    rows = []
    for version in ("1.1", "1.0"):
        for side in sides:
            layer = TokenLearner(NUM_TOKENS, version=version)
            features = tf.random.normal((BATCH_SIZE, side, side, CHANNELS), seed=0)
            function = tf.function(layer, jit_compile=True)
            rows.append({"version": version, "positions": side * side,
                         "ms": 1000 * harness.time_call(function, features, repeats),
                         "peak_megabytes": peak_bytes(function, features) / 2**20})
            first = next(r for r in rows if r["version"] == version)
            growth = rows[-1]["positions"] / first["positions"]
            print(f"v{version} N={side * side:<5} {rows[-1]['ms']:8.1f} ms "
                  f"({rows[-1]['ms'] / first['ms']:5.2f}x for {growth:.0f}x N)  peak "
                  f"{rows[-1]['peak_megabytes']:7.1f} MB "
                  f"({rows[-1]['peak_megabytes'] / first['peak_megabytes']:5.2f}x)", flush=True)
            keras.backend.clear_session()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--sides", nargs="+", type=int, default=[14, 28, 56])
    args = parser.parse_args()
    roof = harness.matmul_rate()
    print(f"float32 matmul: {roof / 1e9:.1f} GFLOP/s")
    designs = compare_designs(args.repeats, roof)
    growth = scaling(args.sides, args.repeats)
    harness.save("token_learner_layer", {"float32_matmul_flops": roof, "designs": designs,
                                         "scaling": growth})


if __name__ == "__main__":
    main()
