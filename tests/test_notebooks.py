"""The Colab tutorials: paired sources in sync, badge, install cell, SMOKE.

The second cell of every tutorial is colab/install_cell.py, verbatim (the
one source of its logic; tests/smoke/colab_install.py runs it on Colab-shaped
stacks). After editing that file, `python tests/test_notebooks.py` copies it
into the four `.py` sources and their `.ipynb`.
"""

import glob
import os

import jupytext
import pytest

COLAB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "colab")
SOURCES = sorted(glob.glob(os.path.join(COLAB, "[0-9][0-9]_*.py")))
INSTALL_CELL = os.path.join(COLAB, "install_cell.py")


def install_cell_source():
    """The install cell's code, as jupytext holds a cell (no final newline)."""
    with open(INSTALL_CELL) as handle:
        return handle.read().rstrip("\n")


def test_four_tutorials():
    names = [os.path.basename(path) for path in SOURCES]
    assert names == ["01_quickstart.py", "02_video.py", "03_scale_and_serve.py",
                     "04_finetune_pretrained.py"]
    other_sources = set(glob.glob(os.path.join(COLAB, "*.py"))) - set(SOURCES)
    assert other_sources == {INSTALL_CELL}


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
    assert cells[1].cell_type == "code"
    assert cells[1].source == install_cell_source(), (
        f"{name}: cell 2 is not colab/install_cell.py; `python tests/test_notebooks.py` copies it")
    parameters = [cell for cell in cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) == 1 and "SMOKE" in parameters[0].source
    code = "\n".join(cell.source for cell in cells[2:] if cell.cell_type == "code")
    assert "import keras_tokenlearner" in code or "from keras_tokenlearner" in code
    assert "class " not in code and "keras.layers.Dense" not in code  # no model logic here


def copy_install_cell():
    """Writes colab/install_cell.py into cell 2 of each tutorial's .py and .ipynb."""
    for source in SOURCES:
        with open(source) as handle:
            lines = handle.readlines()
        # py:percent: cell 2 runs from the second "# %%" line to the next one.
        markers = [index for index, line in enumerate(lines) if line.startswith("# %%")]
        cell = ["# %%\n", install_cell_source() + "\n", "\n"]
        with open(source, "w") as handle:
            handle.write("".join(lines[:markers[1]] + cell + lines[markers[2]:]))
        notebook = jupytext.read(source[:-3] + ".ipynb")  # keeps its outputs and ids
        notebook.cells[1].source = install_cell_source()
        jupytext.write(notebook, source[:-3] + ".ipynb")
        print("updated", os.path.basename(source), "and its .ipynb")


if __name__ == "__main__":
    copy_install_cell()
