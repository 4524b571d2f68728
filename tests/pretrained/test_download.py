"""Verified downloads: a local HTTP server the tests start serves files the
tests write; nothing leaves the machine."""

import hashlib
import logging
import os
import re

import numpy as np
import pytest

from keras_tokenlearner.pretrained import cache
from keras_tokenlearner.pretrained import errors
from keras_tokenlearner.pretrained import named
from keras_tokenlearner.pretrained import sources
from tests.pretrained import fixtures
from tests.pretrained import http_server

pytestmark = pytest.mark.backend_independent  # HTTP and files; no model
NPZ = open(fixtures.path("vit_jax_token.npz"), "rb").read()


def safetensors_bytes(values=np.arange(6, dtype=np.float32)):
    from safetensors.numpy import save

    return save({"patch_embed.proj.bias": values})


@pytest.fixture
def server(tmp_path):
    with http_server.Server(tmp_path / "served") as started:
        yield started


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return tmp_path / "keras_home" / "keras_tokenlearner"


def cached_files(cache_dir):
    return sorted(os.listdir(cache_dir)) if cache_dir.exists() else []


def test_downloads_once_into_a_named_cache_file(server, cache_dir):
    server.write("models/vit.npz", NPZ)
    first = sources.locate(server.url("models/vit.npz"))
    second = sources.locate(server.url("models/vit.npz"))
    assert first == second and first.side_files == {}  # an .npz asks for no side file
    assert re.fullmatch(r"vit-[0-9a-f]{12}\.npz", os.path.basename(first.path))
    assert os.path.dirname(first.path) == str(cache_dir)
    assert open(first.path, "rb").read() == NPZ
    assert server.count("models/vit.npz") == 1
    assert cached_files(cache_dir) == [os.path.basename(first.path),
                                       os.path.basename(first.path) + ".sha256"]


