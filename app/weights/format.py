"""The safetensors header, read without torch: the web app reads a stored file's metadata, never its tensors.

A safetensors file is an 8-byte little-endian header length, a JSON header (each tensor's dtype, shape and
offsets, and ``__metadata__``: string to string) and the raw tensor bytes."""

from __future__ import annotations

import json
import struct

FORMAT = "archarena-weights-v1"
MAX_HEADER_BYTES = 16 * 2**20


class NotSafetensors(ValueError):
    pass


def header(data: bytes) -> dict[str, object]:
    if len(data) < 8:
        raise NotSafetensors("too short for a safetensors file")
    (length,) = struct.unpack("<Q", data[:8])
    if length > MAX_HEADER_BYTES or 8 + length > len(data):
        raise NotSafetensors("the header length does not fit the file")
    try:
        parsed = json.loads(data[8 : 8 + length])
    except ValueError:
        raise NotSafetensors("the header is not JSON") from None
    if not isinstance(parsed, dict):
        raise NotSafetensors("the header is not a JSON object")
    return parsed


def metadata(data: bytes) -> dict[str, str]:
    """The file's ``__metadata__`` (empty when it has none)."""
    meta = header(data).get("__metadata__") or {}
    return {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}


def tensor_names(data: bytes) -> list[str]:
    return sorted(k for k in header(data) if k != "__metadata__")
