"""The run's data: a named dataset through `keras_tokenlearner.data`, or your
own batched `tf.data.Dataset`s, behind one interface."""

import dataclasses
from typing import Callable
from typing import Optional

import tensorflow as tf

from keras_tokenlearner import data
from keras_tokenlearner import validation
from keras_tokenlearner.train.config import DEFAULT_BATCH_SIZE


@dataclasses.dataclass
class RunData:
    """What the loop needs from the data.

    `train(start_step, total_steps)` returns the batches of those steps as
    one dataset; `test()` the evaluation batches, or None; `structure` what
    a resumed run's training data must keep (see `checkpoints.check_same_run`).
    """

    num_classes: Optional[int]
    class_names: Optional[tuple]
    batch_size: int
    steps_per_epoch: Optional[int]  # None: the dataset has no end (pass `steps`)
    train: Callable
    test: Callable
    structure: dict


def from_named(config, builder, info, image_shape, record):
    """A named dataset, resized and scaled as `record` says, for a model of `image_shape`."""
    batch_size = config.batch_size or DEFAULT_BATCH_SIZE
    if batch_size > info.num_train_examples:
        raise validation.invalid_value(
            "batch_size", f"at most the {info.num_train_examples} training examples", batch_size
        )

    def train(start_step, total_steps):
        return data.training_stream(builder, info, image_shape, batch_size, config.seed,
                                    start_step, total_steps, record)

    def test():
        return data.pipeline(builder, info, info.test_split, image_shape, batch_size,
                             training=False, preprocessing=record)

    return RunData(info.num_classes, tuple(info.class_names), batch_size,
                   info.num_train_examples // batch_size, train, test,
                   {"dataset_examples": info.num_train_examples})


def _batch_size(config, dataset):
    """The full batch size of `dataset`'s (images, labels) batches: the
    static one, else `config.batch_size`, else the first batch's size."""
    spec = dataset.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise validation.invalid_value("dataset", "(images, labels) elements", spec)
    if not spec[1].dtype.is_integer:
        raise validation.invalid_value("dataset", "integer class ids as labels", spec[1])
    if spec[1].shape.rank != 1 or not spec[0].shape.rank:
        raise validation.invalid_value(
            "dataset", "batches of (images, labels), one integer label per image: "
            "dataset.batch(BATCH)", spec,
        )
    batch_size = spec[0].shape[0]
    if batch_size is None:  # .batch(n) without drop_remainder: its full batches hold n
        batch_size = config.batch_size or int(next(iter(dataset.take(1)))[1].shape[0])
    if config.batch_size not in (None, batch_size):
        raise validation.invalid_value(
            "batch_size", f"None or the dataset's own batch size ({batch_size})",
            config.batch_size,
        )
    return batch_size


def structure(dataset):
    """What a resumed run's dataset must keep: its element spec and its length."""
    return {"dataset_element_spec": repr(dataset.element_spec),
            "dataset_cardinality": int(dataset.cardinality())}


def from_datasets(config):
    """Your batched datasets, fed to the model as they are: `.batch(n)`,
    with or without `drop_remainder`; a partial last batch is trained on and
    evaluated, as Keras `fit` does.

    `train(0, total_steps)` is the stream a run iterates and checkpoints;
    `train(start_step, total_steps)` replays `dataset.repeat()` past the
    batches already trained on, for a pipeline whose position cannot be
    saved.
    """
    dataset, batch_size = config.dataset, _batch_size(config, config.dataset)
    cardinality = int(dataset.cardinality())
    steps_per_epoch = cardinality if cardinality > 0 else None
    if cardinality == 0:
        raise validation.invalid_value("dataset", "a dataset with at least one batch", dataset)
    if steps_per_epoch is None and config.steps is None:
        raise validation.invalid_value(
            "steps", "a number of steps for a dataset of unknown or infinite length", None
        )

    def train(start_step, total_steps):
        stream = dataset.repeat().skip(start_step).take(total_steps - start_step)
        return stream.prefetch(tf.data.AUTOTUNE)

    def test():
        return config.test_dataset

    return RunData(None, None, batch_size, steps_per_epoch, train, test, structure(dataset))
