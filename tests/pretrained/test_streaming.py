"""Streaming loads: a checkpoint is read header by header, checked whole
(zip CRCs, safetensors sizes, HDF5), then read one array at a time while
assigning; a corrupt file or a misfit raises its own kind of error before
any weight changes."""

import shutil
import struct
import zipfile

import numpy as np
import pytest

import keras_tokenlearner as ktl
from keras_tokenlearner import pretrained
from keras_tokenlearner.pretrained import errors
from keras_tokenlearner.pretrained import readers
from keras_tokenlearner.pretrained.checkpoint import Stored
from tests.pretrained import fixtures
from tests.pretrained import layouts

NPZ = fixtures.path("vit_jax_token.npz")
QUERY = "Transformer/encoderblock_1/MultiHeadDotProductAttention_1/query/kernel"


def assert_fails_untouched(model, source, kind, match):
    """Loading `source` raises `kind` (a ValueError) and changes no weight."""
    before = fixtures.weights(model)
    with pytest.raises(kind, match=match) as raised:
        ktl.load_pretrained(model, str(source))
    assert isinstance(raised.value, ValueError)
    for path, value in fixtures.weights(model).items():
        np.testing.assert_array_equal(value, before[path], err_msg=path)
    return raised.value


def flip_byte_inside(path, member):
    """Flips one data byte of an uncompressed zip `member` in place (CRC now wrong)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    data = bytearray(path.read_bytes())
    name_and_extra = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + sum(name_and_extra)
    data[start + info.compress_size - 3] ^= 0xFF  # in the last float, after the .npy header
    path.write_bytes(bytes(data))


def test_a_bad_crc_in_the_last_member_is_a_corrupt_checkpoint(tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    shutil.copy(NPZ, corrupt)
    flip_byte_inside(corrupt, QUERY + ".npy")
    error = assert_fails_untouched(fixtures.flax_vit("token"), corrupt,
                                   errors.CorruptCheckpointError, r"Bad CRC-32")
    assert error.path == str(corrupt) and str(corrupt) in str(error)


def test_a_truncated_npz_is_a_corrupt_checkpoint(tmp_path):
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(open(NPZ, "rb").read()[:-100])  # the central directory cut
    assert_fails_untouched(fixtures.flax_vit("token"), truncated, errors.CorruptCheckpointError,
                           r"readable \.npz archive.*truncated or corrupt")


@pytest.mark.parametrize("cut", [10, 5000])
def test_a_truncated_safetensors_file_is_a_corrupt_checkpoint(tmp_path, cut):
    layouts.write(layouts.timm_from_vit_jax(dict(np.load(NPZ))), tmp_path / "model.safetensors")
    data = (tmp_path / "model.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:-cut])
    assert_fails_untouched(fixtures.flax_vit("token", approximate_gelu=False),
                           tmp_path / "cut.safetensors", errors.CorruptCheckpointError,
                           r"not a readable safetensors file.*truncated or corrupt")


def test_trailing_bytes_after_safetensors_data_are_refused(tmp_path):
    layouts.write(layouts.timm_from_vit_jax(dict(np.load(NPZ))), tmp_path / "model.safetensors")
    with open(tmp_path / "model.safetensors", "ab") as handle:
        handle.write(b"\0" * 16)
    assert_fails_untouched(fixtures.flax_vit("token", approximate_gelu=False),
                           tmp_path / "model.safetensors", errors.CorruptCheckpointError,
                           r"are not the file size")


def test_a_truncated_keras_hub_weights_file_is_a_corrupt_checkpoint(tmp_path):
    preset = tmp_path / "preset"
    shutil.copytree(fixtures.KERAS_HUB_PRESET, preset)
    weights = preset / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[:-2000])
    assert_fails_untouched(ktl.create_model("vit_test_patch4", num_classes=None), preset,
                           errors.CorruptCheckpointError, r"unreadable HDF5 file")


def test_a_misfit_carries_the_report_and_assigns_nothing():
    model = fixtures.flax_vit("token", mlp_dim=48)
    error = assert_fails_untouched(model, NPZ, errors.CheckpointMismatchError,
                                   r"model weight 'block_0/mlp/hidden/kernel' has shape \(32, 48\)")
    assert isinstance(error.report, pretrained.LoadReport)
    assert "block_0/attention/query/kernel" in error.report.loaded  # planned before the misfit


def test_arrays_are_read_only_when_assigned_one_at_a_time(monkeypatch):
    """Reading the checkpoint reads headers only; planning reads the position
    embedding; assigning reads every other array, each once."""
    reads, live = [], []
    original = readers._read_at

    def counting(*arguments, **keywords):
        reads.append(arguments[1])  # the offset
        return original(*arguments, **keywords)

    monkeypatch.setattr(readers, "_read_at", counting)
    checkpoint = pretrained.read_checkpoint(NPZ)
    assert reads == []
    assert all(isinstance(entry, Stored) for entry in checkpoint.weights.values())
    model = fixtures.flax_vit("token")
    variables = {variable.path: variable for variable in model.weights}
    for variable in variables.values():  # how many reads happened before each assign
        original_assign = variable.assign
        monkeypatch.setattr(variable, "assign", lambda value, original_assign=original_assign:
                            (live.append(len(reads)), original_assign(value))[1])
    pretrained.load_checkpoint(model, checkpoint)
    assert len(reads) == len(set(reads)) == len(np.load(NPZ).files)
    # The first assign follows the position embedding's read and its own;
    # each later one at most one more read: one array in memory at a time.
    assert live[0] <= 2 and live[-1] == len(reads)
    assert all(0 <= after - before <= 1 for before, after in zip(live, live[1:]))


def test_scanned_big_vision_blocks_load_as_separate_ones(tmp_path):
    arrays = dict(np.load(fixtures.path("big_vision_tok.npz")))
    blocks = sorted({key.split("/")[1] for key in arrays if "encoderblock_" in key})
    scanned = {key: value for key, value in arrays.items() if "encoderblock_" not in key}
    for key in [key for key in arrays if key.startswith("Transformer/encoderblock_0/")]:
        rest = key.removeprefix("Transformer/encoderblock_0/")
        scanned[f"Transformer/encoderblock/{rest}"] = np.stack(
            [arrays[f"Transformer/{block}/{rest}"] for block in blocks])  # (depth, ...)
    np.savez(tmp_path / "scanned.npz", **scanned)
    separate, from_scanned = fixtures.flax_vit("token"), fixtures.flax_vit("token")
    ktl.load_pretrained(separate, fixtures.path("big_vision_tok.npz"))
    ktl.load_pretrained(from_scanned, str(tmp_path / "scanned.npz"))
    for path, value in fixtures.weights(separate).items():
        np.testing.assert_array_equal(fixtures.weights(from_scanned)[path], value, err_msg=path)


def test_bfloat16_safetensors_load_as_their_float32_values(tmp_path):
    import ml_dtypes
    from safetensors.numpy import save_file

    state = layouts.timm_from_vit_jax(dict(np.load(NPZ)))
    rounded = {key: np.ascontiguousarray(value).astype(ml_dtypes.bfloat16)
               for key, value in state.items()}
    save_file(rounded, str(tmp_path / "bf16.safetensors"))
    layouts.write({key: value.astype(np.float32) for key, value in rounded.items()},
                  tmp_path / "f32.safetensors")
    models = []
    for name in ("bf16", "f32"):
        models.append(fixtures.flax_vit("token", approximate_gelu=False))
        ktl.load_pretrained(models[-1], str(tmp_path / f"{name}.safetensors"))
    for path, value in fixtures.weights(models[1]).items():
        np.testing.assert_array_equal(fixtures.weights(models[0])[path], value, err_msg=path)


def test_compressed_npz_loads_as_the_stored_one(tmp_path):
    np.savez_compressed(tmp_path / "compressed.npz", **dict(np.load(NPZ)))
    stored, compressed = fixtures.flax_vit("token"), fixtures.flax_vit("token")
    ktl.load_pretrained(stored, NPZ)
    ktl.load_pretrained(compressed, str(tmp_path / "compressed.npz"))
    for path, value in fixtures.weights(stored).items():
        np.testing.assert_array_equal(fixtures.weights(compressed)[path], value, err_msg=path)
