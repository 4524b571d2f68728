"""The training logs: `log.csv` and TensorBoard events in the workdir."""

import csv
import importlib
import io

from keras_tokenlearner import atomic
from keras_tokenlearner import filesystem

HEADER = ["step", "epoch", "loss", "learning_rate"]
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
        self.rows += [[step, epoch, f"{loss:.6f}", f"{rate:.6g}"]
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


def _rows_up_to(path, step):
    """The rows of `path` for steps up to `step` (a killed run may have
    written rows past its last checkpoint)."""
    if not filesystem.exists(path):
        return []
    with filesystem.open(path, "r") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    return [row for row in rows[1:] if row and int(row[0]) <= step]
