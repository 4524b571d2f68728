"""Training checkpoints: every model and optimizer variable plus the loop state.

Each checkpoint is a directory `checkpoints/step_00000100/` holding
`variables.npz`, `state.json` and, where the input pipeline can be saved,
`input/`: the training input iterator's position (a `tf.train.Checkpoint`
of the iterator: its shuffle and prefetch buffers and any `cache()`
contents, so a resumed run reads on from there instead of replaying), written atomically (see
`keras_tokenlearner.atomic`) on any path `tf.io.gfile` reaches (local,
`gs://`, `ram://`). The newest complete one is the resume point.

Every value is stored under its variable's path (`block_0/mlp/dense_1/kernel`,
`optimizer/block_0_mlp_dense_1_kernel_momentum`), so a restore never pairs
two variables by their order: a checkpoint that lacks a variable, has one
the model lacks, or holds another shape is refused, naming the variable.
The random generators' states (dropout) are the exception: Keras numbers
their paths across the process, so they are keyed by their order
(`seed_generators/0`, ...).
"""

import io
import json
import re

import numpy as np

from keras_tokenlearner import atomic
from keras_tokenlearner import filesystem

PATTERN = re.compile(r"^step_(\d{8})$")
KEEP = 3
SEED_STATE = "seed_generator_state"  # the name of a Keras SeedGenerator's variable
SEED_GENERATORS = "seed_generators"
OPTIMIZER = "optimizer"
SHOWN = 5  # variables named in an error, at most
INPUT_STATE = "input/iterator"  # the iterator's tf.train.Checkpoint prefix in a checkpoint


class InputStateError(ValueError):
    """The input pipeline's position cannot be saved; the message says why."""


class NonFiniteWeightsError(ValueError):
    """A checkpoint was refused: some weights are NaN or infinite."""


def _model_variables(model):
    """`(key, variable)` for `model.variables`: each keyed by its path, but a
    seed generator's state (dropout) by its order among them
    (`seed_generators/0`, ...).

    Keras names a SeedGenerator from a process-wide counter
    (`seed_generator_12/seed_generator_state`), which differs between a run
    and its resumption, so its own path cannot be the key; the order of a
    model's variables is the same for every build of one architecture.
    """
    seed_states = 0
    for variable in model.variables:
        if variable.name == SEED_STATE:
            yield f"{SEED_GENERATORS}/{seed_states}", variable
            seed_states += 1
        else:
            yield variable.path, variable


def _optimizer_variables(optimizer, prefix=OPTIMIZER):
    """`(key, variable)` for an optimizer's variables and a wrapped one's
    (LossScaleOptimizer's `inner_optimizer/`), without the optimizer's own
    name, which a process-wide counter may have numbered (`adam_w_1`)."""
    inner = getattr(optimizer, "inner_optimizer", None)
    inner_ids = {id(v) for v in inner.variables} if inner is not None else set()
    for variable in optimizer.variables:
        if id(variable) not in inner_ids:
            yield f"{prefix}/{variable.path.split('/', 1)[-1]}", variable
    if inner is not None:
        yield from _optimizer_variables(inner, f"{prefix}/inner_optimizer")


def checkpoint_variables(model, optimizer):
    """`{key: variable}`: every variable a resumed run needs.

    `model.variables`, not `model.weights`: it also holds the random
    generators' states (dropout), so a resumed run draws the same masks.
    Raises a ValueError if two variables share a path.
    """
    pairs = list(_model_variables(model)) + list(_optimizer_variables(optimizer))
    variables = dict(pairs)
    if len(variables) < len(pairs):
        keys = [key for key, _ in pairs]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(
            f"Several variables share the path {', '.join(repeated[:SHOWN])}: a checkpoint "
            "keys each variable by its path. Give the layers distinct names."
        )
    return variables


def save(directory, step, variables, state, iterator=None):
    """Writes checkpoint `step` atomically and keeps the newest KEEP; with
    `iterator`, the input's position too (`state["input_saved"]` says so).

    Refuses (NonFiniteWeightsError) to write NaN or infinite weights, so the
    newest checkpoint is always a good one. Raises InputStateError, writing
    nothing, when `iterator`'s pipeline cannot be saved.
    """
    arrays = check_finite(variables, step)
    filesystem.makedirs(directory)
    path = filesystem.join(directory, f"step_{step:08d}")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with atomic.atomic_directory(path, overwrite=True) as temporary:
        if iterator is not None:
            _save_input(temporary, iterator)
        with filesystem.open(filesystem.join(temporary, "variables.npz"), "wb") as handle:
            handle.write(buffer.getvalue())
        with filesystem.open(filesystem.join(temporary, "state.json"), "w") as handle:
            handle.write(json.dumps({**state, "step": step, "input_saved": iterator is not None}))
    for old in sorted(_steps(directory))[:-KEEP]:
        filesystem.rmtree(filesystem.join(directory, f"step_{old:08d}"), ignore_errors=True)
    return path


