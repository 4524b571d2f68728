"""`train(config)`: data, model, strategy, loop, checkpoints, logs, metrics."""

import dataclasses
import json
import math
import os
import time

import keras
import tensorflow as tf

from keras_tokenlearner import atomic
from keras_tokenlearner import data
from keras_tokenlearner import export
from keras_tokenlearner import validation
from keras_tokenlearner.models.flops import flops
from keras_tokenlearner.train import checkpoints
from keras_tokenlearner.train import loop
from keras_tokenlearner.train import recipe
from keras_tokenlearner.train import run_model
from keras_tokenlearner.train import strategies
from keras_tokenlearner.train.config import TrainConfig
from keras_tokenlearner.train.logs import Logs


@dataclasses.dataclass
class Run:
    """The live objects of one training run."""

    config: object
    strategy: object
    info: object
    builder: object
    model: object
    optimizer: object
    image_shape: tuple
    steps_per_epoch: int
    total_steps: int


def _mixed_precision_policy():
    return "mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16"


def setup(config):
    """Builds the strategy, data, model and optimizer (nothing is restored yet)."""
    config.validate()
    strategies.configure_cpu_devices(config.cpu_devices)
    policy = _mixed_precision_policy() if config.mixed_precision else "float32"
    keras.config.set_dtype_policy(policy)
    strategy = strategies.make_strategy(config.strategy)
    if strategies.is_chief(strategy):  # the one writer; an unwritable workdir fails now
        os.makedirs(config.workdir, exist_ok=True)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise validation.invalid_value(
            "batch_size", f"a multiple of the number of replicas ({replicas})", config.batch_size
        )
    builder, info = data.load(config.dataset, config.data_dir)
    arguments = run_model.model_arguments(config, info)
    steps_per_epoch = info.num_train_examples // config.batch_size
    if steps_per_epoch == 0:
        raise validation.invalid_value(
            "batch_size", f"at most the {info.num_train_examples} training examples",
            config.batch_size,
        )
    total_steps = config.steps or config.epochs * steps_per_epoch
    keras.utils.set_random_seed(config.seed)  # after data.load, which may draw numbers
    with strategy.scope():
        model = run_model.build(config, arguments, _checkpoint_directory(config))
        optimizer = recipe.make_optimizer(
            model, config.learning_rate, total_steps, config.weight_decay,
            config.warmup_fraction, config.clip_norm,
            loss_scaling=keras.config.dtype_policy().name == "mixed_float16",
        )
        optimizer.build(model.trainable_variables)
    return Run(config, strategy, info, builder, model, optimizer, arguments["image_shape"],
               steps_per_epoch, total_steps)


def _checkpoint_directory(config):
    return os.path.join(config.workdir, "checkpoints")


def _check_same_run(saved, config, path):
    """Refuses to resume a checkpoint that another configuration wrote."""
    for name, value in config.run_fields().items():
        if name in saved and saved[name] != value:
            raise ValueError(
                f"Checkpoint {path} was written by a run with {name}={saved[name]!r}, and "
                f"this run has {name}={value!r}. Resume with the same settings, or give "
                "this run a workdir of its own (--workdir)."
            )


def restore(run):
    """Restores the newest checkpoint, if any; returns the step to start at."""
    path = checkpoints.latest(_checkpoint_directory(run.config))
    if path is None:
        return 0
    _check_same_run(checkpoints.read_state(path).get("run", {}), run.config, path)
    variables = checkpoints.checkpoint_variables(run.model, run.optimizer)
    step = checkpoints.restore(path, variables)["step"]
    if run.config.verbose and step >= run.total_steps:
        print(f"{path} is this run's last step: nothing left to train, evaluating it.")
    elif run.config.verbose:
        print(f"Resuming from {path} (step {step}).")
    return step


def _learning_rate(optimizer):
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return float(inner.learning_rate)  # the schedule's current value


def _batches(run, step):
    """Yields `(epoch, distributed batch)` from `step` on, across epochs."""
    config = run.config
    while step < run.total_steps:
        epoch, skip = divmod(step, run.steps_per_epoch)
        batches = data.pipeline(
            run.builder, run.info, run.info.train_split, run.image_shape, config.batch_size,
            training=True, seed=config.seed, epoch=epoch, skip_batches=skip,
        ).take(run.total_steps - step)
        for batch in loop.distribute(run.strategy, batches):
            yield epoch, batch
            step += 1


def _stop(problem, config):
    last = checkpoints.latest(_checkpoint_directory(config))
    raise loop.TrainingError(
        f"{problem}; stopping. The last good checkpoint is "
        f"{last or 'none (none was written yet)'}. Try a lower --learning-rate."
    )


def _check_finite(loss, step, config):
    if not math.isfinite(loss):
        _stop(f"The loss became {loss} at step {step + 1}", config)


def _save_checkpoint(config, step, variables, state, chief):
    """The chief writes the checkpoint; every worker checks the weights are
    finite, so that all of them stop together rather than the others
    waiting for the chief in the next step."""
    state = {**state, "run": config.run_fields()}
    try:
        if chief:
            checkpoints.save(_checkpoint_directory(config), step, variables, state)
        else:
            checkpoints.check_finite(variables, step)
    except checkpoints.NonFiniteWeightsError as error:
        _stop(f"The weights became NaN or infinite ({error})", config)


