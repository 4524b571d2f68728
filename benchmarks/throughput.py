"""Inference throughput and latency: ViT vs TokenLearner ViT vs TokenFuser ViT.

For each size (tiny, small, base at 224 px), XLA on and off, batch 1 and 32,
prints images/s and latency, each speedup over the plain ViT next to the
analytic FLOPs ratio, and the model's achieved FLOP rate as a fraction of the
machine's float32 matmul rate measured in the same run. Writes
benchmarks/results/throughput.json.

    python benchmarks/throughput.py                 # the full table
    python benchmarks/throughput.py --sizes tiny --batch-sizes 1 --repeats 2   # quick look
"""

import argparse

import harness
import tensorflow as tf

import keras_tokenlearner as ktl

VARIANTS = ("", "_tokenlearner", "_tokenfuser")


def time_model(model, batch_size, jit_compile, repeats):
    """Seconds per batch of a compiled forward pass (median of `repeats`)."""
    forward = tf.function(lambda x: model(x, training=False), jit_compile=jit_compile)
    images = tf.random.uniform((batch_size,) + tuple(model.input.shape[1:]), -1.0, 1.0)
    return harness.time_call(forward, images, repeats)


def run(sizes, batch_sizes, repeats):
    roof = harness.matmul_rate()
    rows = []
    for size in sizes:
        base = f"vit_{size}_patch16"
        plain_flops = ktl.flops(ktl.models.zoo.build_symbolic(base, pooling="gap")).total
        for jit_compile in (True, False):
            for batch_size in batch_sizes:
                plain_seconds = None
                for suffix in VARIANTS:
                    model = ktl.create_model(base + suffix, pooling="gap")
                    macs = ktl.flops(model).total
                    seconds = time_model(model, batch_size, jit_compile, repeats)
                    plain_seconds = plain_seconds or seconds
                    rows.append({
                        "model": base + suffix, "xla": jit_compile, "batch_size": batch_size,
                        "images_per_second": batch_size / seconds,
                        "latency_ms": 1000 * seconds,
                        "speedup": plain_seconds / seconds,
                        "flops_ratio": plain_flops / macs,
                        "fraction_of_matmul_rate": 2 * macs * batch_size / seconds / roof,
                    })
                    print(format_row(rows[-1]), flush=True)
    return {"float32_matmul_flops": roof, "rows": rows}


def format_row(row):
    return (f"{row['model']:<32} xla={str(row['xla']):<5} batch={row['batch_size']:<3} "
            f"{row['images_per_second']:9.1f} img/s {row['latency_ms']:9.1f} ms  "
            f"speedup {row['speedup']:.2f}x (FLOPs ratio {row['flops_ratio']:.2f}x)  "
            f"{100 * row['fraction_of_matmul_rate']:.0f}% of matmul rate")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["tiny", "small", "base"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = run(args.sizes, args.batch_sizes, args.repeats)
    print(f"float32 matmul: {results['float32_matmul_flops'] / 1e9:.1f} GFLOP/s")
    harness.save("throughput", results)


if __name__ == "__main__":
    main()
