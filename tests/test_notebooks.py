"""The Colab tutorials: paired sources in sync, badge, install cell, SMOKE."""

import glob
import os

import jupytext
import pytest

COLAB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "colab")
SOURCES = sorted(glob.glob(os.path.join(COLAB, "*.py")))


def test_four_tutorials():
    names = [os.path.basename(path) for path in SOURCES]
    assert names == ["01_quickstart.py", "02_video.py", "03_scale_and_serve.py",
                     "04_finetune_pretrained.py"]


@pytest.mark.parametrize("source", SOURCES, ids=os.path.basename)
def test_notebook_is_in_sync_with_its_source(source):
    from_source = jupytext.read(source)
    notebook = jupytext.read(source[:-3] + ".ipynb")
    assert [cell.source for cell in notebook.cells] == [cell.source for cell in from_source.cells]
    assert notebook.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("source", SOURCES, ids=os.path.basename)
def test_badge_install_cell_and_smoke_parameter(source):
    cells = jupytext.read(source).cells
    name = os.path.basename(source)[:-3]
    assert f"colab/{name}.ipynb" in cells[0].source and "colab-badge.svg" in cells[0].source
    assert "google.colab" in cells[1].source and "pip" in cells[1].source
    parameters = [cell for cell in cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) == 1 and "SMOKE" in parameters[0].source
    code = "\n".join(cell.source for cell in cells if cell.cell_type == "code")
    assert "import keras_tokenlearner" in code or "from keras_tokenlearner" in code
    assert "class " not in code and "keras.layers.Dense" not in code  # no model logic here
