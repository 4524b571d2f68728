"""Where a checkpoint's bytes come from: a local path, a `gs://` (or any
`tf.io.gfile`) path, an `https://` URL, an `hf://` Hugging Face Hub
repository or a `kaggle://` handle.

`locate(source)` fetches what needs fetching and returns a `Located`: the
local (or `tf.io.gfile`) path of the file or directory, and the
`config.json` / `preprocessor_config.json` that belong to it. URLs go
through the verified cache (`cache`), hub sources through their own clients
(`hub`). Reading the file is the readers' business. TensorFlow is imported
only for paths with a scheme (`gs://`, `s3://`, ...), and `huggingface_hub`
and `kagglehub` only for their sources.
"""

import dataclasses
import os
import posixpath
import urllib.parse

from keras_tokenlearner import filesystem
from keras_tokenlearner import validation
from keras_tokenlearner.pretrained import cache
from keras_tokenlearner.pretrained import errors
from keras_tokenlearner.pretrained import hub
from keras_tokenlearner.pretrained import named

SIDE_FILES = hub.SIDE_FILES
exists = filesystem.exists
isdir = filesystem.isdir
join = filesystem.join


@dataclasses.dataclass(frozen=True)
class Located:
    """Where a checkpoint's bytes are, once fetched.

    Attributes:
        source: what the caller passed (path, URL, handle), for messages.
        path: a local path or a `tf.io.gfile` path (`gs://...`): a file or
            a directory.
        side_files: file name -> parsed JSON of the `config.json` and
            `preprocessor_config.json` that belong to the checkpoint (beside
            the file, in the directory, the URL's folder or the Hub
            repository); a name is absent where there is none.
    """

    source: str
    path: str
    side_files: dict = dataclasses.field(default_factory=dict)


def locate(source):
    """Fetches `source` where needed and returns its `Located`.

    Args:
        source: a local or `tf.io.gfile` path (file or directory), an
            `https://` URL, an `hf://ORG/REPO[@REVISION][/FILE]` source or a
            `kaggle://` handle.

    Raises:
        DownloadError: the bytes could not be fetched (offline, HTTP error,
            a server that cut the file short twice, a missing package).
        CorruptCheckpointError: a downloaded file failed its check twice.
        ValueError: `source` is not a path or names no existing file.
    """
    if not isinstance(source, (str, os.PathLike)):
        raise validation.invalid_value("weights", "a path, URL, hf:// or kaggle:// source, or "
                                       "a name", source)
    source = os.fspath(source)
    if source.startswith(("https://", "http://")):
        return _from_url(source)
    if source.startswith("hf://"):
        return Located(source, *hub.hugging_face(source))
    path = hub.kaggle(source) if source.startswith("kaggle://") else source
    try:
        found = exists(path)
    except OSError as error:  # a gs:// (or other scheme) path that cannot be reached
        raise errors.DownloadError(f"Could not reach {path} ({error}). Check the path and your "
                                   "credentials, or copy the file and pass the local path.",
                                   source=source, url=path) from None
    if not found:
        raise validation.invalid_value("weights", "an existing checkpoint file or directory",
                                       source)
    folder = path if isdir(path) else filesystem.split(path)[0]
    side_files = {name: side for name in SIDE_FILES
                  if (side := read_json_if_present(folder, name)) is not None}
    return Located(source, path, side_files)


def _from_url(url):
    """A URL's verified cached copy; for a file other than a zip archive, the
    side files fetched from the URL's folder (never from the shared cache)."""
    path = cache.fetch(url, **named.checksums(url))
    with open(path, "rb") as handle:
        if handle.read(2) == b"PK":  # an .npz carries everything it needs
            return Located(url, path, {})
    parts = urllib.parse.urlsplit(url)
    folder = posixpath.dirname(parts.path)
    side_files = {}
    for name in SIDE_FILES:
        beside = parts._replace(path=posixpath.join(folder, name), fragment="").geturl()
        if (found := cache.fetch_optional_json(beside)) is not None:
            side_files[name] = found
    return Located(url, path, side_files)


def open_binary(path):
    """A readable, seekable binary file object for a local or gfile path."""
    return filesystem.open(path, "rb")


def read_json_if_present(folder, name):
    """The parsed JSON file `name` in `folder`, or None where there is none."""
    path = join(folder, name)
    return cache.read_json(path, path, filesystem.open) if exists(path) else None
