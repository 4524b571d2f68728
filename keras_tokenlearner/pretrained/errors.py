"""The kinds of failure a checkpoint load reports, so that callers can tell them apart.

Every one is a `ValueError`, so `except ValueError` keeps catching them all:

- `CorruptCheckpointError`: the file is truncated, corrupt, or not a
  checkpoint at all (a bad zip CRC, a safetensors header that does not
  match the file's size, a checksum that differs from the expected one);
- `CheckpointMismatchError`: the file is fine but does not fit the model
  (a shape, the depth, the heads); `report` holds the `LoadReport` built so
  far;
- `DownloadError`: the bytes could not be fetched (offline, a missing URL or
  Hub repository, a server that cut the file short twice).
"""


class CheckpointError(ValueError):
    """A checkpoint could not be loaded; see the subclasses for why.

    Attributes:
        source: the path, URL, handle or name that was being loaded, or None.
    """

    def __init__(self, message, source=None):
        super().__init__(message)
        self.source = source


class CorruptCheckpointError(CheckpointError):
    """The checkpoint file is truncated, corrupt or not a checkpoint.

    Attributes:
        path: the local or remote file that failed its check, or None.
    """

    def __init__(self, message, source=None, path=None):
        super().__init__(message, source)
        self.path = path


class CheckpointMismatchError(CheckpointError):
    """The checkpoint is readable but does not fit the model.

    Attributes:
        report: the `LoadReport` as far as it got, or None.
    """

    def __init__(self, message, source=None, report=None):
        super().__init__(message, source)
        self.report = report


class DownloadError(CheckpointError):
    """The checkpoint's bytes could not be fetched.

    Attributes:
        url: the URL, Kaggle handle or Hub repository asked for.
    """

    def __init__(self, message, source=None, url=None):
        super().__init__(message, source)
        self.url = url
