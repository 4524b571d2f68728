"""What every benchmark script shares: the device, the matmul roof, timing, results.

Run the scripts from the repository root, e.g. `python benchmarks/throughput.py`;
each prints a table and writes benchmarks/results/<name>.json.
"""

import datetime
import json
import os
import pathlib
import platform
import time

import numpy as np
import tensorflow as tf

from keras_tokenlearner import atomic

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
README = RESULTS.parent.parent / "README.md"
DOCS = RESULTS.parent.parent / "docs"
CPU_FEATURES = {"avx512f", "avx512_bf16", "amx_bf16"}  # what bounds the matmul rates


def device_description():
    """Where the numbers were measured: the GPU's name, or the CPU, cores, memory, features."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    model, features = platform.processor() or platform.machine(), set()
    if os.path.exists("/proc/cpuinfo"):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                features = set(line.split(":", 1)[1].split()) & CPU_FEATURES
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    described = f"CPU {model}, {os.cpu_count()} cores, {memory:.0f} GiB"
    return described + "".join(f", {feature}" for feature in sorted(features))


def compute_device():
    """The device TF places the benchmarks on: "GPU:0" where there is one, else "CPU:0"."""
    return "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU:0"


def matmul_rate(dtype=tf.float32, size=4096, repeats=5):
    """FLOP/s (2 x multiply-adds) of a large square TF matmul: the machine's roof.

    The best of the XLA kernel and the default one (oneDNN on CPU).
    """
    a = tf.cast(tf.random.normal((size, size)), dtype)
    rates = []
    for jit_compile in (True, False):
        product = tf.function(lambda x: tf.matmul(x, x), jit_compile=jit_compile)
        seconds = time_call(product, a, repeats)
        rates.append(2 * size**3 / seconds)
    return max(rates)


def inference_call(model, jit_compile):
    """A compiled inference call of `model` (training=False), XLA on or off."""
    return tf.function(lambda x: model(x, training=False), jit_compile=jit_compile)


def time_calls(functions, inputs, repeats):
    """Median seconds of each `functions[name](inputs)`, timed turn by turn.

    After one warm-up call each (trace, compile), every repeat calls each
    function once in turn, so a change in machine load touches all of them
    alike and their ratios stay fair.
    """
    for function in functions.values():
        np.asarray(function(inputs))  # trace, compile, warm up
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            started = time.perf_counter()
            np.asarray(function(inputs))  # waits for the result
            times[name].append(time.perf_counter() - started)
    return {name: float(np.median(seconds)) for name, seconds in times.items()}


def time_call(function, inputs, repeats):
    """Median seconds of `function(inputs)` over `repeats` calls, after a warm-up call."""
    return time_calls({"call": function}, inputs, repeats)["call"]


def write(path, payload):
    """Writes `payload` as JSON to `path` atomically, stamped with device and date."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"device": device_description(), "tensorflow": tf.__version__,
               "date": datetime.date.today().isoformat(), **payload}
    with atomic.atomic_file(path) as temporary:
        pathlib.Path(temporary).write_text(json.dumps(payload, indent=1))
    return payload


def save(name, payload):
    """Writes results/<name>.json (see `write`) and says where it ran."""
    payload = write(RESULTS / f"{name}.json", payload)
    print(f"\ndevice: {payload['device']}; wrote {RESULTS / f'{name}.json'}")
    return payload


def update_markdown(path, marker, text):
    """Replaces what lies between `<!-- marker:begin -->` and `<!-- marker:end -->` in `path`."""
    content = path.read_text()
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    start, stop = content.index(begin) + len(begin), content.index(end)
    path.write_text(content[:start] + "\n" + text + "\n" + content[stop:])
