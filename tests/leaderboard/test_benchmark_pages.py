"""Benchmark pages show their data (a sample grid per class), the published reference rows beside the board, and
say plainly when a standard set is not installed on this server."""

from __future__ import annotations

import struct

from fastapi.testclient import TestClient

from app.benchmarks.references import FASHION_MNIST_REFERENCES


def test_every_builtin_benchmark_shows_a_sample_grid(client: TestClient) -> None:
    for slug in ("digits", "pathfinder", "shapes", "fashion_mnist"):
        page = client.get(f"/benchmarks/{slug}").text
        assert f'src="/benchmarks/{slug}/samples.png"' in page, slug
        png = client.get(f"/benchmarks/{slug}/samples.png")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png.content[16:24])
        assert f'width="{width}" height="{height}"' in page


def test_fashion_mnist_shows_its_published_numbers_with_sources(client: TestClient) -> None:
    page = client.get("/benchmarks/fashion_mnist").text
    assert "Published results" in page and "not trained here" in page
    for row in FASHION_MNIST_REFERENCES:
        assert row.source_url in page and row.budget.split(",")[0] in page


def test_a_standard_set_without_its_files_says_so(client: TestClient) -> None:
    page = client.get("/benchmarks/cifar10").text
    assert 'id="not-installed"' in page and "not installed on this server" in page
    assert "/root" not in page and "/usr/share" not in page  # no server paths in public messages
    assert client.get("/benchmarks/cifar10/samples.png").status_code == 404
    api = {b["slug"]: b for b in client.get("/api/v1/benchmarks").json()}
    assert api["cifar10"]["installed"] is False and "not installed on this server" in api["cifar10"]["availability"]
    assert api["digits"]["installed"] is True and api["digits"]["n_test"] + api["digits"]["n_test_private"] == 447
