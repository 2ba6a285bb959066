"""fetch() against a loopback HTTP server that supports Range: download, resume, and reject corrupt files.

The only thing patched is the sources table: its checksums are replaced by those of the tiny files served
here.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.benchmarks import fetch, sources
from app.benchmarks.sources import DatasetSource, SourceFile


class RangeHandler(BaseHTTPRequestHandler):
    """Serves ``server.files`` (name → bytes), honouring ``Range: bytes=N-``; records the Range headers
    seen."""

    server: FileServer

    def do_GET(self) -> None:
        data = self.server.files.get(self.path.lstrip("/"))
        if data is None:
            self.send_error(404)
            return
        header = self.headers.get("Range")
        self.server.ranges.append(header)
        start = 0
        if header:
            match = re.fullmatch(r"bytes=(\d+)-", header)
            start = int(match.group(1)) if match else 0
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


class FileServer(ThreadingHTTPServer):
    files: dict[str, bytes]
    ranges: list[str | None]


@pytest.fixture
def server() -> Iterator[FileServer]:
    srv = FileServer(("127.0.0.1", 0), RangeHandler)
    srv.files, srv.ranges = {}, []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def _base(srv: FileServer) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


@pytest.fixture
def tiny_source(monkeypatch: pytest.MonkeyPatch, server: FileServer) -> dict[str, bytes]:
    """A two-file dataset "tiny" whose published checksums are those of the served bytes."""
    payloads = {"a.bin": bytes(range(256)) * 40, "b.bin": b"second file" * 100}
    server.files.update(payloads)
    files = (
        SourceFile("a.bin", "https://example.invalid/a.bin", hashlib.md5(payloads["a.bin"]).hexdigest()),
        SourceFile(
            "b.bin",
            "https://example.invalid/b.bin",
            hashlib.sha256(payloads["b.bin"]).hexdigest(),
            algorithm="sha256",
        ),
    )
    monkeypatch.setitem(sources.SOURCES, "tiny", DatasetSource("tiny", "https://example.invalid", files))
    return payloads


def test_fetch_downloads_and_verifies(tmp_path: Path, server: FileServer, tiny_source: dict[str, bytes]) -> None:
    seen: list[tuple[str, int, int | None]] = []
    paths = fetch.fetch("tiny", tmp_path, base_url=_base(server), progress=lambda *a: seen.append(a))
    assert paths == [tmp_path / "tiny" / "a.bin", tmp_path / "tiny" / "b.bin"]
    for p in paths:
        assert p.read_bytes() == tiny_source[p.name]
        assert not p.with_name(p.name + ".part").exists()
    assert seen[-1] == ("b.bin", len(tiny_source["b.bin"]), len(tiny_source["b.bin"]))
    # a second fetch finds verified files and downloads nothing
    requests = len(server.ranges)
    fetch.fetch("tiny", tmp_path, base_url=_base(server))
    assert len(server.ranges) == requests


def test_fetch_resumes_a_truncated_part_file(tmp_path: Path, server: FileServer, tiny_source: dict[str, bytes]) -> None:
    part = tmp_path / "tiny" / "a.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(tiny_source["a.bin"][:1000])
    fetch.fetch("tiny", tmp_path, base_url=_base(server))
    assert (tmp_path / "tiny" / "a.bin").read_bytes() == tiny_source["a.bin"]
    assert server.ranges[0] == "bytes=1000-"


def test_fetch_completes_when_part_already_has_everything(
    tmp_path: Path, server: FileServer, tiny_source: dict[str, bytes]
) -> None:
    part = tmp_path / "tiny" / "a.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(tiny_source["a.bin"])  # server answers 416
    fetch.fetch("tiny", tmp_path, base_url=_base(server))
    assert (tmp_path / "tiny" / "a.bin").read_bytes() == tiny_source["a.bin"]


def test_corrupted_download_is_rejected_and_removed(
    tmp_path: Path, server: FileServer, tiny_source: dict[str, bytes]
) -> None:
    server.files["a.bin"] = b"X" + tiny_source["a.bin"][1:]
    with pytest.raises(fetch.ChecksumMismatch) as info:
        fetch.fetch("tiny", tmp_path, base_url=_base(server))
    message = str(info.value)
    expected = hashlib.md5(tiny_source["a.bin"]).hexdigest()
    got = hashlib.md5(server.files["a.bin"]).hexdigest()
    assert "a.bin" in message and expected in message and got in message and "again" in message
    assert not (tmp_path / "tiny" / "a.bin").exists()
    assert not (tmp_path / "tiny" / "a.bin.part").exists()


def test_corrupt_file_in_place_is_replaced(tmp_path: Path, server: FileServer, tiny_source: dict[str, bytes]) -> None:
    dest = tmp_path / "tiny" / "a.bin"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"stale")
    fetch.fetch("tiny", tmp_path, base_url=_base(server))
    assert dest.read_bytes() == tiny_source["a.bin"]


def test_http_errors_and_bad_urls(tmp_path: Path, server: FileServer, tiny_source: dict[str, bytes]) -> None:
    del server.files["b.bin"]
    with pytest.raises(fetch.FetchError, match="HTTP 404"):
        fetch.fetch("tiny", tmp_path, base_url=_base(server))
    with pytest.raises(fetch.FetchError, match="http"):
        fetch.fetch("tiny", tmp_path, base_url="file:///etc")
    with pytest.raises(KeyError, match="known"):
        fetch.fetch("nope", tmp_path)


def test_every_official_source_is_well_formed() -> None:
    for name, ds in sources.SOURCES.items():
        assert ds.name == name and ds.files
        for f in ds.files:
            assert f.url.startswith(("http://", "https://")) and f.url.endswith(f.filename)
            assert "python" not in f.url  # CIFAR: binary versions only, never the pickles
            assert len(f.checksum) == {"md5": 32, "sha256": 64}[f.algorithm]
            assert int(f.checksum, 16) >= 0
