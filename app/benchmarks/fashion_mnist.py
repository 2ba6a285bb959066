"""``fashion_mnist``: Zalando's Fashion-MNIST (Xiao, Rasul and Vollgraf 2017), 28×28 grey images of clothing in
10 classes, read offline from the official IDX files.

Where the files come from. Debian ships them as the package ``dataset-fashion-mnist`` (``make setup`` installs
it), at ``/usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``. Its gz files are
recompressed, so their md5s differ from the ones Zalando publishes for its gz files; the *decompressed* IDX
bytes are the official data, and that is what is verified here: SHA-256 of the decompressed content of each
file, computed once from package version 0.0~git20200523.55506a9-1 and pinned below. Cross-check: the md5s of
the same decompressed bytes (f4a8712d…, 9018921c…, 8181f547…, 15d48437…) are the "raw" md5s that public loaders
list next to Zalando's published gz md5s (8d4fb7e6…, 25c81989…, bef4ecab…, bb300cfd…), i.e. what the official
gz files decompress to. ``archarena data fetch fashion_mnist`` (mirrors, gz md5s checked by ``fetch``) and
``archarena data import fashion_mnist`` both leave the files in ``DATA_DIR/fashion_mnist/``; ``load`` reads them
from there, or else straight from the package's directory, and verifies the checksums every time.

Splits (``fashion_mnist-v2``): val = 5,000 images of the official 60,000 training images (stratified, fixed
seed), train = the other 55,000; the official 10,000 test images are cut into a public half (5,000,
``Splits.test``) and a private half (5,000, ``Splits.test_private``), both stratified with a fixed seed. The
second test set ("rotated, shifted, noisy clothes", 5,000 images) is the public test half with each image
rotated by a uniform angle in ±15°, shifted by a uniform offset in ±2 pixels (bilinear, black fill), given
Gaussian noise of σ = 0.1 on the [0, 1] scale and rounded back to 8 bits; every draw comes from a fixed seed. It
measures robustness to small geometric and photometric changes, and it is built from the public half only, so
no near-copy of a private image is ever scored per entry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from app.benchmarks import readers
from app.benchmarks.errors import DataCorrupt, DataUnavailable
from app.benchmarks.splits import Splits, make_splits, public_private, stratified_split
from app.benchmarks.standard import resolve_data_dir

DATASET = "fashion_mnist"  # folder under the data directory, shared with `archarena data fetch fashion_mnist`
DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_VERSION = "0.0~git20200523.55506a9-1"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
SIZE = 28
VAL_SIZE = 5000
VAL_SEED = 20240703
PERTURB_SEED = 20250615
MAX_ROTATION_DEG = 15.0
MAX_SHIFT = 2.0
NOISE_SIGMA = 0.1

INSTALL_HINT = f"sudo apt-get install {DEBIAN_PACKAGE}"
PUBLIC_MISSING = (
    "Fashion-MNIST is not installed on this server. An operator installs it from the Debian package "
    f"{DEBIAN_PACKAGE} (`make setup` does) and then runs `archarena data import fashion_mnist`."
)


@dataclass(frozen=True)
class OfficialFile:
    """One of the four official files: its name (without ``.gz``), what it holds, and the SHA-256 of its
    decompressed content."""

    name: str
    kind: Literal["images", "labels"]
    count: int
    sha256: str


OFFICIAL_FILES: tuple[OfficialFile, ...] = (
    OfficialFile(
        "train-images-idx3-ubyte", "images", 60_000, "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
    ),
    OfficialFile(
        "train-labels-idx1-ubyte", "labels", 60_000, "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
    ),
    OfficialFile(
        "t10k-images-idx3-ubyte", "images", 10_000, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
    ),
    OfficialFile(
        "t10k-labels-idx1-ubyte", "labels", 10_000, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
    ),
)


def file_in(directory: Path, name: str) -> Path | None:
    """``directory/name.gz`` or ``directory/name`` (the compressed one first), or None."""
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.is_file():
            return candidate
    return None


def missing_in(directory: Path, files: tuple[OfficialFile, ...] = OFFICIAL_FILES) -> list[str]:
    return [f.name for f in files if file_in(directory, f.name) is None]


def _corrupt(path: Path, name: str, problem: str) -> DataCorrupt:
    return DataCorrupt(
        f"The Fashion-MNIST file {name} on this server is not the official data ({problem}); an operator must "
        "reinstall it.",
        f"{path}: {problem}; this is not the official Fashion-MNIST {name}. Reinstall the package with "
        f"`sudo apt-get install --reinstall {DEBIAN_PACKAGE}`, then run `archarena data import fashion_mnist` "
        "(or `archarena data import fashion_mnist --from DIR` for a directory holding the official files).",
    )


def _check_shape(array: np.ndarray, spec: OfficialFile) -> str | None:
    """What is wrong with a parsed file's type, shape or count, or None."""
    if spec.kind == "images" and (array.dtype != np.uint8 or array.ndim != 3 or array.shape[1:] != (SIZE, SIZE)):
        return f"expected uint8 images N×{SIZE}×{SIZE}, found {array.dtype} {array.shape}"
    if spec.kind == "labels" and (array.dtype != np.uint8 or array.ndim != 1 or (len(array) and array.max() > 9)):
        return f"expected uint8 labels 0..9 in one dimension, found {array.dtype} {array.shape}"
    if len(array) != spec.count:
        return f"holds {len(array):,} {spec.kind}, the official file holds {spec.count:,}"
    return None


