"""Atomic directory writes: write into a temporary sibling, then rename.

A reader (TF Serving, the trainer's resume logic) sees either no directory or
a complete one, never a partial one, even if the writer is killed midway.
Temporary directories start with "." and hold ".tmp-", so neither TF Serving
(integer names only) nor the checkpoint loader ever picks one up. Their names
also hold the writer's host and process id, so that cleaning up after a
killed writer never deletes the temporary of one still writing (another
export into the same base path, another worker on a shared filesystem).

Remote paths (`gs://`, `s3://`, `ram://`: see `filesystem`) work too, with
weaker guarantees, since object stores cannot rename: see `atomic_directory`
and `atomic_file`. Nothing here imports TensorFlow for a local path.
"""

import contextlib
import os
import socket
import tempfile
import uuid

from keras_tokenlearner import filesystem
from keras_tokenlearner import validation

TEMPORARY_MARKER = ".tmp-"
RETIRED = "old-"  # marks where a replaced directory waits until its successor is in place
WRITER_SEPARATOR = "@"  # ".NAME.tmp-HOST@PID@...": host names hold no "@"


def _writer():
    """This process's part of a temporary's name: "HOST@PID@"."""
    return f"{socket.gethostname()}{WRITER_SEPARATOR}{os.getpid()}{WRITER_SEPARATOR}"


def _writer_is_alive(name):
    """Whether the process that made temporary `name` still runs.

    True or False for a process of this host; None for one on another host,
    which cannot be asked. Names without a writer (from before writers were
    recorded) count as dead.
    """
    parts = name.split(TEMPORARY_MARKER, 1)[1].removeprefix(RETIRED).split(WRITER_SEPARATOR)
    if len(parts) < 3 or not parts[1].isdigit():
        return False
    if parts[0] != socket.gethostname():
        return None
    try:
        os.kill(int(parts[1]), 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _fsync_tree(root):
    if filesystem.is_remote(root):
        return
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
    if filesystem.is_remote(path):
        return
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_stale_temporaries(parent):
    """Deletes the temporaries that killed writers left in `parent`.

    Only temporaries whose writer is known to be dead (a process of this
    host that no longer runs) are deleted: a live writer's, or one from
    another host, which cannot be asked, is left alone. A writer killed
    while replacing a directory may have moved the old one aside (into
    `.NAME.tmp-old-*/NAME`) before its new one arrived: unless that writer
    is a live process of this host, the old copy is put back where nothing
    took its place.
    """
    if not filesystem.isdir(parent):
        return
    for name in filesystem.listdir(parent):
        if not (name.startswith(".") and TEMPORARY_MARKER in name):
            continue
        path, alive = filesystem.join(parent, name), _writer_is_alive(name)
        if f"{TEMPORARY_MARKER}{RETIRED}" in name and not alive:
            _put_back(parent, path)
        if alive is not False:
            continue
        if filesystem.isdir(path):
            filesystem.rmtree(path, ignore_errors=True)
        else:
            filesystem.remove(path)  # an atomic_file temporary


def _put_back(parent, retired_directory):
    """Moves a retired `.NAME.tmp-old-*/NAME` back to `NAME` where that is missing."""
    for retired in filesystem.listdir(retired_directory):
        if not filesystem.exists(filesystem.join(parent, retired)):
            filesystem.rename(filesystem.join(retired_directory, retired),
                              filesystem.join(parent, retired))


def _make_temporary(parent, prefix):
    """A new empty directory `parent/PREFIX<random>`, with the umask's mode."""
    if filesystem.is_remote(parent):
        temporary = filesystem.join(parent, prefix + uuid.uuid4().hex[:8])
        filesystem.makedirs(temporary, exist_ok=False)
        return temporary
    temporary = tempfile.mkdtemp(prefix=prefix, dir=parent)
    os.chmod(temporary, _directory_mode())
    return temporary


def _replace(temporary, final_path):
    """Moves the existing `final_path` aside, `temporary` in, then drops the old one.

    If moving `temporary` in fails, the old directory is moved back.
    """
    parent, name = filesystem.split(final_path)
    retired = _make_temporary(parent, f".{name}{TEMPORARY_MARKER}{RETIRED}{_writer()}")
    aside = filesystem.join(retired, name)
    filesystem.rename(final_path, aside)
    try:
        filesystem.rename(temporary, final_path)
    except BaseException:
        filesystem.rename(aside, final_path)  # if this fails, a later cleanup puts it back
        filesystem.rmtree(retired, ignore_errors=True)
        raise
    filesystem.rmtree(retired, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(final_path, overwrite=False):
    """Yields a temporary sibling directory that becomes `final_path` on success.

    Raises a `ValueError` if `final_path` exists and `overwrite` is False.
    On any error, the temporary directory is removed and nothing is renamed.

    On a remote path the temporary is remote too (write into it with
    `filesystem.open`, or TensorFlow's and Keras's savers), and the final
    rename is a copy then a delete (`filesystem.rename`): a writer that
    fails or is killed while writing leaves no `final_path`; a failed copy
    removes what it copied, but a writer killed during the copy can leave
    `final_path` partial, and while the copy runs a reader can see it
    incomplete (the files directly inside it, e.g. `saved_model.pb`, arrive
    after its subdirectories). Replacing moves the old one aside first (a
    copy too), so a reader may briefly find no `final_path`.
    """
    final_path = filesystem.abspath(final_path)
    parent, name = filesystem.split(final_path)
    if filesystem.exists(final_path) and not overwrite:
        raise validation.invalid_value(
            "path", "a path that does not exist yet (pass overwrite=True to replace it)",
            final_path,
        )
    filesystem.makedirs(parent)
    temporary = _make_temporary(parent, f".{name}{TEMPORARY_MARKER}{_writer()}")
    try:
        yield temporary
        _fsync_tree(temporary)
        if filesystem.exists(final_path):
            _replace(temporary, final_path)
        else:
            filesystem.rename(temporary, final_path)
        _fsync_directory(parent)
    except BaseException:
        filesystem.rmtree(temporary, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(final_path):
    """Yields a temporary path beside `final_path`; renames it there on success.

    The temporary name keeps the extension (`.model.tmp-123.keras`), since
    some writers check it. On any error the temporary file is removed.

    For a remote `final_path` the temporary is a local file (so any writer
    works, `open` and Keras's savers included), uploaded to `final_path`
    on success in one copy: object stores show an object only once its
    upload is complete, so a reader sees the old file or the new one.
    """
    if filesystem.is_remote(final_path):
        with _local_file_for(final_path) as temporary:
            yield temporary
        return
    final_path = os.path.abspath(final_path)
    parent, name = os.path.split(final_path)
    os.makedirs(parent, exist_ok=True)
    stem, extension = os.path.splitext(name)
    temporary = os.path.join(parent, f".{stem}{TEMPORARY_MARKER}{_writer()}{extension}")
    try:
        yield temporary
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, final_path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


@contextlib.contextmanager
def _local_file_for(final_path):
    """Yields a local path named as remote `final_path`; uploads it on success."""
    parent, name = filesystem.split(final_path)
    with tempfile.TemporaryDirectory(prefix=f".{name}{TEMPORARY_MARKER}") as folder:
        temporary = os.path.join(folder, name)
        yield temporary
        filesystem.makedirs(parent)
        filesystem.copy(temporary, final_path, overwrite=True)
