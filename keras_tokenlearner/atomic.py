"""Atomic directory writes: write into a temporary sibling, then rename.

A reader (TF Serving, the trainer's resume logic) sees either no directory or
a complete one, never a partial one, even if the writer is killed midway.
Temporary directories start with "." and hold ".tmp-", so neither TF Serving
(integer names only) nor the checkpoint loader ever picks one up.
"""

import contextlib
import os
import shutil
import tempfile

from keras_tokenlearner import validation

TEMPORARY_MARKER = ".tmp-"
RETIRED = "old-"  # marks where a replaced directory waits until its successor is in place


def _fsync_tree(root):
    for folder, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(folder, name), "rb") as handle:
                os.fsync(handle.fileno())


def _directory_mode():
    """0o777 less the process umask: the mode `os.makedirs` would give.

    `tempfile.mkdtemp` makes 0o700 directories, which the rename would keep,
    so a server running as another user (TF Serving in a container) could
    not read an export.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask


def _fsync_directory(path):
    """Makes a rename inside `path` durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_stale_temporaries(parent):
    """Deletes temporaries that a killed writer left in `parent`.

    A writer killed while replacing a directory may have moved the old one
    aside (into `.NAME.tmp-old-*/NAME`) before its new one arrived: that old
    copy is put back rather than deleted.
    """
    if not os.path.isdir(parent):
        return
    for name in os.listdir(parent):
        if not (name.startswith(".") and TEMPORARY_MARKER in name):
            continue
        path = os.path.join(parent, name)
        if not os.path.isdir(path):
            os.remove(path)  # an atomic_file temporary
            continue
        if f"{TEMPORARY_MARKER}{RETIRED}" in name:
            for retired in os.listdir(path):
                if not os.path.exists(os.path.join(parent, retired)):
                    os.rename(os.path.join(path, retired), os.path.join(parent, retired))
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(final_path, overwrite=False):
    """Yields a temporary directory that becomes `final_path` on success.

    Raises a `ValueError` if `final_path` exists and `overwrite` is False.
    On any error, the temporary directory is removed and nothing is renamed.
    """
    final_path = os.path.abspath(final_path)
    parent, name = os.path.split(final_path)
    if os.path.exists(final_path) and not overwrite:
        raise validation.invalid_value(
            "path", "a path that does not exist yet (pass overwrite=True to replace it)",
            final_path,
        )
    os.makedirs(parent, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix=f".{name}{TEMPORARY_MARKER}", dir=parent)
    os.chmod(temporary, _directory_mode())
    try:
        yield temporary
        _fsync_tree(temporary)
        if os.path.exists(final_path):
            retired = tempfile.mkdtemp(prefix=f".{name}{TEMPORARY_MARKER}{RETIRED}", dir=parent)
            os.rename(final_path, os.path.join(retired, name))
            os.rename(temporary, final_path)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(temporary, final_path)
        _fsync_directory(parent)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(final_path):
    """Yields a temporary path beside `final_path`; renames it there on success.

    The temporary name keeps the extension (`.model.tmp-123.keras`), since
    some writers check it. On any error the temporary file is removed.
    """
    final_path = os.path.abspath(final_path)
    parent, name = os.path.split(final_path)
    os.makedirs(parent, exist_ok=True)
    stem, extension = os.path.splitext(name)
    temporary = os.path.join(parent, f".{stem}{TEMPORARY_MARKER}{os.getpid()}{extension}")
    try:
        yield temporary
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, final_path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
