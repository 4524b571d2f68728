"""What format a checkpoint's bytes are in: streaming readers for `.npz`,
safetensors and keras-hub `.h5` files, told apart by their first bytes.

`read(located)` turns what `sources.locate` found into a `Checkpoint` whose
entries read their arrays one at a time, in two passes:

1. here, every check that needs no model: for an `.npz`, the central
   directory, each member's CRC (its bytes streamed through `zlib.crc32`,
   not decoded) and `.npy` header; for safetensors, the header and that
   header length + data size = file size; for `.h5`, HDF5's own checks.
   Shapes come from the headers: no array is held;
2. in `load_pretrained`, once `adapt.plan` has checked every shape against
   the model: each array is read (memory-mapped where the file is local),
   laid out, cast and assigned in turn.

So a corrupt file raises `CorruptCheckpointError` before any weight changes.
"""

import io
import json
import math
import mmap
import struct
import zipfile
import zlib

import numpy as np

from keras_tokenlearner.models import preprocessing as preprocessing_records
from keras_tokenlearner.pretrained import checkpoint as ckpt
from keras_tokenlearner.pretrained import errors
from keras_tokenlearner.pretrained import formats
from keras_tokenlearner.pretrained import keras_hub_preset
from keras_tokenlearner.pretrained import sources

CHUNK = 1 << 22  # bytes streamed at a time through a zip member's CRC check
SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": None,  # ml_dtypes
                      "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1",
                      "BOOL": "?"}
SAFETENSORS = "model.safetensors"


def read(located, preprocessing=None):
    """The `Checkpoint` of a `sources.Located` file or directory.

    Args:
        located: what `sources.locate` returned.
        preprocessing: the input the weights expect, as `create_model`'s
            `preprocessing` takes it; None: what the checkpoint says.

    Raises:
        CorruptCheckpointError: a truncated or corrupt file, or not a ViT
            checkpoint of a known format.
    """
    given = preprocessing_records.canonical(preprocessing)
    if sources.isdir(located.path):
        checkpoint = _read_directory(located, given is not None)
    else:
        checkpoint = _read_file(located.path, located, given is not None)
    if given is not None:
        checkpoint.preprocessing = given
    return checkpoint


def _read_directory(located, preprocessing_given):
    path, source = located.path, located.source
    weights_path = sources.join(path, keras_hub_preset.WEIGHTS_FILE)
    if sources.exists(weights_path):
        task_path = sources.join(path, keras_hub_preset.TASK_WEIGHTS_FILE)
        files = [keras_hub_preset.open_weights(file, sources.open_binary)
                 for file in (weights_path, task_path) if sources.exists(file)]
        converter = keras_hub_preset.image_converter(
            sources.read_json_if_present(path, keras_hub_preset.CONVERTER_FILE),
            sources.read_json_if_present(path, keras_hub_preset.PREPROCESSOR_FILE))
        config = located.side_files.get("config.json", {})
        arrays = _arrays_of(keras_hub_preset.named_arrays, files, source)
        return _with_files(lambda arrays, source: keras_hub_preset.read(
            config, arrays, source, converter), arrays, files, source)
    safetensors_path = sources.join(path, SAFETENSORS)
    if sources.exists(safetensors_path):
        return _read_file(safetensors_path, located, preprocessing_given)
    raise errors.CorruptCheckpointError(
        f"The directory {source} holds neither a keras-hub preset (config.json, "
        "model.weights.h5) nor a Hugging Face model (config.json, model.safetensors).",
        source=source, path=path)


def _read_file(path, located, preprocessing_given):
    with sources.open_binary(path) as handle:
        start = handle.read(9)
    if start[:2] == b"PK":
        file = ckpt.ReopeningFile(path, sources.open_binary, zipfile.ZipFile)
        arrays = _arrays_of(npz_arrays, [file], located.source)
        return _with_files(formats.read_google, arrays, [file], located.source)
    if len(start) > 8 and start[8:9] == b"{":
        file = ckpt.ReopeningFile(path, sources.open_binary)
        arrays = _arrays_of(safetensors_arrays, [file], located.source)
        return _with_files(lambda arrays, source: _from_safetensors(
            arrays, located, preprocessing_given), arrays, [file], located.source)
    raise errors.CorruptCheckpointError(
        f"The checkpoint {located.source} is not a ViT checkpoint: an .npz, a .safetensors file, "
        f"or a keras-hub or Hugging Face directory; {path} is neither a zip archive nor a "
        "safetensors file.", source=located.source, path=path)