def _save_input(directory, iterator):
    import tensorflow as tf  # the trainer's; the rest of this module is NumPy

    try:
        tf.train.Checkpoint(iterator=iterator).write(filesystem.join(directory, INPUT_STATE))
    except (tf.errors.OpError, ValueError, TypeError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise InputStateError(reason) from None


def restore_input(path, iterator):
    """Moves `iterator` to the input position saved with checkpoint `path`."""
    import tensorflow as tf

    reader = tf.train.Checkpoint(iterator=iterator)
    reader.read(filesystem.join(path, INPUT_STATE)).assert_consumed()


def check_finite(variables, step):
    """`{key: array}` of the variables' values; raises NonFiniteWeightsError
    if a float one holds a NaN or an infinity."""
    arrays = {key: np.asarray(variable.numpy()) for key, variable in variables.items()}
    for key, array in arrays.items():
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise NonFiniteWeightsError(f"variable {key} is not finite at step {step}")
    return arrays


def _steps(directory):
    if not filesystem.isdir(directory):
        return []
    names = [name.rstrip("/") for name in filesystem.listdir(directory)]
    return [int(m.group(1)) for m in map(PATTERN.match, names) if m]


def _is_complete(path):
    """Both files are there: on an object store, where a rename is a copy
    file by file, a writer killed midway can leave a step folder partial."""
    return all(filesystem.exists(filesystem.join(path, name))
               for name in ("variables.npz", "state.json"))


def latest(directory):
    """Path of the newest complete checkpoint in `directory`, or None."""
    atomic.remove_stale_temporaries(directory)
    for step in sorted(_steps(directory), reverse=True):
        path = filesystem.join(directory, f"step_{step:08d}")
        if _is_complete(path):
            return path
    return None


def _read_arrays(path):
    with filesystem.open(filesystem.join(path, "variables.npz"), "rb") as handle:
        with np.load(io.BytesIO(handle.read())) as arrays:
            return {key: arrays[key] for key in arrays.files}


def _listed(keys):
    keys = sorted(keys)
    more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    return ", ".join(keys[:SHOWN]) + more


def _check_matches(path, arrays, variables):
    """Raises a ValueError naming the first variables that do not match."""
    hint = ("Was it written for another model, or by another version of this package "
            "(0.x checkpoints, keyed by position, are not read)? Use a new workdir.")
    missing, extra = set(variables) - set(arrays), set(arrays) - set(variables)
    if missing:
        raise ValueError(f"Checkpoint {path} has no value for {_listed(missing)}"
                         + (f", and holds {_listed(extra)}, which this model lacks" if extra
                            else "") + f". {hint}")
    if extra:
        raise ValueError(f"Checkpoint {path} holds {_listed(extra)}, which this model and "
                         f"optimizer lack. {hint}")
    for key, variable in variables.items():
        if tuple(variable.shape) != arrays[key].shape:
            raise ValueError(
                f"Checkpoint {path} holds shape {arrays[key].shape} for {key}, the model has "
                f"{tuple(variable.shape)}. {hint}"
            )


def restore(path, variables):
    """Assigns the saved values to `variables` (`{key: variable}`) once all
    of them match; returns the saved state."""
    arrays = _read_arrays(path)
    _check_matches(path, arrays, variables)
    for key, variable in variables.items():
        variable.assign(arrays[key])
    return read_state(path)


def check_same_run(saved, fields, path):
    """Refuses to resume a checkpoint that another configuration wrote."""
    for name, value in fields.items():
        if name in saved and saved[name] != value:
            raise ValueError(
                f"Checkpoint {path} was written by a run with {name}={saved[name]!r}, and "
                f"this run has {name}={value!r}. Resume with the same settings, or give "
                "this run a workdir of its own (--workdir)."
            )


def read_state(path):
    """The loop state saved with checkpoint `path` (step, epoch, run settings)."""
    with filesystem.open(filesystem.join(path, "state.json"), "r") as handle:
        return json.loads(handle.read())
