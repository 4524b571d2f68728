"""The end of a run: evaluation, metrics.json, model.keras, class names and
the SavedModel export, written by the chief (atomically, on any path)."""

import json

from keras_tokenlearner import atomic
from keras_tokenlearner import export
from keras_tokenlearner import filesystem
from keras_tokenlearner.models.encoder import EncoderModel
from keras_tokenlearner.models.flops import flops
from keras_tokenlearner.train import loop
from keras_tokenlearner.train import run_model
from keras_tokenlearner.train import strategies


def _write_json_atomically(path, payload):
    with atomic.atomic_file(path) as temporary, filesystem.open(temporary, "w") as handle:
        handle.write(json.dumps(payload, indent=2))


def _evaluate(run):
    """`(test accuracy, test examples)`, or (None, None) without test data."""
    test_batches = run.data.test()
    if test_batches is None:
        return None, None
    eval_step = loop.make_eval_step(run.strategy, run.model, run.config.jit_compile)
    return loop.evaluate(run.strategy, eval_step, test_batches)


def finish(run, images_per_second):
    """Evaluates, saves model.keras and metrics.json; returns the metrics."""
    config = run.config
    test_accuracy, test_examples = _evaluate(run)
    metrics = {
        "test_accuracy": test_accuracy,
        "test_examples": test_examples,  # every example of the test data, on every strategy
        "train_images_per_second": images_per_second,  # wall-clock, steady state
        "steps": run.total_steps,
        "steps_per_call": config.steps_per_call,
        "batch_size": run.data.batch_size,
        "strategy": strategies.strategy_name(run.strategy),
        "num_replicas": run.strategy.num_replicas_in_sync,
        "model": config.model_name(),
        "model_overrides": config.model_overrides,
        "dataset": config.dataset_name(),
        "weights": config.weights,
        "preprocessing": run.record,
        "parameters": run.model.count_params(),
        "gflops_per_example": (  # multiply-adds, as the paper counts (zoo models)
            flops(run.model).gflops if isinstance(run.model, EncoderModel) else None),
        "jit_compile": config.jit_compile,
        "dtype_policy": run_model.policy_name(run.model),
    }
    if strategies.is_chief(run.strategy):
        _write_outputs(run, metrics)
    return metrics


def _write_outputs(run, metrics):
    """model.keras, class_names.txt, the export and metrics.json (the chief's)."""
    config, class_names = run.config, run.data.class_names
    with atomic.atomic_file(filesystem.join(config.workdir, "model.keras")) as temporary:
        run.model.save(temporary)
    if run.record is not None:  # for `keras-tokenlearner export` of a model without one
        export.write_preprocessing(filesystem.join(config.workdir, export.PREPROCESSING_FILE),
                                   run.record)
    if class_names is not None:
        export.write_class_names(filesystem.join(config.workdir, export.CLASS_NAMES_FILE),
                                 list(class_names))
    if config.export:
        metrics["export_path"] = export.export_saved_model(
            run.model, filesystem.join(config.workdir, "export"),
            class_names=None if class_names is None else list(class_names),
            overwrite=True,  # this run's own model, re-exported on a re-run
            preprocessing=run.record,
        )
    _write_json_atomically(filesystem.join(config.workdir, "metrics.json"), metrics)


def summary(config, metrics):
    """The one line a run ends with."""
    speed = metrics["train_images_per_second"]
    trained = "no steps left to train" if speed is None else f"{speed:.0f} images/s"
    accuracy = metrics["test_accuracy"]
    tested = "no test data" if accuracy is None else f"test accuracy {100 * accuracy:.2f}%"
    return (
        f"\n{config.model_name()} on {config.dataset_name()}: {tested} after "
        f"{metrics['steps']} steps, {trained} on {metrics['num_replicas']} replica(s) "
        f"({metrics['strategy']}), {metrics['wall_seconds']:.0f} s. Outputs in {config.workdir}/"
    )
