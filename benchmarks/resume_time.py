"""How long a resumed run takes to train its first step, resumed at step 200
and at step 20,000: with the input's position restored from the checkpoint
(the trainer's default), and replaying the input (a pipeline TensorFlow
cannot save, e.g. with a `numpy_function`).

Each run trains the training docs' own functional model on in-memory digits
`.batch(64)` (24 batches an epoch) for 20,100 steps, checkpointing every 100.
A first process is killed once its step-200 (or step-20,000) checkpoint is
written; a fresh process then resumes it, and the figure is the time from
starting that process to the end of its first step (`log.csv`'s `time`), so
it includes importing TensorFlow, building the model and compiling the step,
the same at either step. Printed per run, written to
results/resume_time.json.

    python benchmarks/resume_time.py
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

import harness

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOTAL_STEPS, EVERY = 20_100, 100
RESUME_STEPS = (200, 20_000)
JOB = """
import sys
import tensorflow as tf
sys.path.insert(0, "benchmarks")
import whole_job
from keras_tokenlearner.train import train
train_batches, _ = whole_job.own_data(64)
if sys.argv[2] == "replay":  # an identity numpy_function: TensorFlow cannot save its position
    def identity(x, y):
        x = tf.numpy_function(lambda a: a, [x], tf.float32)
        return tf.ensure_shape(x, (None, 16, 16, 1)), y
    train_batches = train_batches.map(identity)
train(model=whole_job.own_model, dataset=train_batches, steps={steps}, checkpoint_every={every},
      export=False, verbose=False, workdir=sys.argv[1],
      preprocessing={{"scale": 1 / 127.5, "offset": -1.0}})
""".format(steps=TOTAL_STEPS, every=EVERY)


def start(workdir, mode):
    return subprocess.Popen([sys.executable, "-c", JOB, workdir, mode], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))


def run_until(workdir, mode, step):
    """Starts a run and kills it once its checkpoint `step` is written."""
    process = start(workdir, mode)
    checkpoint = os.path.join(workdir, "checkpoints", f"step_{step:08d}", "state.json")
    while not os.path.exists(checkpoint):
        if process.poll() is not None:
            raise RuntimeError(f"the run in {workdir} ended before step {step}")
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()


def first_step_seconds(workdir, mode, step):
    """Starts the resumed run; seconds from its start to its first step's end."""
    started = time.time()
    process = start(workdir, mode)
    log = os.path.join(workdir, "log.csv")
    while True:  # log.csv is rewritten at the next checkpoint, with the resumed steps
        if os.path.exists(log):
            rows = [line.split(",") for line in open(log).read().split("\n")[1:] if line]
            resumed = [row for row in rows if int(row[0]) == step + 1 and len(row) == 5]
            if resumed:
                break
        if process.poll() is not None:
            raise RuntimeError(f"the resumed run in {workdir} ended early")
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return float(resumed[0][4]) - started


def main():
    rows = []
    for mode in ("restore", "replay"):
        for step in RESUME_STEPS:
            with tempfile.TemporaryDirectory() as workdir:
                run_until(workdir, mode, step)
                seconds = first_step_seconds(workdir, mode, step)
            rows.append({"input": mode, "resumed_at_step": step, "first_step_seconds": seconds})
            print(f"{mode:<8} resumed at step {step:>6}: first step after {seconds:5.1f} s",
                  flush=True)
    harness.save("resume_time", {"total_steps": TOTAL_STEPS, "rows": rows})


if __name__ == "__main__":
    main()
