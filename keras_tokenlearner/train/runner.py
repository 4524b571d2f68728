"""`train(config)`: data, model, strategy, loop, checkpoints, logs, metrics."""

import dataclasses
import time

import keras
import numpy as np
import tensorflow as tf

from keras_tokenlearner import data
from keras_tokenlearner import filesystem
from keras_tokenlearner import validation
from keras_tokenlearner.models import preprocessing
from keras_tokenlearner.train import checkpoints
from keras_tokenlearner.train import loop
from keras_tokenlearner.train import outputs
from keras_tokenlearner.train import recipe
from keras_tokenlearner.train import run_data
from keras_tokenlearner.train import run_input
from keras_tokenlearner.train import run_model
from keras_tokenlearner.train import strategies
from keras_tokenlearner.train.config import TrainConfig
from keras_tokenlearner.train.logs import Logs
from keras_tokenlearner.train.logs import Progress


@dataclasses.dataclass
class Run:
    """The live objects of one training run."""

    config: object
    strategy: object
    model: object
    optimizer: object
    data: object  # run_data.RunData
    record: object  # the input the model expects (preprocessing record), or None
    total_steps: int


def _mixed_precision_policy():
    return "mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16"


def _check_record(config, record):
    """Export, and a named dataset's pipeline, need to know the model's input."""
    if record is None and (config.export or isinstance(config.dataset, str)):
        raise validation.invalid_value(
            "preprocessing", "a record of the input the model expects, e.g. "
            "{'scale': 1 / 127.5, 'offset': -1.0}: the model records none (pass "
            "preprocessing=..., or export=False with your own datasets)", None,
        )


def _model_and_data(config, policy, strategy):
    """Builds the model in the strategy's scope, and the data that fits it."""
    builder = info = None
    if isinstance(config.dataset, str):
        builder, info = data.load(config.dataset, config.data_dir)
    keras.utils.set_random_seed(config.seed)  # after data.load, which may draw numbers
    with strategy.scope():
        if isinstance(config.model, str):
            arguments = run_model.model_arguments(config, info)
            model = run_model.build(config, arguments, _checkpoint_directory(config), policy)
        else:
            model = run_model.build_custom(config, policy)
    record = preprocessing.resolve(config.preprocessing, model)
    _check_record(config, record)
    if info is None:
        return model, run_data.from_datasets(config), record
    image_shape = tuple(model.inputs[0].shape[-3:])
    return model, run_data.from_named(config, builder, info, image_shape, record), record


def setup(config):
    """Builds the strategy, data, model and optimizer (nothing is restored yet)."""
    config.validate()
    strategies.configure_cpu_devices(config.cpu_devices)
    policy = _mixed_precision_policy() if config.mixed_precision else "float32"
    strategy = strategies.make_strategy(config.strategy)
    if strategies.is_chief(strategy):  # the one writer; an unwritable workdir fails now
        filesystem.makedirs(config.workdir)
    model, batches, record = _model_and_data(config, policy, strategy)
    _check_fit(config, model, batches, strategy.num_replicas_in_sync)
    total_steps = config.steps or config.epochs * batches.steps_per_epoch
    with strategy.scope():
        optimizer = recipe.make_optimizer(
            model, config.learning_rate, total_steps, config.weight_decay,
            config.warmup_fraction, config.clip_norm,
            loss_scaling=run_model.policy_name(model) == "mixed_float16",
        )
        optimizer.build(model.trainable_variables)
    return Run(config, strategy, model, optimizer, batches, record, total_steps)


def _check_fit(config, model, batches, replicas):
    """The model's classes and the batch against the data and the replicas."""
    num_classes = model.outputs[0].shape[-1]
    if batches.num_classes not in (None, num_classes):
        raise validation.invalid_value(
            "model", f"a model with {batches.num_classes} outputs, one per class", num_classes
        )
    if batches.batch_size % replicas:
        name, value = "batch_size", batches.batch_size
        if not isinstance(config.dataset, str):
            name, value = "dataset", f"batches of {batches.batch_size}"
        raise validation.invalid_value(
            name, f"a batch size that is a multiple of the number of replicas ({replicas})", value
        )


