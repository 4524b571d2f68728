"""Model hubs: `hf://` (the Hugging Face Hub) and `kaggle://` (Kaggle Models).

`hf://ORG/REPO[@REVISION][/PATH/IN/REPO]` downloads `PATH/IN/REPO` (default
`model.safetensors`) and the `config.json` and `preprocessor_config.json` of
the same repository folder with `huggingface_hub.hf_hub_download`. Files go
to the Hub's own cache (`HF_HOME`, `HF_HUB_CACHE`), and `HF_HUB_OFFLINE=1`
serves them from there without a network call. `kaggle://HANDLE` downloads a
keras-hub preset directory with `kagglehub`. Each package is imported only
for its sources.
"""

import importlib
import posixpath
import re

from keras_tokenlearner import validation
from keras_tokenlearner.pretrained import cache
from keras_tokenlearner.pretrained import errors

DEFAULT_FILE = "model.safetensors"
SIDE_FILES = ("config.json", "preprocessor_config.json")
HUB_SOURCE = re.compile(
    r"^hf://(?P<repo>[\w.-]+/[\w.-]+)(?:@(?P<revision>[\w.-]+))?(?:/(?P<file>[^@]+))?$")


def import_optional(module, source, extra):
    """`module`, or a `DownloadError` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise _download_error(
            source, f"Loading {source} needs the {module} package: pip install "
            f"'keras_tokenlearner[{extra}]' (or download the files yourself and pass their "
            "local path).") from None


def hugging_face(source):
    """Downloads an `hf://` source; returns (local path, side files).

    The side files map "config.json" / "preprocessor_config.json" to their
    parsed JSON, where the repository folder holds them.
    """
    match = HUB_SOURCE.match(source)
    if match is None:
        raise validation.invalid_value(
            "weights", "a Hugging Face Hub source hf://ORG/REPO[@REVISION][/FILE]", source)
    hub = import_optional("huggingface_hub", source, "hub")
    hub_errors = importlib.import_module("huggingface_hub.errors")
    filename = match["file"] or DEFAULT_FILE
    request = (hub, hub_errors, match["repo"], match["revision"], source)
    path = _hub_download(*request, filename)
    side_files = {}
    for name in SIDE_FILES:
        side_path = _hub_download(*request, posixpath.join(posixpath.dirname(filename), name),
                                  optional=True)
        if side_path is not None:
            side_files[name] = cache.read_json(side_path, source)
    return path, side_files


def _hub_download(hub, hub_errors, repo, revision, source, filename, optional=False):
    """The cached path of `filename`; None for a missing optional file."""
    try:
        return hub.hf_hub_download(repo, filename, revision=revision)
    except hub_errors.EntryNotFoundError as error:
        if optional:
            return None
        reason = error
    except (OSError, ValueError) as error:  # HTTP, offline, not in the cache, bad repo id
        reason = error
    offline = " (HF_HUB_OFFLINE is set: only the Hub's local cache is read)" if (
        importlib.import_module("huggingface_hub.constants").HF_HUB_OFFLINE) else ""
    first_line = (str(reason).strip().splitlines() or [""])[0].rstrip(".")
    raise _download_error(
        source, f"Could not download {filename} of {repo} from the Hugging Face Hub{offline}: "
        f"{type(reason).__name__}: {first_line}. Check the repository and file names, or "
        "download the file yourself and pass its local path.") from None


def kaggle(source):
    """Downloads a `kaggle://` handle; returns the local preset directory."""
    kagglehub = import_optional("kagglehub", source, "kaggle")
    try:
        return kagglehub.model_download(source.removeprefix("kaggle://"))
    except Exception as error:  # kagglehub raises its own and its HTTP client's errors
        raise _download_error(
            source, f"Could not download {source} from Kaggle ({type(error).__name__}: "
            f"{error}). Download the preset yourself and pass its directory.") from None


def _download_error(source, message):
    return errors.DownloadError(message, source=source, url=source)
