"""Runs the Colab install cell on this stack and checks that it kept the stack.

`python tests/smoke/colab_install.py`, in an environment shaped like a Colab
runtime (the full `tensorflow` wheel, Keras, maybe JAX and torch, and pip):
runs colab/install_cell.py, the second cell of every notebook, with
KERAS_TOKENLEARNER_SOURCE pointing at this checkout (CI cannot reach the
repository's URL), then asserts that TensorFlow, Keras, JAX and torch have
the versions they had, that no second TensorFlow distribution appeared,
that every installed package's requirements still hold (`pip check`: e.g.
TensorFlow's protobuf bound), and that the installed package and its
trainer import. A support-matrix
row (noxfile.py) then trains with it (public_workflow.py).
"""

import os
import pathlib
import subprocess
import sys
import tempfile

import versions

ROOT = pathlib.Path(__file__).resolve().parents[2]
CELL = ROOT / "colab" / "install_cell.py"
KEPT = ("tensorflow", "keras", "jax", "torch")
TENSORFLOW_DISTRIBUTIONS = versions.COLUMNS["tensorflow"]
IMPORT_CHECK = ("import keras_tokenlearner, keras_tokenlearner.train.runner; "
                "print(keras_tokenlearner.__file__)")


def tensorflow_distributions():
    """The TensorFlow distributions installed, e.g. ["tensorflow"]."""
    return [name for name in TENSORFLOW_DISTRIBUTIONS
            if versions.installed((name,)) != versions.ABSENT]


def run_cell():
    environment = dict(os.environ)
    environment.setdefault("KERAS_TOKENLEARNER_SOURCE", ROOT.as_uri())
    print("running", CELL.relative_to(ROOT), "with KERAS_TOKENLEARNER_SOURCE =",
          environment["KERAS_TOKENLEARNER_SOURCE"], flush=True)
    subprocess.run([sys.executable, str(CELL)], env=environment, check=True)


def check_installed_package_imports():
    """Imports the installed copy (from a directory outside the checkout)."""
    environment = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    with tempfile.TemporaryDirectory() as elsewhere:
        result = subprocess.run([sys.executable, "-c", IMPORT_CHECK], cwd=elsewhere,
                                env=environment, check=True, capture_output=True, text=True)
    location = result.stdout.strip().splitlines()[-1]
    assert "site-packages" in location, location
    print("ok: the installed package imports from", location)


def main():
    before = versions.stack_versions()
    distributions = tensorflow_distributions()
    assert distributions == ["tensorflow"], f"not shaped like Colab: {distributions}"
    print("before:", before)
    run_cell()
    after = versions.stack_versions()
    print("after: ", after)
    changed = {name: (before[name], after[name]) for name in KEPT if before[name] != after[name]}
    assert not changed, f"the install cell changed the runtime's stack: {changed}"
    assert tensorflow_distributions() == distributions, tensorflow_distributions()
    subprocess.run([sys.executable, "-m", "pip", "check"], check=True)
    print("ok: the install cell kept", ", ".join(f"{name} {after[name]}" for name in KEPT))
    check_installed_package_imports()


if __name__ == "__main__":
    main()
