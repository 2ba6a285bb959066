"""numpy-only readers for the official dataset files. Nothing is unpickled and nothing is extracted to disk.

Every reader validates what it reads (magic numbers, shapes, lengths) and raises ``ValueError`` naming the
file when it does not look like the official format.
"""

from __future__ import annotations

import gzip
import tarfile
import zlib
from pathlib import Path

import numpy as np

# IDX type codes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT"); data are big-endian.
_IDX_TYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

CIFAR_IMAGE_BYTES = 3 * 32 * 32


def read_raw(path: Path) -> bytes:
    """A file's bytes, gunzipped when its name ends in ``.gz``; ValueError naming the file if that fails."""
    try:
        return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path}: not a readable gzip file ({exc})") from exc


def parse_idx(raw: bytes, where: object) -> np.ndarray:
    """Decompressed IDX bytes as an array of their declared type and shape; errors name ``where``."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{where}: bad IDX magic number {raw[:4].hex() or '(empty)'}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"{where}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{where}: IDX shape {shape} needs {expected} data bytes, file has {len(raw) - header}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip-compressed if it ends in ``.gz``) as an array of its declared type and shape."""
    return parse_idx(read_raw(path), path)


def read_idx_images(path: Path, size: int = 28) -> np.ndarray:
    """uint8 N×1×size×size images from an IDX3 file."""
    x = read_idx(path)
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (size, size):
        raise ValueError(f"{path}: expected uint8 images N×{size}×{size}, got {x.dtype} {x.shape}")
    return x[:, None]


def read_idx_labels(path: Path, num_classes: int = 10) -> np.ndarray:
    """int64 labels from an IDX1 file, or the first column (the class) of QMNIST's IDX2 int label file."""
    y = read_idx(path)
    if y.ndim == 2:  # QMNIST: one row of 8 ints per image, column 0 = class
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{path}: expected 1-D labels (or QMNIST's N×8), got shape {y.shape}")
    y = y.astype(np.int64)
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"{path}: labels outside 0..{num_classes - 1}")
    return y


def read_cifar_binary(
    tar_path: Path, members: list[str], *, label_bytes: int, label_index: int, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """uint8 N×3×32×32 images and int64 labels from members of a CIFAR *binary* ``.tar.gz``.

    Each record is ``label_bytes`` label bytes (CIFAR-10: 1; CIFAR-100: coarse, fine) then 3,072 pixel bytes
    (1,024 red, 1,024 green, 1,024 blue, row-major). Members are read in memory, never extracted.
    """
    record = label_bytes + CIFAR_IMAGE_BYTES
    chunks: list[bytes] = []
    try:
        with tarfile.open(tar_path, "r:gz") as tar:
            for name in members:
                try:
                    info = tar.getmember(name)
                except KeyError:
                    raise ValueError(f"{tar_path}: archive has no member {name!r}") from None
                fh = tar.extractfile(info) if info.isfile() else None
                if fh is None:
                    raise ValueError(f"{tar_path}: member {name!r} is not a regular file")
                data = fh.read()
                if not data or len(data) % record:
                    raise ValueError(f"{tar_path}: member {name!r} is not a whole number of {record}-byte records")
                chunks.append(data)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{tar_path}: not a readable CIFAR binary archive ({exc})") from exc
    rows = np.frombuffer(b"".join(chunks), dtype=np.uint8).reshape(-1, record)
    y = rows[:, label_index].astype(np.int64)
    if y.max() >= num_classes:
        raise ValueError(f"{tar_path}: labels outside 0..{num_classes - 1}")
    x = rows[:, label_bytes:].reshape(-1, 3, 32, 32).copy()
    return x, y


def read_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """uint8 N×3×32×32 images and int64 labels 0..9 from SVHN format 2 (``X``: 32×32×3×N, ``y``: N×1 with
    10 meaning the digit 0)."""
    import scipy.io  # only SVHN needs it

    try:
        mat = scipy.io.loadmat(path, variable_names=["X", "y"])
    except FileNotFoundError:
        raise
    except Exception as exc:  # scipy raises several types for a damaged file
        raise ValueError(f"{path}: not a readable SVHN .mat file ({exc})") from exc
    if "X" not in mat or "y" not in mat:
        raise ValueError(f"{path}: missing the X or y variable")
    x, y = mat["X"], mat["y"]
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[:3] != (32, 32, 3):
        raise ValueError(f"{path}: expected uint8 X of shape 32×32×3×N, got {x.dtype} {x.shape}")
    y = np.asarray(y).reshape(-1).astype(np.int64)
    if len(y) != x.shape[3] or (len(y) and (y.min() < 1 or y.max() > 10)):
        raise ValueError(f"{path}: y must hold one label in 1..10 per image")
    return np.ascontiguousarray(x.transpose(3, 2, 0, 1)), y % 10


def read_npy_images(path: Path) -> np.ndarray:
    """uint8 N×3×32×32 from an N×32×32×3 ``.npy`` (CIFAR-10.1); never unpickles."""
    try:
        x = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npy image array ({exc})") from exc
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != (32, 32, 3):
        raise ValueError(f"{path}: expected uint8 N×32×32×3, got {x.dtype} {x.shape}")
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def read_npy_labels(path: Path, num_classes: int) -> np.ndarray:
    try:
        y = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npy label array ({exc})") from exc
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{path}: expected 1-D integer labels, got {y.dtype} {y.shape}")
    y = y.astype(np.int64)
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"{path}: labels outside 0..{num_classes - 1}")
    return y
