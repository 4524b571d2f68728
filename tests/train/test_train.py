"""The trainer: distribution equivalence, multi-worker, resume, NaN, CLI."""

import glob
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import keras
import numpy as np
import pytest

from keras_tokenlearner import cli
from keras_tokenlearner import data
from keras_tokenlearner.train import TrainConfig
from keras_tokenlearner.train import TrainingError
from keras_tokenlearner.train import runner
from keras_tokenlearner.train import train
from tests.train import two_devices
from tests.train.conftest import ROOT
from tests.train.conftest import TIMEOUT_SECONDS
from tests.train.conftest import TINY_RUN


def final_weights(workdir):
    newest = sorted(glob.glob(os.path.join(workdir, "checkpoints", "step_*")))[-1]
    with np.load(os.path.join(newest, "variables.npz")) as arrays:
        return [arrays[name] for name in sorted(arrays.files)]


def assert_same_weights(first, second, atol=1e-6):
    first, second = final_weights(first), final_weights(second)
    assert len(first) == len(second) > 0
    for a, b in zip(first, second):
        np.testing.assert_allclose(a, b, atol=atol)



def test_two_replicas_match_one_device_with_and_without_xla(two_devices_run):
    two_devices.result(two_devices_run, "equivalence")
    runs = two_devices_run[0] / "equivalence"
    for jit_compile in ("True", "False"):
        one_device, mirrored = f"one_device-{jit_compile}", f"mirrored-{jit_compile}"
        assert_same_weights(runs / one_device, runs / mirrored)
    metrics = json.loads((runs / "mirrored-True" / "metrics.json").read_text())
    assert metrics["num_replicas"] == 2 and metrics["strategy"] == "mirrored"
    # The runs did move: the head kernel (D, 10) and its optimizer moments
    # start at zero, and 3 steps made every one of them non-zero.
    head_shaped = [array for array in final_weights(runs / "one_device-True")
                   if array.ndim == 2 and array.shape[-1] == 10]
    assert head_shaped and all(np.any(array != 0) for array in head_shaped)


def free_ports(count):
    """`count` ports that bind now, drawn below Linux's ephemeral range (32768
    and up): a socket bound to port 0 meanwhile (a notebook kernel's in the
    suite's other stream, an outgoing connection's) cannot take one of them
    before the workers do."""
    ports = []
    for port in random.Random().sample(range(20000, 32000), 500):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:  # in use
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise AssertionError(f"no {count} free ports between 20000 and 32000")


def test_two_worker_processes_match_one_device(tmp_path, data_dir):
    data.load("digits", data_dir)  # prepared here, not by both workers at once
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    arguments = TINY_RUN + ["--steps", "3", "--seed", "7", "--data-dir", data_dir]
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "keras_tokenlearner.train", *arguments,
             "--strategy", "multi_worker", "--workdir", str(tmp_path / f"worker{index}")],
            cwd=ROOT, env=dict(os.environ, TF_CONFIG=json.dumps(tf_config)),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))
    try:  # the single-device run: in this process, while the workers start
        single = cli.main(["train", *arguments, "--strategy", "one_device",
                           "--workdir", str(tmp_path / "one")])
        outputs = [process.communicate(timeout=TIMEOUT_SECONDS)[0] for process in processes]
    except subprocess.TimeoutExpired:
        for process in processes:
            process.kill()
        outputs = [process.communicate()[0][-2000:] for process in processes]
        raise AssertionError(f"the workers did not finish in {TIMEOUT_SECONDS} s: {outputs}")
    finally:
        for process in processes:
            process.kill()  # a no-op where it has ended
    assert [process.returncode for process in processes] == [0, 0], outputs[0][-3000:]
    assert single == 0
    assert not (tmp_path / "worker1").exists()  # only the chief writes
    assert_same_weights(tmp_path / "worker0", tmp_path / "one")
    metrics = json.loads((tmp_path / "worker0" / "metrics.json").read_text())
    assert metrics["strategy"] == "multi_worker" and metrics["num_replicas"] == 2


