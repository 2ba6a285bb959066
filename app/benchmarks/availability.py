"""Is a benchmark's data present on this machine? One answer for the pages and the API, one for the operator.

``data_status`` is cheap: it looks for the files and never reads them (``Benchmark.load`` verifies the
checksums when training starts; ``archarena data import`` / ``fetch`` verify them when they are put there).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.benchmarks import fashion_mnist
from app.benchmarks.registry import Benchmark
from app.benchmarks.sources import SOURCES, datasets_for
from app.benchmarks.standard import dataset_path, resolve_data_dir

NOT_INSTALLED = "not installed on this server"


@dataclass(frozen=True)
class DataStatus:
    installed: bool
    public_message: str  # for pages and the API: never a path on this server
    operator_hint: str  # for the CLI and logs: where it looked and the exact command to run


def _standard_status(benchmark: Benchmark, data_dir: Path) -> DataStatus:
    missing = [
        dataset_path(data_dir, ds, f.filename)
        for ds in datasets_for(benchmark.slug)
        for f in SOURCES[ds].files
        if not dataset_path(data_dir, ds, f.filename).is_file()
    ]
    if not missing:
        return DataStatus(True, f"{benchmark.title}: installed.", f"{benchmark.slug}: files present in {data_dir}")
    return DataStatus(
        False,
        f"{benchmark.title} is {NOT_INSTALLED}. An operator installs it with "
        f"`archarena data fetch {benchmark.slug}`, which downloads the official files and checks their checksums.",
        f"{benchmark.slug}: missing {', '.join(str(p) for p in missing)}; run `archarena data fetch {benchmark.slug}` "
        f"(add --base-url URL for a mirror); data directory: {data_dir} (ARCHARENA_DATA_DIR)",
    )


def data_status(benchmark: Benchmark, data_dir: Path | None = None) -> DataStatus:
    """Whether ``benchmark`` can be trained here, and what to tell the public and the operator if not.

    Generated benchmarks are always installed; Fashion-MNIST is when its four files sit in the data
    directory's ``fashion_mnist/`` folder or in the Debian package's directory; standard sets when every file
    ``archarena data fetch`` downloads is in the data directory.
    """
    root = resolve_data_dir(data_dir)
    if benchmark.data == "generated":
        return DataStatus(True, f"{benchmark.title}: built in.", f"{benchmark.slug}: generated in process")
    if benchmark.slug == fashion_mnist.DATASET:
        found = fashion_mnist.installed_dir(root)
        if found is not None:
            return DataStatus(True, f"{benchmark.title}: installed.", f"{benchmark.slug}: files in {found}")
        error = fashion_mnist.not_installed(root)
        return DataStatus(False, error.public_message, error.operator_hint)
    return _standard_status(benchmark, root)
