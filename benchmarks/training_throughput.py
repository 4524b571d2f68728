"""Training throughput: one device against MirroredStrategy over 2 devices.

Runs the package's trainer (`python -m keras_tokenlearner.train`) in a fresh
process per setting, because logical devices must be configured before
TensorFlow starts: one device, and MirroredStrategy over 2 devices (2
logical CPUs here, or 2 GPUs where there are), each with XLA on and off, at
the same global batch. Reports training images/s (the compiled step alone,
after the first, compiling step) from each run's metrics.json.

On a CPU the 2 logical devices share the same cores, so mirrored can only
show the cost of replication and the all-reduce; on 2 GPUs it shows scaling.

    python benchmarks/training_throughput.py
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import harness
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRATEGIES = {"one device": ["--strategy", "one_device"],
              "mirrored, 2 devices": ["--strategy", "mirrored", "--cpu-devices", "2"]}


def train_images_per_second(model, strategy_flags, jit_compile, steps, batch_size):
    with tempfile.TemporaryDirectory() as workdir:
        command = [sys.executable, "-m", "keras_tokenlearner.train", "--model", model,
                   "--steps", str(steps), "--batch-size", str(batch_size), "--no-export",
                   "--workdir", workdir, "--checkpoint-every", str(steps),
                   "--jit-compile" if jit_compile else "--no-jit-compile", *strategy_flags]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                                env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
        if result.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
        with open(os.path.join(workdir, "metrics.json")) as handle:
            return json.load(handle)


def run(models, steps, batch_size):
    rows = []
    for model in models:
        for jit_compile in (True, False):
            single = None
            for strategy, flags in STRATEGIES.items():
                metrics = train_images_per_second(model, flags, jit_compile, steps, batch_size)
                speed = metrics["train_images_per_second"]
                single = single or speed
                rows.append({"model": model, "strategy": strategy, "xla": jit_compile,
                             "replicas": metrics["num_replicas"], "batch_size": batch_size,
                             "images_per_second": speed, "vs_one_device": speed / single})
                print(f"{model:<30} xla={str(jit_compile):<5} {strategy:<20} "
                      f"{speed:8.0f} img/s ({speed / single:.2f}x one device)", flush=True)
    return {"steps": steps, "gpus": len(tf.config.list_physical_devices("GPU")), "rows": rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+",
                        default=["vit_test_patch4_tokenlearner", "vit_test_patch4"])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    harness.save("training_throughput", run(args.models, args.steps, args.batch_size))


if __name__ == "__main__":
    main()
