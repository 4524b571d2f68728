"""Hides TensorFlow's C++ log lines from the `keras-tokenlearner` command.

TensorFlow writes lines such as "oneDNN custom operations are on", "This
TensorFlow binary is optimized to use available CPU instructions",
"Compiled cluster using XLA!" and tf.data warnings to stderr from C++. The
command hides them unless it is given `--verbose` or the environment sets
`TF_CPP_MIN_LOG_LEVEL`:

* `TF_CPP_MIN_LOG_LEVEL=2`, set before TensorFlow loads (it reads it once),
  hides TensorFlow's INFO and WARNING lines; errors still show.
* The oneDNN notice is written during `import tensorflow` through absl,
  before absl's logging is set up, and ignores that variable. So
  TensorFlow is imported with stderr sent to a file, and every line but
  absl's log lines below that level is written back.

The package's `__init__` calls `command_start()` first: the command's own
module is imported after the package, and so after Keras and TensorFlow.
`TF_ENABLE_ONEDNN_OPTS`, which changes numerics, is left alone.
"""

import contextlib
import os
import re
import sys
import tempfile

LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
HIDDEN_LEVEL = "2"  # INFO and WARNING hidden, ERROR shown
COMMAND_NAME = "keras-tokenlearner"
COMMAND_MODULES = ("keras_tokenlearner.cli", "keras_tokenlearner.train")
# absl's format: "I0000 00:00:1795934129.476283    9832 port.cc:153] message".
ABSL_LINE = re.compile(r"^([IWEF])\d{4} [\d:.]+ +\d+ [^ \]]+:\d+\] ")
ABSL_SEVERITIES = "IWEF"  # the levels of TF_CPP_MIN_LOG_LEVEL: 0, 1, 2, 3
ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called"


def started_as_command():
    """Whether this process runs `keras-tokenlearner` (or `python -m` of its modules)."""
    if sys.argv and os.path.basename(sys.argv[0]).startswith(COMMAND_NAME):
        return True
    arguments = getattr(sys, "orig_argv", [])
    return any(flag == "-m" and module in COMMAND_MODULES
               for flag, module in zip(arguments, arguments[1:]))


def command_start():
    """For the command: hides TensorFlow's logs (unless `--verbose`), imports Keras."""
    if not started_as_command():
        return
    if "--verbose" not in sys.argv[1:]:
        os.environ.setdefault(LEVEL_VARIABLE, HIDDEN_LEVEL)
    with filtered_stderr():
        import keras  # noqa: F401  (loads the backend: TensorFlow, unless KERAS_BACKEND says not)


@contextlib.contextmanager
def tensorflow_logs_hidden(show):
    """Sets `TF_CPP_MIN_LOG_LEVEL=2` inside the block, unless `show` or already set.

    Only where TensorFlow has not loaded yet: it reads the variable once.
    """
    unset = LEVEL_VARIABLE not in os.environ and "tensorflow" not in sys.modules
    if show or not unset:
        yield
        return
    os.environ[LEVEL_VARIABLE] = HIDDEN_LEVEL
    try:
        yield
    finally:
        os.environ.pop(LEVEL_VARIABLE, None)


def import_tensorflow():
    """Imports TensorFlow, dropping absl's start-up lines below the log level."""
    if "tensorflow" not in sys.modules:
        with filtered_stderr():
            import tensorflow  # noqa: F401


def _level():
    """TF_CPP_MIN_LOG_LEVEL as TensorFlow reads it: 0 unless set to 1, 2 or 3."""
    value = os.environ.get(LEVEL_VARIABLE, "0").strip()
    return int(value) if value in ("1", "2", "3") else 0


def _hidden(line, level):
    match = ABSL_LINE.match(line)
    if match:
        return ABSL_SEVERITIES.index(match.group(1)) < level
    return line.startswith(ABSL_NOTICE) and level > 0


@contextlib.contextmanager
def captured_descriptor(descriptor, into):
    """Sends file descriptor `descriptor` (1 or 2) to a file inside the block.

    On leaving it, even by an exception, the descriptor is restored and what
    was written to it is appended to the list `into` as text.
    """
    stream = sys.stdout if descriptor == 1 else sys.stderr
    stream.flush()
    saved = os.dup(descriptor)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), descriptor)
        try:
            yield
        finally:
            stream.flush()
            os.dup2(saved, descriptor)
            os.close(saved)
            captured.seek(0)
            into.append(captured.read().decode(errors="replace"))


@contextlib.contextmanager
def filtered_stderr():
    """Sends stderr (file descriptor 2) to a file; writes back what is not hidden.

    Hidden: absl's log lines below `TF_CPP_MIN_LOG_LEVEL`, and absl's notice
    about logging before its start. Nothing is hidden at level 0.
    """
    level = _level()
    if level == 0:
        yield
        return
    written = []
    try:
        with captured_descriptor(2, written):
            yield
    finally:
        lines = "".join(written).splitlines(keepends=True)
        sys.stderr.write("".join(line for line in lines if not _hidden(line, level)))
        sys.stderr.flush()
