"""Presets reproduce published models: parameter counts exactly, MACs within 1%.

Sources (parameter counts are the timm/torchvision model counts; MACs as on the timm Hugging Face model cards,
"GMACs", unless noted):
- resnet18 11,689,512 / 1.82 G and resnet50 25,557,032 / 4.11 G: torchvision & timm cards (He et al. 2016;
  v1.5, stride on the 3×3 conv).
- vit_small_patch16_224 22,050,664 / 4.6 G; vit_base_patch16_224 86,567,656 / 17.6 G: timm cards (Dosovitskiy
  et al.).
- mixer_s16_224 18,528,264 / 3.8 G; mixer_b16_224 59,880,472 / 12.6 G: timm cards (Tolstikhin et al. 2021).
- convnext_tiny 28,589,128 / 4.47 G: timm card (Liu et al. 2022 report "4.5G FLOPs", which are MACs).
- poolformer_s12 11,915,176 / 1.8 G: timm card and Yu et al. 2022 Table 1 ("MACs 1.8G").
- convmixer_768_32 21,110,248: timm card. Its "19.5 GMACs" comes from fvcore, which skips convolutions with
  padding="same" (aten::_convolution_mode) — i.e. all depth-wise convs — and counts BatchNorm. We count the
  depth-wise convs: the full figure is checked against the closed form, and the figure without them against
  19.5 G.
- densenet121 7,978,856 / 2.83 G: torchvision model table (Huang et al. 2017, DenseNet-BC-121).
- repvgg_a0 (Ding et al. 2021, Table 4): 8.30 M params and 1.4 G MACs after fusion (checked on the fused
  model); train-time 9.1 M / 1.5 GMACs on the timm card (timm counts the unfused branches).
- resnet20 / resnet56 on CIFAR (He et al. 2016 §4.2, "0.27M" / "0.85M"): with option-A (zero-padding)
  shortcuts the exact counts are 269,722 / 853,018. The often-quoted 272,474 / 855,770 and 40.81 M MACs belong
  to projection (option-B) shortcuts at the two stage transitions (+2,752 params, +262,144 MACs); both
  variants are checked. 125.49 M MACs for resnet56 (option A) is the figure quoted throughout the pruning
  literature.
"""

from __future__ import annotations

import time

import pytest

from app.zoo import measure, parse_spec, warm_up
from app.zoo.presets import PUBLISHED_INPUT

PUBLISHED: dict[str, tuple[int, float]] = {  # name → (params, MACs)
    "resnet18": (11_689_512, 1.82e9),
    "resnet50": (25_557_032, 4.11e9),
    "vit_s16": (22_050_664, 4.6e9),
    "vit_b16": (86_567_656, 17.6e9),
    "mixer_s16": (18_528_264, 3.8e9),
    "mixer_b16": (59_880_472, 12.6e9),
    "convnext_t": (28_589_128, 4.47e9),
    "poolformer_s12": (11_915_176, 1.8e9),
    "densenet121": (7_978_856, 2.83e9),
    "resnet20_cifar": (269_722, 40.55e6),
    "resnet56_cifar": (853_018, 125.49e6),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_params_exact_and_macs_within_1pct(name: str) -> None:
    params, macs = PUBLISHED[name]
    shape, classes = PUBLISHED_INPUT[name]
    warm_up()  # the process's one-off meta-kernel loading
    start = time.perf_counter()
    m = measure(parse_spec({"preset": name}), shape, classes)
    assert time.perf_counter() - start < 5  # meta device, no real allocation: < 1 s on an idle core
    assert m.params == params
    assert abs(m.macs - macs) / macs < 0.01, m.macs


@pytest.mark.parametrize(
    ("name", "params", "macs"), [("resnet20_cifar", 272_474, 40.81e6), ("resnet56_cifar", 855_770, 125.75e6)]
)
def test_cifar_resnets_with_projection_shortcuts(name: str, params: int, macs: float) -> None:
    spec = parse_spec({"preset": name, "overrides": {"shortcut": "projection"}})
    m = measure(spec, (3, 32, 32), 10)
    assert m.params == params
    assert abs(m.macs - macs) / macs < 0.01


def test_convmixer_768_32() -> None:
    m = measure(parse_spec({"preset": "convmixer_768_32"}), (3, 224, 224), 1000)
    assert m.params == 21_110_248
    grid, d, depth = 32, 768, 32  # 224 / patch 7
    stem = grid * grid * d * 3 * 7 * 7
    pointwise = grid * grid * d * d
    depthwise = grid * grid * d * 7 * 7
    head = d * 1000
    assert m.macs == stem + depth * (pointwise + depthwise) + head  # ≈ 20.7 G
    without_dw = m.macs - depth * depthwise
    assert abs(without_dw - 19.5e9) / 19.5e9 < 0.01  # timm card's fvcore figure, see module docstring


def test_attention_is_counted() -> None:
    """ViT-S/16 attention matmuls: 12 blocks × 2 (QKᵀ and AV) × 197² tokens × 384 channels."""
    m = measure(parse_spec({"preset": "vit_s16"}), (3, 224, 224), 1000)
    assert m.breakdown["attention"] == 12 * 2 * 197 * 197 * 384


def test_repvgg_a0_train_and_deploy() -> None:
    train = measure(parse_spec({"preset": "repvgg_a0"}), (3, 224, 224), 1000)
    deploy = measure(parse_spec({"preset": "repvgg_a0", "overrides": {"deploy": True}}), (3, 224, 224), 1000)
    assert abs(train.params - 9.1e6) / 9.1e6 < 0.01 and abs(train.macs - 1.5e9) / 1.5e9 < 0.01
    assert abs(deploy.params - 8.30e6) / 8.30e6 < 0.002  # 8,309,384: the paper prints 3 digits
    assert abs(deploy.macs - 1.36e9) / 1.36e9 < 0.01  # "1.4B FLOPs" in the paper = MACs, rounded
