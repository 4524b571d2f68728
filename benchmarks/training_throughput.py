"""Training throughput, end to end: our trainer against Keras `fit`.

What a user waits for is the whole job, so every figure here is steady-state
wall-clock time: from the end of the first step (which compiles) to the end
of training, with the input pipeline, host reads, logging and checkpoints
included. Each setting runs in a fresh process, one after the other:

* Keras `model.fit(jit_compile=True)` on the trainer's own tf.data stream
  (the same model, batch, augmentation and optimizer recipe), with a
  callback that notes the time after its first batch and at the end;
* our trainer (`keras_tokenlearner.train.train`) with `steps_per_call=1`
  and with the default, on one device;
* our trainer with the default over MirroredStrategy on 2 devices (2
  logical CPUs here, which share the cores: it shows the cost of
  replication, not scaling).

Fresh processes of the same setting differ by up to ~10% here, so each
setting runs `--repeats` times, interleaved with the others, and the table
shows the median.

    python benchmarks/training_throughput.py
    python benchmarks/training_throughput.py --whole-job --repeats 5

`--whole-job` times whole processes instead, start to exit (setup, compile,
steps, evaluation, checkpoints, teardown), against the same job run with
Keras `fit`: see benchmarks/whole_job.py. It writes
results/training_whole_job.json.
"""

import argparse
import json
import os
import tempfile
import time

import harness
import numpy as np
import whole_job

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {  # model: (image_size, batch_size, steps)
    "vit_test_patch4_tokenlearner": (None, 64, 300),
    "vit_tiny_patch16_tokenlearner": (224, 32, 32),
}
SETTINGS = ("keras_fit", "ours_1", "ours_default", "ours_mirrored")


def _config(model, image_size, batch_size, steps, workdir, **fields):
    from keras_tokenlearner.train import TrainConfig

    return TrainConfig(model=model, image_size=image_size, batch_size=batch_size,
                       steps=steps, workdir=workdir, export=False, **fields)


def keras_fit(config):
    """Keras fit on the run's model, optimizer, loss and data stream."""
    import keras

    from keras_tokenlearner.train import recipe
    from keras_tokenlearner.train import runner

    run = runner.setup(config)
    loss = recipe.make_loss(run.model.outputs[0].shape[-1], config.label_smoothing)
    run.model.compile(optimizer=run.optimizer, loss=loss, jit_compile=True)
    times = {}

    class Timer(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            times.setdefault("first", time.perf_counter())

        def on_train_end(self, logs=None):
            times["end"] = time.perf_counter()

    run.model.fit(run.data.train(0, run.total_steps), epochs=1, steps_per_epoch=run.total_steps,
                  callbacks=[Timer()], verbose=1)
    return (run.total_steps - 1) * run.data.batch_size / (times["end"] - times["first"])


def measure(setting, model):
    """One setting's images/s, in this process."""
    from keras_tokenlearner.train import train

    image_size, batch_size, steps = MODELS[model]
    with tempfile.TemporaryDirectory() as workdir:
        if setting == "keras_fit":
            return keras_fit(_config(model, image_size, batch_size, steps, workdir))
        fields = {"ours_1": dict(steps_per_call=1), "ours_default": {},
                  "ours_mirrored": dict(strategy="mirrored", cpu_devices=2)}[setting]
        config = _config(model, image_size, batch_size, steps, workdir, **fields)
        return train(config)["train_images_per_second"]


def in_fresh_process(setting, model):
    stdout = whole_job.fresh_process(["--measure", setting, "--models", model])[1]
    return json.loads(stdout.strip().splitlines()[-1])["images_per_second"]


def run(models, repeats):
    from keras_tokenlearner.train import TrainConfig

    rows = []
    for model in models:
        measured = whole_job.interleaved(
            SETTINGS, repeats, lambda setting, model=model: in_fresh_process(setting, model))
        speeds = {setting: float(np.median(values)) for setting, values in measured.items()}
        image_size, batch_size, steps = MODELS[model]
        for setting, speed in speeds.items():
            rows.append({"model": model, "setting": setting, "image_size": image_size,
                         "batch_size": batch_size, "steps": steps,
                         "images_per_second": speed, "all_images_per_second": measured[setting],
                         "vs_keras_fit": speed / speeds["keras_fit"]})
            print(f"{model:<32} {setting:<14} {speed:8.1f} img/s "
                  f"({speed / speeds['keras_fit']:.2f}x Keras fit; runs: "
                  f"{', '.join(f'{value:.1f}' for value in measured[setting])})", flush=True)
    return {"default_steps_per_call": TrainConfig.steps_per_call, "repeats": repeats,
            "rows": rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--measure", choices=SETTINGS, help=argparse.SUPPRESS)
    parser.add_argument("--whole-job", action="store_true",
                        help="time whole processes against Keras fit (benchmarks/whole_job.py)")
    parser.add_argument("--jobs", nargs="+", default=list(whole_job.JOBS),
                        choices=list(whole_job.JOBS))
    parser.add_argument("--job", choices=list(whole_job.JOBS), help=argparse.SUPPRESS)
    parser.add_argument("--runner", choices=whole_job.RUNNERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:  # one whole job, in the fresh process `whole_job.timed_process` started
        whole_job.run_job(args.runner, args.job)
        return
    if args.whole_job:  # rows of jobs not measured now are kept from the last results
        rows = whole_job.measure(args.jobs, args.repeats)
        kept = [row for row in whole_job.previous_rows(harness.RESULTS)
                if row["job"] not in args.jobs]
        harness.save("training_whole_job", {"rows": kept + rows})
        return
    if args.measure:  # one setting, in the fresh process `in_fresh_process` started
        speed = measure(args.measure, args.models[0])
        print(json.dumps({"images_per_second": speed}))
        return
    harness.save("training_throughput", run(args.models, args.repeats))


if __name__ == "__main__":
    main()
