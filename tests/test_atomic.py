"""Atomic writes: a reader sees no directory or a whole one, and cleaning up
after a killed writer never touches a live writer's temporary."""

import os
import socket
import subprocess
import sys

import pytest

from keras_tokenlearner import atomic

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
