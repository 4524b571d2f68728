"""Paths anywhere `tf.io.gfile` reaches: local files, `gs://`, `s3://`, `ram://`.

A path with a scheme (`gs://bucket/run`, `ram://exports`) is remote: it goes
through `tf.io.gfile`, which is imported only then, so local use never
imports TensorFlow. A local path goes through `os`, `shutil` and `open`,
exactly as if called directly.

TensorFlow's errors on remote paths are raised as the matching `OSError`
(`FileNotFoundError`, `FileExistsError`, `PermissionError`, else `OSError`),
so callers catch one kind of error wherever a path points.

Object stores have no directories and no rename: `rename` of a remote
directory copies it file by file, then deletes the source (see `rename`).
"""

import builtins
import contextlib
import errno
import os
import posixpath
import re
import shutil

from keras_tokenlearner import validation

MODES = ("r", "w", "a", "rb", "wb", "ab")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_remote(path):
    """Whether `path` has a scheme (`gs://`, `s3://`, `ram://`, ...)."""
    return bool(SCHEME.match(os.fspath(path)))


# TensorFlow's ram:// filesystem (2.21), the tests' stand-in for object
# stores, has bugs worked around here: a write or copy onto an existing file
# appends to it; listing "a" also lists "a.b/..." as ".b", which trips rmtree.


def _is_ram(path):
    return os.fspath(path).startswith("ram://")


def _clear_for_ram(path):
    """Deletes file `path` on ram://, where a write would append to it."""
    if _is_ram(path) and exists(path) and not isdir(path):
        remove(path)


def _gfile():
    import tensorflow as tf

    return tf.io.gfile


@contextlib.contextmanager
def _os_errors(path):
    """Raises TensorFlow's file errors as the matching OSError."""
    import tensorflow as tf

    kinds = (
        (tf.errors.NotFoundError, FileNotFoundError, errno.ENOENT),
        (tf.errors.AlreadyExistsError, FileExistsError, errno.EEXIST),
        (tf.errors.PermissionDeniedError, PermissionError, errno.EACCES),
        (tf.errors.OpError, OSError, errno.EIO),
    )
    try:
        yield
    except tf.errors.OpError as error:
        for tf_kind, os_kind, number in kinds:
            if isinstance(error, tf_kind):
                message = error.message or type(error).__name__
                raise os_kind(number, message, path) from None


def join(path, *parts):
    """`os.path.join`; "/"-separated on remote paths."""
    path = os.fspath(path)
    return posixpath.join(path, *parts) if is_remote(path) else os.path.join(path, *parts)


def split(path):
    """`(parent, name)` as `os.path.split`; a remote path loses a trailing "/"."""
    path = os.fspath(path)
    if is_remote(path):
        return posixpath.split(path.rstrip("/"))
    return os.path.split(path)


def abspath(path):
    """`os.path.abspath` locally; a remote path, without a trailing "/"."""
    path = os.fspath(path)
    return path.rstrip("/") if is_remote(path) else os.path.abspath(path)


def exists(path):
    """Whether a file or directory is at `path`."""
    if not is_remote(path):
        return os.path.exists(path)
    with _os_errors(path):
        return _gfile().exists(path)


def isdir(path):
    """Whether `path` is a directory (on object stores: a prefix)."""
    if not is_remote(path):
        return os.path.isdir(path)
    with _os_errors(path):
        return _gfile().isdir(path)


def isfile(path):
    """Whether `path` is an existing file (not a directory)."""
    if not is_remote(path):
        return os.path.isfile(path)
    return exists(path) and not isdir(path)


def makedirs(path, exist_ok=True):
    """Makes `path` and its parents; an existing one is fine unless `exist_ok=False`."""
    if not is_remote(path):
        return os.makedirs(path, exist_ok=exist_ok)
    if not exist_ok and exists(path):
        raise FileExistsError(errno.EEXIST, "already exists", path)
    with _os_errors(path):
        _gfile().makedirs(path)


