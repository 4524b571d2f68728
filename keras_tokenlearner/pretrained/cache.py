"""Verified downloads into the Keras cache (`~/.keras/keras_tokenlearner/`).

A URL is fetched into a temporary file in the cache directory and renamed
into place only once complete and checked, so a download killed midway
leaves no file that a later call would take for the checkpoint. Every
cached file is checked again before each use:

- an `.npz` (a zip archive): its central directory and every member's CRC,
  read in chunks;
- a safetensors file: the 8-byte header length, the JSON header and the
  largest data offset add up to the file's size;
- any file but a zip archive: the sha256 in the `<file>.sha256` sidecar
  (`sha256sum` format) written at download.

A cached file that fails is deleted and downloaded once more (a log line
names its path); a second failure raises. Each URL has its own cache file:
its last path segment plus 12 hex digits of the sha256 of the normalized URL
(path percent-decoded, query kept), so `+` and `%2B` share one file and two
queries do not. `KERAS_HOME` moves the cache, as for `keras.utils.get_file`.
"""

import hashlib
import http.client
import json
import logging
import os
import posixpath
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile

from keras_tokenlearner import atomic
from keras_tokenlearner.pretrained import errors

CACHE_SUBDIR = "keras_tokenlearner"
CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 60
SIDECAR = ".sha256"
ABSENT = ".absent"  # marks a side file the server does not have (HTTP 404)
UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")
LOGGER = logging.getLogger("keras_tokenlearner")


class _BadCopy(Exception):
    """A downloaded or cached copy that failed its check (internal)."""

    def __init__(self, reason, truncated=False):
        super().__init__(reason)
        self.truncated = truncated


class NotFoundError(errors.DownloadError):
    """A `DownloadError` for an HTTP 404: the server has no such file."""


def cache_directory():
    """`$KERAS_HOME/keras_tokenlearner`, else `~/.keras/keras_tokenlearner`
    (under the temporary directory where the home directory is read-only,
    as Keras does)."""
    user_home = os.path.expanduser("~")
    if not os.access(user_home, os.W_OK):
        user_home = tempfile.gettempdir()
    home = os.environ.get("KERAS_HOME") or os.path.join(user_home, ".keras")
    return os.path.join(home, CACHE_SUBDIR)


def cache_name(url):
    """`<last path segment>-<12 hex of sha256(normalized url)><extension>`."""
    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(parts.path)
    normalized = f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}"
    normalized += f"?{parts.query}" if parts.query else ""
    digest = hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:12]
    stem, extension = os.path.splitext(UNSAFE.sub("_", posixpath.basename(path)) or "download")
    return f"{stem}-{digest}{extension}"


def fetch(url, sha256=None, size=None, source=None):
    """The path of `url`'s checked copy in the cache, downloaded where needed.

    Args:
        url: an `http://` or `https://` URL.
        sha256: the file's expected sha256 (hex), or None.
        size: the file's expected size in bytes, or None.
        source: what the caller passed, for messages (default `url`).

    Raises:
        DownloadError: offline, an HTTP error, or a server that cut the file
            short twice.
        CorruptCheckpointError: the downloaded file failed its check twice.
    """
    source = source or url
    path = os.path.join(cache_directory(), cache_name(url))
    if os.path.exists(path):
        try:
            _verify(path, sha256, size)
            return path
        except _BadCopy as bad:
            _discard(path, bad, "cached")
            return _download_checked(url, path, sha256, size, source, attempts=1)
    return _download_checked(url, path, sha256, size, source, attempts=2)


def fetch_optional_json(url):
    """`url` parsed as JSON, or None where the server has no such file.

    A 404 is remembered (an empty `<file>.absent` marker), so later loads,
    offline ones too, ask no more. If the server cannot be reached and no
    copy is cached, a warning names the URL and None is returned.
    """
    path = os.path.join(cache_directory(), cache_name(url))
    if os.path.exists(path + ABSENT):
        return None
    try:
        path = fetch(url)
    except NotFoundError:
        with atomic.atomic_file(path + ABSENT) as temporary:
            open(temporary, "wb").close()
        return None
    except errors.DownloadError as error:
        LOGGER.warning("Loading without %s, which could not be fetched: %s", url, error)
        return None
    return read_json(path, url)


def read_json(path, source, opener=open):
    """The parsed JSON file at `path` (opened with `opener`), or a
    `CorruptCheckpointError` naming it and `source` if it is not JSON."""
    try:
        with opener(path, "rb") as handle:
            return json.load(handle)
    except (ValueError, UnicodeDecodeError) as error:
        raise errors.CorruptCheckpointError(
            f"{path} (of {source}) is not valid JSON ({error}). Fix or delete it.",
            source=source, path=path,
        ) from None


def _download_checked(url, path, sha256, size, source, attempts):
    for attempt in range(1, attempts + 1):
        try:
            return _download(url, path, sha256, size, source)
        except _BadCopy as bad:
            failure = bad
            if attempt < attempts:
                _discard(path, bad, "downloaded")
    kind = errors.DownloadError if failure.truncated else errors.CorruptCheckpointError
    details = {"url": url} if failure.truncated else {"path": path}
    raise kind(
        f"The download of {url} into {path} failed its check twice ({failure}). Check the "
        f"URL, or download the file yourself and pass the local path instead: "
        f"weights='/path/to/{posixpath.basename(urllib.parse.urlsplit(url).path)}'.",
        source=source, **details,
    )


