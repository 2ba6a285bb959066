"""``archarena data import NAME [--from DIR]``: register a dataset's official files, found on this machine, in
the data directory, after verifying them.

Only Fashion-MNIST can be imported (its files come from Debian's ``dataset-fashion-mnist``). Each file is read
(gz or not), checked for format, count and the SHA-256 of its decompressed content, and written to
``DATA_DIR/fashion_mnist/`` under its official name, atomically (``.part`` then rename), keeping the source's
compression. A file left there under the other compression is removed, so exactly one copy is found later.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.benchmarks import fashion_mnist
from app.benchmarks.errors import DataUnavailable

IMPORTABLE = ("fashion_mnist",)


@dataclass(frozen=True)
class ImportedFile:
    name: str  # official name, without .gz
    path: Path  # where it now lives in the data directory
    count: int  # images or labels in it
    sha256: str  # of the decompressed content (the pinned one)


@dataclass(frozen=True)
class ImportResult:
    dataset: str
    source: Path
    files: tuple[ImportedFile, ...]


def _write_atomically(dest: Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    part.write_bytes(data)
    os.replace(part, dest)


def import_dataset(name: str, data_dir: Path, source: Path | None = None) -> ImportResult:
    """Verify the official files of ``name`` in ``source`` (default: the system package's directory) and copy
    them into ``data_dir``. Raises ``KeyError`` for a dataset that cannot be imported, ``DataUnavailable``
    when files are missing and ``DataCorrupt`` when one is not the official data; their ``operator_hint``
    says exactly what to install or run. Nothing is written unless all files verify."""
    if name not in IMPORTABLE:
        raise KeyError(
            f"{name!r} cannot be imported; importable: {', '.join(IMPORTABLE)} "
            "(the standard sets are downloaded with `archarena data fetch NAME`)"
        )
    src = Path(source) if source is not None else fashion_mnist.DEBIAN_DIR
    if not src.is_dir():
        hint = (
            f"install the package: `{fashion_mnist.INSTALL_HINT}` (or `make setup`)"
            if source is None
            else "give --from a directory holding the four official IDX files"
        )
        raise DataUnavailable(fashion_mnist.PUBLIC_MISSING, f"{src} is not a directory; {hint}.")
    fashion_mnist.read_directory(src)  # verifies all four before anything is written
    dest_dir = Path(data_dir) / fashion_mnist.DATASET
    files = []
    for spec in fashion_mnist.OFFICIAL_FILES:
        path = fashion_mnist.file_in(src, spec.name)
        assert path is not None  # read_directory checked
        dest = dest_dir / path.name
        _write_atomically(dest, path.read_bytes())
        other = dest_dir / (spec.name if path.suffix == ".gz" else f"{spec.name}.gz")
        other.unlink(missing_ok=True)
        files.append(ImportedFile(spec.name, dest, spec.count, spec.sha256))
    fashion_mnist.read_directory(dest_dir)  # the copies, as `load` will read them
    return ImportResult(name, src, tuple(files))
