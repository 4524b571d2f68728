"""The README's "Your own model" example, run as written (in a fresh process:
2 logical CPUs must be set up before TensorFlow starts)."""

import json
import re
import subprocess
import sys

from tests.train.conftest import ROOT
from tests.train.conftest import TIMEOUT_SECONDS

MARKER = "<!-- your-own-model-example -->"


def readme_example():
    readme = open(f"{ROOT}/README.md").read()
    match = re.search(re.escape(MARKER) + r"\n```python\n(.*?)```", readme, re.DOTALL)
    assert match, "the README's example is missing"
    return match.group(1)


def test_your_own_model_example_trains_on_two_replicas_with_xla(tmp_path):
    code = readme_example()
    assert 'workdir="runs/your_model"' in code and 'strategy="mirrored"' in code
    code = code.replace('workdir="runs/your_model"', f"workdir={str(tmp_path)!r}")
    code += "\nimport json\nprint(json.dumps(metrics))\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=TIMEOUT_SECONDS)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["num_replicas"] == 2 and metrics["jit_compile"]
    assert metrics["test_accuracy"] >= 0.8, metrics  # real digits: it learns
    assert (tmp_path / "export" / "1" / "saved_model.pb").exists()
