"""The PNG encoder round-trips pixels; every built-in benchmark has a deterministic sample grid."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from app.benchmarks import samples
from app.benchmarks.png import encode_png, png_size
from app.benchmarks.registry import get_benchmark
from tests.benchmarks.conftest import require_fashion_mnist_package


def _decode(data: bytes) -> np.ndarray:
    """Pixels of a PNG written by ``encode_png`` (8-bit, one IDAT chunk, filter 0 on every row)."""
    width, height = png_size(data)
    pos, idat, colour = 8, b"", 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            assert body[8] == 8  # bit depth
            colour = body[9]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = {0: 1, 2: 3}[colour]
    rows = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + width * channels)
    assert (rows[:, 0] == 0).all()
    return (
        rows[:, 1:].reshape(height, width, channels).squeeze(-1)
        if channels == 1
        else rows[:, 1:].reshape(height, width, 3)
    )


@pytest.mark.parametrize("shape", [(5, 7), (4, 3, 3)])
def test_png_round_trip(shape: tuple[int, ...]) -> None:
    img = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    data = encode_png(img)
    assert png_size(data) == (shape[1], shape[0])
    np.testing.assert_array_equal(_decode(data), img)


def test_png_rejects_what_it_cannot_encode() -> None:
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        encode_png(np.zeros((2, 2, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="PNG"):
        png_size(b"GIF89a" + b"\x00" * 30)


@pytest.mark.parametrize("slug", ["digits", "pathfinder", "shapes", "fashion_mnist"])
def test_sample_grid_per_class(slug: str) -> None:
    if slug == "fashion_mnist":
        require_fashion_mnist_package()
    bench = get_benchmark(slug)
    grid = samples.sample_grid(slug, per_class=3)
    assert grid.png[:8] == b"\x89PNG\r\n\x1a\n" and png_size(grid.png) == (grid.width, grid.height)
    assert grid.row_labels == bench.class_names and grid.per_class == 3 and len(grid.groups) == 2
    pixels = _decode(grid.png)
    cell = pixels.shape[0] - (len(grid.row_labels) - 1) * samples.GAP
    assert cell % len(grid.row_labels) == 0  # rows of equal height, one per class
    assert pixels.ndim == (3 if bench.input_shape[0] == 3 else 2)
    samples._grid_cached.cache_clear()
    assert samples.sample_png(slug, per_class=3) == grid.png  # deterministic, not just cached
    assert pixels.std() > 10  # images, not a blank canvas


def test_sample_grid_rejects_other_benchmarks() -> None:
    with pytest.raises(KeyError, match="digits"):
        samples.sample_grid("cifar10")
    with pytest.raises(ValueError):
        samples.sample_grid("digits", per_class=0)