def run_steps(run, start_step):
    """Trains from `start_step` to `total_steps`.

    Returns the images/s of the steps after the first (which compiles), or
    None when there were none to time.
    """
    config = run.config
    loss_fn = recipe.make_loss(run.info.num_classes, config.label_smoothing)
    train_step = loop.make_train_step(
        run.strategy, run.model, run.optimizer, loss_fn, config.batch_size, config.jit_compile
    )
    chief = strategies.is_chief(run.strategy)
    logs = Logs(config.workdir, chief, start_step)
    progress = keras.utils.Progbar(  # shows each step's loss (Progbar's mean over the
        # whole run jumped to the last step's loss on the final update)
        run.total_steps, verbose=1 if config.verbose else 0, stateful_metrics=["loss"]
    )
    variables = checkpoints.checkpoint_variables(run.model, run.optimizer)
    step, timed_steps, timed_seconds = start_step, 0, 0.0
    try:
        for epoch, (images, labels) in _batches(run, start_step):
            learning_rate = _learning_rate(run.optimizer)  # the one this step uses
            started = time.perf_counter()
            loss = float(train_step(images, labels))
            if step > start_step:  # the first step compiles
                timed_steps += 1
                timed_seconds += time.perf_counter() - started
            _check_finite(loss, step, config)
            step += 1
            logs.write(step, epoch, loss, learning_rate)
            progress.update(step, values=[("loss", loss)])
            if step % config.checkpoint_every == 0 or step == run.total_steps:
                state = {"epoch": epoch, "numerics": run_model.numerics(run.model)}
                _save_checkpoint(config, step, variables, state, chief)
                logs.flush()
    finally:
        logs.close()
    return timed_steps * config.batch_size / timed_seconds if timed_steps else None


def _write_json_atomically(path, payload):
    with atomic.atomic_file(path) as temporary, open(temporary, "w") as handle:
        json.dump(payload, handle, indent=2)


def finish(run, images_per_second):
    """Evaluates, saves model.keras and metrics.json; returns the metrics."""
    config = run.config
    eval_step = loop.make_eval_step(run.strategy, run.model, config.jit_compile)
    test_batches = data.pipeline(
        run.builder, run.info, run.info.test_split, run.image_shape, config.batch_size,
        training=False,
    )
    metrics = {
        "test_accuracy": loop.evaluate(run.strategy, eval_step, test_batches),
        "train_images_per_second": images_per_second,
        "steps": run.total_steps,
        "strategy": strategies.strategy_name(run.strategy),
        "num_replicas": run.strategy.num_replicas_in_sync,
        "model": config.model,
        "model_overrides": config.model_overrides,
        "dataset": config.dataset,
        "weights": config.weights,
        "parameters": run.model.count_params(),
        "gflops_per_example": flops(run.model).gflops,  # multiply-adds, as the paper counts
        "jit_compile": config.jit_compile,
        "dtype_policy": keras.config.dtype_policy().name,
    }
    if strategies.is_chief(run.strategy):
        with atomic.atomic_file(os.path.join(config.workdir, "model.keras")) as temporary:
            run.model.save(temporary)
        class_names = list(run.info.class_names)
        export.write_class_names(os.path.join(config.workdir, export.CLASS_NAMES_FILE), class_names)
        if config.export:
            metrics["export_path"] = export.export_saved_model(
                run.model, os.path.join(config.workdir, "export"), class_names=class_names,
                overwrite=True,  # this run's own model, re-exported on a re-run
            )
        _write_json_atomically(os.path.join(config.workdir, "metrics.json"), metrics)
    return metrics


def train(config=None, **fields):
    """Trains as `config` (a TrainConfig) or `fields` say; returns the metrics.

    Example: `train(model="vit_test_patch4_tokenlearner", epochs=2,
    workdir="runs/try")`. The workdir defaults to runs/<dataset>/<model>. A
    run restarted with the same workdir and settings resumes from its newest
    checkpoint and ends with the same weights as an uninterrupted run; a
    checkpoint written with other settings (model, seed, learning rate, ...)
    is refused with a ValueError that names the setting.
    """
    if config is not None and fields:
        raise validation.invalid_value(
            "fields", "none when a TrainConfig is given (set them on the config)", fields
        )
    config = (config or TrainConfig(**fields)).with_workdir()
    started = time.perf_counter()
    previous_policy = keras.config.dtype_policy()
    try:
        run = setup(config)
        start_step = restore(run)
        images_per_second = run_steps(run, start_step)
        metrics = finish(run, images_per_second)
    finally:
        keras.config.set_dtype_policy(previous_policy)
    metrics["wall_seconds"] = time.perf_counter() - started
    if config.verbose:
        print(_summary(config, metrics))
    return metrics


def _summary(config, metrics):
    """The one line a run ends with."""
    speed = metrics["train_images_per_second"]
    trained = "no steps left to train" if speed is None else f"{speed:.0f} images/s"
    return (
        f"\n{config.model} on {config.dataset}: test accuracy "
        f"{100 * metrics['test_accuracy']:.2f}% after {metrics['steps']} steps, {trained} on "
        f"{metrics['num_replicas']} replica(s) ({metrics['strategy']}), "
        f"{metrics['wall_seconds']:.0f} s. Outputs in {config.workdir}/"
    )