def read_official(path: Path, spec: OfficialFile) -> np.ndarray:
    """Read one official file (gz or not) and verify it: IDX format, type and shape, count, then the SHA-256 of
    the decompressed bytes. Raises ``DataCorrupt`` saying which check failed."""
    try:
        raw = readers.read_raw(path)
        array = readers.parse_idx(raw, path.name)
    except ValueError as exc:
        reason = str(exc).removeprefix(f"{path}: ").removeprefix(f"{path.name}: ")
        raise _corrupt(path, spec.name, reason) from exc
    problem = _check_shape(array, spec)
    if problem is not None:
        raise _corrupt(path, spec.name, problem)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != spec.sha256:
        raise _corrupt(path, spec.name, f"SHA-256 of the decompressed content is {digest}, expected {spec.sha256}")
    return array


def search_dirs(data_dir: Path | None) -> list[Path]:
    """Where ``load`` looks, in order: the data directory's ``fashion_mnist/`` folder, then the package's."""
    return [resolve_data_dir(data_dir) / DATASET, DEBIAN_DIR]


def installed_dir(data_dir: Path | None) -> Path | None:
    """The first of ``search_dirs`` holding all four files (not yet verified), or None."""
    return next((d for d in search_dirs(data_dir) if not missing_in(d)), None)


def not_installed(data_dir: Path | None) -> DataUnavailable:
    dirs = " or ".join(str(d) for d in search_dirs(data_dir))
    names = ", ".join(f.name for f in OFFICIAL_FILES)
    return DataUnavailable(
        PUBLIC_MISSING,
        f"Fashion-MNIST: neither {dirs} holds the four official IDX files ({names}; each .gz or uncompressed). "
        f"Install them with `{INSTALL_HINT}` (or `make setup`), then run `archarena data import fashion_mnist`; "
        "or register a directory holding them with `archarena data import fashion_mnist --from DIR`; or download "
        "them from a mirror with `archarena data fetch fashion_mnist --base-url URL`.",
    )


def read_directory(directory: Path) -> dict[str, np.ndarray]:
    """The four verified arrays of a directory, by official name (``DataUnavailable`` if any is missing)."""
    missing = missing_in(directory)
    if missing:
        raise DataUnavailable(
            PUBLIC_MISSING,
            f"{directory}: missing {', '.join(missing)} (each may be .gz or uncompressed). Install the official "
            f"files with `{INSTALL_HINT}` or point --from at a directory holding all four.",
        )
    out = {}
    for spec in OFFICIAL_FILES:
        path = file_in(directory, spec.name)
        assert path is not None  # checked above
        out[spec.name] = read_official(path, spec)
    return out


