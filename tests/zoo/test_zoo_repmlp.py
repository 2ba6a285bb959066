"""RepMLP: training-time and fused (deploy) forms compute the same function; the presets reproduce the paper.

Paper table (Ding et al., "RepMLPNet: Hierarchical Vision MLP with Re-parameterized Locality", CVPR 2022,
Table 4 and github.com/DingXiaoH/RepMLP's README; the arXiv 2021 RepMLP paper's later versions): params (M)
and FLOPs (G; Ding's "FLOPs" are multiply-accumulates, as for RepVGG) of RepMLPNet-T224 38.3 / 2.8,
B224 68.2 / 6.7, T256 58.7 / 4.2, B256 96.5 / 9.6, D256 86.9 / 8.6, L256 117.7 / 11.5. The table's params are the
training-time counts (the fused ones differ in the 3rd-4th digit: FC biases replace the BNs and conv branches).
Tolerances: params within 0.1 % (the paper prints 3-4 digits), MACs within 2 % (it prints 2-3 digits: 4.2 G is
anything in [4.15, 4.25)).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F

from app.benchmarks.registry import get_benchmark
from app.zoo import SpecError, build_model, fits, fuse_model, measure, parse_spec
from app.zoo.repmlp import RepMLPUnit
from tests.zoo.registry import REGISTRY

PAPER: list[tuple[str, int, float, float]] = [  # preset, input side, params, MACs
    ("repmlpnet_t", 224, 38.3e6, 2.8e9),
    ("repmlpnet_b", 224, 68.2e6, 6.7e9),
    ("repmlpnet_t", 256, 58.7e6, 4.2e9),
    ("repmlpnet_b", 256, 96.5e6, 9.6e9),
    ("repmlpnet_d", 256, 86.9e6, 8.6e9),
    ("repmlpnet_l", 256, 117.7e6, 11.5e9),
]


@pytest.mark.parametrize(("name", "side", "params", "macs"), PAPER)
def test_presets_match_the_paper(name: str, side: int, params: float, macs: float) -> None:
    m = measure(parse_spec({"preset": name}), (3, side, side), 1000)
    print(
        f"{name}@{side}: train {m.params / 1e6:.3f} M / {m.macs / 1e9:.3f} G, "
        f"deploy {m.deploy_params / 1e6:.3f} M / {m.deploy_macs / 1e9:.3f} G "  # type: ignore[operator]
        f"(paper {params / 1e6:.1f} M / {macs / 1e9:.1f} G)"
    )
    assert abs(m.params - params) / params < 0.001
    assert abs(m.macs - macs) / macs < 0.02
    assert m.deploy_params is not None and m.deploy_macs is not None
    assert m.deploy_macs < m.macs  # the local perceptron's convs are gone


def _randomise_bns(model: torch.nn.Module, shape: tuple[int, int, int]) -> None:
    """Non-trivial running statistics and affine parameters, so folding them is really exercised."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, *shape) * 2 + 1)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    model.eval()


@pytest.mark.parametrize("name", ["repmlp", "repmlp-one-set-no-local"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 16, 16)], ids=["8x8", "16x16"])
def test_fused_equals_unfused(name: str, shape: tuple[int, int, int]) -> None:
    """Eval mode, float32: fused outputs within atol 1e-5 + rtol 1e-4 of the training-time form."""
    torch.manual_seed(0)
    raw = REGISTRY[name]
    model = build_model(parse_spec(raw), shape, 10)
    _randomise_bns(model, shape)
    x = torch.randn(4, *shape)
    with torch.no_grad():
        before = model(x)
        fused = fuse_model(model)
        after = fused(x)
    print(f"{name} {shape}: max |fused - unfused| = {(after - before).abs().max():.2e}")
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-4)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in fused.modules())
    assert all(len(u.local) == 0 for u in fused.modules() if isinstance(u, RepMLPUnit))

    deploy = build_model(parse_spec({**raw, "deploy": True}), shape, 10).eval()
    deploy.load_state_dict(fused.state_dict())  # the fused model is the deploy spec's model, weight for weight
    with torch.no_grad():
        torch.testing.assert_close(deploy(x), after)
    m = measure(parse_spec(raw), shape, 10)
    assert m.deploy_params == sum(p.numel() for p in deploy.parameters())


