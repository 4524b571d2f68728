"""Trains 3 steps on 1 device and on 2 mirrored replicas, XLA on and off.

Needs 2 logical CPUs, set before TensorFlow starts: tests/train/two_devices.py
runs it in its fresh process. Each run leaves its final checkpoint in
WORKDIR/<strategy>-<xla>/checkpoints.
"""

import os

from keras_tokenlearner.train import train


def main(workdir, data_dir):
    for jit_compile in (True, False):
        for strategy in ("one_device", "mirrored"):
            train(
                model="vit_test_patch4_tokenlearner", image_size=16, batch_size=8, steps=3,
                strategy=strategy, cpu_devices=2, jit_compile=jit_compile, seed=7,
                data_dir=data_dir, workdir=os.path.join(workdir, f"{strategy}-{jit_compile}"),
                export=False, verbose=False,
            )