def listdir(path):
    """The names in directory `path`, as `os.listdir` (no trailing "/")."""
    if not is_remote(path):
        return os.listdir(path)
    with _os_errors(path):
        names = [name.rstrip("/") for name in _gfile().listdir(path)]
    if _is_ram(path):
        names = [name for name in names if exists(join(path, name))]
    return names


def remove(path):
    """Deletes the file `path`."""
    if not is_remote(path):
        return os.remove(path)
    with _os_errors(path):
        _gfile().remove(path)


def rmtree(path, ignore_errors=False):
    """Deletes directory `path` and everything in it."""
    if not is_remote(path):
        return shutil.rmtree(path, ignore_errors=ignore_errors)
    try:
        if _is_ram(path):
            _remove_ram_tree(path)
        else:
            with _os_errors(path):
                _gfile().rmtree(path)
    except OSError:
        if not ignore_errors:
            raise


def _remove_ram_tree(path):
    """rmtree on ram://, whose own one trips over its listing bug."""
    if not isdir(path):
        raise FileNotFoundError(errno.ENOENT, "no such directory", path)
    for name in listdir(path):
        child = join(path, name)
        if isdir(child):
            _remove_ram_tree(child)
        else:
            remove(child)
    remove(path)


def copy(source, target, overwrite=False):
    """Copies one file, local or remote, to `target` (whose parent must exist).

    An object store receives the file as one upload: a reader sees the
    whole object or none.
    """
    if not (is_remote(source) or is_remote(target)):
        if exists(target) and not overwrite:
            raise FileExistsError(errno.EEXIST, "already exists", target)
        return shutil.copyfile(source, target)
    if overwrite:
        _clear_for_ram(target)
    with _os_errors(target):
        _gfile().copy(source, target, overwrite=overwrite)


def rename(source, target, overwrite=False):
    """Moves a file or directory from `source` to `target`.

    A `target` that exists raises `FileExistsError` unless `overwrite` is
    True; then it is replaced. Locally this is `os.rename` (`os.replace`
    with `overwrite`): atomic on one filesystem; a directory can only
    replace an empty one. On a remote path a file goes by
    `tf.io.gfile.rename`; a directory is copied file by file (its
    subdirectories first, the files directly inside it last), then the
    source is deleted. A copy that fails removes what it wrote and keeps
    the source; a process killed midway can leave both, the target partial.
    """
    if exists(target) and not overwrite:
        raise FileExistsError(errno.EEXIST, "already exists", target)
    if not is_remote(source) and not is_remote(target):
        return (os.replace if overwrite else os.rename)(source, target)
    if not isdir(source):
        with _os_errors(source):
            return _gfile().rename(source, target, overwrite=overwrite)
    if exists(target):
        rmtree(target)
    try:
        _copy_tree(source, target)
    except BaseException:
        rmtree(target, ignore_errors=True)
        raise
    rmtree(source)


def _copy_tree(source, target):
    makedirs(target)
    names = listdir(source)
    folders = [name for name in names if isdir(join(source, name))]
    for name in folders:
        _copy_tree(join(source, name), join(target, name))
    for name in sorted(set(names) - set(folders)):
        copy(join(source, name), join(target, name))


def open(path, mode="r"):  # filesystem.open, beside builtins.open
    """A file object for `path`: `open` locally, `tf.io.gfile.GFile` remotely.

    Modes: "r", "w", "a" and their binary forms ("rb", ...). Text is UTF-8
    remotely, and remote files never translate newlines.
    """
    validation.check_choice("mode", mode, MODES)
    if not is_remote(path):
        return builtins.open(path, mode)
    if mode.startswith("r") and not isfile(path):
        raise FileNotFoundError(errno.ENOENT, "no such file", path)
    if mode.startswith("w"):
        _clear_for_ram(path)
    with _os_errors(path):
        return _gfile().GFile(path, mode)
