"""The benchmarks a submission can target: dataset + splits + fixed recipe + limits + seeds.

``get_benchmark(slug)`` is the single entry point; ``Benchmark.load()`` returns the (cached, read-only)
arrays. ``Benchmark.data`` says where a benchmark's images come from: generated or bundled with a Python
package ("generated": always present), the official files of an installed system package ("package":
``fashion_mnist``), or a download (``archarena data fetch``: the standard sets). ``app.benchmarks.availability``
says whether they are present on this machine.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.benchmarks import digits, fashion_mnist, pathfinder, recipes, shapes, standard
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
    builtin: bool  # offline and part of every install (a built-in board), vs a standard set to download
    data: Literal["generated", "package", "download"]
    n_test: int  # images in the public test split (``Splits.test``)
    n_test_private: int  # images in the private test split (``Splits.test_private``); 0 where there is none
    n_test2: int  # images in the second test set; 0 where there is none
    n_train: int  # images in the train split (what one epoch trains on; ``train_subset`` takes a share of it)
    class_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.default_seeds < 3 or self.max_seeds < self.default_seeds:
            raise ValueError(f"{self.slug}: need 3 <= default_seeds <= max_seeds")
        if self.class_names and len(self.class_names) != self.num_classes:
            raise ValueError(f"{self.slug}: {len(self.class_names)} class names for {self.num_classes} classes")

    def train_images(self, train_fraction: float | None = None) -> int:
        """Images one epoch trains on: the train split, or the ``train_subset`` share of it."""
        if train_fraction is None or train_fraction >= 1.0:
            return self.n_train
        return max(1, round(train_fraction * self.n_train))

    def run_seconds(
        self, train_s_per_image: float, *, epochs: int | None = None, train_fraction: float | None = None
    ) -> float:
        """Projected seconds of one run (one seed) on the reference CPU (``app.zoo.costmodel``): seconds per
        training image × train images × epochs (default: the recipe's)."""
        return train_s_per_image * self.train_images(train_fraction) * (epochs or self.recipe.epochs)

    def load(self, data_dir: Path | None = None) -> Splits:
        """Train/val/test(/test_private/test2) arrays; deterministic, and cached in-process so repeated loads
        are free.

        Generated sets ignore ``data_dir``. The others read their files from ``data_dir`` (default:
        ``$ARCHARENA_DATA_DIR`` or ``~/.cache/archarena/data``); ``fashion_mnist`` also from its system
        package's directory. Missing files raise ``DatasetNotFetched`` (for ``fashion_mnist`` its subclass
        ``DataUnavailable``, whose message is safe to show publicly).
        """
        key = None if self.data == "generated" else str(standard.resolve_data_dir(data_dir))
        return _load_cached(self.slug, key)


# Budgets, per image and per run, on the reference CPU of ``app.zoo.costmodel`` (one torch thread).
# ``max_train_s_per_image``: three times what a model spending the whole MAC budget in dense layers projects, plus
# 1 ms (the zoo's default, written out). ``max_run_seconds``: one seed's whole run (per image × train images ×
# the recipe's epochs), checked when a spec is submitted; the built-in presets project 2-28 s on digits, 30-290 s
# on Fashion-MNIST with its own presets (1,800 s for the costliest digits preset there), 12-860 s on the 32×32
# synthetic sets; the standard sets are held to the worker's one-hour limit.
_SMALL = Limits(
    max_params=2_000_000, max_macs=50_000_000, max_depth=64, max_width=512, max_train_s_per_image=0.0075,
    max_run_seconds=120.0,
)  # fmt: skip
_SYNTH32 = Limits(
    max_params=5_000_000, max_macs=300_000_000, max_depth=64, max_width=512, max_train_s_per_image=0.04,
    max_run_seconds=1200.0,
)  # fmt: skip
_GREY28 = Limits(max_params=10_000_000, max_macs=500_000_000, max_depth=128, max_width=1024, max_run_seconds=3600.0)
# Fashion-MNIST is a built-in trained on CPUs too: at 50 M MACs a run of fashion_mnist-v2 takes ~40 minutes on
# one core (the baselines have 2–5 M), inside the worker's one-hour limit.
_FMNIST = Limits(
    max_params=2_000_000, max_macs=50_000_000, max_depth=64, max_width=512, max_train_s_per_image=0.0075,
    max_run_seconds=1800.0,
)  # fmt: skip
_COLOUR32 = Limits(max_params=25_000_000, max_macs=2_000_000_000, max_depth=200, max_width=2048, max_run_seconds=3600.0)

_BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        slug="digits",
        title="Digits (8×8)",
        description=(
            "scikit-learn's bundled 8×8 handwritten digits, 10 classes. Tiny and offline: a small model "
            "trains in seconds on a CPU. The test set is split into a public half, shown per entry, and a private "
            "half that measures tuning to the public one; the second test set shifts every public test digit by "
            "one pixel and adds noise."
        ),
        input_shape=(1, 8, 8),
        num_classes=10,
        recipe=recipes.DIGITS_V2,
        limits=_SMALL,
        default_seeds=3,
        max_seeds=10,
        second_test="perturbed digits",
        builtin=True,
        data="generated",
        n_test=224,
        n_test_private=223,
        n_test2=224,
        n_train=1150,
        class_names=digits.CLASS_NAMES,
    ),
    Benchmark(
        slug="fashion_mnist",
        title="Fashion-MNIST (28×28)",
        description=(
            "Zalando's 28×28 grey photos of clothing in 10 classes: 55,000 training and 5,000 validation images "
            "from the official training set, and the official 10,000 test images split into a public and a "
            "private half. The second test set measures robustness: every public test image rotated by up to "
            "15°, shifted by up to 2 pixels and given pixel noise."
        ),
        input_shape=(1, 28, 28),
        num_classes=10,
        recipe=recipes.FASHION_MNIST_V2,
        limits=_FMNIST,
        default_seeds=3,
        max_seeds=10,
        second_test="rotated, shifted, noisy clothes",
        builtin=True,
        data="package",
        n_test=5000,
        n_test_private=5000,
        n_test2=5000,
        n_train=55_000,
        class_names=fashion_mnist.CLASS_NAMES,
    ),
    Benchmark(
        slug="pathfinder",
        title="Pathfinder (32×32)",
        description=(
            "Are the two dots joined by the same dashed curve? Procedurally generated in the style of Long "
            "Range Arena's Pathfinder, with distractor curves so that only following the path gives the "
            "answer. The test set has a public and a private half; the second test set has longer paths and "
            "more clutter."
        ),
        input_shape=(1, 32, 32),
        num_classes=2,
        recipe=recipes.PATHFINDER_V2,
        limits=_SYNTH32,
        default_seeds=3,
        max_seeds=10,
        second_test="longer, more cluttered paths",
        builtin=True,
        data="generated",
        n_test=500,
        n_test_private=500,
        n_test2=1000,
        n_train=4000,
        class_names=pathfinder.CLASS_NAMES,
    ),
    Benchmark(
        slug="shapes",
        title="Textured shapes (32×32)",
        description=(
            "Name the shape (circle, square, triangle, …); in training, most shapes are filled with their "
            "own class's texture. The test set has a public and a private half; the second test set pairs each "
            "shape with another class's texture, measuring whether a model decides by shape or by texture."
        ),
        input_shape=(3, 32, 32),
        num_classes=shapes.NUM_CLASSES,
        recipe=recipes.SHAPES_V2,
        limits=_SYNTH32,
        default_seeds=3,
        max_seeds=10,
        second_test="cue-conflict shapes",
        builtin=True,
        data="generated",
        n_test=500,
        n_test_private=500,
        n_test2=1000,
        n_train=4000,
        class_names=shapes.SHAPES,
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
        data="download",
        n_test=10_000,
        n_test_private=0,
        n_test2=50_000,
        n_train=55_000,
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
        data="download",
        n_test=10_000,
        n_test_private=0,
        n_test2=2000,
        n_train=45_000,
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
        data="download",
        n_test=10_000,
        n_test_private=0,
        n_test2=0,
        n_train=45_000,
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
        data="download",
        n_test=26_032,
        n_test_private=0,
        n_test2=0,
        n_train=68_257,
    ),
)

_BY_SLUG: dict[str, Benchmark] = {b.slug: b for b in _BENCHMARKS}

_LOADERS: dict[str, Callable[[Path | None], Splits]] = {
    "digits": lambda _dir: digits.load(),
    "pathfinder": lambda _dir: pathfinder.load(),
    "shapes": lambda _dir: shapes.load(),
    "fashion_mnist": fashion_mnist.load,
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
