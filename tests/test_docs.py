"""The documentation site: `mkdocs build --strict` passes, the API page renders
the public objects, and the user-facing text holds no tracker words.

The build reads the package's sources statically (mkdocstrings and griffe), so
it imports no TensorFlow. It runs once per session, in a subprocess.
"""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD_TIMEOUT_SECONDS = 300

# Each public object and the anchor mkdocstrings gives its entry on the API
# page: the path written in docs/api.md. The trainer's names are loaded lazily
# by `keras_tokenlearner.train.__getattr__`, which griffe does not follow, so
# the page names the modules that define them.
API_ANCHORS = {
    "TokenLearner": "keras_tokenlearner.TokenLearner",
    "TokenFuser": "keras_tokenlearner.TokenFuser",
    "ViT": "keras_tokenlearner.ViT",
    "VideoViT": "keras_tokenlearner.VideoViT",
    "create_model": "keras_tokenlearner.create_model",
    "load_pretrained": "keras_tokenlearner.load_pretrained",
    "train": "keras_tokenlearner.train.runner.train",
    "TrainConfig": "keras_tokenlearner.train.config.TrainConfig",
    "export_saved_model": "keras_tokenlearner.export_saved_model",
}
# Every one of them documents its arguments (or a dataclass its fields).
DOCUMENTED_SECTIONS = ("Parameters:", "Attributes:")

# Words from a development tracker, which user documentation must not hold:
# a bare "issue 7" / "Issue #7" (no project named), and "not met". A mention
# of another project's issue is written as a link named `project#N`, e.g.
# [keras#19005](https://github.com/keras-team/keras/issues/19005), which
# these patterns do not match.
TRACKER_WORDS = (
    re.compile(r"\bissue\s*#?\d+\b", re.IGNORECASE),
    re.compile(r"\bnot met\b", re.IGNORECASE),
)


def user_facing_files():
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built once with `mkdocs build --strict`; its directory."""
    site_dir = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")  # Material's notice, not a warning
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS,
    )
    return site_dir, result


def test_strict_build_passes(site):
    site_dir, result = site
    assert result.returncode == 0, result.stderr[-5000:]
    assert (site_dir / "index.html").exists()


def test_images_are_copied_through_the_links(site):
    site_dir, result = site
    for image in ("figures/attention_digits.png", "results/accuracy_vs_gflops.png"):
        assert (site_dir / image).is_file(), result.stderr[-5000:]
        assert (site_dir / image).stat().st_size > 0


@pytest.mark.parametrize("name", sorted(API_ANCHORS))
def test_api_page_renders(site, name):
    site_dir, result = site
    api_page = site_dir / "api" / "index.html"  # written even when a warning fails the build
    assert api_page.exists(), result.stderr[-5000:]
    page = api_page.read_text()
    anchor = f'id="{API_ANCHORS[name]}"'
    assert anchor in page, f"{name}: no {anchor} on the API page"
    entry = re.split(r"<h[1-6] id=", page.split(anchor, 1)[1], maxsplit=1)[0]  # to the next heading
    assert any(section in entry for section in DOCUMENTED_SECTIONS), (
        f"{name}: its entry documents no arguments")


@pytest.mark.parametrize("path", user_facing_files(), ids=lambda path: path.name)
def test_no_tracker_words(path):
    text = path.read_text()
    found = [match.group(0) for pattern in TRACKER_WORDS for match in pattern.finditer(text)]
    assert not found, f"{path.relative_to(ROOT)}: {found}"


def test_readme_is_a_short_front_page_with_the_two_quick_start_commands():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", quick_start, re.DOTALL)
    assert commands == ['python3 -m pip install ".[cpu]" && keras-tokenlearner train',
                        'python3 -m pip install -e ".[cpu,test]" && bash tests/run_all.sh']
    # CI runs the second command's test script after the same install.
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install --quiet -e ".[cpu,test]"' in ci and "bash tests/run_all.sh" in ci
