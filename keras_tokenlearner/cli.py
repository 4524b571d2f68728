"""The `keras-tokenlearner` command line.

    keras-tokenlearner train [flags]   train (the default command)
    keras-tokenlearner export --model-path runs/digits/MODEL/model.keras --out exports/digits
    keras-tokenlearner demo            build a small TokenLearner model, run it
    keras-tokenlearner --version

Flags alone (`keras-tokenlearner --epochs 3`) mean `train`; a first word
that is no command is an error. Errors in what the user asked for are
printed as one line, without a traceback: status 2 for bad input, 1 for a
run that had to stop (NaN loss).

Under KERAS_BACKEND=jax, `--help`, `--version` and `demo` never import
TensorFlow (under the TensorFlow backend, importing Keras loads it). Its
C++ log lines are hidden unless `--verbose` is given (see `quiet`).
`train` and `export` run on the TensorFlow backend only: under another,
they print that error.
"""

import argparse
import ast
import dataclasses
import difflib
import sys

from keras_tokenlearner import filesystem
from keras_tokenlearner import quiet
from keras_tokenlearner import validation
from keras_tokenlearner.version import __version__

PROGRAM = "keras-tokenlearner"
COMMANDS = ("train", "export", "demo")
TOP_LEVEL_OPTIONS = ("-h", "--help", "--version", "--verbose")
EXPORT_FORMATS = ("saved_model", "onnx", "litert")


def _add_train_flags(parser):
    from keras_tokenlearner.train.config import TrainConfig

    defaults = TrainConfig()
    flags = {
        "--model": (str, "zoo model name (see keras_tokenlearner.list_models())"),
        "--dataset": (str, "digits, moving_digits, image_folder or a TFDS name"),
        "--data-dir": (str, "TFDS data directory, or the image_folder root"),
        "--epochs": (int, "passes over the training split"),
        "--steps": (int, "stop after this many optimizer steps"),
        "--batch-size": (int, "global batch size, over all replicas"),
        "--learning-rate": (float, "peak learning rate after warmup"),
        "--strategy": (str, "auto, one_device, mirrored, multi_worker or tpu"),
        "--cpu-devices": (int, "split the CPU into this many logical devices"),
        "--seed": (int, "random seed: weights, shuffling, augmentation"),
        "--workdir": (str, "outputs and checkpoints (None: runs/DATASET/MODEL)"),
        "--steps-per-call": (int, "optimizer steps in one compiled call"),
        "--checkpoint-every": (int, "write a checkpoint every this many steps"),
        "--image-size": (int, "resize images to this side (default: the dataset's)"),
        "--weights": (str, "start from a pretrained checkpoint: imagenet21k, "
                      "imagenet21k+imagenet2012, a .npz/.safetensors/preset path, gs:// or URL"),
    }
    for flag, (kind, text) in flags.items():
        field = flag[2:].replace("-", "_")
        default = getattr(defaults, field)
        parser.add_argument(flag, type=kind, default=default, help=f"{text} (default: {default})")
    parser.add_argument("--model-arg", dest="model_overrides", type=_model_argument,
                        action="append", default=[], metavar="NAME=VALUE",
                        help="override a zoo constructor argument, e.g. --model-arg "
                        "num_layers=4 (repeatable; VALUE is a Python literal)")
    parser.add_argument("--jit-compile", action=argparse.BooleanOptionalAction,
                        default=defaults.jit_compile, help="XLA-compile the step")
    parser.add_argument("--export", action=argparse.BooleanOptionalAction,
                        default=defaults.export,
                        help="write a SavedModel for TF Serving to WORKDIR/export/1")
    parser.add_argument("--mixed-precision", action=argparse.BooleanOptionalAction,
                        default=defaults.mixed_precision,
                        help="bfloat16 on CPU/TPU, float16 with loss scaling on GPU")


