"""The `keras-tokenlearner` command line.

Errors in what the user typed are printed as one line, without a traceback,
and the command exits with status 2.
"""

import argparse
import sys


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-tokenlearner",
        description="TokenLearner and TokenFuser for Keras 3.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="build a small model with TokenLearner, run it, report"
    )
    demo.add_argument("--num-tokens", type=int, default=8)
    demo.add_argument("--image-size", type=int, default=32)
    demo.add_argument("--batch-size", type=int, default=4)
    demo.add_argument("--version", default="1.1", help="TokenLearner version")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "demo"
    if args.command is None:
        args = parser.parse_args(["demo"])
    try:
        if command == "demo":
            from keras_tokenlearner import demo

            demo.run(
                num_tokens=args.num_tokens,
                image_size=args.image_size,
                batch_size=args.batch_size,
                version=args.version,
            )
    except ValueError as error:
        print(f"keras-tokenlearner {command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
