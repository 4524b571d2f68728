"""`mixed_bfloat16` inference against float32, next to the bf16 matmul speedup.

Measures, in one run, a large bfloat16 matmul against the float32 one (the
hardware's ceiling for the speedup: AVX512-BF16 or AMX on CPUs, tensor cores
on GPUs), then ViT-B/16 and TokenLearner ViT-B/16 at 224 px under the
`mixed_bfloat16` policy (bfloat16 compute, float32 variables) against
float32, XLA on and off.

    python benchmarks/mixed_precision.py
"""

import argparse

import harness
import keras
import tensorflow as tf

import keras_tokenlearner as ktl


def forward(name, policy, jit_compile):
    """A compiled inference call of the zoo model `name` under `policy`."""
    keras.config.set_dtype_policy(policy)
    try:
        model = ktl.create_model(name)
    finally:
        keras.config.set_dtype_policy("float32")
    return harness.inference_call(model, jit_compile)


def run(models, batch_size, repeats):
    float32_rate = harness.matmul_rate(tf.float32)
    bfloat16_rate = harness.matmul_rate(tf.bfloat16)
    print(f"matmul: float32 {float32_rate / 1e9:.0f} GFLOP/s, bfloat16 "
          f"{bfloat16_rate / 1e9:.0f} GFLOP/s ({bfloat16_rate / float32_rate:.2f}x)")
    rows = []
    for name in models:
        for jit_compile in (True, False):
            images = tf.random.uniform((batch_size, 224, 224, 3), -1.0, 1.0)
            seconds = harness.time_calls({
                policy: forward(name, policy, jit_compile)
                for policy in ("float32", "mixed_bfloat16")}, images, repeats)
            keras.backend.clear_session()
            float32, bfloat16 = seconds["float32"], seconds["mixed_bfloat16"]
            rows.append({"model": name, "xla": jit_compile, "batch_size": batch_size,
                         "float32_images_per_second": batch_size / float32,
                         "mixed_bfloat16_images_per_second": batch_size / bfloat16,
                         "speedup": float32 / bfloat16})
            print(f"{name:<30} xla={str(jit_compile):<5} float32 {batch_size / float32:7.2f} "
                  f"img/s  mixed_bfloat16 {batch_size / bfloat16:7.2f} img/s  "
                  f"{float32 / bfloat16:.2f}x", flush=True)
    return {"float32_matmul_flops": float32_rate, "bfloat16_matmul_flops": bfloat16_rate,
            "matmul_speedup": bfloat16_rate / float32_rate, "rows": rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+",
                        default=["vit_base_patch16", "vit_base_patch16_tokenlearner"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    harness.save("mixed_precision", run(args.models, args.batch_size, args.repeats))


if __name__ == "__main__":
    main()
