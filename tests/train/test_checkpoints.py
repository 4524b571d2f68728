"""Atomic directories and checkpoints: never a partial one, newest wins."""

import os

import numpy as np
import pytest

from keras_tokenlearner import atomic
from keras_tokenlearner.train import checkpoints


class FakeVariable:
    def __init__(self, value, path="v"):
        self.value, self.path = np.asarray(value, np.float32), path

    @property
    def shape(self):
        return self.value.shape

    def numpy(self):
        return self.value

    def assign(self, value):
        self.value = np.asarray(value)


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


def test_save_restore_keep_newest_and_ignore_temporaries(tmp_path):
    variables = [FakeVariable([1.0, 2.0]), FakeVariable([[3.0]])]
    for step in (10, 20, 30, 40):
        variables[0].value = variables[0].value + 1
        checkpoints.save(str(tmp_path), step, variables, {"epoch": step // 20})
    (tmp_path / ".step_00000050.tmp-abc").mkdir()  # a killed writer's leftover
    assert sorted(os.listdir(tmp_path))[-3:] == ["step_00000020", "step_00000030", "step_00000040"]
    newest = checkpoints.latest(str(tmp_path))
    assert newest.endswith("step_00000040")
    assert not (tmp_path / ".step_00000050.tmp-abc").exists()
    restored = [FakeVariable([0.0, 0.0]), FakeVariable([[0.0]])]
    assert checkpoints.restore(newest, restored) == {"epoch": 2, "step": 40}
    np.testing.assert_array_equal(restored[0].value, [5.0, 6.0])


def test_refuses_non_finite_weights(tmp_path):
    with pytest.raises(checkpoints.NonFiniteWeightsError, match="v is not finite at step 3"):
        checkpoints.save(str(tmp_path), 3, [FakeVariable([np.nan])], {})
    assert checkpoints.latest(str(tmp_path)) is None


def test_restore_rejects_another_model(tmp_path):
    path = checkpoints.save(str(tmp_path), 1, [FakeVariable([1.0])], {})
    with pytest.raises(ValueError, match="holds 1 variables.*have 2"):
        checkpoints.restore(path, [FakeVariable([1.0]), FakeVariable([2.0])])


def test_restore_rejects_other_shapes_before_assigning_any(tmp_path):
    path = checkpoints.save(str(tmp_path), 1, [FakeVariable([1.0]), FakeVariable([[2.0, 3.0]])], {})
    first, second = FakeVariable([5.0], "first"), FakeVariable([[5.0], [6.0]], "second")
    with pytest.raises(ValueError, match=r"shape \(1, 2\) for second, the model has \(2, 1\)"):
        checkpoints.restore(path, [first, second])
    np.testing.assert_array_equal(first.value, [5.0])  # nothing was assigned


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
