"""Where ViT-B/16's time goes: one transformer block against its matmuls alone.

Times, turn by turn with XLA on and off, at B=32 and 197 tokens of width 768
(ViT-B/16 at 224 px): the whole `TransformerBlock`, its attention, its MLP,
and the same matrix products as bare TF matmuls on the block's own weights
(no LayerNorm, bias, GELU, softmax, transpose or residual). Each is shown as
a fraction of the float32 matmul rate measured in the same run, so the gap
between "matmuls only" and "block" is what the memory-bound passes cost.
Writes benchmarks/results/block_profile.json.

    python benchmarks/block_profile.py
"""

import argparse

import harness
import tensorflow as tf

from keras_tokenlearner.layers import TransformerBlock

BATCH_SIZE, LENGTH, HIDDEN_DIM, NUM_HEADS, MLP_DIM = 32, 197, 768, 12, 3072
HEAD_DIM = HIDDEN_DIM // NUM_HEADS
ATTENTION_FLOPS = 2 * BATCH_SIZE * LENGTH * HIDDEN_DIM * (4 * HIDDEN_DIM + 2 * LENGTH)
MLP_FLOPS = 2 * BATCH_SIZE * LENGTH * 2 * HIDDEN_DIM * MLP_DIM
BLOCK_FLOPS = ATTENTION_FLOPS + MLP_FLOPS  # 2 x multiply-adds


def matmuls_only(block):
    """The block's matrix products alone, as bare TF matmuls on its weights."""
    attention, mlp = block.attention, block.mlp
    kernels = [dense.kernel for dense in attention.projections]

    def call(x):
        rows = tf.reshape(x, (-1, HIDDEN_DIM))  # (B * L, D)
        query, key, value = (
            tf.reshape(rows @ kernel, (-1, LENGTH, HEAD_DIM)) for kernel in kernels
        )  # each (B * H, L, K), heads not transposed: the same FLOPs
        weights = tf.matmul(query, key, transpose_b=True)  # (B * H, L, L)
        context = tf.reshape(weights @ value, (-1, HIDDEN_DIM))  # (B * L, D)
        hidden = (context @ attention.output_dense.kernel) @ mlp.hidden.kernel  # (B * L, M)
        return hidden @ mlp.output_dense.kernel  # (B * L, D)

    return call


def run(repeats):
    roof = harness.matmul_rate()
    inputs = tf.random.normal((BATCH_SIZE, LENGTH, HIDDEN_DIM))
    block = TransformerBlock(HIDDEN_DIM, NUM_HEADS, MLP_DIM)
    block(inputs)
    parts = {"block": (block, BLOCK_FLOPS), "matmuls only": (matmuls_only(block), BLOCK_FLOPS),
             "attention": (block.attention, ATTENTION_FLOPS), "mlp": (block.mlp, MLP_FLOPS)}
    rows = []
    for jit_compile in (True, False):
        seconds = harness.time_calls(
            {name: tf.function(function, jit_compile=jit_compile)
             for name, (function, _) in parts.items()}, inputs, repeats)
        for name, (_, flops) in parts.items():
            rows.append({"part": name, "xla": jit_compile, "ms": 1000 * seconds[name],
                         "fraction_of_matmul_rate": flops / seconds[name] / roof})
            print(f"{name:<13} xla={str(jit_compile):<5} {rows[-1]['ms']:7.1f} ms  "
                  f"{100 * rows[-1]['fraction_of_matmul_rate']:.0f}% of the matmul rate",
                  flush=True)
    return {"float32_matmul_flops": roof, "batch_size": BATCH_SIZE, "length": LENGTH,
            "rows": rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    harness.save("block_profile", run(args.repeats))


if __name__ == "__main__":
    main()
