"""Prints the versions of the stack this Python runs, one `name=version` each.

`python tests/smoke/versions.py [--out FILE]`; FILE gets them as JSON for the
summary table of `.ci/run`. Read from the installed distributions' metadata,
so nothing is imported (a stack whose TensorFlow fails to import still shows).
"""

import argparse
import importlib.metadata
import json
import platform

# Each column, and the distributions that provide it, in order of preference.
COLUMNS = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-tpu"),
    "keras": ("keras",),
    "jax": ("jax",),
    "torch": ("torch",),
    "numpy": ("numpy",),
    "protobuf": ("protobuf",),
    "tensorflow-metadata": ("tensorflow-metadata",),
}
ABSENT = "-"


def installed(distributions):
    """`name version` of the first of `distributions` installed, or ABSENT."""
    for name in distributions:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        return version if name == distributions[0] else f"{name} {version}"
    return ABSENT


def stack_versions():
    """The Python version and every column's, as a dict of strings."""
    versions = {"python": platform.python_version()}
    versions.update({column: installed(names) for column, names in COLUMNS.items()})
    return versions


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write the versions to this JSON file")
    arguments = parser.parse_args()
    versions = stack_versions()
    print("versions:", " ".join(f"{name}={version}" for name, version in versions.items()))
    if arguments.out:
        with open(arguments.out, "w") as handle:
            json.dump(versions, handle)


if __name__ == "__main__":
    main()
