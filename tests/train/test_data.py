"""Embedded TFDS datasets, mock TFDS data, image folders, the pipeline."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_tokenlearner import data
from keras_tokenlearner import datasets


def test_digits_are_real_and_split_stratified(data_dir):
    builder, info = data.load("digits", data_dir)
    assert info.num_train_examples == 1437 and builder.info.splits["test"].num_examples == 360
    assert info.example_shape == (32, 32, 1) and info.num_classes == 10
    labels = [int(y) for _, y in builder.as_dataset(split="test", as_supervised=True)]
    assert np.bincount(labels).min() >= 35  # every class in the test split
    first = next(iter(builder.as_dataset(split="train", as_supervised=True)))[0].numpy()
    sklearn_images = datasets.load_digit_images(32)[0]
    assert np.all(sklearn_images == first, axis=(1, 2, 3)).any()  # a real sklearn digit


def test_moving_digits_need_more_than_one_frame(data_dir):
    builder, info = data.load("moving_digits", data_dir)
    assert info.example_shape == (8, 32, 32, 1) and info.num_classes == 20
    digit = datasets.load_digit_images(16)[0][5]
    right = datasets.render_clip(digit, start_x=4, top=3, velocity=3)
    left = datasets.render_clip(digit, start_x=4 + 7 * 3, top=3, velocity=-3)
    # The same frames in the opposite order: no single frame tells the label.
    np.testing.assert_array_equal(right[::-1], left)
    clips = [datasets.moving_clip(digit, index) for index in range(200)]
    directions = [direction for _, direction in clips]
    assert 60 < sum(directions) < 140  # both directions, balanced
    starts = {int(np.argmax(clip[0].sum(axis=(0, 2)) > 0)) for clip, _ in clips}
    assert len(starts) > 16  # start positions spread over the frame


def test_pipeline_is_deterministic_and_resumable(data_dir):
    builder, info = data.load("digits", data_dir)

    def batches(epoch, skip=0):
        dataset = data.pipeline(builder, info, "train", (16, 16, 3), 32, training=True,
                                seed=3, epoch=epoch, skip_batches=skip)
        return [x.numpy() for x, _ in dataset.take(3)]

    first, again, other_epoch, skipped = batches(0), batches(0), batches(1), batches(0, 1)
    assert first[0].shape == (32, 16, 16, 3) and first[0].dtype == np.float32
    assert -1.0 <= first[0].min() and first[0].max() <= 1.0
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], other_epoch[0])
    np.testing.assert_array_equal(first[1], skipped[0])


def test_seeds_do_not_share_data_orders(data_dir):
    builder, info = data.load("digits", data_dir)

    def labels(seed, epoch):
        dataset = data.pipeline(builder, info, "train", (16, 16, 3), 256, training=True,
                                seed=seed, epoch=epoch)
        return next(iter(dataset))[1].numpy()  # (256,)

    assert not np.array_equal(labels(1, 0), labels(0, 1))  # seed + epoch would collide
    assert not np.array_equal(labels(0, 0), labels(1, 0))
    seeds = {data.pass_seed(seed, epoch) for seed in range(20) for epoch in range(50)}
    assert len(seeds) == 1000 and max(seeds) < 2**63


def test_registered_tfds_dataset_through_mock_data(tmp_path):
    with tfds.testing.mock_data(num_examples=10, policy=tfds.testing.MockPolicy.USE_CODE):
        builder, info = data.load("mnist", str(tmp_path))
        assert info.num_classes == 10 and info.example_shape == (28, 28, 1)
        images, labels = next(iter(data.pipeline(builder, info, "train", (16, 16, 3), 4, True)))
    assert images.shape == (4, 16, 16, 3) and labels.dtype == tf.int32


def write_image_folder(root, splits, per_label):
    for split in splits:
        for label in ("cat", "dog"):
            folder = root / split / label
            folder.mkdir(parents=True)
            for index in range(per_label):
                image = np.full((20, 24, 3), 40 * (index % 6), np.uint8)
                tf.io.write_file(str(folder / f"{index}.png"), tf.io.encode_png(image))


def test_image_folder(tmp_path):
    write_image_folder(tmp_path, ("train", "test"), per_label=3)
    builder, info = data.load("image_folder", str(tmp_path))
    assert info.class_names == ("cat", "dog") and info.num_train_examples == 6
    assert (info.train_split, info.test_split) == ("train", "test")
    images, _ = next(iter(data.pipeline(builder, info, "test", (8, 8, 3), 6, False)))
    assert images.shape == (6, 8, 8, 3)


@pytest.mark.parametrize("splits", [("train",), ("val", "test"), ("photos", "test")])
def test_without_a_training_and_a_held_out_split_the_dataset_is_refused(splits, tmp_path):
    write_image_folder(tmp_path, splits, per_label=2)
    listed = ", ".join(sorted(splits))
    with pytest.raises(ValueError, match=r"`dataset`.*training split \(train, training\).*"
                       r"held-out split \(test, validation, val\).*DATA_DIR/test/LABEL/.*"
                       rf"splits of 'image_folder': {listed}\)"):
        data.load("image_folder", str(tmp_path))


def test_training_and_validation_folders(tmp_path):
    write_image_folder(tmp_path, ("training", "validation"), per_label=2)
    _, info = data.load("image_folder", str(tmp_path))
    assert (info.train_split, info.test_split) == ("training", "validation")


def test_images_of_no_fixed_size_need_image_size(tmp_path, data_dir):
    from keras_tokenlearner.train import train

    write_image_folder(tmp_path, ("train", "test"), per_label=3)
    with pytest.raises(ValueError, match=r"`image_size`.*no fixed size.*--image-size"):
        train(dataset="image_folder", data_dir=str(tmp_path), workdir=str(tmp_path / "run"),
              batch_size=4, steps=1, verbose=False)


@pytest.mark.parametrize("name, data_dir_value, message", [
    ("imagenet_typo", None, r"`dataset`.*digits, moving_digits, image_folder"),
    ("image_folder", None, r"`data_dir`.*existing folder for image_folder"),
    ("image_folder", "/no/such/folder", r"`data_dir`.*data_dir='/no/such/folder'"),
])
def test_bad_dataset_arguments(name, data_dir_value, message):
    with pytest.raises(ValueError, match=message):
        data.load(name, data_dir_value)


def test_a_tfds_dataset_with_a_training_split_only_holds_out_its_end():
    assert data._pick_splits("tf_flowers", {"train"}) == ("train[:90%]", "train[90%:]")
    assert data._pick_splits("cifar10", {"train", "test"}) == ("train", "test")


def test_training_stream_is_the_passes_in_order_and_resumes_midway(data_dir):
    builder, info = data.load("digits", data_dir)  # 1437 // 256 = 5 batches a pass

    def labels(dataset):
        return [batch_labels.numpy().tolist() for _, batch_labels in dataset]

    passes = [labels(data.pipeline(builder, info, "train", (8, 8, 3), 256, True, seed=3,
                                   epoch=epoch)) for epoch in (0, 1)]
    stream = labels(data.training_stream(builder, info, (8, 8, 3), 256, 3, 0, 10))
    assert stream == passes[0] + passes[1] and passes[0] != passes[1]
    tf.random.set_seed(99)  # TensorFlow's global seed plays no part
    resumed = labels(data.training_stream(builder, info, (8, 8, 3), 256, 3, 7, 10))
    assert resumed == stream[7:]
