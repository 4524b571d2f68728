"""Inference throughput and latency: ViT vs TokenLearner ViT vs TokenFuser ViT.

For each size (tiny, small, base at 224 px), XLA on and off, batch 1 and 32,
times the three models turn by turn (`harness.time_calls`) and prints
images/s and latency, each speedup over the plain ViT next to the analytic
FLOPs ratio, and the model's achieved FLOP rate as a fraction of the machine's
float32 matmul rate measured in the same run. Every model is built with
global average pooling (the plain zoo ViTs default to a class token), so the
three variants differ only in TokenLearner and TokenFuser. Writes
benchmarks/results/throughput.json.

    python benchmarks/throughput.py                 # the full table
    python benchmarks/throughput.py --sizes tiny --batch-sizes 1 --repeats 2   # quick look
"""

import argparse

import harness
import tensorflow as tf

import keras_tokenlearner as ktl

VARIANTS = ("", "_tokenlearner", "_tokenfuser")


def run(sizes, batch_sizes, repeats):
    roof = harness.matmul_rate()
    rows = []
    for size in sizes:
        base = f"vit_{size}_patch16"
        models = {base + suffix: ktl.create_model(base + suffix, pooling="gap")
                  for suffix in VARIANTS}
        macs = {name: ktl.flops(model).total for name, model in models.items()}
        for jit_compile in (True, False):
            for batch_size in batch_sizes:
                images = tf.random.uniform((batch_size, 224, 224, 3), -1.0, 1.0)
                seconds = harness.time_calls(
                    {name: harness.inference_call(model, jit_compile)
                     for name, model in models.items()},
                    images, repeats)
                for name in models:
                    rows.append({
                        "model": name, "xla": jit_compile, "batch_size": batch_size,
                        "images_per_second": batch_size / seconds[name],
                        "latency_ms": 1000 * seconds[name],
                        "speedup": seconds[base] / seconds[name],
                        "flops_ratio": macs[base] / macs[name],
                        "fraction_of_matmul_rate":
                            2 * macs[name] * batch_size / seconds[name] / roof,
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
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    results = run(args.sizes, args.batch_sizes, args.repeats)
    print(f"float32 matmul: {results['float32_matmul_flops'] / 1e9:.1f} GFLOP/s")
    harness.save("throughput", results)


if __name__ == "__main__":
    main()