def test_a_conv_on_a_partition_is_an_fc() -> None:
    """The fold's core: a depth-wise k×k conv restricted to a p×p partition equals p²×p² FC weights."""
    torch.manual_seed(0)
    unit = RepMLPUnit(dim=6, partition=4, sets=3, kernels=[3], gp_reduce=2, deploy=False)
    kernel = torch.randn(3, 1, 5, 5)
    fc = unit._conv_as_fc(kernel)  # (sets, p², p²)
    x = torch.randn(7, 3, 4, 4)
    conv = F.conv2d(x, kernel, padding=2, groups=3).flatten(2)
    torch.testing.assert_close(torch.einsum("soi,nsi->nso", fc, x.flatten(2)), conv, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("raw", "shape", "loc"),
    [
        ({**REGISTRY["repmlp"], "patch_size": 3}, (1, 8, 8), ["spec", "patch_size"]),
        (
            {**REGISTRY["repmlp"], "stages": [{"depth": 1, "width": 8, "partition": 3}]},
            (1, 8, 8),
            ["spec", "stages", 0, "partition"],
        ),
        (REGISTRY["repmlp"], (1, 8, 12), ["spec", "stages", 1, "partition"]),  # whole-grid partition, 2×3 grid
        (
            {**REGISTRY["repmlp"], "stages": [{"depth": 1, "width": 8}] * 4},  # grids 4, 2, 1, then none
            (1, 8, 8),
            ["spec", "stages", 3],
        ),
    ],
)
def test_grid_mismatches_are_spec_errors(raw: dict[str, Any], shape: tuple[int, int, int], loc: list[Any]) -> None:
    with pytest.raises(SpecError) as info:
        measure(parse_spec(raw), shape, 10)
    assert info.value.errors[0]["loc"] == loc


def test_spec_rules() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec({"family": "repmlp", "stages": [{"depth": 1, "width": 10, "sharesets": 4}]})
    assert "sharesets" in str(info.value)
    with pytest.raises(SpecError):
        parse_spec({"family": "repmlp", "stages": [{"depth": 1, "width": 8}], "kernels": [3, 3]})
    with pytest.raises(SpecError):
        parse_spec({"family": "repmlp", "stages": [{"depth": 1, "width": 8}], "kernels": [2]})
    a = parse_spec({"family": "repmlp", "stages": [{"depth": 1, "width": 8}], "kernels": [3, 1]})
    b = parse_spec({"family": "repmlp", "stages": [{"depth": 1, "width": 8}], "kernels": [1, 3]})
    assert a == b  # kernel order is not part of the architecture


@pytest.mark.parametrize(
    ("preset", "benchmark"),
    [
        ("tiny_repmlp_digits", "digits"),
        ("tiny_repmlp_synth", "pathfinder"),
        ("tiny_repmlp_synth", "shapes"),
        ("tiny_repmlp_32", "fashion_mnist"),
    ],
)
def test_tiny_presets_fit_their_benchmarks(preset: str, benchmark: str) -> None:
    b = get_benchmark(benchmark)
    assert fits({"preset": preset}, b.input_shape, b.num_classes, b.limits, b.recipe.batch_size)
    model = build_model(parse_spec({"preset": preset}), b.input_shape, b.num_classes).train()
    logits = model(torch.randn(4, *b.input_shape))
    F.cross_entropy(logits, torch.arange(4) % b.num_classes).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_deploy_measurement_for_every_reparameterisable_family() -> None:
    repvgg = measure(parse_spec({"preset": "repvgg_a0"}), (3, 224, 224), 1000)
    assert repvgg.deploy_params == 8_309_384  # Ding et al. 2021 (RepVGG), Table 4: 8.30 M
    assert repvgg.deploy_macs is not None and abs(repvgg.deploy_macs - 1.36e9) / 1.36e9 < 0.01
    deployed = measure(parse_spec({"preset": "repvgg_a0", "overrides": {"deploy": True}}), (3, 224, 224), 1000)
    assert (deployed.deploy_params, deployed.deploy_macs) == (deployed.params, deployed.macs)
    assert measure(parse_spec({"preset": "resnet18"}), (3, 224, 224), 1000).deploy_params is None