def _arrays_of(function, files, source):
    """`{key: Stored}` of every file by `function(file, source)` (pass 1);
    every file closed if one fails."""
    arrays = {}
    try:
        for file in files:
            arrays.update(function(file, source))
    except Exception:
        for file in files:
            file.close()
        raise
    return arrays


def _with_files(reader, arrays, files, source):
    """`reader(arrays, source)`, its checkpoint holding `files` (closed on failure)."""
    try:
        checkpoint = reader(arrays, source)
    finally:
        for file in files:
            file.close()  # reopened when the entries are read
    checkpoint.files = list(files)
    return checkpoint


def _from_safetensors(arrays, located, preprocessing_given):
    """timm or Hugging Face weights, with the side files that belong to them."""
    source, config = located.source, located.side_files.get("config.json")
    if formats.is_timm(arrays):
        return formats.read_timm(arrays, source, config, preprocessing_given)
    if formats.is_hugging_face(arrays):
        return formats.read_hugging_face(arrays, config or {}, source,
                                         located.side_files.get("preprocessor_config.json"))
    raise errors.CorruptCheckpointError(
        f"The checkpoint {source} is a safetensors file but not a timm or Hugging Face ViT "
        f"(no patch_embed.proj.weight or embeddings.patch_embeddings.*); keys: "
        f"{sorted(arrays)[:5]}.", source=source, path=located.path)


def _corrupt(source, path, what, error=None):
    reason = f" ({type(error).__name__}: {error})" if error is not None else ""
    return errors.CorruptCheckpointError(
        f"The checkpoint {source} is not a readable {what}{reason}: the file {path} is "
        "truncated or corrupt. Delete it and download it again.", source=source, path=path)


# === .npz ===

def npz_arrays(file, source):
    """`{key: Stored}` of an `.npz`, after checking its central directory and
    every member's CRC and `.npy` header (pass 1; nothing decoded)."""
    arrays = {}
    try:
        archive = file.handle()
        for info in archive.infolist():
            key = info.filename.removesuffix(".npy")
            check = _check_stored if info.compress_type == zipfile.ZIP_STORED else _check_member
            arrays[key] = check(file, info, key)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, struct.error) as error:
        raise _corrupt(source, file.path, ".npz archive", error) from None
    return arrays


def _npy_header(member):
    """(shape, dtype, fortran_order) of an open `.npy` member."""
    version = np.lib.format.read_magic(member)
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    shape, fortran, dtype = read_header(member)
    if dtype.hasobject:
        raise ValueError("an object array, which needs pickle")
    return tuple(shape), dtype, fortran


def _check_stored(file, info, key):
    """An uncompressed member (`np.savez`): its bytes streamed through
    `zlib.crc32` straight from the file, then read there in pass 2."""
    binary = file.binary()
    binary.seek(info.header_offset)
    local_header = binary.read(30)
    if local_header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local header for member {info.filename}")
    name_size, extra_size = struct.unpack("<HH", local_header[26:30])
    start = info.header_offset + 30 + name_size + extra_size
    binary.seek(start)
    if _crc32(binary, info.compress_size) != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
    binary.seek(start)
    shape, dtype, fortran = _npy_header(binary)
    offset = binary.tell()
    _check_size(info, info.compress_size - (offset - start), shape, dtype)
    return ckpt.Stored(key, shape, dtype, lambda: _read_at(file, offset, shape, dtype, fortran))


def _crc32(binary, size):
    """CRC-32 of the next `size` bytes of `binary`, a window at a time (a
    memory map of a local file, else read into one reused buffer)."""
    crc, position = 0, binary.tell()
    buffer = None
    for start in range(position, position + size, CHUNK):
        count = min(CHUNK, position + size - start)
        mapped = _map(binary, start, count)
        if mapped is not None:
            window, offset = mapped
            with window, memoryview(window) as view:
                crc = zlib.crc32(view[offset:offset + count], crc)
            continue
        buffer = buffer if buffer is not None else bytearray(min(CHUNK, size))
        binary.seek(start)
        if binary.readinto(memoryview(buffer)[:count]) != count:
            raise EOFError("the file ends inside a member")
        crc = zlib.crc32(memoryview(buffer)[:count], crc)
    return crc


