"""Fashion-MNIST from the system package, imported once per test session the way a user imports it.

Where Debian's dataset-fashion-mnist is not installed the tests that need it skip, saying how to install it;
ARCHARENA_REQUIRE_SERVICES=1 (set by .ci/run, whose `make setup` installs the package) turns the skip into a
failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.benchmarks import fashion_mnist
from app.benchmarks.importer import ImportResult, import_dataset


def require_fashion_mnist_package() -> None:
    missing = fashion_mnist.missing_in(fashion_mnist.DEBIAN_DIR)
    if missing:
        message = (
            f"Debian's {fashion_mnist.DEBIAN_PACKAGE} is not installed ({', '.join(missing)} missing in "
            f"{fashion_mnist.DEBIAN_DIR}); install it with `make setup` or `{fashion_mnist.INSTALL_HINT}`"
        )
        if os.environ.get("ARCHARENA_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def fmnist_import(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ImportResult]:
    """(data directory, result) of ``archarena data import fashion_mnist``'s code path from the package."""
    require_fashion_mnist_package()
    data_dir = tmp_path_factory.mktemp("data")
    return data_dir, import_dataset("fashion_mnist", data_dir)
