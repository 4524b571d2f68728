"""The training logs: `log.csv` and TensorBoard events in the workdir."""

import csv
import importlib
import io
import sys
import time

from keras_tokenlearner import atomic
from keras_tokenlearner import filesystem

HEADER = ["step", "epoch", "loss", "learning_rate", "time"]  # time: Unix seconds, per call
PRINT_EVERY_SECONDS = 10  # when stdout is not a terminal (logs, CI)
NO_TENSORBOARD = ("TensorBoard logs skipped: the `tensorboard` package is not installed "
                  "(pip install tensorboard). log.csv holds the same numbers.")


def _tensorboard_writer(workdir):
    """A tf.summary writer, or None (with one line saying why) without tensorboard.

    `tensorflow-cpu` does not depend on `tensorboard`, and tf.summary fails
    without it.
    """
    try:
        importlib.import_module("tensorboard")
    except ImportError:
        print(NO_TENSORBOARD)
        return None
    import tensorflow as tf

    return tf.summary.create_file_writer(filesystem.join(workdir, "tensorboard"))


class Logs:
    """CSV and TensorBoard logs, written by the chief only.

    The CSV is rewritten atomically at each `flush` (every checkpoint), so
    it works on object stores, where files cannot be appended to, and it
    never holds steps past the newest checkpoint: a resumed run first drops
    the rows after its `start_step`, so each step has one row.
    """

    def __init__(self, workdir, enabled, start_step=0):
        self.enabled = enabled
        if not enabled:
            return
        filesystem.makedirs(workdir)
        self.path = filesystem.join(workdir, "log.csv")
        self.rows = _rows_up_to(self.path, start_step)
        self.summary = _tensorboard_writer(workdir)

    def write(self, steps, epochs, losses, learning_rates):
        """One row per step of a call."""
        if not self.enabled:
            return
        rows = list(zip(steps, epochs, losses, learning_rates))
        now = f"{time.time():.3f}"  # when the host read the call's losses
        self.rows += [[step, epoch, f"{loss:.6f}", f"{rate:.6g}", now]
                      for step, epoch, loss, rate in rows]
        if self.summary is None:
            return
        import tensorflow as tf

        with self.summary.as_default():
            for step, _, loss, rate in rows:
                tf.summary.scalar("loss", loss, step=step)
                tf.summary.scalar("learning_rate", rate, step=step)

    def flush(self):
        if not self.enabled:
            return
        text = io.StringIO()
        csv.writer(text).writerows([HEADER] + self.rows)
        with atomic.atomic_file(self.path) as temporary:
            with filesystem.open(temporary, "w") as handle:
                handle.write(text.getvalue())
        if self.summary is not None:
            self.summary.flush()

    def close(self):
        if self.enabled:
            self.flush()
            if self.summary is not None:
                self.summary.close()


class Progress:
    """One progress line: step, last loss, time per step and ETA.

    Its clock starts after the first call, whose time is mostly the XLA
    compile, so the ETA counts the steps' time only.
    """

    def __init__(self, total_steps, verbose, clock=time.perf_counter, stream=sys.stdout):
        self.total_steps, self.verbose = total_steps, verbose
        self.clock, self.stream = clock, stream
        self.started = None  # (step, time) after the first call
        self.last_print = None

    def update(self, step, loss):
        """Called after each call, with the step reached and its last loss."""
        now = self.clock()
        if self.started is None:
            self.started = (step, now)
        if not self.verbose:
            return
        done = step == self.total_steps
        if not (done or self.stream.isatty() or self.last_print is None
                or now - self.last_print >= PRINT_EVERY_SECONDS):
            return
        self.last_print = now
        end = "\n" if done or not self.stream.isatty() else ""
        self.stream.write(f"\r{self.line(step, loss, now)}{end}")
        self.stream.flush()

    def line(self, step, loss, now):
        width = len(str(self.total_steps))
        text = f"step {step:>{width}}/{self.total_steps} - loss {loss:.4f}"
        first_step, first_time = self.started
        if step > first_step:
            per_step = (now - first_time) / (step - first_step)
            eta = per_step * (self.total_steps - step)
            text += f" - {per_step * 1000:.0f} ms/step - ETA {_clock_time(eta)}"
        return text


def _clock_time(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _rows_up_to(path, step):
    """The rows of `path` for steps up to `step` (a killed run may have
    written rows past its last checkpoint)."""
    if not filesystem.exists(path):
        return []
    with filesystem.open(path, "r") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    return [row for row in rows[1:] if row and int(row[0]) <= step]
