"""Training checkpoints: every model and optimizer variable plus the loop state.

Each checkpoint is a directory `checkpoints/step_00000100/` holding
`variables.npz` and `state.json`, written atomically (see
`keras_tokenlearner.atomic`). The newest complete one is the resume point.
"""

import json
import os
import re
import shutil

import numpy as np

from keras_tokenlearner import atomic

PATTERN = re.compile(r"^step_(\d{8})$")
KEEP = 3


class NonFiniteWeightsError(ValueError):
    """A checkpoint was refused: some weights are NaN or infinite."""


def checkpoint_variables(model, optimizer):
    """Every variable a resumed run needs, in a fixed order.

    `model.variables`, not `model.weights`: it also holds the random
    generators' states (dropout), so a resumed run draws the same masks.
    """
    return list(model.variables) + list(optimizer.variables)


def save(directory, step, variables, state):
    """Writes checkpoint `step` atomically and keeps the newest KEEP.

    Refuses (NonFiniteWeightsError) to write NaN or infinite weights, so the
    newest checkpoint is always a good one.
    """
    arrays = check_finite(variables, step)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"step_{step:08d}")
    with atomic.atomic_directory(path, overwrite=True) as temporary:
        np.savez(os.path.join(temporary, "variables.npz"), **arrays)
        with open(os.path.join(temporary, "state.json"), "w") as handle:
            json.dump({**state, "step": step}, handle)
    for old in sorted(_steps(directory))[:-KEEP]:
        shutil.rmtree(os.path.join(directory, f"step_{old:08d}"), ignore_errors=True)
    return path


def check_finite(variables, step):
    """The variables' values as `{"v00000": array, ...}`; raises
    NonFiniteWeightsError if a float one holds a NaN or an infinity."""
    arrays = {f"v{index:05d}": np.asarray(v.numpy()) for index, v in enumerate(variables)}
    for variable, array in zip(variables, arrays.values()):
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise NonFiniteWeightsError(f"variable {variable.path} is not finite at step {step}")
    return arrays


def _steps(directory):
    if not os.path.isdir(directory):
        return []
    return [int(m.group(1)) for m in map(PATTERN.match, os.listdir(directory)) if m]


def latest(directory):
    """Path of the newest complete checkpoint in `directory`, or None."""
    atomic.remove_stale_temporaries(directory)
    steps = sorted(_steps(directory))
    return os.path.join(directory, f"step_{steps[-1]:08d}") if steps else None


def restore(path, variables):
    """Assigns the saved values to `variables`; returns the saved state."""
    with np.load(os.path.join(path, "variables.npz")) as arrays:
        if len(arrays.files) != len(variables):
            raise ValueError(
                f"Checkpoint {path} holds {len(arrays.files)} variables, the model and "
                f"optimizer have {len(variables)}: was it written for another model?"
            )
        values = [arrays[f"v{index:05d}"] for index in range(len(variables))]
        for variable, value in zip(variables, values):  # check all before assigning any
            if tuple(variable.shape) != value.shape:
                raise ValueError(
                    f"Checkpoint {path} holds shape {value.shape} for {variable.path}, the "
                    f"model has {tuple(variable.shape)}: was it written for another model "
                    "or another version of this package? Use a new workdir."
                )
        for variable, value in zip(variables, values):
            variable.assign(value)
    return read_state(path)


def read_state(path):
    """The loop state saved with checkpoint `path` (step, epoch, run settings)."""
    with open(os.path.join(path, "state.json")) as handle:
        return json.load(handle)
