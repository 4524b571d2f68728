"""The benchmark scripts: the tables of the docs and README are rendered from their results,
the zoo results match today's models, and the published designs they time
against compute our layer's tokens."""

import json
import pathlib
import sys

import numpy as np
import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import report  # noqa: E402
import token_learner_layer  # noqa: E402
import zoo_table  # noqa: E402

import keras_tokenlearner as ktl  # noqa: E402
from keras_tokenlearner.models.zoo import build_symbolic  # noqa: E402


def marked_block(page, marker):
    content = (BENCHMARKS.parent / page).read_text()
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    return content[content.index(begin) + len(begin):content.index(end)].strip()


def test_tables_are_rendered_from_the_results():
    # Every number in the benchmark tables of the docs and the README comes
    # from the committed JSON through report.py, not from an edit by hand.
    assert marked_block("docs/benchmarks.md", "benchmarks") == report.render()
    assert marked_block("README.md", "headline") == report.headline()
    zoo_rows = json.loads((BENCHMARKS / "results" / "zoo_table.json").read_text())
    assert marked_block("docs/models.md", "zoo-table").endswith(zoo_table.markdown(zoo_rows))


@pytest.mark.parametrize("version", ["1.1", "1.0"])
def test_published_designs_compute_our_tokens(version):
    # The speed comparison means something only if RT-1's (v1.1) and the
    # keras-io example's (v1.0) designs, re-implemented in the script, give
    # our layer's tokens from the same weights.
    ours, theirs, features = token_learner_layer.matched_pair(version)
    np.testing.assert_allclose(np.asarray(theirs(features)), np.asarray(ours(features)),
                               atol=1e-4)


@pytest.mark.parametrize("name", ["vit_tiny_patch16", "vit_base_patch16_tokenlearner"])
def test_zoo_table_results_match_the_models(name):
    # ... and the committed zoo results are what today's models measure.
    zoo_rows = json.loads((BENCHMARKS / "results" / "zoo_table.json").read_text())
    model = build_symbolic(name)
    assert zoo_rows[name]["parameters"] == model.count_params()
    assert zoo_rows[name]["gflops"] == pytest.approx(ktl.flops(model).gflops, rel=1e-9)
