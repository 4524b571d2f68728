"""Whole jobs, as a user waits for them: process start to exit.

`python benchmarks/training_throughput.py --whole-job` runs, for each job,
our trainer and a script that does the same with Keras
`model.fit(jit_compile=True)`, each in a fresh process, `--repeats` times
interleaved (ours, fit, ours, fit, ...), and prints every job's time, the
medians and their ratio (fit's median over ours: above 1 means ours is
faster). Both sides build the same model, read the same tf.data pipeline,
use the same optimizer (the trainer's recipe: AdamW with warmup and cosine
decay, clipnorm 1, learning rate 1e-3), train the same number of steps,
evaluate on the same test data and save `model.keras`; ours also writes
its checkpoints and logs, as a real run does.

Jobs:
* `default`: the default zoo model on the embedded digits, 900 steps of 64;
* `own_model`: the training docs' functional model with a `TokenLearner`,
  on in-memory digits `.batch(64)`, 900 steps;
* `vit_tiny_224`: `vit_tiny_patch16_tokenlearner` at 224 px on digits,
  200 steps of 32.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JOBS = {  # job: (zoo model or None for the docs' own model, image size, batch, steps)
    "default": ("vit_test_patch4_tokenlearner", None, 64, 900),
    "own_model": (None, None, 64, 900),
    "vit_tiny_224": ("vit_tiny_patch16_tokenlearner", 224, 32, 200),
}
RUNNERS = ("ours", "keras_fit")
LEARNING_RATE = 1e-3


def own_model():
    """The training docs' example model (docs/training.md, "Your own model")."""
    import keras

    from keras_tokenlearner import TokenLearner

    inputs = keras.Input((16, 16, 1), name="images")
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv")(inputs)
    grid = keras.layers.Conv2D(32, 2, strides=2, name="patches")(x)  # (B, 8, 8, 32)
    tokens = TokenLearner(num_tokens=8, name="token_learner")(grid)  # (B, 8, 32)
    features = keras.layers.Flatten(name="flatten")(tokens)  # (B, 256)
    return keras.Model(inputs, keras.layers.Dense(10, name="head")(features))


def own_data(batch_size):
    """The docs example's in-memory digits: (train, test) batched datasets."""
    import tensorflow as tf

    from keras_tokenlearner.datasets import load_digit_images

    images, labels = load_digit_images(16)  # (1797, 16, 16, 1) uint8
    order = np.random.default_rng(0).permutation(len(labels))
    images, labels = images[order].astype("float32") / 127.5 - 1.0, labels[order]
    train = (tf.data.Dataset.from_tensor_slices((images[:1500], labels[:1500]))
             .shuffle(1500, seed=0, reshuffle_each_iteration=False).batch(batch_size))
    test = tf.data.Dataset.from_tensor_slices((images[1500:], labels[1500:])).batch(batch_size)
    return train, test


def config(job, workdir):
    from keras_tokenlearner.train import TrainConfig

    model, image_size, batch_size, steps = JOBS[job]
    fields = dict(steps=steps, learning_rate=LEARNING_RATE, export=False, verbose=False,
                  workdir=workdir)
    if model is None:
        train, test = own_data(batch_size)
        return TrainConfig(model=own_model, dataset=train, test_dataset=test,
                           preprocessing={"scale": 1 / 127.5, "offset": -1.0}, **fields)
    return TrainConfig(model=model, image_size=image_size, batch_size=batch_size, **fields)


def keras_fit(job_config):
    """The same job with Keras fit: the trainer's setup (model, data, optimizer), then
    `fit(jit_compile=True)`, `evaluate` and `save`."""
    import keras

    from keras_tokenlearner.train import recipe
    from keras_tokenlearner.train import runner

    run = runner.setup(job_config)
    loss = recipe.make_loss(run.model.outputs[0].shape[-1], job_config.label_smoothing)
    run.model.compile(optimizer=run.optimizer, loss=loss, metrics=["accuracy"],
                      jit_compile=True)
    run.model.fit(run.data.train(0, run.total_steps), epochs=1,
                  steps_per_epoch=run.total_steps, verbose=0)
    run.model.evaluate(run.data.test(), verbose=0)
    run.model.save(os.path.join(job_config.workdir, "model.keras"))
    keras.backend.clear_session()


def run_job(runner_name, job):
    """One job, in this (fresh) process."""
    from keras_tokenlearner.train import train

    with tempfile.TemporaryDirectory() as workdir:
        job_config = config(job, workdir)
        if runner_name == "ours":
            train(job_config)
        else:
            keras_fit(job_config)


def fresh_process(arguments):
    """Runs training_throughput.py with `arguments` in a fresh process;
    returns (seconds from its start to its exit, its stdout)."""
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "training_throughput.py"),
               *arguments]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    seconds = time.perf_counter() - started
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return seconds, result.stdout


def timed_process(runner_name, job):
    """Seconds from starting a fresh process for the job to its exit."""
    return fresh_process(["--job", job, "--runner", runner_name])[0]


def previous_rows(results_directory):
    """The rows of the last whole-job results, or none."""
    path = os.path.join(results_directory, "training_whole_job.json")
    return json.load(open(path))["rows"] if os.path.exists(path) else []


def interleaved(settings, repeats, measure_one):
    """`{setting: [measure_one(setting), ...]}`, `repeats` rounds of every setting in turn."""
    values = {setting: [] for setting in settings}
    for _ in range(repeats):
        for setting in settings:
            values[setting].append(measure_one(setting))
    return values


def measure(jobs, repeats):
    """Every job's times, interleaved; returns the result rows."""
    rows = []
    for job in jobs:
        def one_job(runner_name, job=job):
            seconds = timed_process(runner_name, job)
            print(f"{job:<14} {runner_name:<10} {seconds:6.1f} s", flush=True)
            return seconds

        times = interleaved(RUNNERS, repeats, one_job)
        medians = {name: float(np.median(values)) for name, values in times.items()}
        ratio = medians["keras_fit"] / medians["ours"]
        model, image_size, batch_size, steps = JOBS[job]
        rows.append({"job": job, "model": model or "own functional model with TokenLearner",
                     "repeats": repeats,
                     "image_size": image_size, "batch_size": batch_size, "steps": steps,
                     "seconds": times, "median_seconds": medians, "speedup_vs_keras_fit": ratio})
        print(f"{job}: ours {medians['ours']:.1f} s, Keras fit {medians['keras_fit']:.1f} s "
              f"(medians of {repeats}): {ratio:.2f}x", flush=True)
    return rows
