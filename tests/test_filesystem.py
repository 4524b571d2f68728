"""Paths anywhere: local paths behave as `os` does, remote ones (ram:// here,
standing for gs:// and s3://) the same way, errors included."""

import uuid

import pytest

from keras_tokenlearner import filesystem


@pytest.fixture(params=["local", "ram"])
def root(request, tmp_path):
    if request.param == "local":
        yield str(tmp_path)
        return
    folder = f"ram://filesystem-{uuid.uuid4().hex[:8]}"
    filesystem.makedirs(folder)
    yield folder
    filesystem.rmtree(folder, ignore_errors=True)


def test_paths():
    assert filesystem.is_remote("gs://bucket/run") and filesystem.is_remote("ram://x")
    assert not filesystem.is_remote("runs/digits") and not filesystem.is_remote("/tmp/x")
    assert filesystem.join("gs://bucket", "run", "1") == "gs://bucket/run/1"
    assert filesystem.split("gs://bucket/run/1/") == ("gs://bucket/run", "1")
    assert filesystem.abspath("s3://bucket/run/") == "s3://bucket/run"


def test_files_and_directories(root):
    folder = filesystem.join(root, "a", "b")
    filesystem.makedirs(folder)
    filesystem.makedirs(folder)  # exist_ok by default
    with pytest.raises(FileExistsError):
        filesystem.makedirs(folder, exist_ok=False)
    path = filesystem.join(folder, "f.txt")
    for mode, text in (("w", "one"), ("w", "two"), ("a", "+")):  # "w" replaces, "a" appends
        with filesystem.open(path, mode) as handle:
            handle.write(text)
    with filesystem.open(path, "rb") as handle:
        assert handle.read() == b"two+"
    assert filesystem.isfile(path) and not filesystem.isdir(path)
    assert filesystem.isdir(folder) and filesystem.listdir(filesystem.join(root, "a")) == ["b"]
    filesystem.remove(path)
    assert not filesystem.exists(path)
    filesystem.rmtree(filesystem.join(root, "a"))
    assert filesystem.listdir(root) == []


def test_rename_moves_a_whole_directory(root):
    source, target = filesystem.join(root, "source"), filesystem.join(root, "target")
    filesystem.makedirs(filesystem.join(source, "variables"))
    for name in ("saved_model.pb", "variables/data"):
        with filesystem.open(filesystem.join(source, name), "w") as handle:
            handle.write(name)
    filesystem.rename(source, target)
    assert filesystem.listdir(root) == ["target"]
    with filesystem.open(filesystem.join(target, "variables", "data")) as handle:
        assert handle.read() == "variables/data"


def test_rename_and_copy_of_a_file_replace_only_with_overwrite(root):
    first, second = filesystem.join(root, "first"), filesystem.join(root, "second")
    for path in (first, second):
        with filesystem.open(path, "w") as handle:
            handle.write(path[-5:])
    for move in (filesystem.rename, filesystem.copy):
        with pytest.raises(FileExistsError):
            move(first, second)
    filesystem.copy(first, second, overwrite=True)
    filesystem.rename(second, first, overwrite=True)
    assert filesystem.listdir(root) == ["first"]
    with filesystem.open(first) as handle:
        assert handle.read() == "first"


def test_missing_paths_raise_file_not_found(root):
    missing = filesystem.join(root, "missing")
    for call in (filesystem.listdir, filesystem.remove, filesystem.rmtree, filesystem.open):
        with pytest.raises(FileNotFoundError):
            call(missing)
    filesystem.rmtree(missing, ignore_errors=True)


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match=r"`mode`.*Received: mode='r\+'"):
        filesystem.open("ram://x", "r+")
