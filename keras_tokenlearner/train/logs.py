"""The training logs: `log.csv` and TensorBoard events in the workdir."""

import csv
import os

import tensorflow as tf


class Logs:
    """CSV and TensorBoard logs, written by the chief only."""

    def __init__(self, workdir, enabled):
        self.enabled = enabled
        if not enabled:
            return
        os.makedirs(workdir, exist_ok=True)
        path = os.path.join(workdir, "log.csv")
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

    def close(self):
        if self.enabled:
            self.csv_file.close()
            self.summary.close()
