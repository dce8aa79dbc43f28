"""igsed.core.download against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import logging
import socket
from pathlib import Path

import pytest
from support.http_server import FileServer, closed_port

from igsed.core.download import DownloadError, download

PAYLOAD = bytes(range(256)) * 400  # 102,400 bytes
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
WRONG_MD5 = "0" * 32


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server(tmp_path: Path):
    root = tmp_path / "served"
    root.mkdir()
    (root / "data.bin").write_bytes(PAYLOAD)
    with FileServer(root) as running:
        yield running


def _fetch(server: FileServer, dest: Path, **kwargs) -> Path:
    kwargs.setdefault("backoff_s", 0.0)
    kwargs.setdefault("timeout_s", 5.0)
    return download(server.url("data.bin"), dest, **kwargs)


def test_download_verifies_and_renames(server: FileServer, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "data.bin"
    result = _fetch(server, dest, md5=PAYLOAD_MD5, sha256=PAYLOAD_SHA256, size_bytes=len(PAYLOAD))
    assert result == dest
    assert dest.read_bytes() == PAYLOAD
    assert not dest.with_suffix(".bin.part").exists()
    assert server.count("data.bin") == 1


def test_cut_connection_resumes_with_range(server: FileServer, tmp_path: Path) -> None:
    server.cut_after["data.bin"] = [30_000]
    dest = tmp_path / "data.bin"
    _fetch(server, dest, md5=PAYLOAD_MD5, size_bytes=len(PAYLOAD), retries=3)
    assert dest.read_bytes() == PAYLOAD
    gets = [r for r in server.requests if r.method == "GET"]
    assert [r.status for r in gets] == [200, 206]
    assert gets[0].range_header is None
    assert gets[1].range_header == "bytes=30000-"


def test_cut_connection_without_range_support_restarts(server: FileServer, tmp_path: Path) -> None:
    server.cut_after["data.bin"] = [30_000]
    server.ignore_range = True
    dest = tmp_path / "data.bin"
    _fetch(server, dest, md5=PAYLOAD_MD5, retries=2)
    assert dest.read_bytes() == PAYLOAD
    assert [r.status for r in server.requests] == [200, 200]


def test_leftover_partial_file_is_resumed(server: FileServer, tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    dest.with_suffix(".bin.part").write_bytes(PAYLOAD[:5000])
    _fetch(server, dest, md5=PAYLOAD_MD5, size_bytes=len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD
    assert [(r.status, r.range_header) for r in server.requests] == [(206, "bytes=5000-")]


def test_complete_partial_file_needs_no_body(server: FileServer, tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    dest.with_suffix(".bin.part").write_bytes(PAYLOAD)
    _fetch(server, dest, md5=PAYLOAD_MD5)  # no size known: the server answers 416
    assert dest.read_bytes() == PAYLOAD
    assert [r.status for r in server.requests] == [416]


def test_server_error_is_retried(server: FileServer, tmp_path: Path) -> None:
    server.forced_status["data.bin"] = [503]
    dest = tmp_path / "data.bin"
    _fetch(server, dest, md5=PAYLOAD_MD5, retries=2)
    assert dest.read_bytes() == PAYLOAD
    assert [r.status for r in server.requests] == [503, 200]


def test_bad_checksum_retries_then_names_expected_and_actual(
    server: FileServer, tmp_path: Path
) -> None:
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError) as caught:
        _fetch(server, dest, md5=WRONG_MD5, retries=3)
    message = str(caught.value)
    assert server.url("data.bin") in message
    assert WRONG_MD5 in message and PAYLOAD_MD5 in message
    assert server.count("data.bin") == 3
    assert not dest.exists()
    assert not dest.with_suffix(".bin.part").exists()


def test_bad_sha256_is_reported(server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=PAYLOAD_SHA256):
        _fetch(server, tmp_path / "data.bin", sha256="f" * 64, retries=1)


def test_announced_size_mismatch_names_both_sizes(server: FileServer, tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError) as caught:
        _fetch(server, dest, size_bytes=1234, retries=3)
    assert "expected 1234 bytes" in str(caught.value)
    assert f"announces {len(PAYLOAD)} bytes" in str(caught.value)
    assert server.count("data.bin") == 3
    assert not dest.exists() and not dest.with_suffix(".bin.part").exists()


def test_404_fails_at_once_naming_url_and_status(server: FileServer, tmp_path: Path) -> None:
    url = server.url("missing.bin")
    with pytest.raises(DownloadError) as caught:
        download(url, tmp_path / "missing.bin", retries=3, backoff_s=0.0, manual_hint="HINT-X")
    message = str(caught.value)
    assert url in message and "404" in message and message.endswith("HINT-X")
    assert server.count("missing.bin") == 1


def test_existing_verified_dest_is_not_downloaded(server: FileServer, tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    dest.write_bytes(PAYLOAD)
    _fetch(server, dest, md5=PAYLOAD_MD5, size_bytes=len(PAYLOAD))
    assert server.requests == []


def test_existing_corrupt_dest_is_replaced(server: FileServer, tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    dest.write_bytes(b"not the payload")
    _fetch(server, dest, md5=PAYLOAD_MD5)
    assert dest.read_bytes() == PAYLOAD
    assert server.count("data.bin") == 1


def test_unreachable_host_explains_manual_download(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def no_dns(host, *args, **kwargs):
        if host == "zenodo.invalid":
            lookups.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    url = "https://zenodo.invalid/record/1/files/model.pth?download=1"
    dest = tmp_path / "model.pth"
    with pytest.raises(DownloadError) as caught:
        download(url, dest, retries=3, backoff_s=5.0, manual_hint="Or set backbone.panns.url.")
    message = str(caught.value)
    assert url in message
    assert "unreachable" in message and "by hand" in message and str(dest) in message
    assert message.endswith("Or set backbone.panns.url.")
    assert lookups == ["zenodo.invalid"]  # no retries, no backoff sleep


def test_refused_local_port_is_retried_then_reported(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/data.bin"
    with pytest.raises(DownloadError) as caught:
        download(url, tmp_path / "data.bin", retries=2, backoff_s=0.0, timeout_s=2.0)
    message = str(caught.value)
    assert url in message and "2 attempt(s)" in message and "never answered" in message


def test_progress_is_logged(
    server: FileServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="igsed.core.download"):
        _fetch(server, tmp_path / "data.bin", md5=PAYLOAD_MD5)
        _fetch(server, tmp_path / "both.bin", sha256=PAYLOAD_SHA256, size_bytes=len(PAYLOAD))
    done = [r.getMessage() for r in caplog.records if r.getMessage().startswith("downloaded")]
    # The log line names what the file was verified against, so a run's log proves it.
    assert done == [
        f"downloaded {server.url('data.bin')} -> {tmp_path / 'data.bin'} (0.1 MB; "
        f"md5 {PAYLOAD_MD5} verified)",
        f"downloaded {server.url('data.bin')} -> {tmp_path / 'both.bin'} (0.1 MB; "
        f"sha256 {PAYLOAD_SHA256} verified, size 102400 bytes verified)",
    ]
