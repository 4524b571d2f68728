"""Atomic writes: a reader sees no directory or a whole one, and cleaning up
after a killed writer never touches a live writer's temporary."""

import os
import socket
import subprocess
import sys
import uuid

import pytest

from keras_tokenlearner import atomic
from keras_tokenlearner import filesystem

HOST = socket.gethostname()


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "1"
    with pytest.raises(RuntimeError):
        with atomic.atomic_directory(str(target)) as temporary:
            (open(os.path.join(temporary, "half.pb"), "w")).write("partial")
            raise RuntimeError("killed midway")
    assert os.listdir(tmp_path) == []


def test_existing_directory_needs_overwrite(tmp_path):
    (tmp_path / "1").mkdir()
    with pytest.raises(ValueError, match=r"`path`.*overwrite=True"):
        with atomic.atomic_directory(str(tmp_path / "1")):
            pass
    with atomic.atomic_directory(str(tmp_path / "1"), overwrite=True) as temporary:
        open(os.path.join(temporary, "new"), "w").close()
    assert os.listdir(tmp_path / "1") == ["new"]
    assert sorted(os.listdir(tmp_path)) == ["1"]


def test_atomic_file_keeps_the_old_file_when_a_write_fails(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_file(str(target)) as temporary:
            assert temporary.endswith(".json")
            open(temporary, "w").write("half")
            raise RuntimeError("killed midway")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["metrics.json"]
    with atomic.atomic_file(str(target)) as temporary:
        open(temporary, "w").write("new")
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["metrics.json"]


def test_directory_moved_aside_by_a_killed_overwrite_is_put_back(tmp_path):
    # A writer killed between its two renames: the old version moved aside,
    # the new one never arrived. The next writer must restore, not delete.
    retired = tmp_path / ".1.tmp-old-abc" / "1"
    retired.mkdir(parents=True)
    (retired / "saved_model.pb").write_text("old")
    (tmp_path / ".2.tmp-xyz").mkdir()  # an unfinished new directory
    (tmp_path / ".model.tmp-12.keras").write_text("partial")  # an unfinished file
    atomic.remove_stale_temporaries(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["1"]
    assert (tmp_path / "1" / "saved_model.pb").read_text() == "old"


@pytest.mark.parametrize("umask, mode", [(0o022, 0o755), (0o077, 0o700)])
def test_directory_gets_the_mode_of_the_umask(umask, mode, tmp_path):
    previous = os.umask(umask)
    try:
        with atomic.atomic_directory(str(tmp_path / "1")) as temporary:
            open(os.path.join(temporary, "saved_model.pb"), "w").close()
    finally:
        os.umask(previous)
    assert (tmp_path / "1").stat().st_mode & 0o777 == mode  # readable by a server's user


def dead_process_id():
    """The id of a process of this host that has exited (and been reaped)."""
    process = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                             capture_output=True, text=True, check=True)
    return int(process.stdout)


def test_a_live_writers_temporaries_survive_a_cleanup(tmp_path):
    # Another export into the same base path cleans up while this one writes.
    with atomic.atomic_directory(str(tmp_path / "1")) as directory, \
            atomic.atomic_file(str(tmp_path / "metrics.json")) as file:
        open(os.path.join(directory, "saved_model.pb"), "w").write("new")
        open(file, "w").write("{}")
        atomic.remove_stale_temporaries(str(tmp_path))
        assert os.path.isdir(directory) and os.path.exists(file)
    assert sorted(os.listdir(tmp_path)) == ["1", "metrics.json"]
    assert (tmp_path / "1" / "saved_model.pb").read_text() == "new"


def test_a_dead_writers_temporaries_are_removed(tmp_path):
    writer = f"{HOST}@{dead_process_id()}@"
    (tmp_path / f".1.tmp-{writer}abc").mkdir()
    (tmp_path / f".metrics.tmp-{writer}.json").write_text("partial")
    retired = tmp_path / f".2.tmp-old-{writer}xyz" / "2"
    retired.mkdir(parents=True)
    atomic.remove_stale_temporaries(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["2"]  # the retired copy put back


def test_another_hosts_temporary_is_kept_and_its_retired_copy_put_back(tmp_path):
    unfinished = tmp_path / ".2.tmp-another-host@12@abc"  # may still be writing
    unfinished.mkdir()
    retired = tmp_path / ".1.tmp-old-another-host@12@xyz" / "1"
    retired.mkdir(parents=True)
    (retired / "saved_model.pb").write_text("old")
    atomic.remove_stale_temporaries(str(tmp_path))
    assert unfinished.is_dir()
    assert (tmp_path / "1" / "saved_model.pb").read_text() == "old"


def test_a_live_writers_retired_copy_stays_aside(tmp_path):
    # This host's live writer is between its two renames: its new directory
    # is about to take the name, so the old one must not.
    retired = tmp_path / f".1.tmp-old-{HOST}@{os.getpid()}@xyz" / "1"
    retired.mkdir(parents=True)
    atomic.remove_stale_temporaries(str(tmp_path))
    assert retired.is_dir() and not (tmp_path / "1").exists()


def test_a_failed_move_into_place_puts_the_old_directory_back(tmp_path, monkeypatch):
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "saved_model.pb").write_text("old")
    rename = atomic.filesystem.rename

    def failing_rename(source, target, overwrite=False):
        if TEMPORARY_NAME in os.path.basename(source) and os.path.basename(target) == "1":
            raise OSError("disk full")
        return rename(source, target, overwrite)

    monkeypatch.setattr(atomic.filesystem, "rename", failing_rename)
    with pytest.raises(OSError, match="disk full"):
        with atomic.atomic_directory(str(tmp_path / "1"), overwrite=True) as temporary:
            open(os.path.join(temporary, "saved_model.pb"), "w").write("new")
    assert os.listdir(tmp_path) == ["1"]
    assert (tmp_path / "1" / "saved_model.pb").read_text() == "old"


TEMPORARY_NAME = f".1{atomic.TEMPORARY_MARKER}{HOST}@"


# Remote paths: ram://, TensorFlow's in-memory filesystem, stands for gs:// and s3://.


@pytest.fixture
def ram(request):
    """A fresh ram:// folder (the ram filesystem lasts as long as the process)."""
    folder = f"ram://{request.node.name}-{uuid.uuid4().hex[:8]}"
    yield folder
    filesystem.rmtree(folder, ignore_errors=True)


def write(path, text):
    with filesystem.open(path, "w") as handle:
        handle.write(text)


def read(path):
    with filesystem.open(path) as handle:
        return handle.read()


def test_remote_directory_is_written_and_replaced(ram):
    target = f"{ram}/exports/1"
    with atomic.atomic_directory(target) as temporary:
        assert temporary.startswith(f"{ram}/exports/.1.tmp-")
        filesystem.makedirs(filesystem.join(temporary, "variables"))
        write(filesystem.join(temporary, "variables", "data"), "weights")
        write(filesystem.join(temporary, "saved_model.pb"), "graph")
    assert filesystem.listdir(f"{ram}/exports") == ["1"]
    assert read(f"{target}/variables/data") == "weights"
    with pytest.raises(ValueError, match=r"`path`.*overwrite=True"):
        with atomic.atomic_directory(target):
            pass
    with atomic.atomic_directory(target, overwrite=True) as temporary:
        write(filesystem.join(temporary, "new"), "new")
    assert filesystem.listdir(f"{ram}/exports") == ["1"]
    assert filesystem.listdir(target) == ["new"]  # nothing of the old version left
    assert not filesystem.exists(f"{target}/variables/data")


def test_remote_failed_write_leaves_nothing(ram):
    with pytest.raises(RuntimeError):
        with atomic.atomic_directory(f"{ram}/1") as temporary:
            write(filesystem.join(temporary, "half.pb"), "partial")
            raise RuntimeError("killed midway")
    assert filesystem.listdir(ram) == []


def test_remote_file_is_written_whole_or_not_at_all(ram):
    target = f"{ram}/metrics.json"
    with atomic.atomic_file(target) as temporary:
        assert temporary.endswith(".json") and not filesystem.is_remote(temporary)
        open(temporary, "w").write("old")  # a local file: any writer works
    with pytest.raises(RuntimeError):
        with atomic.atomic_file(target) as temporary:
            open(temporary, "w").write("half")
            raise RuntimeError("killed midway")
    assert read(target) == "old" and not os.path.exists(temporary)
    with atomic.atomic_file(target) as temporary:
        open(temporary, "w").write("new")
    assert read(target) == "new" and filesystem.listdir(ram) == ["metrics.json"]


def test_remote_stale_temporaries(ram):
    dead = f"{HOST}@{dead_process_id()}@"
    filesystem.makedirs(f"{ram}/.1.tmp-{dead}abc")  # this host, writer dead: removed
    write(f"{ram}/.metrics.tmp-{dead}.json", "partial")
    live = f"{ram}/.3.tmp-{HOST}@{os.getpid()}@abc"  # this process: kept
    other = f"{ram}/.4.tmp-another-host@12@abc"  # another host, cannot be asked: kept
    for folder in (live, other):
        filesystem.makedirs(folder)
    filesystem.makedirs(f"{ram}/.2.tmp-old-another-host@12@xyz/2")  # its writer moved 2 aside
    write(f"{ram}/.2.tmp-old-another-host@12@xyz/2/saved_model.pb", "old")
    atomic.remove_stale_temporaries(ram)
    assert sorted(filesystem.listdir(ram)) == sorted(
        ["2", os.path.basename(live), os.path.basename(other), ".2.tmp-old-another-host@12@xyz"]
    )
    assert read(f"{ram}/2/saved_model.pb") == "old"  # the retired copy put back
