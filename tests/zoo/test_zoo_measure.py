"""measure(), limits, input compatibility, throughput, RepVGG fusion, and closed-form parameter counts."""

from __future__ import annotations

import time
from typing import Any

import pytest
import torch

from app.zoo import (
    Limits,
    SpecError,
    build_model,
    check_limits,
    measure,
    parse_spec,
    preset_names,
    throughput,
)
from app.zoo.cnn import fuse_repvgg
from app.zoo.spec import MIXER_KINDS, MetaFormerSpec
from tests.zoo.registry import REGISTRY


def _params(raw: dict[str, Any], shape: tuple[int, int, int], classes: int) -> int:
    return measure(parse_spec(raw), shape, classes).params


# ---------------------------------------------------------------- closed-form parameter counts


@pytest.mark.parametrize(
    ("width", "depth", "heads", "patch", "ratio", "cls", "pos", "shape"),
    [
        (32, 2, 4, 2, 4.0, False, False, (1, 8, 8)),
        (48, 3, 6, 4, 2.0, True, True, (3, 32, 32)),
        (384, 12, 6, 16, 4.0, True, True, (3, 224, 224)),
    ],
)
def test_vit_closed_form(
    width: int,
    depth: int,
    heads: int,
    patch: int,
    ratio: float,
    cls: bool,
    pos: bool,
    shape: tuple[int, int, int],
) -> None:
    c, h, w = shape
    d, hidden, k = width, int(width * ratio), 10
    tokens = (h // patch) * (w // patch) + cls
    block = 2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * hidden + hidden) + (hidden * d + d)
    expected = (c * patch * patch * d + d) + cls * d + pos * tokens * d + depth * block + 2 * d + d * k + k
    raw = {
        "family": "metaformer",
        "stem": {"kind": "patch", "patch_size": patch},
        "pool": "cls" if cls else "avg",
        "pos_embed": pos,
        "stages": [{"depth": depth, "width": d, "mlp_ratio": ratio, "mixer": {"kind": "attention", "heads": heads}}],
    }
    assert _params(raw, shape, k) == expected


