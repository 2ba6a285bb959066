"""Deterministic grids of sample images per class for the benchmark pages, as PNG bytes.

Each grid has one row per class and two groups of columns: a few images of the benchmark's own distribution and
the matching images of its second test set, so a visitor sees what is asked and what the robustness test
changes:

- ``digits``, ``fashion_mnist``: public test images (never private ones) and their actual second-test twins;
- ``pathfinder``: negatives and positives of the standard generator, then of the harder one (longer paths,
  more clutter), from fixed sample seeds;
- ``shapes``: shapes with (mostly) their class's texture, then cue-conflict shapes that carry another class's
  texture, from fixed sample seeds.

Pure: no web, no database; ``fashion_mnist`` needs its files (``DataUnavailable`` otherwise).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.benchmarks import digits, fashion_mnist, pathfinder, shapes
from app.benchmarks.png import encode_png
from app.benchmarks.splits import public_private
from app.benchmarks.standard import resolve_data_dir

SAMPLE_SEED = 20250616  # pathfinder and shapes: fixed seeds of their own, distinct from the splits' seeds
GAP = 2  # pixels between images
GROUP_GAP = 10  # pixels between the two groups of columns
BACKGROUND = 255  # white lines between images


@dataclass(frozen=True)
class SampleGrid:
    png: bytes
    width: int
    height: int
    row_labels: tuple[str, ...]  # one per row, top to bottom (class names)
    groups: tuple[str, str]  # captions of the left and right groups of columns
    per_class: int  # images per row in each group


# (images N×C×H×W in [0, 1], labels), twice: the benchmark's own images and their second-test counterparts.
Pair = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _first_per_class(y: np.ndarray, classes: int, k: int) -> np.ndarray:
    """Indices of the first ``k`` items of each class, class by class."""
    return np.concatenate([np.flatnonzero(y == c)[:k] for c in range(classes)])


def _digits(k: int, _data_dir: Path | None) -> Pair:
    x, y = digits.raw_digits()
    public, _ = digits.test_halves(y)
    twins = digits.perturb(x[public])
    pick = _first_per_class(y[public], 10, k)
    return (x[public][pick], y[public][pick]), (twins[pick], y[public][pick])


def _fashion_mnist(k: int, data_dir: Path | None) -> Pair:
    directory = fashion_mnist.installed_dir(data_dir)
    if directory is None:
        raise fashion_mnist.not_installed(data_dir)
    arrays = {}
    for spec in fashion_mnist.OFFICIAL_FILES[2:]:  # the test images and labels only
        path = fashion_mnist.file_in(directory, spec.name)
        assert path is not None  # installed_dir found all four
        arrays[spec.name] = fashion_mnist.read_official(path, spec)
    x, y = arrays["t10k-images-idx3-ubyte"][:, None], arrays["t10k-labels-idx1-ubyte"].astype(np.int64)
    public, _ = public_private(y)
    twins = fashion_mnist.perturb(x[public])
    pick = _first_per_class(y[public], 10, k)
    scale = np.float32(1 / 255)
    return (x[public][pick] * scale, y[public][pick]), (twins[pick] * scale, y[public][pick])


def _pathfinder(k: int, _data_dir: Path | None) -> Pair:
    easy = pathfinder.generate(2 * k, SAMPLE_SEED)
    hard = pathfinder.generate(2 * k, SAMPLE_SEED + 1, pathfinder.HARD)
    pe, ph = _first_per_class(easy.labels, 2, k), _first_per_class(hard.labels, 2, k)
    return (easy.images[pe], easy.labels[pe]), (hard.images[ph], hard.labels[ph])


def _shapes(k: int, _data_dir: Path | None) -> Pair:
    n = shapes.NUM_CLASSES * k
    x, y, _ = shapes.generate(n, SAMPLE_SEED, conflict=False)
    xc, yc, _ = shapes.generate(n, SAMPLE_SEED + 1, conflict=True)
    p, pc = _first_per_class(y, shapes.NUM_CLASSES, k), _first_per_class(yc, shapes.NUM_CLASSES, k)
    return (x[p], y[p]), (xc[pc], yc[pc])


_SOURCES: dict[str, tuple[Callable[[int, Path | None], Pair], tuple[str, ...], tuple[str, str]]] = {
    "digits": (_digits, digits.CLASS_NAMES, ("public test digits", "their perturbed twins (second test set)")),
    "fashion_mnist": (
        _fashion_mnist,
        fashion_mnist.CLASS_NAMES,
        ("public test images", "their rotated, shifted, noisy twins (second test set)"),
    ),
    "pathfinder": (
        _pathfinder,
        pathfinder.CLASS_NAMES,
        ("standard paths", "longer, more cluttered paths (second test set)"),
    ),
    "shapes": (
        _shapes,
        shapes.SHAPES,
        ("shapes, mostly in their class's texture", "cue-conflict: another class's texture (second test set)"),
    ),
}
SAMPLE_SLUGS = tuple(_SOURCES)


def _to_cells(images: np.ndarray, zoom: int) -> np.ndarray:
    """N×C×H×W floats in [0, 1] → N×(H·zoom)×(W·zoom)(×3) uint8."""
    pixels = np.rint(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)
    pixels = pixels.transpose(0, 2, 3, 1)  # N×H×W×C
    pixels = pixels.repeat(zoom, axis=1).repeat(zoom, axis=2)
    return pixels[..., 0] if pixels.shape[-1] == 1 else pixels


def _assemble(left: np.ndarray, right: np.ndarray, rows: int, k: int) -> np.ndarray:
    """Lay out ``rows``×``k`` cells of each group side by side, with gaps."""
    cell_h, cell_w = left.shape[1], left.shape[2]
    group_w = k * cell_w + (k - 1) * GAP
    height = rows * cell_h + (rows - 1) * GAP
    canvas = np.full((height, 2 * group_w + GROUP_GAP, *left.shape[3:]), BACKGROUND, dtype=np.uint8)
    for g, cells in enumerate((left, right)):
        x0 = g * (group_w + GROUP_GAP)
        for i, cell in enumerate(cells):
            r, c = divmod(i, k)
            top, lft = r * (cell_h + GAP), x0 + c * (cell_w + GAP)
            canvas[top : top + cell_h, lft : lft + cell_w] = cell
    return canvas


@functools.lru_cache(maxsize=16)
def _grid_cached(slug: str, per_class: int, data_dir: str | None) -> SampleGrid:
    source, names, groups = _SOURCES[slug]
    (x, y), (x2, y2) = source(per_class, Path(data_dir) if data_dir is not None else None)
    rows = len(names)
    if len(y) != rows * per_class or len(y2) != rows * per_class:
        raise ValueError(f"{slug}: not {per_class} sample images for every class")
    zoom = max(1, round(56 / x.shape[2]))
    canvas = _assemble(_to_cells(x, zoom), _to_cells(x2, zoom), rows, per_class)
    return SampleGrid(encode_png(canvas), canvas.shape[1], canvas.shape[0], tuple(names), groups, per_class)


def sample_grid(slug: str, per_class: int = 4, data_dir: Path | None = None) -> SampleGrid:
    """The sample grid of a built-in benchmark (cached per process). KeyError for other slugs."""
    if slug not in _SOURCES:
        raise KeyError(f"no sample images for {slug!r}; available: {', '.join(SAMPLE_SLUGS)}")
    if not 1 <= per_class <= 16:
        raise ValueError(f"per_class must be in 1..16, got {per_class}")
    key = None if slug != "fashion_mnist" else str(resolve_data_dir(data_dir))
    return _grid_cached(slug, per_class, key)


def sample_png(slug: str, per_class: int = 4, data_dir: Path | None = None) -> bytes:
    """PNG bytes of ``sample_grid``."""
    return sample_grid(slug, per_class, data_dir).png
