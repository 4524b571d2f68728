"""Offline TFDS datasets built from the real digits that scikit-learn ships.

Importing this module registers two TensorFlow Datasets builders that
download nothing:

* `digits`: the 1,797 real 8x8 handwritten digits of `sklearn.datasets.
  load_digits`, upsampled to 32x32 grayscale, with a fixed stratified
  train/test split (1,437 / 360).
* `moving_digits`: 8-frame 32x32 clips generated deterministically from the
  same digits. Each digit drifts left or right, wrapping around the frame;
  the label is digit x direction (20 classes). The start position is uniform,
  so one frame shows the digit but never the direction: the label needs
  more than one frame.

`tfds.load("digits", data_dir=...)` builds the data on first use, in about a
second. The train/test split of both is the same.
"""

import numpy as np
import tensorflow_datasets as tfds

IMAGE_SIZE = 32
NUM_FRAMES = 8
DIGIT_SIZE = 16  # the digit's side inside a moving_digits frame
SPEED = 3  # pixels per frame
DIRECTIONS = ("left", "right")
TEST_FRACTION = 0.2
SPLIT_SEED = 0
CITATION = """@article{scikit-learn, title={Scikit-learn: Machine Learning in Python},
  author={Pedregosa, F. and others}, journal={JMLR}, volume={12}, pages={2825--2830},
  year={2011}}"""


def load_digit_images(size):
    """The sklearn digits as uint8 (1797, size, size, 1) images and labels."""
    from scipy import ndimage
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images / 16.0  # (1797, 8, 8), values in [0, 1]
    zoomed = ndimage.zoom(images, (1, size / 8, size / 8), order=1)  # (1797, size, size)
    images = np.clip(np.round(zoomed * 255), 0, 255).astype(np.uint8)
    return images[..., None], digits.target.astype(np.int64)  # (1797, size, size, 1)


def split_indices(labels):
    """The fixed stratified split: {"train": indices, "test": indices}."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        np.arange(len(labels)), test_size=TEST_FRACTION, stratify=labels,
        random_state=SPLIT_SEED,
    )
    return {"train": np.sort(train), "test": np.sort(test)}


def render_clip(digit, start_x, top, velocity):
    """(NUM_FRAMES, 32, 32, 1): `digit` drifting by `velocity` px per frame, wrapping."""
    canvas = np.zeros((IMAGE_SIZE, IMAGE_SIZE, 1), np.uint8)
    canvas[top : top + DIGIT_SIZE, :DIGIT_SIZE] = digit
    frames = [np.roll(canvas, start_x + velocity * t, axis=1) for t in range(NUM_FRAMES)]
    return np.stack(frames)  # (T, 32, 32, 1)


def moving_clip(digit, index):
    """The deterministic clip number `index` of `digit`, and its direction index."""
    rng = np.random.default_rng(index)
    direction = int(rng.integers(len(DIRECTIONS)))
    start_x, top = int(rng.integers(IMAGE_SIZE)), int(rng.integers(IMAGE_SIZE - DIGIT_SIZE))
    velocity = SPEED if DIRECTIONS[direction] == "right" else -SPEED
    return render_clip(digit, start_x, top, velocity), direction


def _dataset_info(builder, input_key, input_feature, class_names):
    return builder.dataset_info_from_configs(
        description=__doc__,
        features=tfds.features.FeaturesDict({
            input_key: input_feature,
            "label": tfds.features.ClassLabel(names=class_names),
        }),
        supervised_keys=(input_key, "label"),
        citation=CITATION,
    )


def _split_generators(generate_examples, image_size):
    """{"train": examples, "test": examples} of the digits at `image_size`."""
    images, labels = load_digit_images(image_size)
    return {
        split: generate_examples(images, labels, indices)
        for split, indices in split_indices(labels).items()
    }


class Digits(tfds.core.GeneratorBasedBuilder):
    """scikit-learn's 1,797 real handwritten digits, upsampled to 32x32."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}

    def _info(self):
        image = tfds.features.Image(shape=(IMAGE_SIZE, IMAGE_SIZE, 1))
        return _dataset_info(self, "image", image, [str(digit) for digit in range(10)])

    def _split_generators(self, dl_manager):
        return _split_generators(self._generate_examples, IMAGE_SIZE)

    def _generate_examples(self, images, labels, indices):
        for index in indices:
            yield int(index), {"image": images[index], "label": int(labels[index])}


class MovingDigits(tfds.core.GeneratorBasedBuilder):
    """Clips of a real digit drifting left or right; label digit x direction."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}

    def _info(self):
        names = [f"{digit}_{direction}" for digit in range(10) for direction in DIRECTIONS]
        video = tfds.features.Video(shape=(NUM_FRAMES, IMAGE_SIZE, IMAGE_SIZE, 1))
        return _dataset_info(self, "video", video, names)

    def _split_generators(self, dl_manager):
        return _split_generators(self._generate_examples, DIGIT_SIZE)

    def _generate_examples(self, digits, labels, indices):
        for index in indices:
            clip, direction = moving_clip(digits[index], int(index))
            label = int(labels[index]) * len(DIRECTIONS) + direction
            yield int(index), {"video": clip, "label": label}
