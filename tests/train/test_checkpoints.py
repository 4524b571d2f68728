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
    variables = {"a/kernel": FakeVariable([1.0, 2.0]), "b/bias": FakeVariable([[3.0]])}
    for step in (10, 20, 30, 40):
        variables["a/kernel"].value = variables["a/kernel"].value + 1
        checkpoints.save(str(tmp_path), step, variables, {"epoch": step // 20})
    (tmp_path / ".step_00000050.tmp-abc").mkdir()  # a killed writer's leftover
    assert sorted(os.listdir(tmp_path))[-3:] == ["step_00000020", "step_00000030", "step_00000040"]
    newest = checkpoints.latest(str(tmp_path))
    assert newest.endswith("step_00000040")
    assert not (tmp_path / ".step_00000050.tmp-abc").exists()
    restored = {"b/bias": FakeVariable([[0.0]]), "a/kernel": FakeVariable([0.0, 0.0])}
    assert checkpoints.restore(newest, restored) == {"epoch": 2, "step": 40, "input_saved": False}
    np.testing.assert_array_equal(restored["a/kernel"].value, [5.0, 6.0])  # by path, not order
    np.testing.assert_array_equal(restored["b/bias"].value, [[3.0]])


def test_refuses_non_finite_weights(tmp_path):
    with pytest.raises(checkpoints.NonFiniteWeightsError, match="gamma is not finite at step 3"):
        checkpoints.save(str(tmp_path), 3, {"norm/gamma": FakeVariable([np.nan])}, {})
    assert checkpoints.latest(str(tmp_path)) is None


def saved(tmp_path, **variables):
    return checkpoints.save(str(tmp_path), 1, {k.replace("__", "/"): FakeVariable(v)
                                               for k, v in variables.items()}, {})


def test_a_renamed_variable_is_refused_by_name_before_assigning_any(tmp_path):
    # LayerNorm gamma and beta have the same shape: by position they would
    # load into each other's slots without an error.
    path = saved(tmp_path, norm__gamma=[1.0, 1.0], norm__beta=[0.0, 0.0])
    gamma, beta = FakeVariable([5.0, 5.0]), FakeVariable([6.0, 6.0])
    with pytest.raises(ValueError, match="no value for norm/scale, and holds norm/gamma"):
        checkpoints.restore(path, {"norm/beta": beta, "norm/scale": gamma})
    np.testing.assert_array_equal(beta.value, [6.0, 6.0])  # nothing was assigned


def test_a_missing_or_extra_variable_is_refused_by_name(tmp_path):
    path = saved(tmp_path, dense__kernel=[1.0])
    with pytest.raises(ValueError, match=r"no value for dense/bias\."):
        checkpoints.restore(path, {"dense/kernel": FakeVariable([0.0]),
                                   "dense/bias": FakeVariable([0.0])})
    with pytest.raises(ValueError, match="holds dense/kernel, which this model and optimizer"):
        checkpoints.restore(path, {})


def test_restore_rejects_other_shapes_before_assigning_any(tmp_path):
    path = saved(tmp_path, first=[1.0], second=[[2.0, 3.0]])
    first, second = FakeVariable([5.0]), FakeVariable([[5.0], [6.0]])
    with pytest.raises(ValueError, match=r"shape \(1, 2\) for second, the model has \(2, 1\)"):
        checkpoints.restore(path, {"first": first, "second": second})
    np.testing.assert_array_equal(first.value, [5.0])  # nothing was assigned


def test_a_positional_checkpoint_of_0x_is_refused(tmp_path):
    path = saved(tmp_path, v00000=[1.0])
    with pytest.raises(ValueError, match="keyed by position, are not read"):
        checkpoints.restore(path, {"dense/kernel": FakeVariable([0.0])})


def model_and_optimizer():
    """A zoo model with dropout (seed generators) and a loss-scaling optimizer, built."""
    import keras

    from keras_tokenlearner.models import create_model

    model = create_model("vit_test_patch4_tokenlearner", num_classes=3, image_shape=(8, 8, 3),
                         dropout_rate=0.1)
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.AdamW())
    optimizer.build(model.trainable_variables)
    return model, optimizer


def test_keys_are_stable_across_rebuilds_and_optimizers():
    first, second = (checkpoints.checkpoint_variables(*model_and_optimizer()) for _ in range(2))
    assert list(first) == list(second)  # Keras numbers seed generators and optimizers anew
    assert first["seed_generators/0"].path != second["seed_generators/0"].path
    assert "block_0/attention/query/kernel" in first
    assert "optimizer/inner_optimizer/block_0_attention_query_kernel_momentum" in first
    assert "optimizer/dynamic_scale" in first


def test_seed_generators_are_keyed_by_their_order_in_the_model():
    model, optimizer = model_and_optimizer()
    variables = checkpoints.checkpoint_variables(model, optimizer)
    states = [variable for variable in model.variables if variable.name == "seed_generator_state"]
    assert len(states) > 3
    assert [variables[f"seed_generators/{index}"] for index in range(len(states))] == states
    first_dropout = model.get_layer("embedding_dropout").seed_generator.state
    assert variables["seed_generators/0"] is first_dropout  # the first layer's generator


def restored_seed_states(path):
    """Run in a fresh process: restores checkpoint `path` into a new
    model_and_optimizer and prints its seed generators' states as JSON."""
    import json

    variables = checkpoints.checkpoint_variables(*model_and_optimizer())
    checkpoints.restore(path, variables)
    print(json.dumps({key: np.asarray(variable.numpy()).tolist()
                      for key, variable in variables.items() if key.startswith("seed_")}))


def test_a_fresh_process_restores_the_seed_generators(tmp_path):
    import json
    import subprocess
    import sys

    from tests.train.conftest import ROOT
    from tests.train.conftest import TIMEOUT_SECONDS

    model_and_optimizer()  # this process's generators are numbered after a first model's
    variables = checkpoints.checkpoint_variables(*model_and_optimizer())
    saved = {}
    for index, (key, variable) in enumerate(variables.items()):
        if key.startswith("seed_"):
            saved[key] = [1000 + index, 7 * index]
            variable.assign(np.array(saved[key], dtype=variable.dtype))
    path = checkpoints.save(str(tmp_path), 2, variables, {})
    code = f"from tests.train.test_checkpoints import *; restored_seed_states({path!r})"
    process = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, timeout=TIMEOUT_SECONDS)
    assert process.returncode == 0, process.stderr[-3000:]
    assert json.loads(process.stdout.splitlines()[-1]) == saved


def test_a_partial_step_folder_is_passed_over(tmp_path):
    # On an object store a rename is a copy, file by file: a killed writer
    # can leave a step folder holding state.json alone.
    saved(tmp_path, dense__kernel=[1.0])
    partial = tmp_path / "step_00000004"
    partial.mkdir()
    (partial / "state.json").write_text("{}")
    assert checkpoints.latest(str(tmp_path)).endswith("step_00000001")
