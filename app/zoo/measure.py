"""What one forward pass of one image costs, counted on the meta device; CPU/GPU throughput.

Every aten op the forward pass dispatches is costed by a ``TorchDispatchMode`` (no real allocation):

- **MACs** (multiply-accumulates; FLOPs = 2 × MACs) of convolutions (depth-wise and padded ones by their real
  output size × kernel), matrix multiplications and attention, from ``torch.utils.flop_counter``'s formulas —
  the figure published model cards quote, split by layer type in ``breakdown``.
- **Other ops**, everything MAC counts leave out, by these documented rules (``other_breakdown`` by kind):
  pooling = every input element each output's window reads (windows clipped to the input, as the kernels
  loop); norms = 4 per input element (mean, variance, normalise, affine); softmax = 3 per element;
  reductions = 1 per input element; element-wise ops (activations, residual adds, scales, masks) = 1 per
  output element; copies, concatenation, padding and allocation = 0 ops (their cost is in the bytes); any
  other op = 1 per output element.
- **Activation bytes**: bytes written by every op that makes a new tensor (views are free) — the data a
  forward pass moves, which bounds what training keeps for the backward pass.
- **Grouped-conv MACs**: the part of the MACs in grouped and depth-wise convolutions, which run far below a
  CPU's dense matrix speed (memory-bound), so the cost model prices them apart.
- **Kernels** and **views**: how many ops (and free view ops) one forward pass dispatches; on a CPU each costs
  a few microseconds per batch whatever its size, which dominates small models.

Training time is projected from these counts by ``app.zoo.costmodel``. The counts describe the forward pass in
eval mode; the cost model's coefficients include the backward pass and the optimiser step.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import flop_registry

from app.zoo.build import build_model
from app.zoo.spec import ArchSpec, SpecError, deploy_spec, parse_spec, spec_hash

_CACHE_SIZE = 1024
_cache: OrderedDict[tuple[str, tuple[int, int, int], int], Measurement] = OrderedDict()
_lock = threading.Lock()
_compute_lock = threading.Lock()

# aten op name (without overload) → layer type in the MAC breakdown
_OP_TYPES = {
    "convolution": "conv",
    "_convolution": "conv",
    "cudnn_convolution": "conv",
    "mm": "linear",
    "addmm": "linear",
    # On the meta device SDPA runs its math decomposition; in the zoo batched matmuls come from attention,
    # except in modules that declare otherwise (``bmm_kind``, e.g. RepMLP's partition-wise FC).
    "bmm": "attention",
    "baddbmm": "attention",
    "_scaled_dot_product_efficient_attention": "attention",
    "_scaled_dot_product_flash_attention": "attention",
    "_scaled_dot_product_cudnn_attention": "attention",
    "_scaled_dot_product_flash_attention_for_cpu": "attention",
    "_flash_attention_forward": "attention",
    "_efficient_attention_forward": "attention",
}
_POOLS = frozenset({"avg_pool2d", "max_pool2d_with_indices", "avg_pool3d", "max_pool3d_with_indices"})
_ADAPTIVE_POOLS = frozenset({"_adaptive_avg_pool2d", "adaptive_max_pool2d", "_adaptive_avg_pool3d"})
_NORMS = frozenset(
    {
        "native_layer_norm",
        "native_batch_norm",
        "_native_batch_norm_legit",
        "_native_batch_norm_legit_no_training",
        "_native_batch_norm_legit_functional",
        "native_group_norm",
    }
)
_SOFTMAX = frozenset({"_softmax", "_safe_softmax", "_log_softmax", "softmax", "log_softmax"})
_REDUCTIONS = frozenset(
    {"sum", "mean", "amax", "amin", "max", "min", "var", "std", "var_mean", "std_mean", "prod", "norm"}
    | {"linalg_vector_norm", "logsumexp", "argmax", "argmin", "any", "all"}
)
_MOVES = frozenset(
    {"clone", "copy_", "_to_copy", "cat", "stack", "constant_pad_nd", "roll", "repeat", "index", "index_select"}
    | {"gather", "scatter", "empty", "empty_like", "empty_strided", "zeros", "zeros_like", "ones", "ones_like"}
    | {"full", "full_like", "fill_", "zero_", "new_empty", "new_zeros", "new_full", "lift_fresh", "arange"}
)
_FREE = frozenset({"_unsafe_view"})  # views in all but name
NORM_OPS_PER_ELEMENT = 4
# The forward pass is counted on a batch of 2 and divided by 2: with one image some reshapes are free views
# that copy for every real batch size (e.g. merging the batch and channel axes).
_COUNT_BATCH = 2
SOFTMAX_OPS_PER_ELEMENT = 3


@dataclass(frozen=True)
class Measurement:
    """Size and forward cost of one image (see the module docstring for what each count covers).

    ``deploy_params``/``deploy_macs``: the inference form's size for re-parameterisable families (RepVGG,
    RepMLP; equal to params/macs for a spec already in deploy form); None for the others.
    """

    params: int
    macs: int
    flops: int
    breakdown: dict[str, int] = field(default_factory=dict)
    other_ops: int = 0
    other_breakdown: dict[str, int] = field(default_factory=dict)
    activation_bytes: int = 0
    kernels: int = 0
    views: int = 0
    grouped_conv_macs: int = 0
    deploy_params: int | None = None
    deploy_macs: int | None = None


def _op_type(op: object) -> str:
    parts = str(op).split(".")  # "aten.convolution" or "aten.convolution.default"
    name = parts[1] if len(parts) > 1 else parts[0]
    return _OP_TYPES.get(name, "other")


def _is_view(func: Any) -> bool:
    if func.overloadpacket.__name__ in _FREE:
        return True
    returns = func._schema.returns
    return bool(returns) and all(r.alias_info is not None and not r.alias_info.is_write for r in returns)


def _numel(value: object) -> int:
    return sum(t.numel() for t in tree_leaves(value) if isinstance(t, torch.Tensor))


def _nbytes(value: object) -> int:
    return sum(t.numel() * t.element_size() for t in tree_leaves(value) if isinstance(t, torch.Tensor))


def _pair(value: Any, default: int) -> tuple[int, int]:
    if value is None or (isinstance(value, (list, tuple)) and not value):
        return default, default
    if isinstance(value, int):
        return value, value
    return (int(value[0]), int(value[-1]))


def window_reads(size: int, out: int, kernel: int, stride: int, pad: int) -> int:
    """Input elements all outputs along one axis read, with windows clipped to the input (as CPU kernels
    loop)."""
    total = 0
    for o in range(out):
        start = o * stride - pad
        total += max(0, min(start + kernel, size) - max(start, 0))
    return total


def _pool_ops(args: tuple[Any, ...], out: object) -> int:
    x = args[0]
    result = next(t for t in tree_leaves(out) if isinstance(t, torch.Tensor))
    kh, kw = _pair(args[1], 1)
    sh, sw = _pair(args[2] if len(args) > 2 else None, 0)
    sh, sw = sh or kh, sw or kw
    ph, pw = _pair(args[3] if len(args) > 3 else 0, 0)
    planes = x.numel() // (x.shape[-1] * x.shape[-2])
    reads_h = window_reads(x.shape[-2], result.shape[-2], kh, sh, ph)
    reads_w = window_reads(x.shape[-1], result.shape[-1], kw, sw, pw)
    return planes * reads_h * reads_w


class _CostMode(TorchDispatchMode):
    """Costs every aten op it sees; ``kind_stack`` lets a module relabel the batched matmuls inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.macs: dict[str, int] = {}
        self.other: dict[str, int] = {}
        self.activation_bytes = 0
        self.kernels = 0
        self.views = 0
        self.grouped_conv_macs = 0
        self.kind_stack: list[str] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if _is_view(func):
            self.views += 1
            return out
        self.kernels += 1
        self.activation_bytes += _nbytes(out)
        packet = func.overloadpacket
        if packet in flop_registry:
            kind = _op_type(packet)
            if kind == "attention" and packet.__name__ in ("bmm", "baddbmm") and self.kind_stack:
                kind = self.kind_stack[-1]
            macs = int(flop_registry[packet](*args, **kwargs, out_val=out)) // 2
            self.macs[kind] = self.macs.get(kind, 0) + macs
            if kind == "conv" and len(args) > 8 and int(args[8]) > 1:
                self.grouped_conv_macs += macs
            return out
        kind, ops = self._other(func, args, out)
        self.other[kind] = self.other.get(kind, 0) + ops
        return out

    @staticmethod
    def _other(func: Any, args: tuple[Any, ...], out: object) -> tuple[str, int]:
        name = func.overloadpacket.__name__
        if name in _POOLS:
            return "pool", _pool_ops(args, out)
        if name in _ADAPTIVE_POOLS:
            return "pool", _numel(args[0])
        if name in _NORMS:
            return "norm", NORM_OPS_PER_ELEMENT * _numel(args[0])
        if name in _SOFTMAX:
            return "softmax", SOFTMAX_OPS_PER_ELEMENT * _numel(out)
        if name in _MOVES:
            return "move", 0
        if name in _REDUCTIONS:
            return "reduce", _numel(args[0])
        if torch.Tag.pointwise in func.tags:
            return "elementwise", _numel(out)
        return "other", _numel(out)


