"""S copies of one architecture trained as one model: parameters and buffers stacked along a leading member
axis, run with ``torch.func.vmap`` over ``functional_call`` of one template module.

Why vmap and not hand-written grouped convolutions (both measured on CPU: ``bench/seed_batching.py
--grouped``): vmap batches *every* op the zoo uses (attention, LayerNorm, GroupNorm, token MLPs,
concatenations, zero-padding shortcuts, per-sample dynamic kernels) with one generic mechanism, and its rule
for a convolution with a batched weight is itself a grouped convolution; BatchNorm's rule folds the member
axis into the channels, so running statistics stay per member. A hand-grouped model was faster on CPU for
conv-BN-only nets but covers only those, and would be a second zoo to keep in step with the first.

Each member's numbers are its own: gradients of a sum of per-member losses are per-member gradients, every
optimiser used here is elementwise, and gradient clipping is done per member (``clip_per_member``), so a
member's NaN stays in its own slice.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, vmap
from torch.nn.attention import SDPBackend, sdpa_kernel

from app.zoo.cnn import (
    BasicBlock,
    Bottleneck,
    ClassifierHead,
    DenseLayer,
    RepVGGBlock,
    Residual,
    ZeroPadShortcut,
)
from app.zoo.layers import DropPath, LayerNorm2d, LayerScale, TokenNorm
from app.zoo.metaformer import ConvEmbed, MetaFormer, MetaFormerBlock, Mlp
from app.zoo.mixers import (
    Attention,
    DWConv,
    DynamicDWConv,
    ExternalAttention,
    Pooling,
    SpatialMLP,
    WindowAttention,
)
from app.zoo.repmlp import RepMLPBlock, RepMLPNet, RepMLPUnit
from workers.training.evaluate import autocast_for

# Module types whose forward was checked under vmap against one model per member (forward, backward, buffers:
# tests/workers/training/test_batched.py runs every preset). A module outside this set keeps its spec on the
# one-by-one path until it is checked: a batched run must never silently differ from its one-by-one twin.
BATCHABLE_MODULES: frozenset[type[nn.Module]] = frozenset(
    {
        nn.Sequential, nn.ModuleDict, nn.Identity, nn.Flatten,
        nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm,
        nn.ReLU, nn.GELU, nn.SiLU, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
        BasicBlock, Bottleneck, ClassifierHead, DenseLayer, RepVGGBlock, Residual, ZeroPadShortcut,
        LayerNorm2d, LayerScale, TokenNorm, DropPath,
        ConvEmbed, MetaFormer, MetaFormerBlock, Mlp,
        Attention, DWConv, DynamicDWConv, ExternalAttention, Pooling, SpatialMLP, WindowAttention,
        RepMLPBlock, RepMLPNet, RepMLPUnit,
    }
)  # fmt: skip


def stochastic_reason(model: nn.Module) -> str | None:
    """Why ``model`` draws random numbers in its forward pass (dropout, drop path), or None.

    Such draws come from the process-wide generator, which a one-by-one run consumes for its seed alone; a
    batched step cannot reproduce every member's stream, so these models train one by one.
    """
    for name, module in model.named_modules():
        p = getattr(module, "p", 0.0)
        if isinstance(module, DropPath | nn.modules.dropout._DropoutNd) and p > 0:
            return f"{name or 'model'} ({type(module).__name__}, p={p:g}) draws random numbers in training"
    return None


def unverified_modules(model: nn.Module) -> list[str]:
    """Names of the module types in ``model`` that are not known to batch correctly."""
    return sorted({type(m).__name__ for m in model.modules() if type(m) not in BATCHABLE_MODULES})


def _math_attention() -> AbstractContextManager[None]:
    """The composite (matmul-softmax-matmul) attention kernel: vmap batches it everywhere, while the fused CPU
    kernel has no batching rule (vmap would loop over members) and cannot differentiate a learned mask
    (Swin's relative position bias)."""
    return sdpa_kernel(SDPBackend.MATH)


class StackedModel:
    """The members' parameters and buffers stacked along dim 0, and the template that runs them.

    ``params`` are leaf tensors (S, …) with ``requires_grad``; ``buffers`` (BatchNorm statistics, constant
    masks) are (S, …) too, so every member keeps its own statistics. The template is a copy of the first
    member on the meta device: it holds the code and the shapes, never data.
    """

    def __init__(self, models: Sequence[nn.Module], device: torch.device) -> None:
        if not models:
            raise ValueError("no models to stack")
        names = [(n, tuple(p.shape)) for n, p in models[0].named_parameters()]
        for m in models[1:]:
            if [(n, tuple(p.shape)) for n, p in m.named_parameters()] != names:
                raise ValueError("stacked models must share one architecture (parameter names and shapes)")
        self.template = copy.deepcopy(models[0]).to("meta")
        params = [dict(m.named_parameters()) for m in models]
        buffers = [dict(m.named_buffers()) for m in models]
        self.params: dict[str, torch.Tensor] = {
            name: torch.stack([p[name].detach() for p in params]).to(device).requires_grad_() for name, _ in names
        }
        self.buffers: dict[str, torch.Tensor] = {
            name: torch.stack([b[name] for b in buffers]).to(device) for name in buffers[0]
        }
        self.device = device

    @property
    def size(self) -> int:
        return int(next(iter(self.params.values())).shape[0])

    def _forward(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], x: torch.Tensor
    ) -> torch.Tensor:
        return functional_call(self.template, (params, buffers), (x,))

    def train_outputs(
        self, x: torch.Tensor, y: torch.Tensor, *, label_smoothing: float, autocast_cache: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Training-mode forward of every member on its own batch: ``x`` (S, N, C, H, W), ``y`` (S, N). Returns
        each member's mean loss (S,) (differentiable) and number of correct predictions (S,). BatchNorm
        statistics update per member."""

        def one(
            params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], xb: torch.Tensor, yb: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            with autocast_for(self.device, cache=autocast_cache):
                logits = self._forward(params, buffers, xb)
            logits = logits.float()
            loss = F.cross_entropy(logits, yb, label_smoothing=label_smoothing)
            return loss, (logits.detach().argmax(dim=1) == yb).sum()

        self.template.train()
        with _math_attention():
            loss, correct = vmap(one, randomness="error")(self.params, self.buffers, x, y)
        return loss, correct

    def eval_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Eval-mode logits of every member on the same images ``x`` (N, C, H, W): (S, N, classes)."""
        self.template.eval()
        try:
            with _math_attention():
                out: torch.Tensor = vmap(self._forward, in_dims=(0, 0, None), randomness="error")(
                    self.params, self.buffers, x
                )
        finally:
            self.template.train()
        return out

    def select(self, keep: Sequence[int], optimizer: torch.optim.Optimizer | None = None) -> None:
        """Keep only members ``keep`` (indices into the current stack), in place: the same parameter objects
        (so an optimiser and ``params`` stay valid) with fewer rows, and the optimiser's per-member state
        likewise. Gradients are dropped."""
        if list(keep) == list(range(self.size)):
            return
        idx = torch.tensor(list(keep), dtype=torch.long, device=self.device)
        n = self.size
        for p in self.params.values():
            if optimizer is not None:
                state = optimizer.state.get(p, {})
                for key, value in state.items():
                    if isinstance(value, torch.Tensor) and value.ndim > 0 and value.shape[0] == n:
                        state[key] = value.index_select(0, idx)
            p.grad = None
            p.data = p.data.index_select(0, idx)
        for name, b in self.buffers.items():
            self.buffers[name] = b.index_select(0, idx)

    def member_state(self, i: int) -> dict[str, torch.Tensor]:
        """Member ``i``'s parameters and buffers, as a ``state_dict`` of one model."""
        out = {name: p.detach()[i] for name, p in self.params.items()}
        out.update({name: b[i] for name, b in self.buffers.items()})
        return out


def clip_per_member(params: Sequence[torch.Tensor], max_norm: float) -> None:
    """``torch.nn.utils.clip_grad_norm_`` for each member on its own: the norm of member ``s`` is taken over
    row ``s`` of every gradient, and only that row is scaled (same formula: coefficient max_norm / (norm +
    1e-6), at most 1). A non-finite gradient in one member leaves the others untouched."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    s = grads[0].shape[0]
    norms = torch.stack([torch.linalg.vector_norm(g.reshape(s, -1), 2, dim=1) for g in grads])
    total = torch.linalg.vector_norm(norms, 2, dim=0)
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef.view(s, *([1] * (g.ndim - 1))).to(g.dtype))


def batched_step_fn(
    stacked: StackedModel,
    optimizer: torch.optim.Optimizer,
    *,
    label_smoothing: float,
    grad_clip: float | None,
    zero_grad: bool = True,
    autocast_cache: bool = True,
) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """One optimiser step of every member on its own batch; returns per-member (loss, correct), detached and
    on the device. ``zero_grad=False`` for a CUDA-graph capture, where the gradients are the graph's own."""
    params = list(stacked.params.values())

    def step(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loss, correct = stacked.train_outputs(x, y, label_smoothing=label_smoothing, autocast_cache=autocast_cache)
        if zero_grad:
            optimizer.zero_grad(set_to_none=True)
        # d(sum of member losses)/d(member s's parameters) = d(loss_s)/d(...): per-member gradients.
        loss.sum().backward()
        if grad_clip is not None:
            clip_per_member(params, grad_clip)
        optimizer.step()
        return loss.detach(), correct

    return step
