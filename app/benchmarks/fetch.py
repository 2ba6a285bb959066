"""Download the official files of a standard set into a data directory, resumably, and verify their checksums.

``fetch("cifar10", data_dir)`` downloads ``sources.SOURCES`` entries into ``data_dir/<dataset>/<file>``. A
partial download lives in ``<file>.part`` and is resumed with an HTTP ``Range`` request; a finished download
is moved into place only after its checksum matches. A file already in place is verified, and kept when it
matches.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from app.benchmarks.sources import SOURCES, SourceFile, datasets_for

Progress = Callable[[str, int, int | None], None]  # (file name, bytes so far, total bytes or None)

CHUNK = 1 << 20
TIMEOUT_S = 60.0


class FetchError(RuntimeError):
    """A download failed (network, HTTP status, bad URL)."""


class ChecksumMismatch(FetchError):
    """A downloaded file does not match its published checksum; the file has been removed."""

    def __init__(self, path: Path, algorithm: str, expected: str, got: str, url: str) -> None:
        self.path, self.algorithm, self.expected, self.got, self.url = path, algorithm, expected, got, url
        super().__init__(
            f"{path.name}: {algorithm} checksum mismatch (expected {expected}, got {got}) for {url}. "
            "The corrupted file was removed. Run the fetch again; if it fails again, the server (or mirror "
            "given with base_url) serves a different file than the official one: use the official URL or "
            "another mirror."
        )


def file_digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _url_for(source: SourceFile, base_url: str | None) -> str:
    url = source.url if base_url is None else f"{base_url.rstrip('/')}/{source.filename}"
    if not url.startswith(("http://", "https://")):
        raise FetchError(f"{source.filename}: only http(s) URLs are fetched, got {url!r}")
    return url


def _download(url: str, part: Path, name: str, size_hint: int | None, progress: Progress | None) -> None:
    """Append to ``part`` from where it stops (Range request); restart if the server ignores Range."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "archarena-fetch"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to send: the .part is complete (the checksum decides)
            return
        raise FetchError(f"{name}: HTTP {exc.code} {exc.reason} from {url}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(f"{name}: cannot reach {url} ({exc})") from exc
    with response:
        if offset and response.status != 206:
            offset = 0  # the server ignored Range and sends the whole file
        elif offset and not response.headers.get("Content-Range", "").startswith(f"bytes {offset}-"):
            part.unlink(missing_ok=True)
            raise FetchError(f"{name}: server resumed at the wrong offset; the partial file was removed, run again")
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else size_hint
        done = offset
        with part.open("ab" if offset else "wb") as out:
            try:
                while block := response.read(CHUNK):
                    out.write(block)
                    done += len(block)
                    if progress is not None:
                        progress(name, done, total)
            except OSError as exc:  # connection dropped: keep the .part for the next try
                raise FetchError(f"{name}: download interrupted at {done} bytes ({exc}); run again to resume") from exc
    if total is not None and done < total:
        raise FetchError(f"{name}: download ended at {done} of {total} bytes; run again to resume")


def fetch_file(
    source: SourceFile, dest: Path, *, base_url: str | None = None, progress: Progress | None = None
) -> Path:
    """One verified file at ``dest``; see the module docstring."""
    if dest.is_file() and file_digest(dest, source.algorithm) == source.checksum:
        if progress is not None:
            size = dest.stat().st_size
            progress(source.filename, size, size)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    url = _url_for(source, base_url)
    _download(url, part, source.filename, source.size, progress)
    got = file_digest(part, source.algorithm)
    if got != source.checksum:
        part.unlink(missing_ok=True)
        raise ChecksumMismatch(dest, source.algorithm, source.checksum, got, url)
    os.replace(part, dest)
    return dest


def fetch(
    name: str,
    data_dir: Path,
    *,
    base_url: str | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Download and verify every file of ``name`` (a benchmark slug such as ``"cifar10"``, which includes its
    second test set, or a dataset name such as ``"cifar10_1"``). Returns the verified paths.

    ``base_url`` replaces the host and path of every official URL (``BASE/<file name>``): tests point it at a
    local server, users at a mirror.
    """
    paths: list[Path] = []
    for dataset in datasets_for(name):
        for source in SOURCES[dataset].files:
            dest = Path(data_dir) / dataset / source.filename
            paths.append(fetch_file(source, dest, base_url=base_url, progress=progress))
    return paths
