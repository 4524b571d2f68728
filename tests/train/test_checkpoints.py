"""Checkpoints: newest complete one wins, temporaries ignored, bad ones refused."""

import os

import numpy as np
import pytest

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
