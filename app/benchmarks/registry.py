"""The benchmarks a submission can target: dataset + splits + fixed recipe + limits + seeds.

``get_benchmark(slug)`` is the single entry point; ``Benchmark.load()`` returns the (cached, read-only)
arrays.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.benchmarks import digits, pathfinder, recipes, shapes, standard
from app.benchmarks.recipes import Recipe
from app.benchmarks.splits import Splits
from app.zoo.limits import Limits

DEFAULT_BENCHMARK = "digits"


class UnknownBenchmark(KeyError):
    """No benchmark with that slug; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else "unknown benchmark"


@dataclass(frozen=True)
class Benchmark:
    slug: str
    title: str
    description: str  # plain language, 1-3 sentences
    input_shape: tuple[int, int, int]  # (C, H, W)
    num_classes: int
    recipe: Recipe
    limits: Limits
    default_seeds: int
    max_seeds: int
    second_test: str | None  # human name of the second test set, e.g. "perturbed digits"
    builtin: bool

    def __post_init__(self) -> None:
        if self.default_seeds < 3 or self.max_seeds < self.default_seeds:
            raise ValueError(f"{self.slug}: need 3 <= default_seeds <= max_seeds")

    def load(self, data_dir: Path | None = None) -> Splits:
        """Train/val/test(/test2) arrays; deterministic, and cached in-process so repeated loads are free.

        Built-ins ignore ``data_dir``. Standard sets read their fetched files from ``data_dir`` (default:
        ``$ARCHARENA_DATA_DIR`` or ``~/.cache/archarena/data``) and raise ``DatasetNotFetched`` when missing.
        """
        key = None if self.builtin else str(standard.resolve_data_dir(data_dir))
        return _load_cached(self.slug, key)


_SMALL = Limits(max_params=2_000_000, max_macs=50_000_000, max_depth=64, max_width=512)
_SYNTH32 = Limits(max_params=5_000_000, max_macs=300_000_000, max_depth=64, max_width=512)
_GREY28 = Limits(max_params=10_000_000, max_macs=500_000_000, max_depth=128, max_width=1024)
_COLOUR32 = Limits(max_params=25_000_000, max_macs=2_000_000_000, max_depth=200, max_width=2048)

_BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        slug="digits",
        title="Digits (8×8)",
        description=(
            "scikit-learn's bundled 8×8 handwritten digits, 10 classes. Tiny and offline: a small model "
            "trains in seconds on a CPU. The second test set shifts every test digit by one pixel and adds "
            "noise."
        ),
        input_shape=(1, 8, 8),
        num_classes=10,
        recipe=recipes.DIGITS_V1,
        limits=_SMALL,
        default_seeds=3,
        max_seeds=10,
        second_test="perturbed digits",
        builtin=True,
    ),
    Benchmark(
        slug="pathfinder",
        title="Pathfinder (32×32)",
        description=(
            "Are the two dots joined by the same dashed curve? Procedurally generated in the style of Long "
            "Range Arena's Pathfinder, with distractor curves so that only following the path gives the "
            "answer. The second test set has longer paths and more clutter."
        ),
        input_shape=(1, 32, 32),
        num_classes=2,
        recipe=recipes.PATHFINDER_V1,
        limits=_SYNTH32,
        default_seeds=3,
        max_seeds=10,
        second_test="longer, more cluttered paths",
        builtin=True,
    ),
    Benchmark(
        slug="shapes",
        title="Textured shapes (32×32)",
        description=(
            "Name the shape (circle, square, triangle, …); in training, most shapes are filled with their "
            "own class's texture. The second test set pairs each shape with another class's texture, "
            "measuring whether a model decides by shape or by texture."
        ),
        input_shape=(3, 32, 32),
        num_classes=shapes.NUM_CLASSES,
        recipe=recipes.SHAPES_V1,
        limits=_SYNTH32,
        default_seeds=3,
        max_seeds=10,
        second_test="cue-conflict shapes",
        builtin=True,
    ),
    Benchmark(
        slug="mnist",
        title="MNIST",
        description=(
            "The classic 28×28 handwritten digits (60k train, 10k test). The second test set is QMNIST's 50k "
            "extra test digits, reconstructed from the same NIST source."
        ),
        input_shape=(1, 28, 28),
        num_classes=10,
        recipe=recipes.MNIST_V1,
        limits=_GREY28,
        default_seeds=3,
        max_seeds=10,
        second_test="QMNIST extra test digits",
        builtin=False,
    ),
    Benchmark(
        slug="fashion_mnist",
        title="Fashion-MNIST",
        description="28×28 grey images of clothing in 10 classes (60k train, 10k test), from Zalando.",
        input_shape=(1, 28, 28),
        num_classes=10,
        recipe=recipes.FASHION_MNIST_V1,
        limits=_GREY28,
        default_seeds=3,
        max_seeds=10,
        second_test=None,
        builtin=False,
    ),
    Benchmark(
        slug="cifar10",
        title="CIFAR-10",
        description=(
            "32×32 colour photos in 10 classes (50k train, 10k test). The second test set is CIFAR-10.1, new "
            "test images collected years later the same way, which shows how much of a gain is test-set "
            "reuse."
        ),
        input_shape=(3, 32, 32),
        num_classes=10,
        recipe=recipes.CIFAR10_V1,
        limits=_COLOUR32,
        default_seeds=3,
        max_seeds=10,
        second_test="CIFAR-10.1",
        builtin=False,
    ),
    Benchmark(
        slug="cifar100",
        title="CIFAR-100",
        description="32×32 colour photos in 100 fine-grained classes (50k train, 10k test).",
        input_shape=(3, 32, 32),
        num_classes=100,
        recipe=recipes.CIFAR100_V1,
        limits=_COLOUR32,
        default_seeds=3,
        max_seeds=10,
        second_test=None,
        builtin=False,
    ),
    Benchmark(
        slug="svhn",
        title="SVHN",
        description="32×32 crops of house numbers from Street View, 10 digit classes (73k train, 26k test).",
        input_shape=(3, 32, 32),
        num_classes=10,
        recipe=recipes.SVHN_V1,
        limits=_COLOUR32,
        default_seeds=3,
        max_seeds=10,
        second_test=None,
        builtin=False,
    ),
)

_BY_SLUG: dict[str, Benchmark] = {b.slug: b for b in _BENCHMARKS}

_LOADERS: dict[str, Callable[[Path | None], Splits]] = {
    "digits": lambda _dir: digits.load(),
    "pathfinder": lambda _dir: pathfinder.load(),
    "shapes": lambda _dir: shapes.load(),
    **{slug: functools.partial(standard.load, slug) for slug in standard.STANDARD_SLUGS},
}


@functools.cache
def _load_cached(slug: str, data_dir: str | None) -> Splits:
    return _LOADERS[slug](Path(data_dir) if data_dir is not None else None)


def get_benchmark(slug: str) -> Benchmark:
    try:
        return _BY_SLUG[slug]
    except KeyError:
        known = ", ".join(sorted(_BY_SLUG))
        raise UnknownBenchmark(f"unknown benchmark {slug!r}; known benchmarks: {known}") from None


def all_benchmarks() -> list[Benchmark]:
    return list(_BENCHMARKS)