def raw_arrays(data_dir: Path | None) -> dict[str, np.ndarray]:
    """The verified official arrays from the first installed location; ``DataUnavailable`` if there is none."""
    directory = installed_dir(data_dir)
    if directory is None:
        raise not_installed(data_dir)
    return read_directory(directory)


def split_indices(y_train: np.ndarray, y_test: np.ndarray) -> tuple[np.ndarray, ...]:
    """(train, val) indices into the official training set and (public, private) into the official test set;
    fixed for the life of ``fashion_mnist-v2``."""
    val, train = stratified_split(y_train, (VAL_SIZE, -1), VAL_SEED)
    public, private = public_private(y_test)
    return train, val, public, private


def bilinear_affine(x: np.ndarray, angle: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Rotate each N×H×W float image by ``angle`` (radians, about the centre) and shift it by ``shift`` (N×2,
    (dy, dx) pixels), sampling bilinearly with zeros outside."""
    n, h, w = x.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    # Output pixel p reads the input at R(-angle)·(p - c - shift) + c.
    dy = yy[None] - cy - shift[:, 0, None, None]
    dx = xx[None] - cx - shift[:, 1, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    src_y = cos * dy - sin * dx + cy
    src_x = sin * dy + cos * dx + cx
    y0, x0 = np.floor(src_y).astype(np.int64), np.floor(src_x).astype(np.int64)
    wy, wx = src_y - y0, src_x - x0
    flat = x.reshape(n, h * w)
    rows = np.arange(n)[:, None, None]
    out = np.zeros((n, h, w), dtype=np.float64)
    for oy, ox, weight in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx), (1, 0, wy * (1 - wx)), (1, 1, wy * wx)):
        py, px = y0 + oy, x0 + ox
        inside = (py >= 0) & (py < h) & (px >= 0) & (px < w)
        idx = np.clip(py, 0, h - 1) * w + np.clip(px, 0, w - 1)
        out += np.where(inside, flat[rows, idx], 0.0) * weight
    return out


def perturb(x: np.ndarray, seed: int = PERTURB_SEED) -> np.ndarray:
    """The documented second-test-set perturbation of uint8 N×1×28×28 images (returns uint8 of the same
    shape)."""
    rng = np.random.default_rng(seed)
    n = len(x)
    angle = np.deg2rad(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG, size=n))
    shift = rng.uniform(-MAX_SHIFT, MAX_SHIFT, size=(n, 2))
    noise = rng.normal(0.0, NOISE_SIGMA, size=(n, x.shape[2], x.shape[3]))
    out = np.empty_like(x)
    for a in range(0, n, 1000):  # chunks keep the float64 temporaries small
        b = min(n, a + 1000)
        moved = bilinear_affine(x[a:b, 0].astype(np.float64) / 255.0, angle[a:b], shift[a:b])
        out[a:b, 0] = np.rint(np.clip(moved + noise[a:b], 0.0, 1.0) * 255.0)
    return out


def load(data_dir: Path | None = None) -> Splits:
    arrays = raw_arrays(data_dir)
    x_train, y_train = arrays["train-images-idx3-ubyte"][:, None], arrays["train-labels-idx1-ubyte"].astype(np.int64)
    x_test, y_test = arrays["t10k-images-idx3-ubyte"][:, None], arrays["t10k-labels-idx1-ubyte"].astype(np.int64)
    train, val, public, private = split_indices(y_train, y_test)
    return make_splits(
        (x_train[train], y_train[train]),
        (x_train[val], y_train[val]),
        (x_test[public], y_test[public]),
        (perturb(x_test[public]), y_test[public]),
        test_private=(x_test[private], y_test[private]),
        scale=1.0 / 255.0,
    )
