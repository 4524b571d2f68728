"""Peak memory and time of `load_pretrained` into a built ViT-B/16, against the file.

For an `.npz` written by `save_npz` and a timm-layout `.safetensors` written
from the same weights, each in a fresh process that first builds the model:

- added peak: the peak resident memory (VmHWM, reset after the build) less
  the resident memory of the built model, against the file size
  (target: at most 0.5x);
- time: `load_pretrained`'s seconds against reading the whole file into
  memory, both with the file in the page cache (target: at most 2x).

    python benchmarks/pretrained_memory.py

Each load runs under JAX and under TensorFlow.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

MODEL = "vit_base_patch16"
BACKENDS = ("jax", "tensorflow")
FORMATS = {"npz": "vit_b16.npz", "safetensors": "vit_b16.safetensors"}
TARGETS = {"added_peak_over_file": 0.5, "time_over_read": 2.0}


def status(field):
    """A `/proc/self/status` memory field (VmRSS, VmHWM) in bytes."""
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def reset_peak():
    """Resets VmHWM to the current resident memory (Linux 4.0 and newer)."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def child_load(path):
    """In a fresh process: build the model, then load `path`; prints JSON."""
    import gc

    import keras_tokenlearner as ktl

    model = ktl.create_model(MODEL)
    gc.collect()
    reset_peak()
    before = status("VmRSS")
    started = time.perf_counter()
    ktl.load_pretrained(model, path)
    seconds = time.perf_counter() - started
    print(json.dumps({"added_peak": status("VmHWM") - before, "seconds": seconds,
                      "model_rss": before}))


def child_read(path):
    """Seconds to read `path` into one `bytes` (the file already cached)."""
    started = time.perf_counter()
    with open(path, "rb") as handle:
        data = handle.read()
    print(json.dumps({"seconds": time.perf_counter() - started, "bytes": len(data)}))


def child_write(directory):
    """Writes the `.npz` (save_npz) of one model and the same weights as a
    timm `.safetensors` (by the tests' conversion rules)."""
    import numpy as np

    import keras_tokenlearner as ktl
    from tests.pretrained import layouts

    npz = ktl.save_npz(ktl.create_model(MODEL), os.path.join(directory, "vit_b16.npz"))
    legacy = {}  # save_npz's big_vision names -> vit_jax's, which the conversion reads
    for key, value in np.load(npz).items():
        for linen, pre_linen in LEGACY_NAMES:
            key = key.replace(linen, pre_linen)
        legacy[key] = value
    layouts.write(layouts.timm_from_vit_jax(legacy), pathlib.Path(directory,
                                                                  "vit_b16.safetensors"))


LEGACY_NAMES = [("MultiHeadDotProductAttention_0", "MultiHeadDotProductAttention_1"),
                ("LayerNorm_1", "LayerNorm_2"), ("MlpBlock_0", "MlpBlock_3"),
                ("pos_embedding", "Transformer/posembed_input/pos_embedding")]


def run_child(*arguments, backend="jax"):
    """Runs this script in a fresh process; its last output line as JSON."""
    output = subprocess.run([sys.executable, __file__, *arguments], check=True,
                            capture_output=True, text=True,
                            env={**os.environ, "KERAS_BACKEND": backend}).stdout
    return json.loads(output.strip().splitlines()[-1])


def measure(path, repeats, backend):
    """The median load and read of `path` over `repeats` fresh processes each."""
    run_child("--read", path)  # into the page cache
    loads = sorted((run_child("--load", path, backend=backend) for _ in range(repeats)),
                   key=lambda result: result["seconds"])
    reads = sorted(run_child("--read", path)["seconds"] for _ in range(repeats))
    load = loads[len(loads) // 2]
    size = os.path.getsize(path)
    return {"file_bytes": size, "model_rss_bytes": load["model_rss"],
            "added_peak_bytes": max(result["added_peak"] for result in loads),
            "load_seconds": load["seconds"], "read_seconds": reads[len(reads) // 2],
            "added_peak_over_file": max(r["added_peak"] for r in loads) / size,
            "time_over_read": load["seconds"] / reads[len(reads) // 2]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--load")
    parser.add_argument("--read")
    parser.add_argument("--write")
    arguments = parser.parse_args()
    if arguments.load or arguments.read or arguments.write:
        child = {"load": child_load, "read": child_read, "write": child_write}
        for name, function in child.items():
            if getattr(arguments, name):
                return function(getattr(arguments, name))
    with tempfile.TemporaryDirectory() as directory:
        subprocess.run([sys.executable, __file__, "--write", directory], check=True,
                       capture_output=True)
        results = {backend: {name: measure(os.path.join(directory, file), arguments.repeats,
                                           backend) for name, file in FORMATS.items()}
                   for backend in BACKENDS}
    table = markdown_table(results)
    print(table)
    import harness  # TensorFlow: kept out of the measured processes

    harness.save("pretrained_memory", {"model": MODEL, "targets": TARGETS, "results": results})
    harness.update_markdown(harness.DOCS / "models.md", "pretrained-memory", table)


def markdown_table(results):
    """Each format's figures against the file size, as a Markdown table."""
    lines = ["| backend | format | file | added peak RSS | × file | load | read the file | "
             "× read |", "|---|---|---|---|---|---|---|---|"]
    for backend, name, result in [(backend, name, result) for backend, by_format in
                                  results.items() for name, result in by_format.items()]:
        lines.append(
            f"| {backend} | {name} | {result['file_bytes'] / 1e6:.0f} MB | "
            f"{result['added_peak_bytes'] / 1e6:.0f} MB | {result['added_peak_over_file']:.2f} | "
            f"{result['load_seconds']:.2f} s | {result['read_seconds']:.2f} s | "
            f"{result['time_over_read']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    main()
