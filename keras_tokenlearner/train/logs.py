"""The training logs: `log.csv` and TensorBoard events in the workdir."""

import csv
import os

import tensorflow as tf

from keras_tokenlearner import atomic


class Logs:
    """CSV and TensorBoard logs, written by the chief only.

    A run resumed from step `start_step` first drops the CSV rows after it,
    which a killed run wrote past its last checkpoint, so each step has one row.
    """

    def __init__(self, workdir, enabled, start_step=0):
        self.enabled = enabled
        if not enabled:
            return
        os.makedirs(workdir, exist_ok=True)
        path = os.path.join(workdir, "log.csv")
        _keep_rows_up_to(path, start_step)
        is_new = not os.path.exists(path)
        self.csv_file = open(path, "a", newline="")
        self.csv = csv.writer(self.csv_file)
        if is_new:
            self.csv.writerow(["step", "epoch", "loss", "learning_rate"])
        self.summary = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard"))

    def write(self, step, epoch, loss, learning_rate):
        if not self.enabled:
            return
        self.csv.writerow([step, epoch, f"{loss:.6f}", f"{learning_rate:.6g}"])
        with self.summary.as_default(step=step):
            tf.summary.scalar("loss", loss)
            tf.summary.scalar("learning_rate", learning_rate)

    def flush(self):
        if self.enabled:
            self.csv_file.flush()
            self.summary.flush()

    def close(self):
        if self.enabled:
            self.csv_file.close()
            self.summary.close()


def _keep_rows_up_to(path, step):
    """Rewrites `path` (atomically) without the rows of steps after `step`."""
    if not os.path.exists(path):
        return
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    kept = rows[:1] + [row for row in rows[1:] if row and int(row[0]) <= step]
    if len(kept) < len(rows):
        with atomic.atomic_file(path) as temporary, open(temporary, "w", newline="") as handle:
            csv.writer(handle).writerows(kept)
