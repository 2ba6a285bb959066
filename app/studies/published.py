"""Published depth results that the canonical depth studies are read beside: numbers as the papers print them,
each row with its source (paper, table or figure, link). Data only; ``app.studies.depth`` compares a study's
result with the claims here.

He et al. 2016 ("Deep Residual Learning for Image Recognition", CVPR 2016, arXiv:1512.03385):
- CIFAR-10, Table 6: test error of ResNets with 6n+2 layers (n = 3, 5, 7, 9, 18): it falls from 20 to 110
  layers. The plain nets of the same depths are shown only as curves (Fig. 6, left; no numbers are printed):
  in §4.2 "the deep plain nets suffer from increased depth, and exhibit higher training error when going
  deeper" — plain-56 ends above plain-20. Those rows carry the ordering, not a number.
- ImageNet, Table 2: top-1 error (10-crop) of plain and residual 18- and 34-layer nets: the only printed plain
  vs residual numbers at two depths (plain gets worse, ResNet better).

Touvron et al. 2021 ("ResMLP: Feedforward networks for image classification with data-efficient training",
arXiv:2105.03404), Table 3: residual MLPs of width 384 with 12 and 24 layers on ImageNet-1k (no extra data,
no distillation): the deeper one is better. The reference for the MLP-only depth study.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["better", "worse"]

HE_2016 = "He, Zhang, Ren and Sun, “Deep Residual Learning for Image Recognition”, CVPR 2016"
HE_2016_URL = "https://arxiv.org/abs/1512.03385"
TOUVRON_2021 = "Touvron et al., “ResMLP: Feedforward networks for image classification with data-efficient training”"
TOUVRON_2021_URL = "https://arxiv.org/abs/2105.03404"


@dataclass(frozen=True)
class PublishedRow:
    """One published model. ``error`` is the test error as a fraction (None where the paper prints no number:
    ``note`` then says what it shows); ``family`` is the kind of network in our terms."""

    family: str  # "plain", "residual" or "residual MLP"
    model: str
    layers: int
    dataset: str
    error: float | None
    params: str | None
    source: str
    where: str  # the table or figure
    url: str
    note: str = ""

    @property
    def accuracy(self) -> float | None:
        return None if self.error is None else 1.0 - self.error


@dataclass(frozen=True)
class PublishedClaim:
    """What a paper found about depth for one kind of network: going from ``shallow`` to ``deep`` layers made
    it ``direction``."""

    family: str
    shallow: int
    deep: int
    direction: Direction
    dataset: str
    where: str


@dataclass(frozen=True)
class Reference:
    key: str
    title: str
    url: str
    rows: tuple[PublishedRow, ...]
    claims: tuple[PublishedClaim, ...]

    def claim(self, family: str) -> PublishedClaim | None:
        return next((c for c in self.claims if c.family == family), None)


def _he_cifar(layers: int, error_pct: float, params: str) -> PublishedRow:
    return PublishedRow(
        "residual",
        f"ResNet-{layers}",
        layers,
        "CIFAR-10",
        round(error_pct / 100, 6),
        params,
        HE_2016,
        "Table 6",
        HE_2016_URL,
    )


def _he_plain(layers: int) -> PublishedRow:
    return PublishedRow(
        "plain",
        f"plain-{layers}",
        layers,
        "CIFAR-10",
        None,
        None,
        HE_2016,
        "Fig. 6, left",
        HE_2016_URL,
        note="curves only, no number printed: deeper plain nets end with higher training and test error",
    )


def _he_imagenet(family: str, model: str, layers: int, error_pct: float) -> PublishedRow:
    return PublishedRow(
        family,
        model,
        layers,
        "ImageNet (top-1, 10-crop)",
        round(error_pct / 100, 6),
        None,
        HE_2016,
        "Table 2",
        HE_2016_URL,
    )


HE_ET_AL = Reference(
    key="he2016",
    title=HE_2016,
    url=HE_2016_URL,
    rows=(
        *(_he_plain(n) for n in (20, 32, 44, 56)),
        _he_cifar(20, 8.75, "0.27 M"),
        _he_cifar(32, 7.51, "0.46 M"),
        _he_cifar(44, 7.17, "0.66 M"),
        _he_cifar(56, 6.97, "0.85 M"),
        _he_cifar(110, 6.43, "1.7 M"),
        _he_imagenet("plain", "plain-18", 18, 27.94),
        _he_imagenet("plain", "plain-34", 34, 28.54),
        _he_imagenet("residual", "ResNet-18", 18, 27.88),
        _he_imagenet("residual", "ResNet-34", 34, 25.03),
    ),
    claims=(
        PublishedClaim("plain", 20, 56, "worse", "CIFAR-10", "Fig. 6, left"),
        PublishedClaim("residual", 20, 110, "better", "CIFAR-10", "Table 6"),
    ),
)


def _resmlp(model: str, layers: int, top1_pct: float, params: str) -> PublishedRow:
    """Table 3 prints top-1 accuracy; the row keeps the error, like He et al.'s."""
    return PublishedRow(
        "residual MLP",
        model,
        layers,
        "ImageNet-1k (top-1)",
        round((100.0 - top1_pct) / 100, 4),
        params,
        TOUVRON_2021,
        "Table 3",
        TOUVRON_2021_URL,
        note=f"top-1 accuracy {top1_pct}% as printed; width 384, 400 epochs, no distillation",
    )


RESMLP = Reference(
    key="touvron2021",
    title=TOUVRON_2021,
    url=TOUVRON_2021_URL,
    rows=(_resmlp("ResMLP-S12", 12, 76.6, "15 M"), _resmlp("ResMLP-S24", 24, 79.4, "30 M")),
    claims=(PublishedClaim("residual MLP", 12, 24, "better", "ImageNet-1k", "Table 3"),),
)

REFERENCES: dict[str, Reference] = {r.key: r for r in (HE_ET_AL, RESMLP)}
