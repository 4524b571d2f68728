"""The command line: the demo runs, and bad input prints one line, no traceback."""

import pytest

from keras_tokenlearner import cli


def test_demo_reports_positions_and_tokens(capsys):
    assert cli.main(["demo", "--num-tokens", "4", "--image-size", "16"]) == 0
    output = capsys.readouterr().out
    assert "TokenLearner: 16 positions -> 4 tokens" in output
    assert output.count("strongest weight") == 4


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--num-tokens", "0"], "num_tokens=0"),
        (["demo", "--image-size", "30"], "image_size=30"),
        (["demo", "--version", "3"], "version='3'"),
        (["export", "--model-path", "missing.keras", "--out", "exports"],
         "`model_path`. Expected an existing .keras file. Received: model_path='missing.keras'"),
    ],
)
def test_bad_input_prints_error_without_traceback(argv, message, capsys):
    assert cli.main(argv) == 2
    error = capsys.readouterr().err
    assert message in error
    assert "Traceback" not in error
