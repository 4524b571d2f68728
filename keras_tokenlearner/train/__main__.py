"""`python -m keras_tokenlearner.train`: the same as `keras-tokenlearner train`."""

import sys

from keras_tokenlearner import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train"] + sys.argv[1:]))