def _model_argument(text):
    """'num_layers=4' -> ('num_layers', 4); a VALUE that is no literal stays a string."""
    name, separator, value = text.partition("=")
    if not separator or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def _add_verbose_flag(parser, default):
    parser.add_argument("--verbose", dest="show_tf_logs", action="store_true", default=default,
                        help="show TensorFlow's C++ log lines (hidden unless "
                        "TF_CPP_MIN_LOG_LEVEL is set)")


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description="TokenLearner and TokenFuser for Keras 3."
    )
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {__version__}")
    _add_verbose_flag(parser, False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    train = commands.add_parser("train", help="train a zoo model (the default command)")
    _add_train_flags(train)
    export = commands.add_parser("export", help="export a .keras model for serving")
    export.add_argument("--model-path", required=True, help="a .keras file")
    export.add_argument("--out", required=True,
                        help="SavedModel base directory, or the .onnx / .tflite file")
    export.add_argument("--format", default="saved_model", choices=EXPORT_FORMATS)
    export.add_argument("--serving-version", type=int, default=1,
                        help="SavedModel version folder (default: 1)")
    export.add_argument("--overwrite", action="store_true", help="replace that version")
    export.add_argument("--class-names", help="file with one class name per line "
                        "(default: class_names.txt beside the model, if present)")
    export.add_argument("--warmup-requests", type=int, default=1,
                        help="TF Serving warmup requests per signature and batch size "
                        "(SavedModel only; 0: none; default: 1)")
    demo = commands.add_parser("demo", help="build a small TokenLearner model and run it")
    demo.add_argument("--num-tokens", type=int, default=8)
    demo.add_argument("--image-size", type=int, default=32)
    demo.add_argument("--batch-size", type=int, default=4)
    demo.add_argument("--token-learner-version", default="1.1",
                      help="TokenLearner version: 1.0 or 1.1 (default: 1.1)")
    for command in (train, export, demo):
        _add_verbose_flag(command, argparse.SUPPRESS)  # keeps a top-level --verbose
    return parser


def _export(args):
    import keras

    import keras_tokenlearner  # noqa: F401  (registers the layers and models)
    from keras_tokenlearner import export

    if not filesystem.isfile(args.model_path):
        raise validation.invalid_value("model_path", "an existing .keras file", args.model_path)
    model = keras.models.load_model(args.model_path)
    if args.format == "onnx":
        path = export.export_onnx(model, args.out)
    elif args.format == "litert":
        path = export.export_litert(model, args.out)
    else:
        class_names = export.read_class_names(args.class_names, args.model_path)
        path = export.export_saved_model(
            model, args.out, args.serving_version, class_names, overwrite=args.overwrite,
            preprocessing=export.read_preprocessing(args.model_path),  # the trainer's record
            warmup_requests=args.warmup_requests,
        )
    print(f"Exported {args.model_path} to {path}")


def _run(args):
    if args.command == "export":
        return _export(args)
    if args.command == "demo":
        from keras_tokenlearner import demo

        demo.run(num_tokens=args.num_tokens, image_size=args.image_size,
                 batch_size=args.batch_size, version=args.token_learner_version)
        return
    from keras_tokenlearner.train import TrainConfig
    from keras_tokenlearner.train import train

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    values = {k: v for k, v in vars(args).items() if k in fields}
    values["model_overrides"] = dict(args.model_overrides)
    train(TrainConfig(**values))


def _with_command(argv):
    """`argv` with its command: `train` where only flags are given.

    Raises a `ValueError` for a first word that is no command.
    """
    count = 0
    while count < len(argv) and argv[count] in TOP_LEVEL_OPTIONS:
        count += 1
    options, rest = argv[:count], argv[count:]
    if rest and rest[0] in COMMANDS:
        return argv
    if rest and not rest[0].startswith("-"):
        raise ValueError(_unknown_command(rest[0]))
    if not rest and {"-h", "--help", "--version"} & set(options):
        return argv
    return options + ["train"] + rest


def _unknown_command(word):
    close = difflib.get_close_matches(word, COMMANDS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown command {word!r}{hint}. Known commands: {', '.join(COMMANDS)}."


def _check_tensorflow_backend(command):
    """`train` and `export` run on TensorFlow: any other backend is a one-line error.

    Keras is loaded already: the package imports it.
    """
    import keras

    validation.check_tensorflow_backend(f"`{PROGRAM} {command}`", keras.backend.backend())


def _is_training_error(error):
    """Whether `error` is the trainer's TrainingError, without importing TensorFlow."""
    loop = sys.modules.get("keras_tokenlearner.train.loop")
    return loop is not None and isinstance(error, loop.TrainingError)


def _parse(argv):
    """The parsed arguments, or the exit status of --help, --version or a usage error."""
    try:
        return build_parser().parse_args(_with_command(argv))
    except ValueError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 2
    except SystemExit as stop:  # argparse has printed help, the version or the usage
        return stop.code or 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse(argv)
    if isinstance(args, int):
        return args
    try:
        with quiet.tensorflow_logs_hidden(args.show_tf_logs):
            if args.command in ("train", "export"):
                _check_tensorflow_backend(args.command)
                quiet.import_tensorflow()
            _run(args)
    except (ValueError, OSError) as error:  # bad input, or a path that cannot be written
        print(f"{PROGRAM} {args.command}: error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        if not _is_training_error(error):
            raise
        print(f"{PROGRAM} {args.command}: stopped: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