def _discard(path, bad, what):
    LOGGER.warning("The %s file %s failed its check (%s); deleting it and downloading it "
                   "again.", what, path, bad)
    for name in (path, path + SIDECAR):
        if os.path.exists(name):
            os.remove(name)


def _download(url, path, sha256, size, source):
    """Downloads `url` beside `path`, checks it, writes its sidecar, renames it to `path`."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic.remove_stale_temporaries(os.path.dirname(path))
    with atomic.atomic_file(path) as temporary:
        digest = _stream(url, temporary, source)
        _verify(temporary, sha256, size, digest)
        with atomic.atomic_file(path + SIDECAR) as sidecar:
            with open(sidecar, "w") as handle:
                handle.write(f"{digest}  {os.path.basename(path)}\n")
    return path


def _stream(url, temporary, source):
    """Writes `url` into `temporary` in chunks; returns the sha256 of what came."""
    digest, received, announced = hashlib.sha256(), 0, None
    request = urllib.request.Request(url, headers={"User-Agent": "keras_tokenlearner"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response, \
                open(temporary, "wb") as handle:
            announced = response.headers.get("Content-Length")
            while chunk := response.read(CHUNK_BYTES):
                handle.write(chunk)
                digest.update(chunk)
                received += len(chunk)
    except http.client.IncompleteRead:
        pass  # reported below, as any short response
    except urllib.error.HTTPError as error:
        kind = NotFoundError if error.code == 404 else errors.DownloadError
        raise kind(_unreachable(url, f"HTTP {error.code} {error.reason}"), source=source,
                   url=url) from None
    except urllib.error.URLError as error:  # no connection: offline, DNS, refused
        raise errors.DownloadError(_unreachable(url, f"offline? {error.reason}"),
                                   source=source, url=url) from None
    except (OSError, http.client.HTTPException) as error:  # a broken connection, a full disk
        raise errors.DownloadError(_unreachable(url, f"{type(error).__name__}: {error}"),
                                   source=source, url=url) from None
    if announced is not None and received != int(announced):
        raise _BadCopy(f"the server sent {received} of {announced} bytes", truncated=True)
    return digest.hexdigest()


def _unreachable(url, reason):
    name = posixpath.basename(urllib.parse.urlsplit(url).path)
    return (f"Could not download {url} ({reason}). Download it yourself and pass the local "
            f"file instead: weights='/path/to/{name}'.")


def _verify(path, sha256=None, size=None, digest=None):
    """Raises `_BadCopy` unless the file at `path` passes its checks.

    `digest` is the sha256 just computed while downloading; without it, a
    file that is not a zip archive is hashed and compared with its sidecar.
    """
    actual_size = os.path.getsize(path)
    if size is not None and actual_size != size:
        raise _BadCopy(f"{actual_size} bytes, expected {size}", truncated=actual_size < size)
    with open(path, "rb") as handle:
        head = handle.read(9)
    if head[:2] == b"PK":
        _check_zip(path)
    elif head[8:9] == b"{":
        _check_safetensors(path, actual_size)
    if sha256 is None and (digest is not None or head[:2] == b"PK"):
        return  # a zip's CRCs cover a cached zip; a fresh download has no sidecar yet
    digest = digest or _sha256(path)
    expected = sha256 or _sidecar(path)
    if digest != expected:
        raise _BadCopy(f"sha256 {digest}, expected {expected}")


def _check_zip(path):
    try:
        with zipfile.ZipFile(path) as archive:
            bad_member = archive.testzip()  # reads every member in chunks
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise _BadCopy(f"not a complete zip archive: {error}") from None
    if bad_member is not None:
        raise _BadCopy(f"zip member {bad_member} fails its CRC check")


def _check_safetensors(path, actual_size):
    """8-byte header length + JSON header + largest data offset == file size."""
    with open(path, "rb") as handle:
        header_length = int.from_bytes(handle.read(8), "little")
        if 8 + header_length > actual_size:
            raise _BadCopy(f"safetensors header of {header_length} bytes in a file of "
                           f"{actual_size}", truncated=True)
        try:
            header = json.loads(handle.read(header_length))
        except (ValueError, UnicodeDecodeError) as error:
            raise _BadCopy(f"unreadable safetensors header: {error}") from None
    try:
        data_bytes = max((entry["data_offsets"][1] for name, entry in header.items()
                          if name != "__metadata__"), default=0)
    except (AttributeError, KeyError, TypeError, IndexError) as error:
        raise _BadCopy(f"unreadable safetensors header: {error!r}") from None
    expected = 8 + header_length + data_bytes
    if expected != actual_size:
        raise _BadCopy(f"safetensors header and data need {expected} bytes, the file has "
                       f"{actual_size}", truncated=actual_size < expected)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _sidecar(path):
    """The sha256 recorded at download, or None where the sidecar is missing."""
    try:
        with open(path + SIDECAR) as handle:
            return handle.read().split()[0]
    except (OSError, IndexError):
        return None
