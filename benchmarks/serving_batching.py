"""TF Serving batching parameters, measured: latency of the exported SavedModel per batch size.

Exports a zoo model (the TokenLearner ViT-B/16 at 224 px by default) with
`export_saved_model`, loads it with `tf.saved_model.load`, and times its
`serving_default` signature (uint8 images at the model's size) at batch
sizes 1, 2, 4, ..., turn by turn (`harness.time_calls`). The batching
parameters follow from the timings and TF Serving's batching guide:

* `max_batch_size`: the largest batch size timed whose batch runs within
  `--latency-budget-ms` (1 s): a larger batch alone would break that
  budget. It also bounds the batch that one request may carry;
* `allowed_batch_sizes`: the powers of two up to it (each one is warmed up);
* `batch_timeout_micros`: 0 when no allowed batch size raises the images/s
  by `--min-gain` (10%) over batch 1, as waiting for more requests then
  buys nothing; else one image's latency, within the guide's 1-10 ms;
* `num_batch_threads`: the machine's cores (the guide's CPU advice);
* `max_enqueued_batches`: `num_batch_threads` (the guide, for online serving).

Prints the table and the dict to put in
`keras_tokenlearner/serving_warmup.py` (`BATCHING_PARAMETERS`); writes
benchmarks/results/serving_batching.json.

    python benchmarks/serving_batching.py
    python benchmarks/serving_batching.py --model vit_tiny_patch16 --max-batch-size 8 --repeats 2
"""

import argparse
import itertools
import os
import tempfile

import harness
import numpy as np
import tensorflow as tf

import keras_tokenlearner as ktl
from keras_tokenlearner import export

TIMEOUT_RANGE_MICROS = (1000, 10000)  # the batching guide's range for batch_timeout_micros


def latencies(model_name, batch_sizes, repeats):
    """Median seconds of the exported `serving_default` at each batch size."""
    model = ktl.create_model(model_name, num_classes=1000)
    input_shape = tuple(model.inputs[0].shape[1:])
    with tempfile.TemporaryDirectory() as directory:
        path = export.export_saved_model(model, directory, warmup_requests=0)
        signature = tf.saved_model.load(path).signatures["serving_default"]
        calls = {batch_size: _call(signature, batch_size, input_shape)
                 for batch_size in batch_sizes}
        seconds = harness.time_calls(calls, None, repeats)  # turn by turn: fair ratios
    return input_shape, seconds


def _call(signature, batch_size, input_shape):
    """A call of `signature` on a mid-gray uint8 batch of `batch_size` (its argument unused)."""
    images = tf.fill((batch_size,) + input_shape, tf.constant(128, tf.uint8))  # (B, H, W, 3)
    return lambda unused: signature(images=images)["probabilities"]


def derive(seconds, cores, latency_budget, min_gain):
    """The batching parameters that the timings and the batching guide give."""
    sizes = sorted(seconds)  # 1, 2, 4, ...
    allowed = tuple(itertools.takewhile(lambda size: seconds[size] <= latency_budget, sizes))
    allowed = allowed or (1,)
    images_per_second = {size: size / seconds[size] for size in allowed}
    pays = max(images_per_second.values()) >= (1 + min_gain) * images_per_second[1]
    timeout = int(round(seconds[1] * 1e6, -3))  # one image's latency, in whole ms
    return {
        "max_batch_size": allowed[-1],
        "batch_timeout_micros": int(np.clip(timeout, *TIMEOUT_RANGE_MICROS)) if pays else 0,
        "num_batch_threads": cores,
        "max_enqueued_batches": cores,
        "allowed_batch_sizes": allowed,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vit_base_patch16_tokenlearner")
    parser.add_argument("--max-batch-size", type=int, default=32,
                        help="the largest batch size timed (powers of two up to it)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency-budget-ms", type=float, default=1000.0,
                        help="the longest a whole batch may take (default: 1000)")
    parser.add_argument("--min-gain", type=float, default=0.10,
                        help="the images/s gain over batch 1 that makes waiting worth it")
    args = parser.parse_args()
    batch_sizes = [2**power for power in range(args.max_batch_size.bit_length())]
    input_shape, seconds = latencies(args.model, batch_sizes, args.repeats)
    print(f"{args.model}, input {input_shape}, serving_default of the SavedModel")
    print(f"{'batch':>6} {'latency ms':>11} {'images/s':>9}")
    for batch_size, time in seconds.items():
        print(f"{batch_size:>6} {time * 1e3:>11.1f} {batch_size / time:>9.1f}")
    parameters = derive(seconds, os.cpu_count(), args.latency_budget_ms / 1e3, args.min_gain)
    print(f"\nBATCHING_PARAMETERS = {parameters}")
    harness.save("serving_batching", {
        "model": args.model, "input_shape": list(input_shape), "min_gain": args.min_gain,
        "latency_budget_ms": args.latency_budget_ms,
        "seconds": {str(size): time for size, time in seconds.items()},
        "batching_parameters": parameters})


if __name__ == "__main__":
    main()
