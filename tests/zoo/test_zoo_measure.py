"""measure(), limits, input compatibility, throughput, RepVGG fusion, and closed-form parameter counts."""

from __future__ import annotations

import time
from typing import Any

import pytest
import torch

from app.zoo import Limits, SpecError, build_model, check_limits, measure, parse_spec, throughput
from app.zoo.cnn import fuse_repvgg
from tests.zoo.registry import REGISTRY


def _params(raw: dict[str, Any], shape: tuple[int, int, int], classes: int) -> int:
    return measure(parse_spec(raw), shape, classes).params


# ---------------------------------------------------------------- closed-form parameter counts


@pytest.mark.parametrize(
    ("width", "depth", "heads", "patch", "ratio", "cls", "pos", "shape"),
    [(32, 2, 4, 2, 4.0, False, False, (1, 8, 8)), (48, 3, 6, 4, 2.0, True, True, (3, 32, 32)),
     (384, 12, 6, 16, 4.0, True, True, (3, 224, 224))],
)
def test_vit_closed_form(
    width: int, depth: int, heads: int, patch: int, ratio: float, cls: bool, pos: bool, shape: tuple[int, int, int]
) -> None:
    c, h, w = shape
    d, hidden, k = width, int(width * ratio), 10
    tokens = (h // patch) * (w // patch) + cls
    block = 2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * hidden + hidden) + (hidden * d + d)
    expected = (c * patch * patch * d + d) + cls * d + pos * tokens * d + depth * block + 2 * d + d * k + k
    raw = {
        "family": "metaformer", "stem": {"kind": "patch", "patch_size": patch}, "pool": "cls" if cls else "avg",
        "pos_embed": pos, "stages": [{"depth": depth, "width": d, "mlp_ratio": ratio,
                                      "mixer": {"kind": "attention", "heads": heads}}],
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
    raw = {"family": "metaformer", "stem": {"kind": "patch", "patch_size": patch},
           "stages": [{"depth": depth, "width": d, "mixer": "spatial_mlp"}]}
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
    raw = {"family": "resnet", "layers": [n] * 3, "widths": widths, "stem": "cifar", "stem_width": 16,
           "shortcut": "zero_pad"}
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
    """A 7×7 depth-wise conv with padding 3 costs H·W·C·49 MACs (every output position, zero padding included)."""
    raw = {"family": "metaformer", "stem": {"kind": "patch", "patch_size": 1}, "head_norm": False,
           "stages": [{"depth": 1, "width": 8, "mixer": {"kind": "dwconv", "kernel": 7}, "mlp_ratio": 1}]}
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


@pytest.mark.parametrize("name", sorted(n for n in REGISTRY if "metaformer" in n)[:3])
def test_tiny_presets_are_small(name: str) -> None:
    from app.zoo import preset_names

    for preset in preset_names():
        if preset.endswith("_digits"):
            m = measure(parse_spec({"preset": preset}), (1, 8, 8), 10)
            assert m.params <= 150_000 and m.macs <= 5_000_000, preset
    assert name  # parametrized only to spread the work


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
        ({"preset": "tiny_swin_digits", "overrides": {"stages": [{"depth": 1, "width": 48,
          "mixer": {"kind": "window_attention", "heads": 4, "window": 3}}]}}, (1, 16, 16),
         ["spec", "stages", 0, "mixer", "window"]),
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
    assert set(by_field) == {"params", "macs", "depth", "width"}
    assert by_field["depth"] == {
        "loc": ["spec", "depth"], "msg": "depth 16 exceeds this benchmark's limit of 8", "type": "limit",
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