def _checkpoint_directory(config):
    return filesystem.join(config.workdir, "checkpoints")


def _run_fields(run):
    """The settings a checkpoint records, with the batch size the run uses and
    its training data's structure (element spec and length)."""
    return {**run.config.run_fields(), "batch_size": run.data.batch_size, **run.data.structure}


def restore(run):
    """Restores the newest checkpoint's variables, if any; returns
    `(step to start at, its path or None)`."""
    path = checkpoints.latest(_checkpoint_directory(run.config))
    if path is None:
        return 0, None
    checkpoints.check_same_run(checkpoints.read_state(path).get("run", {}), _run_fields(run), path)
    variables = checkpoints.checkpoint_variables(run.model, run.optimizer)
    step = checkpoints.restore(path, variables)["step"]
    if run.config.verbose and step >= run.total_steps:
        print(f"{path} is this run's last step: nothing left to train, evaluating it.")
    elif run.config.verbose:
        print(f"Resuming from {path} (step {step}).")
    return step, path


def _stop(problem, config):
    last = checkpoints.latest(_checkpoint_directory(config))
    raise loop.TrainingError(
        f"{problem}; stopping. The last good checkpoint is "
        f"{last or 'none (none was written yet)'}. Try a lower --learning-rate."
    )


def _check_finite(losses, step, config):
    """`losses` of steps step+1, step+2, ...: stops at the first non-finite one."""
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        _stop(f"The loss became {losses[bad[0]]} at step {step + bad[0] + 1}", config)


def _save_checkpoint(config, step, variables, state, chief, input_state=None):
    """The chief writes the checkpoint; every worker checks the weights are
    finite, so that all of them stop together rather than the others
    waiting for the chief in the next step. `input_state` is the run's
    `run_input.InputState` (its iterator's position is saved with the
    checkpoint while its pipeline allows), or None."""
    try:
        if not chief:
            checkpoints.check_finite(variables, step)
            return
        try:
            iterator = input_state and input_state.saveable_iterator()
            checkpoints.save(_checkpoint_directory(config), step, variables, state, iterator)
        except checkpoints.InputStateError as error:
            input_state.cannot_save(str(error))
            checkpoints.save(_checkpoint_directory(config), step, variables, state)
    except checkpoints.NonFiniteWeightsError as error:
        _stop(f"The weights became NaN or infinite ({error})", config)


def _loop_state(run, epoch):
    """What a checkpoint records besides the variables."""
    numerics = run_model.numerics(run.model) if isinstance(run.config.model, str) else {}
    return {"epoch": epoch, "numerics": numerics, "run": _run_fields(run)}


