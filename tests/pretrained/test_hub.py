"""`hf://` sources through huggingface_hub, tested against a local directory
laid out as the Hub's cache with HF_HUB_OFFLINE=1 (huggingface_hub reads its
environment at import, hence the subprocess); and the missing-package errors."""

import json
import os
import subprocess
import sys

import pytest

from keras_tokenlearner.pretrained import errors
from keras_tokenlearner.pretrained import sources

pytestmark = pytest.mark.backend_independent  # files and a subprocess; no model
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMM_CONFIG = {"architecture": "vit_base_patch16_224",
               "pretrained_cfg": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}
LOCATE_ALL = """
import json, sys
from keras_tokenlearner.pretrained import errors, sources
answers = {}
for source in sys.argv[1:]:
    try:
        located = sources.locate(source)
        answers[source] = {"path": located.path, "side_files": located.side_files}
    except errors.DownloadError as error:
        answers[source] = {"error": str(error)}
print(json.dumps(answers))
"""


def snapshot(hub_cache, repo, commit, files, main=True):
    """Writes `files` (name -> bytes) as the Hub's cache holds a repository."""
    folder = hub_cache / f"models--{repo.replace('/', '--')}"
    for name, data in files.items():
        path = folder / "snapshots" / commit / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if main:
        (folder / "refs").mkdir(parents=True, exist_ok=True)
        (folder / "refs" / "main").write_text(commit)


def locate_offline(hub_cache, *hub_sources):
    environment = dict(os.environ, HF_HUB_CACHE=str(hub_cache), HF_HUB_OFFLINE="1",
                       PYTHONPATH=ROOT)
    result = subprocess.run([sys.executable, "-c", LOCATE_ALL, *hub_sources], cwd=ROOT,
                            env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_hub_sources_come_from_the_hub_cache_with_their_side_files(tmp_path):
    hub_cache = tmp_path / "hub"
    timm, google = "timm/vit_base_patch16_224.augreg2_in21k_ft_in1k", "google/vit-test-in21k"
    snapshot(hub_cache, timm, "a" * 40, {"model.safetensors": b"timm weights",
                                         "config.json": json.dumps(TIMM_CONFIG).encode()})
    snapshot(hub_cache, google, "b" * 40, {
        "model.safetensors": b"main weights", "config.json": b'{"hidden_size": 768}',
        "preprocessor_config.json": b'{"image_mean": [0.5, 0.5, 0.5]}',
        "sub/model.safetensors": b"sub weights", "sub/config.json": b'{"hidden_size": 384}'})
    snapshot(hub_cache, google, "c" * 40, {"model.safetensors": b"old weights"}, main=False)
    answers = locate_offline(hub_cache, f"hf://{timm}", f"hf://{google}",
                             f"hf://{google}@{'b' * 40}/sub/model.safetensors",
                             f"hf://{google}@{'c' * 40}", "hf://google/absent")
    assert open(answers[f"hf://{timm}"]["path"], "rb").read() == b"timm weights"
    assert answers[f"hf://{timm}"]["side_files"] == {"config.json": TIMM_CONFIG}
    assert answers[f"hf://{google}"]["side_files"] == {
        "config.json": {"hidden_size": 768},
        "preprocessor_config.json": {"image_mean": [0.5, 0.5, 0.5]}}
    sub = answers[f"hf://{google}@{'b' * 40}/sub/model.safetensors"]
    assert open(sub["path"], "rb").read() == b"sub weights"
    assert sub["side_files"] == {"config.json": {"hidden_size": 384}}
    old = answers[f"hf://{google}@{'c' * 40}"]
    assert open(old["path"], "rb").read() == b"old weights" and old["side_files"] == {}
    message = answers["hf://google/absent"]["error"]
    assert message.startswith("Could not download model.safetensors of google/absent from the "
                              "Hugging Face Hub (HF_HUB_OFFLINE is set: only the Hub's local "
                              "cache is read): ")
    assert "\n" not in message


@pytest.mark.parametrize("source, module, extra", [
    ("hf://google/vit-base-patch16-224-in21k", "huggingface_hub", "hub"),
    ("kaggle://keras/vit/keras/vit_base_patch16_224_imagenet/2", "kagglehub", "kaggle")])
def test_a_missing_package_names_the_extra(monkeypatch, source, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(errors.DownloadError, match=rf"Loading {source} needs the {module} "
                       rf"package: pip install 'keras_tokenlearner\[{extra}\]'"):
        sources.locate(source)