def _check_member(file, info, key):
    """A compressed member (`np.savez_compressed`): streamed through
    zipfile's CRC check, decoded again in pass 2."""
    with file.handle().open(info) as member:
        shape, dtype, fortran = _npy_header(member)
        size = 0
        while chunk := member.read(CHUNK):  # the CRC is checked at the member's end
            size += len(chunk)
    _check_size(info, size, shape, dtype)
    return ckpt.Stored(key, shape, dtype, lambda: _read_member(file, info))


def _check_size(info, size, shape, dtype):
    expected = math.prod(shape) * dtype.itemsize
    if size != expected:
        raise ValueError(f"member {info.filename} holds {size} bytes of data for shape {shape} "
                         f"and dtype {dtype} ({expected} bytes)")


def _read_member(file, info):
    """A compressed member's array, read now (pass 2)."""
    with file.handle().open(info) as member:
        shape, dtype, fortran = _npy_header(member)
        data = member.read(math.prod(shape) * dtype.itemsize)
    return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C")


def _read_at(file, offset, shape, dtype, fortran=False):
    """The array of `shape` and `dtype` at byte `offset` of the file (pass 2):
    a private (copy-on-write) memory map of a local file, freed with the
    array; else read into a buffer of its own."""
    size = math.prod(shape) * dtype.itemsize
    binary = file.binary()
    mapped = _map(binary, offset, size)
    if mapped is not None:
        buffer, start = mapped
        array = np.frombuffer(buffer, dtype, math.prod(shape), start)
    else:  # a tf.io.gfile file
        binary.seek(offset)
        array = np.frombuffer(binary.read(size), dtype)
        if array.nbytes != size:
            raise EOFError(f"the file {file.path} ends inside an array")
    return array.reshape(shape, order="F" if fortran else "C")


def _map(binary, offset, size):
    """(a copy-on-write map of `size` bytes at `offset`, where they start in
    it), or None for a file that cannot be mapped."""
    try:
        descriptor = binary.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None
    start = offset % mmap.ALLOCATIONGRANULARITY
    if size == 0:
        return b"", 0
    return mmap.mmap(descriptor, start + size, access=mmap.ACCESS_COPY,
                     offset=offset - start), start


# === safetensors ===

def safetensors_arrays(file, source):
    """`{key: Stored}` of a safetensors file, after checking its header and
    that header length + data size = file size (pass 1)."""
    try:
        handle = file.handle()
        header_size = struct.unpack("<Q", handle.read(8))[0]
        header = json.loads(handle.read(header_size))
        file_size = handle.seek(0, 2)
        header.pop("__metadata__", None)
        arrays = {key: _safetensors_entry(file, key, entry, 8 + header_size)
                  for key, entry in header.items()}
    except (ValueError, KeyError, TypeError, struct.error) as error:
        raise _corrupt(source, file.path, "safetensors file", error) from None
    data_size = max((entry["data_offsets"][1] for entry in header.values()), default=0)
    if 8 + header_size + data_size != file_size:
        raise _corrupt(source, file.path, f"safetensors file (header length 8 + {header_size} "
                       f"and data size {data_size} are not the file size {file_size})")
    return arrays


def _safetensors_entry(file, key, entry, data_start):
    dtype = np.dtype(_safetensors_dtype(entry["dtype"]))
    shape = tuple(int(size) for size in entry["shape"])
    begin, end = (int(offset) for offset in entry["data_offsets"])
    if end - begin != math.prod(shape) * dtype.itemsize or begin < 0:
        raise ValueError(f"tensor {key} has offsets {[begin, end]} for shape {shape} and dtype "
                         f"{entry['dtype']}")
    return ckpt.Stored(key, shape, dtype, lambda: file.recent(key, lambda: _read_at(
        file, data_start + begin, shape, dtype)))


def _safetensors_dtype(name):
    if name not in SAFETENSORS_DTYPES:
        raise ValueError(f"an unknown dtype {name!r}")
    if name == "BF16":
        import ml_dtypes  # installed with Keras's backends; only needed here

        return ml_dtypes.bfloat16
    return SAFETENSORS_DTYPES[name]
