"""The weights store: safetensors files under one URL, through fsspec.

``ARCHARENA_WEIGHTS_URL`` names it: a local folder (the default, ``<data dir>/weights``), or ``s3://bucket/prefix``
(MinIO in docker-compose; ``ARCHARENA_WEIGHTS_S3_ENDPOINT`` for a server other than AWS, credentials from the
usual ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``). Files are addressed by a key relative to the URL
(``runs/<run id>.safetensors``): the database stores the key, never a path, and no message names either.

Workers write (``put``); the web app streams (``chunks``) and downstream runs read (``get``). A file is
bounded (``MAX_BYTES``) both ways; a local write lands under a temporary name and is renamed into place, so a
reader never sees half a file (an S3 PUT is whole by itself)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from app.core.config import Settings

MAX_BYTES = 256 * 2**20  # the zoo's largest models under every benchmark's limits are far below this
CHUNK_BYTES = 2**20


class WeightsMissing(LookupError):
    """No weights under that key (never stored, or removed); the message names no path."""


class WeightsTooLarge(ValueError):
    pass


def run_key(run_id: int) -> str:
    return f"runs/{int(run_id)}.safetensors"


class WeightStore:
    def __init__(self, url: str, *, endpoint_url: str | None = None) -> None:
        options: dict[str, Any] = {}
        if url.startswith("s3://") and endpoint_url:
            options["client_kwargs"] = {"endpoint_url": endpoint_url}
        self.fs, root = fsspec.url_to_fs(url, **options)
        self._root = root.rstrip("/")
        self._local = isinstance(self.fs, LocalFileSystem)

    def _path(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError("a weights key is a relative name inside the store")
        return f"{self._root}/{key}"

    def put(self, key: str, data: bytes) -> None:
        if len(data) > MAX_BYTES:
            raise WeightsTooLarge(f"weights of {len(data)} bytes exceed the store's limit of {MAX_BYTES} bytes")
        path = self._path(key)
        if not self._local:
            self.fs.pipe_file(path, data)
            return
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        draft = f"{path}.{secrets.token_hex(4)}.part"
        self.fs.pipe_file(draft, data)
        self.fs.mv(draft, path)

    def size(self, key: str) -> int:
        """The file's size in bytes; ``WeightsMissing`` when there is none."""
        try:
            info = self.fs.info(self._path(key))
        except FileNotFoundError:
            raise WeightsMissing("no stored weights") from None
        return int(info["size"])

    def get(self, key: str) -> bytes:
        size = self.size(key)
        if size > MAX_BYTES:
            raise WeightsTooLarge("stored weights exceed the store's limit")
        try:
            data: bytes = self.fs.cat_file(self._path(key))
        except FileNotFoundError:
            raise WeightsMissing("no stored weights") from None
        return data

    def chunks(self, key: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The file in chunks of at most ``chunk_bytes`` (a download streams; no whole file in memory)."""
        with self.fs.open(self._path(key), "rb") as handle:
            while block := handle.read(chunk_bytes):
                yield block


def store_for(settings: Settings) -> WeightStore:
    return WeightStore(settings.weights_url, endpoint_url=settings.weights_s3_endpoint)
