"""The support matrix beside the full suite: one nox session per stack.

`.ci/run` runs the README's test command (the whole suite on the main stack)
first, then every session below, then prints a table of all rows
(tests/smoke/summary.py). The stacks are the matrix of
docs/development.md#supported-versions. One row by hand:
`pip install nox uv && nox -s oldest`. Each session builds its own uv
virtual environment under .nox/ and prints its versions.
"""

import glob
import os
import shutil
import subprocess

import nox

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True  # a missing Python fails, never skips
nox.options.download_python = "never"
nox.options.sessions = ["oldest", "colab_2026", "newest", "torch"]
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")

SUMMARY = os.path.join(".nox", "summary")  # <row>.json: the versions, for the table
# The backend-agnostic tests, as tests/run_all.sh's JAX pass runs them.
# What the backend-agnostic tests need beside the package: safetensors writes
# their timm and Hugging Face fixtures, huggingface_hub serves tests/pretrained/test_hub.py.
TEST_PACKAGES = ("pytest>=8", "safetensors", "huggingface_hub>=0.26")
AGNOSTIC_TESTS = ["tests/layers", "tests/models", "tests/pretrained",
                  "keras_tokenlearner/layers", "keras_tokenlearner/models",
                  "keras_tokenlearner/pretrained"]
PYTEST = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
          "-m", "not backend_independent"]


def python(version):
    """An interpreter for `version`: `pythonX.Y` on PATH where it runs, else
    pyenv's own (its shims answer only for the versions pyenv selected)."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}"))
    for candidate in [shutil.which(f"python{version}"), *sorted(found)]:
        runs = candidate and subprocess.run([candidate, "--version"], capture_output=True)
        if runs and runs.returncode == 0:
            return candidate
    return version  # not found: nox fails the session


def record_versions(session):
    os.makedirs(SUMMARY, exist_ok=True)
    session.run("python", "tests/smoke/versions.py",
                "--out", os.path.join(SUMMARY, f"{session.name}.json"))


def colab_shaped(session, *stack):
    """Installs `stack` and pip, as a Colab runtime has them, then runs the
    notebooks' install cell on it from this checkout and checks it kept them."""
    session.install("pip", *stack)
    session.run("python", "tests/smoke/colab_install.py", env={"PIP_CONFIG_FILE": os.devnull})


def public_workflow(session):
    session.run("python", "tests/smoke/public_workflow.py", env={"KERAS_BACKEND": "tensorflow"})


@nox.session(python=python("3.11"))
def oldest(session):
    """The floors, shaped like Colab in late 2025 (Python 3.12 there): the full
    tensorflow 2.19, Keras 3.10, JAX 0.5.3. Install cell, public workflow, and
    the backend-agnostic tests under the oldest JAX."""
    colab_shaped(session, "tensorflow==2.19.1", "keras==3.10.0", "jax[cpu]==0.5.3")
    session.install(*TEST_PACKAGES)
    record_versions(session)
    public_workflow(session)
    session.run(*PYTEST, *AGNOSTIC_TESTS, env={"KERAS_BACKEND": "jax"})


@nox.session(python=python("3.12"))
def colab_2026(session):
    """Colab's 2026 runtime: Python 3.12, the full tensorflow 2.20, Keras 3.13,
    with JAX and torch beside them. Install cell, then the public workflow."""
    colab_shaped(session, "tensorflow==2.20.0", "keras==3.13.2", "jax[cpu]==0.7.2",
                 "torch==2.15.0")
    record_versions(session)
    public_workflow(session)


@nox.session(python=python("3.13"))
def newest(session):
    """The newest of everything: Python 3.13 and what `[cpu,jax]` resolves to
    (TensorFlow 2.21, Keras and JAX at their newest). The public workflow and
    the backend-agnostic tests under the newest JAX."""
    session.install(".[cpu,jax]", *TEST_PACKAGES)
    record_versions(session)
    public_workflow(session)
    session.run(*PYTEST, *AGNOSTIC_TESTS, env={"KERAS_BACKEND": "jax"})


@nox.session(python=python("3.13"))
def torch(session):
    """The newest torch and Keras, no TensorFlow: the base install plus
    `[torch]`, and the backend-agnostic tests under torch."""
    session.install(".[torch]", *TEST_PACKAGES)
    record_versions(session)
    session.run("python", "-c", "import importlib.util as u; "
                "assert u.find_spec('tensorflow') is None, 'TensorFlow is installed'; "
                "assert u.find_spec('jax') is None, 'JAX is installed'")
    session.run(*PYTEST, *AGNOSTIC_TESTS, env={"KERAS_BACKEND": "torch"})
