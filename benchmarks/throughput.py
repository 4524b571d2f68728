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
import json
import os
import pathlib
import platform
import time

import numpy as np
import tensorflow as tf

import keras_tokenlearner as ktl

ROOT = pathlib.Path(__file__).resolve().parent.parent
VARIANTS = ("", "_tokenlearner", "_tokenfuser")


def device_description():
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    return f"CPU {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def matmul_rate(dtype=tf.float32, size=4096, repeats=5):
    """FLOP/s of a large TF matmul (2 x multiply-adds), the machine's roof.

    The best of the XLA and the non-XLA (oneDNN on CPU) kernels.
    """
    a = tf.cast(tf.random.normal((size, size)), dtype)
    rates = []
    for jit_compile in (True, False):
        product = tf.function(lambda x: tf.matmul(x, x), jit_compile=jit_compile)
        product(a).numpy()
        started = time.perf_counter()
        for _ in range(repeats):
            product(a).numpy()
        rates.append(2 * size**3 * repeats / (time.perf_counter() - started))
    return max(rates)


def time_model(model, batch_size, jit_compile, repeats):
    """Seconds per batch of a compiled forward pass (median of `repeats`)."""
    forward = tf.function(lambda x: model(x, training=False), jit_compile=jit_compile)
    x = tf.random.uniform((batch_size,) + tuple(model.input.shape[1:]))
    forward(x).numpy()  # compile and warm up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        forward(x).numpy()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def run(sizes, batch_sizes, repeats):
    roof = matmul_rate()
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
    return {"device": device_description(), "float32_matmul_flops": roof, "rows": rows}


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
    print(f"device: {results['device']}; float32 matmul: "
          f"{results['float32_matmul_flops'] / 1e9:.1f} GFLOP/s")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "throughput.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
