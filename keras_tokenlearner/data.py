"""tf.data input pipelines for images and videos, through TensorFlow Datasets.

Resizing, normalisation and augmentation happen here, in tf.data, never in
the model: a random-augmentation layer inside a Keras model silently turns
XLA off. `preprocess` is also what the exported SavedModel bakes in.

Datasets:
* `digits`, `moving_digits`: the embedded offline builders
  (`keras_tokenlearner.datasets`).
* `image_folder`: `tfds.ImageFolder(data_dir)`, with `data_dir/<split>/<label>/*.png`.
* any registered TFDS dataset by name (e.g. `cifar10`), read from `data_dir`.

Augmentation is deterministic: its randomness is derived from the seed, the
epoch and the example's position, so a resumed run sees exactly the batches
an uninterrupted run would have seen.
"""

import dataclasses
import os
import time

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_tokenlearner import datasets  # noqa: F401  (registers the builders)
from keras_tokenlearner import validation
from keras_tokenlearner.models.preprocessing import MINUS_ONE_TO_ONE
from keras_tokenlearner.models.preprocessing import canonical
from keras_tokenlearner.models.preprocessing import scale_and_offset

EMBEDDED = ("digits", "moving_digits")
IMAGE_FOLDER = "image_folder"
PAD_PIXELS = 2  # random translation of up to 2 pixels in training
SHUFFLE_BUFFER = 10_000
RACE_WAIT_SECONDS = 5
CACHE_BYTES = 1 << 30  # decoded uint8 examples up to 1 GiB are cached in memory
TRAIN_SPLITS = ("train", "training")  # the first one present is trained on
TEST_SPLITS = ("test", "validation", "val")  # the first one present is held out


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a dataset."""

    name: str
    num_classes: int
    example_shape: tuple  # (H, W, C) or (T, H, W, C), as stored
    class_names: tuple
    num_train_examples: int
    train_split: str
    test_split: str

    @property
    def is_video(self):
        return len(self.example_shape) == 4


def _builder(name, data_dir):
    if name == IMAGE_FOLDER:
        if not data_dir or not os.path.isdir(data_dir):
            raise validation.invalid_value(
                "data_dir", "an existing folder for image_folder", data_dir
            )
        return tfds.ImageFolder(data_dir)
    if name not in EMBEDDED and name not in tfds.list_builders():
        raise validation.invalid_value(
            "dataset", f"one of {', '.join(EMBEDDED + (IMAGE_FOLDER,))} or a TFDS name", name
        )
    builder = tfds.builder(name, data_dir=data_dir)
    try:
        builder.download_and_prepare()
    except Exception:  # another process (e.g. a second worker) raced us to it
        time.sleep(RACE_WAIT_SECONDS)
        builder = tfds.builder(name, data_dir=data_dir)
        if not builder.is_prepared():
            raise
    return builder


HOLD_OUT = "90%"  # train on the first 90% of a lone training split, test on the rest


def _pick_splits(name, splits):
    """(train, test) split names: the first of TRAIN_SPLITS and of TEST_SPLITS
    present. A TFDS dataset with a training split only (e.g. tf_flowers)
    holds out its last HOLD_OUT of it, never trained on. Another dataset
    without both is refused, so that a test accuracy is never measured on the
    training data."""
    if not splits:  # e.g. under tfds.testing.mock_data, which records none
        return "train", "test"
    train = next((split for split in TRAIN_SPLITS if split in splits), None)
    test = next((split for split in TEST_SPLITS if split in splits), None)
    if train is not None and test is None and name != IMAGE_FOLDER:
        return f"{train}[:{HOLD_OUT}]", f"{train}[{HOLD_OUT}:]"  # TFDS split slicing
    if train is None or test is None:
        raise validation.invalid_value(
            "dataset", f"a dataset with a training split ({', '.join(TRAIN_SPLITS)}) and a "
            f"held-out split ({', '.join(TEST_SPLITS)}); for image_folder, folders "
            f"DATA_DIR/train/LABEL/ and DATA_DIR/test/LABEL/ (splits of {name!r}: "
            f"{', '.join(sorted(splits))})", name,
        )
    return train, test


def load(name, data_dir=None):
    """Returns `(builder, DatasetInfo)` for dataset `name`."""
    builder = _builder(name, data_dir)
    info = builder.info
    input_key, label_key = info.supervised_keys
    train, test = _pick_splits(name, set(info.splits))
    label = info.features[label_key]
    if train in info.splits:
        num_train_examples = info.splits[train].num_examples
    else:  # count what the (mock) builder yields
        num_train_examples = int(builder.as_dataset(split=train).reduce(0, lambda n, _: n + 1))
    return builder, DatasetInfo(
        name=name,
        num_classes=label.num_classes,
        example_shape=tuple(info.features[input_key].shape),
        class_names=tuple(label.names),
        num_train_examples=num_train_examples,
        train_split=train,
        test_split=test,
    )


def preprocess(examples, image_shape, preprocessing=MINUS_ONE_TO_ONE):
    """uint8 (..., H, W, C) -> float32 (..., h, w, c), as the model expects.

    Resizes each image or frame to `image_shape[:2]` (bilinear), repeats a
    gray channel to 3 channels when the model wants 3, and maps pixels p to
    `p * scale + offset` from the `preprocessing` record (see
    `keras_tokenlearner.models.preprocessing`; the zoo's default gives
    [-1, 1]). Works on one image, one clip, or batches of either: the same
    function runs in training and inside the exported SavedModel.
    """
    height, width, channels = image_shape
    scale, offset = scale_and_offset(canonical(preprocessing))
    images = tf.cast(examples, tf.float32)
    leading = tf.shape(images)[:-3]  # batch and frame axes, if any
    flat = tf.reshape(images, tf.concat([[-1], tf.shape(images)[-3:]], 0))  # (N, H, W, C)
    flat = tf.image.resize(flat, (height, width))  # (N, h, w, C)
    if examples.shape[-1] == 1 and channels == 3:
        flat = tf.repeat(flat, 3, axis=-1)  # gray -> RGB
    shape = tf.concat([leading, [height, width, flat.shape[-1]]], 0)
    resized = tf.reshape(flat, shape)  # (..., h, w, c)
    return resized * scale + offset  # (..., h, w, c)


def pass_seed(seed, epoch):
    """The seed of one training pass: a 63-bit hash of (seed, epoch).

    Every pair gets its own data order (with `seed + epoch`, seed 1's first
    epoch would be seed 0's second, so runs with different seeds would share
    their data streams).
    """
    state = np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)
    return int(state[0] >> np.uint64(1))


def _augment(example, seed):
    """Random translation by up to PAD_PIXELS, the same for every frame."""
    shape = tf.shape(example)
    paddings = [[0, 0]] * (len(example.shape) - 3) + [[PAD_PIXELS, PAD_PIXELS]] * 2 + [[0, 0]]
    padded = tf.pad(example, paddings)
    offsets = tf.random.stateless_uniform(
        (2,), seed=seed, maxval=2 * PAD_PIXELS + 1, dtype=tf.int32
    )
    begin = tf.concat([tf.zeros(len(example.shape) - 3, tf.int32), offsets, [0]], axis=0)
    return tf.slice(padded, begin, shape)


def examples(builder, info, split):
    """Decoded `(example, label)` pairs of `split`, cached in memory when
    they fit in CACHE_BYTES (digits: 1.4 MB), so later passes skip decoding."""
    dataset = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False)
    size = np.prod(info.example_shape) if None not in info.example_shape else None
    fits = size is not None and size * info.num_train_examples <= CACHE_BYTES
    return dataset.cache() if fits else dataset


def _training_pass(pairs, shuffle_seed):
    """One shuffled, augmented pass; `shuffle_seed` an int or an int64 tensor."""
    shuffled = pairs.shuffle(SHUFFLE_BUFFER, seed=shuffle_seed, reshuffle_each_iteration=False)
    return shuffled.enumerate().map(
        lambda index, pair: (_augment(pair[0], tf.stack([tf.cast(shuffle_seed, tf.int64),
                                                           index])), pair[1]),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )


def _batched(dataset, image_shape, batch_size, training, preprocessing):
    dataset = dataset.map(
        lambda example, label: (preprocess(example, image_shape, preprocessing),
                                tf.cast(label, tf.int32)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return dataset.batch(batch_size, drop_remainder=training)


def _training_passes(pairs, first_epoch, last_epoch, seed, image_shape, batch_size,
                     preprocessing):
    """Batches of training passes [first_epoch, last_epoch) as one dataset."""
    seeds = tf.constant([pass_seed(seed, epoch) for epoch in range(last_epoch)], tf.int64)

    @tf.autograph.experimental.do_not_convert
    def one_pass(epoch):
        # The pass's order depends on its seed alone, not on TF's global seed
        # (which this function graph would otherwise mix in).
        tf.compat.v1.get_default_graph().seed = None
        return _batched(_training_pass(pairs, seeds[epoch]), image_shape, batch_size, True,
                        preprocessing)

    return tf.data.Dataset.range(first_epoch, last_epoch).flat_map(one_pass)


def pipeline(builder, info, split, image_shape, batch_size, training, seed=0, epoch=0,
             skip_batches=0, preprocessing=MINUS_ONE_TO_ONE):
    """Batches of (float32 inputs, int32 labels) for one pass over `split`.

    Training passes are shuffled and augmented from `pass_seed(seed, epoch)`
    and drop the last partial batch; `skip_batches` resumes a pass midway.
    """
    pairs = examples(builder, info, split)
    if training:
        dataset = _training_passes(pairs, epoch, epoch + 1, seed, image_shape, batch_size,
                                   preprocessing)
    else:
        dataset = _batched(pairs, image_shape, batch_size, training, preprocessing)
    return dataset.skip(skip_batches).prefetch(tf.data.AUTOTUNE)


def training_stream(builder, info, image_shape, batch_size, seed, start_step, total_steps,
                    preprocessing=MINUS_ONE_TO_ONE):
    """The training batches of steps [start_step, total_steps), across epochs,
    as ONE dataset: pass e is `pipeline(..., epoch=e)`'s, so a resumed run
    sees exactly the batches an uninterrupted one would, and the examples
    are decoded once (cached) rather than once per pass."""
    steps_per_epoch = info.num_train_examples // batch_size
    first_epoch, skip = divmod(start_step, steps_per_epoch)
    last_epoch = -(-total_steps // steps_per_epoch)  # ceil
    pairs = examples(builder, info, info.train_split)
    passes = _training_passes(pairs, first_epoch, last_epoch, seed, image_shape, batch_size,
                              preprocessing)
    stream = passes.skip(skip).take(total_steps - start_step).prefetch(tf.data.AUTOTUNE)
    return stream.with_options(_checkpointable())


def _checkpointable():
    """Lets a checkpoint save the stream's position. Its one stateful op is
    the placeholder seed generator of each pass's `shuffle` (inside
    `flat_map`), which holds no state: the shuffle's own iterator saves its
    buffer and random state, so a restored stream reads on exactly."""
    options = tf.data.Options()
    options.experimental_external_state_policy = tf.data.experimental.ExternalStatePolicy.IGNORE
    return options
