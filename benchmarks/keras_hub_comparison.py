"""Our ViT-B/16 against keras-hub's `ViTBackbone`, side by side in one process.

Both models have the same configuration (224 px, patch 16, 12 layers, 12
heads, width 768, MLP 3072, no classification head: 85,798,656 parameters
each) and run the same batch with the same XLA setting, timed turn by turn
(`harness.time_calls`), so both see the same machine state. keras-hub returns the whole normalized
sequence and ours the normalized class token; the difference in work is one
LayerNorm on 196 tokens.

keras-hub is not a dependency of this package; install it for this script:

    pip install --no-deps keras-hub==0.32.0 && pip install regex kagglehub tokenizers sentencepiece
    python benchmarks/keras_hub_comparison.py
"""

import argparse

import harness
import keras
import keras_hub
import tensorflow as tf

import keras_tokenlearner as ktl

BASE = dict(num_layers=12, num_heads=12, hidden_dim=768, mlp_dim=3072)


def models():
    ours = ktl.create_model("vit_base_patch16", num_classes=None)
    theirs = keras_hub.models.ViTBackbone(image_shape=(224, 224, 3), patch_size=16, **BASE)
    if ours.count_params() != theirs.count_params():
        raise RuntimeError(f"parameters differ: ours {ours.count_params():,}, "
                           f"keras-hub {theirs.count_params():,}")
    return {"ours": ours, "keras-hub": theirs}


def run(batch_sizes, repeats):
    compared = models()
    macs = ktl.flops(compared["ours"]).total
    roof = harness.matmul_rate()
    rows = []
    for jit_compile in (True, False):
        for batch_size in batch_sizes:
            images = tf.random.uniform((batch_size, 224, 224, 3), -1.0, 1.0)
            seconds = harness.time_calls({
                name: harness.inference_call(model, jit_compile)
                for name, model in compared.items()}, images, repeats)
            rows.append({
                "xla": jit_compile, "batch_size": batch_size,
                "ours_images_per_second": batch_size / seconds["ours"],
                "keras_hub_images_per_second": batch_size / seconds["keras-hub"],
                "ours_vs_keras_hub": seconds["keras-hub"] / seconds["ours"],
                "ours_fraction_of_matmul_rate": 2 * macs * batch_size / seconds["ours"] / roof,
            })
            row = rows[-1]
            print(f"xla={str(jit_compile):<5} batch={batch_size:<3} ours "
                  f"{row['ours_images_per_second']:7.2f} img/s  keras-hub "
                  f"{row['keras_hub_images_per_second']:7.2f} img/s  ours "
                  f"{row['ours_vs_keras_hub']:.2f}x keras-hub; ours at "
                  f"{100 * row['ours_fraction_of_matmul_rate']:.0f}% of the matmul rate",
                  flush=True)
    return {"keras_hub": keras_hub.__version__, "keras": keras.__version__,
            "parameters": compared["ours"].count_params(), "float32_matmul_flops": roof,
            "rows": rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    harness.save("keras_hub_comparison", run(args.batch_sizes, args.repeats))


if __name__ == "__main__":
    main()