def kill_at_first_checkpoint(process, workdir):
    """SIGKILLs `process` once it has written a checkpoint (or has ended, or timed out)."""
    deadline = time.time() + TIMEOUT_SECONDS
    while not glob.glob(str(workdir / "checkpoints" / "step_*")) and time.time() < deadline:
        if process.poll() is not None:
            return
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_killed_run_resumes_to_the_same_weights(tmp_path, data_dir, capsys):
    # After its first checkpoint (step 20) the process has 80 steps, the
    # evaluation and its saves left: seconds, against a 0.05 s poll.
    arguments = ["train", *TINY_RUN, "--steps", "100", "--checkpoint-every", "20",
                 "--data-dir", data_dir]
    data.load("digits", data_dir)  # prepared here, not by both runs at once
    killed = tmp_path / "killed"
    process = subprocess.Popen(  # a real process, killed as a machine would kill it
        [sys.executable, "-m", "keras_tokenlearner.train", *arguments[1:], "--workdir",
         str(killed)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    killer = threading.Thread(target=kill_at_first_checkpoint, args=(process, killed))
    killer.start()
    try:  # the uninterrupted run: in this process, meanwhile
        assert cli.main([*arguments, "--workdir", str(tmp_path / "whole")]) == 0
    finally:
        killer.join()
        process.kill()  # a no-op where it has ended
    assert process.returncode == -signal.SIGKILL, "the run ended before it was killed"
    assert not (killed / "metrics.json").exists(), "the run ended before it was killed"
    capsys.readouterr()
    assert cli.main([*arguments, "--workdir", str(killed)]) == 0
    assert "Resuming from" in capsys.readouterr().out
    assert_same_weights(killed, tmp_path / "whole", atol=0)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, data_dir):
    message = r"(loss became nan|weights became NaN or infinite).*checkpoint is .*step_\d+"
    with pytest.raises(TrainingError, match=message):
        train(model="vit_test_patch4_tokenlearner", image_size=16, batch_size=8, steps=50,
              learning_rate=1e30, clip_norm=1e30, checkpoint_every=1, data_dir=data_dir,
              workdir=str(tmp_path), export=False, verbose=False)
    last_good = final_weights(tmp_path)
    assert all(np.all(np.isfinite(array)) for array in last_good)
    assert not (tmp_path / "metrics.json").exists()


def test_every_worker_stops_on_non_finite_weights(tmp_path):
    # Only the chief writes checkpoints; the others must stop with it, not
    # wait for it in the next step's all-reduce.
    config = TrainConfig(workdir=str(tmp_path), verbose=False)
    finite, infinite = {"a": keras.Variable([1.0])}, {"a": keras.Variable([np.inf])}
    runner._save_checkpoint(config, 5, finite, {"epoch": 0}, chief=False)  # passes, writes nothing
    with pytest.raises(TrainingError, match="weights became NaN or infinite.*step 5"):
        runner._save_checkpoint(config, 5, infinite, {"epoch": 0}, chief=False)
    assert os.listdir(tmp_path) == []


def test_cli_smoke(tmp_path, data_dir, capsys):
    arguments = ["--steps", "3", "--data-dir", data_dir, "--workdir", str(tmp_path), "--export",
                 "--steps-per-call", "2",
                 "--model-arg", "num_layers=3", "--model-arg", "token_learner_index=2"]
    status = cli.main(["train", *TINY_RUN, *arguments])
    output = capsys.readouterr()
    assert status == 0, output.err[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("test_accuracy", "train_images_per_second", "steps", "strategy", "num_replicas",
                "gflops_per_example"):
        assert key in metrics
    assert metrics["steps"] == 3 and metrics["steps_per_call"] == 2
    assert metrics["model_overrides"] == {"num_layers": 3, "token_learner_index": 2}
    saved = keras.models.load_model(tmp_path / "model.keras").get_config()
    assert (saved["num_layers"], saved["token_learner_index"]) == (3, 2)
    assert (tmp_path / "model.keras").exists() and (tmp_path / "log.csv").exists()
    assert glob.glob(str(tmp_path / "tensorboard" / "events.*"))
    assert "test accuracy" in output.out
    assert (tmp_path / "export" / "1" / "saved_model.pb").exists()
    assert metrics["export_path"] == str(tmp_path / "export" / "1")
    class_names = (tmp_path / "class_names.txt").read_text().split()
    assert class_names == [str(digit) for digit in range(10)]
    exported = cli.main(["export", "--model-path", str(tmp_path / "model.keras"),
                         "--out", str(tmp_path / "served"), "--serving-version", "2"])
    assert exported == 0
    assert (tmp_path / "served" / "2" / "assets.extra" / "class_names.txt").exists()


@pytest.mark.parametrize("arguments, message", [
    (["--model", "vit_tiny_patch16_tokenlerner"], "`name`.*closest: vit_tiny_patch16_tokenlearner"),
    (["--dataset", "digitz"], "`dataset`.*digits, moving_digits, image_folder"),
    (["--strategy", "horovod"], "`strategy`.*'auto', 'one_device', 'mirrored'"),
    (["--image-size", "2"], "`image_shape`.*multiples of patch_size=\\(4, 4\\)"),
    (["--model", "vivit_test_patch4"], "`model`.*a model for images"),
    (["--model-arg", "num_classes=3"], "`model_overrides`.*dataset-derived"),
    (["--model-arg", "num_layer=3"], "Unknown argument `num_layer`.*Closest arguments: num_layers"),
])
def test_cli_errors_without_traceback(arguments, message, capsys, data_dir, monkeypatch,
                                     tmp_path):
    monkeypatch.chdir(tmp_path)  # the default workdir, runs/..., may be made before the error
    data.load("digits", data_dir)  # prepared beforehand: TFDS's progress bars go to stderr
    capsys.readouterr()
    status = cli.main(["train", "--data-dir", data_dir, *arguments])
    error = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in error
    assert len(error.strip().splitlines()) == 1
    assert re.search(message, error), error


def test_an_unwritable_workdir_prints_one_line_before_training(tmp_path, capsys, data_dir):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    status = cli.main(["train", "--data-dir", data_dir, "--workdir", str(blocker / "run")])
    error = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in error and len(error.strip().splitlines()) == 1
    assert "Not a directory" in error and str(blocker) in error


def test_batch_size_must_divide_by_replicas(two_devices_run):
    result = two_devices.result(two_devices_run, "batch_size")
    assert result["status"] == 2
    assert "`batch_size`" in result["stderr"]
    assert "multiple of the number of replicas (2)" in result["stderr"]
    assert "Traceback" not in result["stderr"]


def test_video_model_trains_on_moving_digits(tmp_path, data_dir):
    metrics = train(model="vivit_test_patch4_tokenlearner", dataset="moving_digits",
                    image_size=16, batch_size=8, steps=3, data_dir=data_dir,
                    workdir=str(tmp_path), export=False, verbose=False)
    assert metrics["steps"] == 3
    saved = keras.models.load_model(tmp_path / "model.keras")
    assert len(saved.input.shape) == 5  # (B, T, H, W, C) clips
    assert tuple(saved.input.shape[-3:]) == (16, 16, 3)


def test_default_run_reaches_95_percent_on_digits(tmp_path, data_dir):
    """The README's main job, as configured by default (only the paths differ)."""
    from keras_tokenlearner.train import TrainConfig

    config = TrainConfig(data_dir=data_dir, workdir=str(tmp_path), export=False, verbose=False)
    metrics = train(config)
    assert metrics["test_accuracy"] >= 0.95, metrics


def test_mixed_precision_trains_in_bfloat16_on_cpu(tmp_path, data_dir):
    metrics = train(model="vit_test_patch4_tokenfuser", image_size=16, batch_size=8, steps=3,
                    mixed_precision=True, data_dir=data_dir, workdir=str(tmp_path),
                    export=False, verbose=False)
    assert metrics["dtype_policy"] == "mixed_bfloat16"
    assert all(np.all(np.isfinite(array)) for array in final_weights(tmp_path))
    assert keras_policy_name() == "float32"  # the global policy is restored
    saved = keras.models.load_model(tmp_path / "model.keras")  # under float32
    for name in ("block_0", "token_learner_1", "token_fuser_1"):
        assert saved.get_layer(name).compute_dtype == "bfloat16", name
    assert saved.get_layer("block_0").variable_dtype == "float32"


def keras_policy_name():
    import keras

    return keras.config.dtype_policy().name


def test_mirrored_replicas_draw_their_own_dropout_masks(two_devices_run):
    outcome = two_devices.result(two_devices_run, "replica_dropout")
    assert outcome == {"masks_differ": True, "states_equal": True, "states_advanced": True}
