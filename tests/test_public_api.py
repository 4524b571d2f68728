"""The package uses Keras's and TensorFlow's public APIs only."""

import os
import re

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "keras_tokenlearner")
# Keras's private modules and layer lists, its seed generators' list, and
# TensorFlow's private seed attributes (`context._seed`, `_rng`).
PRIVATE = re.compile(
    r"keras\.src|\._flatten_layers|\._layers\b|_seed_generators"
    r"|[^A-Za-z0-9_]_(seed|rng)[^A-Za-z0-9_]"
)


def private_uses(root):
    """`file:line: text` of every line under `root`'s .py files that PRIVATE matches."""
    hits = []
    for folder, _, names in os.walk(root):
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as source:
                for number, line in enumerate(source, 1):
                    if PRIVATE.search(line):
                        hits.append(f"{os.path.relpath(path, root)}:{number}: {line.strip()}")
    return hits


@pytest.mark.backend_independent
def test_the_package_uses_no_private_keras_or_tensorflow_api():
    hits = private_uses(PACKAGE)
    assert not hits, "private Keras or TensorFlow uses:\n" + "\n".join(hits)


@pytest.mark.backend_independent
def test_the_check_finds_each_kind_of_private_use(tmp_path):
    lines = ["from keras.src.backend.common import global_state",
             "layers = model._flatten_layers()", "children = layer._layers",
             "generators = getattr(layer, '_seed_generators')", "seed = context._seed",
             "context._rng = None"]
    (tmp_path / "module.py").write_text("\n".join(lines + ["layers = model.layers"]) + "\n")
    hits = private_uses(str(tmp_path))
    assert [hit.split(":")[1] for hit in hits] == ["1", "2", "3", "4", "5", "6"]
