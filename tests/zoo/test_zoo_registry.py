"""Every family × token mixer × layout in the registry builds, trains a step on CPU without NaN, and its
parameter count agrees between the real model and measure() on the meta device (timm tests/test_models.py in
spirit)."""

from __future__ import annotations

import pytest
import torch

from app.zoo import build_model, measure, parse_spec
from app.zoo.spec import MIXER_KINDS
from tests.zoo.registry import REGISTRY

SHAPES = [(1, 8, 8), (3, 32, 32)]


def test_registry_covers_every_family_mixer_and_layout() -> None:
    families = {raw["family"] for raw in REGISTRY.values()}
    assert families == {"metaformer", "resnet", "plain", "convmixer", "densenet", "repvgg", "repmlp"}
    for mixer in MIXER_KINDS:
        for layout in ("isotropic", "hierarchical"):
            assert f"metaformer-{mixer}-{layout}" in REGISTRY


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_forward_backward_and_param_count(name: str, shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    spec = parse_spec(REGISTRY[name])
    model = build_model(spec, shape, 10).train()
    x = torch.randn(2, *shape)
    logits = model(x)
    assert logits.shape == (2, 10)
    assert torch.isfinite(logits).all()
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1])).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads if g is not None)

    params = sum(p.numel() for p in model.parameters())
    measured = measure(spec, shape, 10)
    assert measured.params == params
    assert measured.macs > 0
    assert measured.flops == 2 * measured.macs
    assert sum(measured.breakdown.values()) == measured.macs
    assert set(measured.breakdown) <= {"conv", "linear", "attention"}
    assert measured.other_ops > 0 and measured.activation_bytes > 0 and measured.kernels > 0

    model.eval()
    with torch.no_grad():
        assert torch.isfinite(model(x)).all()