@pytest.mark.parametrize(("width", "depth", "patch", "shape"), [(16, 2, 2, (1, 8, 8)), (64, 3, 4, (3, 32, 32))])
def test_mixer_closed_form(width: int, depth: int, patch: int, shape: tuple[int, int, int]) -> None:
    c, h, w = shape
    d, k = width, 10
    t = (h // patch) * (w // patch)
    s = int(0.5 * d)
    block = 4 * d + (t * s + s + s * t + t) + (d * 4 * d + 4 * d) + (4 * d * d + d)
    expected = (c * patch * patch * d + d) + depth * block + 2 * d + d * k + k
    raw = {
        "family": "metaformer",
        "stem": {"kind": "patch", "patch_size": patch},
        "stages": [{"depth": depth, "width": d, "mixer": "spatial_mlp"}],
    }
    assert _params(raw, shape, k) == expected


@pytest.mark.parametrize("n", [1, 3, 9])
def test_cifar_resnet_closed_form(n: int) -> None:
    """6n+2 layers, option-A shortcuts: only convs (no bias), BNs (2 per channel) and the classifier."""
    widths, k = [16, 32, 64], 10

    def block(cin: int, cout: int) -> int:
        return 9 * cin * cout + 2 * cout + 9 * cout * cout + 2 * cout

    expected = 3 * 9 * 16 + 2 * 16 + 64 * k + k
    cin = 16
    for w in widths:
        expected += block(cin, w) + (n - 1) * block(w, w)
        cin = w
    raw = {
        "family": "resnet",
        "layers": [n] * 3,
        "widths": widths,
        "stem": "cifar",
        "stem_width": 16,
        "shortcut": "zero_pad",
    }
    assert _params(raw, (3, 32, 32), k) == expected
    if n == 3:
        assert expected == 269_722


@pytest.mark.parametrize(("width", "depth", "kernel", "patch"), [(16, 2, 3, 1), (768, 32, 7, 7)])
def test_convmixer_closed_form(width: int, depth: int, kernel: int, patch: int) -> None:
    d, k = width, 1000
    expected = (3 * patch * patch * d + d + 2 * d) + depth * ((kernel * kernel * d + d + 2 * d) + (d * d + d + 2 * d))
    expected += d * k + k
    raw = {"family": "convmixer", "width": d, "depth": depth, "kernel": kernel, "patch_size": patch}
    assert _params(raw, (3, 224, 224), k) == expected


def test_macs_of_depthwise_and_padded_convs() -> None:
    """A 7×7 depth-wise conv with padding 3 costs H·W·C·49 MACs (every output position, zero padding
    included)."""
    raw = {
        "family": "metaformer",
        "stem": {"kind": "patch", "patch_size": 1},
        "head_norm": False,
        "stages": [{"depth": 1, "width": 8, "mixer": {"kind": "dwconv", "kernel": 7}, "mlp_ratio": 1}],
    }
    m = measure(parse_spec(raw), (1, 8, 8), 10)
    stem, dw, mlp, head = 64 * 8 * 1, 64 * 8 * 49, 2 * 64 * 8 * 8, 8 * 10
    assert m.breakdown == {"conv": stem + dw, "linear": mlp + head}
    assert m.macs == stem + dw + mlp + head


# ---------------------------------------------------------------- measure() behaviour


def test_measure_runs_on_meta_and_is_cached() -> None:
    spec = parse_spec({"preset": "vit_b16"})
    first = measure(spec, (3, 224, 224), 1000)
    start = time.perf_counter()
    for _ in range(100):
        again = measure(parse_spec({"preset": "vit_b16"}), (3, 224, 224), 1000)
    assert (time.perf_counter() - start) / 100 < 0.1
    assert again == first
    assert measure(spec, (3, 224, 224), 10).params != first.params  # key includes num_classes


def test_measure_accepts_raw_specs_and_rejects_bad_ones() -> None:
    assert measure({"preset": "tiny_resnet_digits"}, (1, 8, 8), 10).params > 0  # type: ignore[arg-type]
    with pytest.raises(SpecError):
        measure({"family": "resnet", "layers": [-1]}, (1, 8, 8), 10)  # type: ignore[arg-type]


TINY = [n for n in preset_names() if n.startswith("tiny_")]


@pytest.mark.parametrize("name", TINY)
def test_tiny_presets_are_small(name: str) -> None:
    """Built-in benchmark baselines train in seconds per epoch on a CPU."""
    digits = name.endswith("_digits")
    m = measure(parse_spec({"preset": name}), (1, 8, 8) if digits else (3, 32, 32), 10)
    assert m.params <= 150_000
    assert m.macs <= (5_000_000 if digits else 15_000_000)


@pytest.mark.parametrize("name", [n for n in TINY if n.endswith("_32")])
def test_32_presets_also_fit_28x28_inputs(name: str) -> None:
    """MNIST-sized benchmarks (1×28×28) reuse the 32×32 baselines."""
    assert measure(parse_spec({"preset": name}), (1, 28, 28), 10).params > 0


def test_tiny_presets_cover_every_mixer_on_one_macro_architecture() -> None:
    kinds = set()
    for name in TINY:
        spec = parse_spec({"preset": name})
        if name.endswith("_digits") and isinstance(spec, MetaFormerSpec):
            kinds.add(spec.stages[0].mixer.kind)
            assert (spec.depth(), spec.max_width(), spec.stem.kind) == (4, 48, "patch")
    assert kinds == set(MIXER_KINDS)


def test_synth_presets_cover_every_mixer_on_one_small_macro_architecture() -> None:
    """The pathfinder/shapes baselines: one cheap macro architecture (a minute a seed on one CPU thread)."""
    kinds = set()
    for name in (n for n in TINY if n.endswith("_synth")):
        spec = parse_spec({"preset": name})
        m = measure(spec, (3, 32, 32), 8)
        assert m.params <= 100_000 and m.macs <= 2_000_000, name
        if isinstance(spec, MetaFormerSpec):
            kinds.add(spec.stages[0].mixer.kind)
            assert (spec.depth(), spec.max_width(), spec.stem.kind) == (2, 32, "patch")
    assert kinds == set(MIXER_KINDS)


# ---------------------------------------------------------------- incompatible inputs


@pytest.mark.parametrize(
    ("raw", "shape", "loc"),
    [
        ({"preset": "vit_s16"}, (1, 8, 8), ["spec", "stem", "patch_size"]),
        ({"preset": "vit_s16"}, (3, 40, 40), ["spec", "stem", "patch_size"]),
        ({"preset": "convnext_t"}, (3, 16, 16), ["spec", "stages", 3]),
        ({"preset": "resnet18"}, (1, 8, 8), ["spec", "layers", 2]),
        ({"preset": "resnet18"}, (1, 2, 2), ["spec", "stem"]),
        ({"preset": "densenet121"}, (1, 8, 8), ["spec", "blocks", 2]),
        ({"preset": "convmixer_768_32"}, (3, 32, 32), ["spec", "patch_size"]),
        ({"preset": "tiny_plain_digits"}, (1, 2, 2), ["spec", "stages", 2]),
        ({"preset": "repvgg_a0"}, (3, 16, 16), ["spec", "layers", 3]),
    ],
)
def test_incompatible_input_is_a_spec_error(raw: dict[str, Any], shape: tuple[int, int, int], loc: list[Any]) -> None:
    spec = parse_spec(raw)
    with pytest.raises(SpecError) as info:
        measure(spec, shape, 10)
    assert info.value.errors[0]["loc"] == loc
    assert "×" in info.value.errors[0]["msg"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet18", "vit_s16", "mixer_s16", "poolformer_s12", "convnext_t"])
def test_published_presets_run_on_real_224_images(name: str) -> None:
    model = build_model(parse_spec({"preset": name}), (3, 224, 224), 1000).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 224, 224))
    assert out.shape == (1, 1000) and torch.isfinite(out).all()


# ---------------------------------------------------------------- limits