def _track_bmm_kinds(model: nn.Module, mode: _CostMode) -> None:
    """Modules with a ``bmm_kind`` attribute label the batched matmuls they run (hooks on this model only)."""

    def enter(module: nn.Module, _args: object) -> None:
        mode.kind_stack.append(str(module.bmm_kind))

    def leave(_module: nn.Module, _args: object, _out: object) -> None:
        mode.kind_stack.pop()

    for module in model.modules():
        if isinstance(getattr(module, "bmm_kind", None), str):
            module.register_forward_pre_hook(enter)
            module.register_forward_hook(leave)


def _count(spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int) -> Measurement:
    with torch.device("meta"):
        model = build_model(spec, input_shape, num_classes)
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    mode = _CostMode()
    _track_bmm_kinds(model, mode)
    x = torch.empty((_COUNT_BATCH, *input_shape), device="meta")
    try:
        with mode, torch.no_grad():
            model(x)
    except RuntimeError as exc:  # a shape the builders' checks missed: the user's 422, never a 500
        msg = f"this spec cannot run on a {input_shape[1]}×{input_shape[2]} input: {str(exc)[:200]}"
        raise SpecError.at([], msg, "input_mismatch") from None
    macs = {kind: n // _COUNT_BATCH for kind, n in sorted(mode.macs.items())}
    other = {kind: n // _COUNT_BATCH for kind, n in sorted(mode.other.items())}
    return Measurement(
        params=params,
        macs=sum(macs.values()),
        flops=2 * sum(macs.values()),
        breakdown=macs,
        other_ops=sum(other.values()),
        other_breakdown=other,
        activation_bytes=mode.activation_bytes // _COUNT_BATCH,
        kernels=mode.kernels,
        views=mode.views,
        grouped_conv_macs=mode.grouped_conv_macs // _COUNT_BATCH,
    )


def _cached(key: tuple[str, tuple[int, int, int], int]) -> Measurement | None:
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    return None


def measure(spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int) -> Measurement:
    """Params and the forward cost of one image, built on the meta device (no real allocation). Cached.

    Re-parameterisable families also get the size of their inference form (``deploy_params``/``deploy_macs``).
    """
    spec = parse_spec(spec)
    c, h, w = (int(d) for d in input_shape)
    key = (spec_hash(spec), (c, h, w), int(num_classes))
    found = _cached(key)
    if found is not None:
        return found
    deploy = deploy_spec(spec)
    deployed = measure(deploy, key[1], key[2]) if deploy is not None and deploy is not spec else None
    with _compute_lock:  # one count at a time bounds CPU use under a burst of validation requests
        result = _count(spec, key[1], key[2])
    if deployed is not None:
        result = _with_deploy(result, deployed.params, deployed.macs)
    elif deploy is not None:
        result = _with_deploy(result, result.params, result.macs)
    with _lock:
        _cache[key] = result
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _with_deploy(m: Measurement, params: int, macs: int) -> Measurement:
    return replace(m, deploy_params=params, deploy_macs=macs)


def warm_up() -> None:
    """Pay the process's one-off cost of loading meta-device kernels (~1-5 s) now, e.g. at web app start-up,
    instead of in the first validation request."""
    measure(parse_spec({"preset": "tiny_vit_digits"}), (1, 8, 8), 10)
    measure(parse_spec({"preset": "tiny_resnet_digits"}), (1, 8, 8), 10)


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