def test_a_server_that_cuts_the_file_short_twice_leaves_nothing_cached(server, cache_dir):
    server.write("vit.npz", NPZ)
    server.cut("vit.npz", len(NPZ) // 2, times=2)  # Content-Length says the full size
    with pytest.raises(errors.DownloadError, match=rf"{re.escape(server.url('vit.npz'))} .*"
                       rf"failed its check twice \(the server sent {len(NPZ) // 2} of "
                       rf"{len(NPZ)} bytes\)") as error:
        sources.locate(server.url("vit.npz"))
    assert error.value.url == server.url("vit.npz")
    assert server.count("vit.npz") == 2
    assert cached_files(cache_dir) == []  # neither the half file nor a temporary
    assert open(sources.locate(server.url("vit.npz")).path, "rb").read() == NPZ


def test_a_short_response_without_a_length_is_downloaded_again(server, cache_dir, caplog):
    server.write("vit.npz", NPZ)
    server.cut("vit.npz", len(NPZ) // 2, times=1, send_length=False)
    with caplog.at_level(logging.WARNING, logger="keras_tokenlearner"):
        located = sources.locate(server.url("vit.npz"))
    assert open(located.path, "rb").read() == NPZ
    assert server.count("vit.npz") == 2
    assert f"downloaded file {located.path} failed its check (not a complete zip" in caplog.text


@pytest.mark.parametrize("damage", ["truncate", "flip_a_byte"])
def test_a_damaged_cached_npz_is_deleted_and_downloaded_again(server, cache_dir, caplog,
                                                               damage):
    server.write("vit.npz", NPZ)
    path = sources.locate(server.url("vit.npz")).path
    data = bytearray(NPZ)
    if damage == "truncate":  # what a download killed outright used to leave
        data = data[:len(data) // 2]
    else:  # inside the first member's data: only its CRC can tell
        data[100] ^= 0xFF
    with open(path, "wb") as handle:
        handle.write(bytes(data))
    with caplog.at_level(logging.WARNING, logger="keras_tokenlearner"):
        assert sources.locate(server.url("vit.npz")).path == path
    assert open(path, "rb").read() == NPZ
    assert server.count("vit.npz") == 2
    assert f"cached file {path} failed its check" in caplog.text


def test_a_cached_safetensors_file_is_checked_against_its_sidecar(server, cache_dir, caplog):
    data = safetensors_bytes()
    server.write("timm/model.safetensors", data)
    path = sources.locate(server.url("timm/model.safetensors")).path
    assert open(path + ".sha256").read().split() == [hashlib.sha256(data).hexdigest(),
                                                     os.path.basename(path)]
    damaged = bytearray(data)
    damaged[-1] ^= 0xFF  # same size: the header check passes, the sha256 does not
    with open(path, "wb") as handle:
        handle.write(bytes(damaged))
    with caplog.at_level(logging.WARNING, logger="keras_tokenlearner"):
        sources.locate(server.url("timm/model.safetensors"))
    assert open(path, "rb").read() == data
    assert re.search(rf"cached file {re.escape(path)} failed its check \(sha256 [0-9a-f]{{64}},"
                     rf" expected {hashlib.sha256(data).hexdigest()}\)", caplog.text)


def test_a_safetensors_file_shorter_than_its_header_says_is_refused(server, cache_dir):
    data = safetensors_bytes()
    server.write("model.safetensors", data)
    server.cut("model.safetensors", len(data) - 4, times=2, send_length=False)
    with pytest.raises(errors.DownloadError, match=rf"safetensors header and data need "
                       rf"{len(data)} bytes, the file has {len(data) - 4}"):
        sources.locate(server.url("model.safetensors"))
    assert cached_files(cache_dir) == []


def test_a_file_that_fails_its_expected_sha256_twice_names_file_and_url(server, cache_dir):
    server.write("vit.npz", NPZ)
    url = server.url("vit.npz")
    with pytest.raises(errors.CorruptCheckpointError, match=rf"{re.escape(url)} into "
                       rf".*vit-[0-9a-f]{{12}}\.npz failed its check twice \(sha256 ") as error:
        cache.fetch(url, sha256="0" * 64)
    assert error.value.path.startswith(str(cache_dir))
    assert server.count("vit.npz") == 2
    assert cache.fetch(url, sha256=hashlib.sha256(NPZ).hexdigest(), size=len(NPZ))


def test_a_named_file_is_checked_against_its_published_checksum(server, cache_dir,
                                                                  monkeypatch):
    server.write("vit.npz", NPZ)
    monkeypatch.setitem(named.CHECKSUMS, server.url("vit.npz"), {"size": len(NPZ) - 1})
    with pytest.raises(errors.CorruptCheckpointError, match=rf"\({len(NPZ)} bytes, expected "
                       rf"{len(NPZ) - 1}\)"):
        sources.locate(server.url("vit.npz"))


def test_plus_and_percent_2b_share_one_file_and_queries_do_not(server, cache_dir):
    server.write("imagenet21k+imagenet2012/vit.npz", NPZ)
    plus = sources.locate(server.url("imagenet21k+imagenet2012/vit.npz")).path
    encoded = sources.locate(server.url("imagenet21k%2Bimagenet2012/vit.npz")).path
    assert plus == encoded
    assert server.count("imagenet21k+imagenet2012/vit.npz") == 1
    first = sources.locate(server.url("imagenet21k+imagenet2012/vit.npz?a=1")).path
    second = sources.locate(server.url("imagenet21k+imagenet2012/vit.npz?a=2")).path
    assert len({plus, first, second}) == 3
    assert server.count("imagenet21k+imagenet2012/vit.npz") == 3


def test_offline_a_cached_copy_loads_and_a_missing_one_says_why(server, cache_dir):
    server.write("vit.npz", NPZ)
    url, missing = server.url("vit.npz"), server.url("other.npz")
    path = sources.locate(url).path
    server.stop()
    assert sources.locate(url).path == path
    with pytest.raises(errors.DownloadError, match=rf"Could not download {re.escape(missing)} "
                       r"\(offline\? .*\)\. Download it yourself and pass the local file "
                       r"instead: weights='/path/to/other.npz'\.") as error:
        sources.locate(missing)
    assert "\n" not in str(error.value)


def test_a_missing_url_is_a_download_error(server, cache_dir):
    with pytest.raises(errors.DownloadError, match=r"\(HTTP 404 .*\)"):
        sources.locate(server.url("nothing.npz"))
    assert isinstance(errors.DownloadError("x"), ValueError)


def test_side_files_come_from_the_url_folder_never_the_shared_cache(server, cache_dir):
    cache_dir.mkdir(parents=True)
    (cache_dir / "config.json").write_text('{"decoy": true}')  # another file's side file
    server.write("a/model.safetensors", safetensors_bytes())
    server.write("a/config.json", b'{"pretrained_cfg": {"mean": [0.485, 0.456, 0.406]}}')
    server.write("b/model.safetensors", safetensors_bytes(np.ones(6, np.float32)))
    with_config = sources.locate(server.url("a/model.safetensors"))
    without = sources.locate(server.url("b/model.safetensors"))
    assert with_config.side_files == {
        "config.json": {"pretrained_cfg": {"mean": [0.485, 0.456, 0.406]}}}
    assert without.side_files == {}
    asked = sum(server.requests.values())
    server.stop()  # the answers, 404s too, are cached: offline gives the same
    assert sources.locate(server.url("b/model.safetensors")) == without
    assert sources.locate(server.url("a/model.safetensors")) == with_config
    assert asked == 2 + 2 * 2  # two files, two side files each, asked once