def _call_size(run, step, first):
    """Steps in the next call: 1 for the first (it compiles), then up to
    steps_per_call, ending at every checkpoint step, so that checkpoints
    fall on the same steps whatever steps_per_call is."""
    if first:
        return 1
    every = run.config.checkpoint_every
    next_checkpoint = (step // every + 1) * every
    return min(run.config.steps_per_call, next_checkpoint - step, run.total_steps - step)


def _after_call(run, step, losses, rates, logs, variables, input_state):
    """Checks, logs and (on a checkpoint step) saves the steps a call ran,
    steps step+1 ... step+len(losses); returns the step reached."""
    config, steps_per_epoch = run.config, run.data.steps_per_epoch
    _check_finite(losses, step, config)
    steps = range(step + 1, step + len(losses) + 1)
    epochs = [(done - 1) // steps_per_epoch if steps_per_epoch else 0 for done in steps]
    logs.write(steps, epochs, losses, rates)
    step = steps[-1]
    if step % config.checkpoint_every == 0 or step == run.total_steps:
        _save_checkpoint(config, step, variables, _loop_state(run, epochs[-1]),
                         strategies.is_chief(run.strategy), input_state)
        logs.flush()
    return step


def run_steps(run, start_step, checkpoint=None):
    """Trains from `start_step` (restored from `checkpoint`) to `total_steps`.

    Returns the steady-state training images/s: wall-clock time from the end
    of the first call (which compiles) to the end of training, input,
    logging and checkpoints included; None when there was nothing to time.
    """
    config = run.config
    loss_fn = recipe.make_loss(run.model.outputs[0].shape[-1], config.label_smoothing)
    train_steps = loop.make_train_loop(
        run.strategy, run.model, run.optimizer, loss_fn, config.jit_compile
    )
    logs = Logs(config.workdir, strategies.is_chief(run.strategy), start_step)
    progress = Progress(run.total_steps, config.verbose)
    variables = checkpoints.checkpoint_variables(run.model, run.optimizer)
    input_state = run_input.InputState(run, start_step, checkpoint)
    step, timed_from = start_step, None
    try:
        while step < run.total_steps:
            size = _call_size(run, step, first=timed_from is None)
            call = train_steps(input_state.iterator, tf.constant(size))
            losses, rates = (t.numpy() for t in call)
            step = _after_call(run, step, losses, rates, logs, variables, input_state)
            progress.update(step, float(losses[-1]))
            timed_from = timed_from or (step, time.perf_counter())
    finally:
        logs.close()
    if timed_from is None or step == timed_from[0]:
        return None
    return (step - timed_from[0]) * run.data.batch_size / (time.perf_counter() - timed_from[1])


def train(config=None, **fields):
    """Trains as `config` (a TrainConfig) or `fields` say; returns the metrics.

    Example: `train(model="vit_test_patch4_tokenlearner", epochs=2,
    workdir="runs/try")`, or your own model and data:
    `train(model=build_model, dataset=train_batches, test_dataset=test_batches,
    steps=500, workdir="runs/mine")` (see TrainConfig). The workdir defaults
    to `runs/<dataset>/<model>`. A run restarted with the same workdir and
    settings resumes from its newest checkpoint and ends with the same
    weights as an uninterrupted run; a checkpoint written with other
    settings (model, seed, learning rate, ...) is refused with a ValueError
    that names the setting. It seeds Python, NumPy, TensorFlow and Keras
    with `keras.utils.set_random_seed(seed)` and does not restore the
    caller's seeds; it does restore the global dtype policy.

    Args:
        config: a `TrainConfig`, or None to build one from `fields`.
        **fields: `TrainConfig` fields, e.g. `model=`, `dataset=`, `steps=`,
            `strategy=`, `workdir=`. Not allowed together with `config`.

    Returns:
        dict: the metrics also written to `<workdir>/metrics.json`:
        `test_accuracy` (None without test data), `test_examples` (how many it covers),
        `train_images_per_second`
        (None when no step was left to train), `steps`, `batch_size`,
        `strategy`, `num_replicas`, `model`, `dataset`, `weights`,
        `preprocessing`, `parameters`, `gflops_per_example` (zoo models),
        `jit_compile`, `dtype_policy`, `export_path` (when exported) and
        `wall_seconds`.

    Raises:
        ValueError: a bad setting, a workdir that holds a run with other
            settings (the message names the setting), or a Keras backend
            other than TensorFlow.
        TrainingError: training cannot go on (a NaN loss or NaN weights);
            the message names the last good checkpoint.
    """
    validation.check_tensorflow_backend("keras_tokenlearner.train", keras.backend.backend())
    if config is not None and fields:
        raise validation.invalid_value(
            "fields", "none when a TrainConfig is given (set them on the config)", fields
        )
    config = (config or TrainConfig(**fields)).with_workdir()
    started = time.perf_counter()
    with run_model.preserved_dtype_policy():
        run = setup(config)
        start_step, checkpoint = restore(run)
        images_per_second = run_steps(run, start_step, checkpoint)
        metrics = outputs.finish(run, images_per_second)
    if isinstance(config.model, keras.Model):  # the caller's model holds the trained weights
        config.model.set_weights(run.model.get_weights())
    metrics["wall_seconds"] = time.perf_counter() - started
    if config.verbose:
        print(outputs.summary(config, metrics))
    return metrics
