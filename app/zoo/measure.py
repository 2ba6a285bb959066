"""Params, MACs and FLOPs of one forward pass of one image, counted on the meta device; CPU/GPU throughput.

MACs come from torch.utils.flop_counter.FlopCounterMode (FLOPs = 2 × MACs): convolutions (depth-wise and
padded ones by their real output size × kernel), matrix multiplications and SDPA attention. Like fvcore/timm
figures, norms, activations, pooling and element-wise ops are not counted.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from app.zoo.build import build_model
from app.zoo.spec import ArchSpec, parse_spec, spec_hash

_CACHE_SIZE = 1024
_cache: OrderedDict[tuple[str, tuple[int, int, int], int], Measurement] = OrderedDict()
_lock = threading.Lock()
_compute_lock = threading.Lock()

# aten op name (without overload) → layer type in the breakdown
_OP_TYPES = {
    "convolution": "conv",
    "_convolution": "conv",
    "cudnn_convolution": "conv",
    "mm": "linear",
    "addmm": "linear",
    # On the meta device SDPA runs its math decomposition; in the zoo batched matmuls come only from
    # attention.
    "bmm": "attention",
    "baddbmm": "attention",
    "_scaled_dot_product_efficient_attention": "attention",
    "_scaled_dot_product_flash_attention": "attention",
    "_scaled_dot_product_cudnn_attention": "attention",
    "_scaled_dot_product_flash_attention_for_cpu": "attention",
    "_flash_attention_forward": "attention",
    "_efficient_attention_forward": "attention",
}


@dataclass(frozen=True)
class Measurement:
    params: int
    macs: int
    flops: int
    breakdown: dict[str, int] = field(default_factory=dict)


def _op_type(op: object) -> str:
    parts = str(op).split(".")  # "aten.convolution" or "aten.convolution.default"
    name = parts[1] if len(parts) > 1 else parts[0]
    return _OP_TYPES.get(name, "other")


_UNCOUNTED = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm, nn.GELU, nn.ReLU, nn.SiLU)


def _passthrough(x: torch.Tensor) -> torch.Tensor:
    return x


def _skip_uncounted(model: nn.Module) -> None:
    """Make norms and activations pass-throughs: they keep shapes, FlopCounterMode does not count them, and
    their meta-device decompositions (batch norm especially) cost ~10 ms each."""
    for module in model.modules():
        if isinstance(module, _UNCOUNTED):
            module.forward = _passthrough  # type: ignore[method-assign]


def _count(spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int) -> Measurement:
    with torch.device("meta"):
        model = build_model(spec, input_shape, num_classes)
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    _skip_uncounted(model)
    x = torch.empty((1, *input_shape), device="meta")
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    breakdown: dict[str, int] = {}
    for op, flops in counter.get_flop_counts().get("Global", {}).items():
        kind = _op_type(op)
        breakdown[kind] = breakdown.get(kind, 0) + int(flops) // 2
    macs = sum(breakdown.values())
    return Measurement(params=params, macs=macs, flops=2 * macs, breakdown=dict(sorted(breakdown.items())))


def measure(spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int) -> Measurement:
    """Params and MACs of one image's forward pass, built on the meta device (no real allocation). Cached."""
    spec = parse_spec(spec)
    c, h, w = (int(d) for d in input_shape)
    key = (spec_hash(spec), (c, h, w), int(num_classes))
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    with _compute_lock:  # one count at a time bounds CPU use under a burst of validation requests
        result = _count(spec, key[1], key[2])
    with _lock:
        _cache[key] = result
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def warm_up() -> None:
    """Pay the process's one-off cost of loading meta-device kernels (~1-5 s) now, e.g. at web app start-up,
    instead of in the first validation request."""
    measure(parse_spec({"preset": "tiny_vit_digits"}), (1, 8, 8), 10)


def throughput(
    spec: ArchSpec,
    input_shape: tuple[int, int, int],
    num_classes: int,
    batch_size: int = 32,
    device: str = "cpu",
    steps: int = 5,
) -> float:
    """Training images per second (forward + backward), after two warm-up steps."""
    model = build_model(spec, input_shape, num_classes).to(device).train()
    x = torch.randn(batch_size, *input_shape, device=device)
    y = torch.randint(0, num_classes, (batch_size,), device=device)

    def step() -> None:
        model.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize(device)

    for _ in range(2):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return batch_size * steps / (time.perf_counter() - start)