def test_check_limits() -> None:
    spec = parse_spec({"preset": "resnet50"})
    m = measure(spec, (3, 224, 224), 1000)
    assert check_limits(spec, m, Limits(max_params=10**8, max_macs=10**10, max_depth=16, max_width=2048)) == []
    errors = check_limits(spec, m, Limits(max_params=10**6, max_macs=10**9, max_depth=8, max_width=512))
    by_field = {e["loc"][1]: e for e in errors}
    # ops and projected seconds follow from the MAC budget unless a benchmark sets them (test_zoo_cost.py)
    assert set(by_field) == {"params", "macs", "depth", "width", "ops", "train_seconds"}
    assert by_field["depth"] == {
        "loc": ["spec", "depth"],
        "msg": "depth 16 exceeds this benchmark's limit of 8",
        "type": "limit",
        "ctx": {"value": 16, "limit": 8},
    }
    assert by_field["width"]["ctx"] == {"value": 2048, "limit": 512}
    assert by_field["params"]["ctx"] == {"value": 25_557_032, "limit": 10**6}


# ---------------------------------------------------------------- throughput and RepVGG fusion


def test_throughput_is_positive() -> None:
    ips = throughput(parse_spec({"preset": "tiny_resnet_digits"}), (1, 8, 8), 10, batch_size=8, steps=2)
    assert ips > 0


def test_repvgg_fused_equals_unfused() -> None:
    torch.manual_seed(0)
    spec = parse_spec(REGISTRY["repvgg"])
    model = build_model(spec, (3, 32, 32), 10)
    model.train()
    for _ in range(3):  # give the BNs non-trivial running statistics
        model(torch.randn(8, 3, 32, 32) * 2 + 1)
    model.eval()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        before = model(x)
        fused = fuse_repvgg(model)
        after = fused(x)
    torch.testing.assert_close(after, before, atol=1e-4, rtol=1e-4)
    deploy = build_model(parse_spec({**REGISTRY["repvgg"], "deploy": True}), (3, 32, 32), 10)
    assert sum(p.numel() for p in fused.parameters()) == sum(p.numel() for p in deploy.parameters())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())


def test_plain_closed_form() -> None:
    raw = {"family": "plain", "stages": [{"depth": 2, "width": 8}, {"depth": 1, "width": 16}], "kernel": 5}
    convs = [(3, 8), (8, 8), (8, 16)]
    with_bn = sum(25 * a * b + 2 * b for a, b in convs) + 16 * 10 + 10
    with_bias = sum(25 * a * b + b for a, b in convs) + 16 * 10 + 10
    assert _params(raw, (3, 32, 32), 10) == with_bn
    assert _params({**raw, "norm": None}, (3, 32, 32), 10) == with_bias


def test_densenet_closed_form() -> None:
    """DenseNet-BC, CIFAR stem: layer i of a block sees c0 + i·k channels (BN + 1×1 to 4k, BN + 3×3 to k)."""
    k, c0, blocks = 6, 12, [2, 3]
    raw = {"family": "densenet", "blocks": blocks, "growth_rate": k, "init_width": c0, "stem": "cifar"}
    expected, c = 3 * 9 * c0, c0
    for b, n in enumerate(blocks):
        if b:
            expected += 2 * c + c * (c // 2)  # transition: BN + 1×1 conv (compression 0.5)
            c //= 2
        for _ in range(n):
            expected += 2 * c + c * 4 * k + 2 * 4 * k + 9 * 4 * k * k
            c += k
    expected += 2 * c + c * 10 + 10
    assert _params(raw, (3, 32, 32), 10) == expected


@pytest.mark.parametrize("deploy", [False, True])
def test_repvgg_closed_form(deploy: bool) -> None:
    raw = {"family": "repvgg", "layers": [2, 1], "widths": [8, 16], "stem_width": 8, "deploy": deploy}
    blocks = [(3, 8, False), (8, 8, False), (8, 8, True), (8, 16, False)]  # (cin, cout, identity branch)
    if deploy:
        expected = sum(9 * a * b + b for a, b, _ in blocks)
    else:
        expected = sum(9 * a * b + 2 * b + a * b + 2 * b + (2 * a if ident else 0) for a, b, ident in blocks)
    assert _params(raw, (3, 32, 32), 10) == expected + 16 * 10 + 10


def test_measure_never_allocates_the_real_model() -> None:
    """~34 G parameters (136 GB in float32): only the meta device can count them, in well under a second."""
    raw = {
        "family": "metaformer",
        "stem": {"kind": "patch", "patch_size": 1},
        "stages": [{"depth": 2, "width": 2048, "mixer": {"kind": "spatial_mlp", "hidden_ratio": 8.0}}],
    }
    m = measure(parse_spec(raw), (3, 1024, 1024), 10)
    assert m.params > 3 * 10**10


@pytest.mark.parametrize("name", TINY)
def test_tiny_presets_train_a_step(name: str) -> None:
    torch.manual_seed(0)
    shape = (1, 8, 8) if name.endswith("_digits") else (3, 32, 32)
    model = build_model(parse_spec({"preset": name}), shape, 10).train()
    logits = model(torch.randn(4, *shape))
    torch.nn.functional.cross_entropy(logits, torch.arange(4)).backward()
    assert torch.isfinite(logits).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
