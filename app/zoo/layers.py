"""Small building blocks shared by the families: norms, activations, layer scale, drop path, conv
arithmetic."""

from __future__ import annotations

import torch
from torch import nn

from app.zoo.spec import SpecError


def make_act(name: str) -> nn.Module:
    return {"gelu": nn.GELU, "relu": nn.ReLU, "silu": nn.SiLU}[name]()


class TokenNorm(nn.Module):
    """A norm over tokens shaped (B, N, C): LayerNorm on C, or BatchNorm / GroupNorm(1) on (B, C, N)."""

    def __init__(self, kind: str, dim: int) -> None:
        super().__init__()
        self.channels_last = kind == "layernorm"
        self.norm: nn.Module
        if kind == "layernorm":
            self.norm = nn.LayerNorm(dim, eps=1e-6)
        elif kind == "batchnorm":
            self.norm = nn.BatchNorm1d(dim)
        else:
            self.norm = channel_norm(kind, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            return self.norm(x)
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW tensor (ConvNeXt's channels_first LayerNorm)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def channel_norm(kind: str, dim: int) -> nn.Module:
    """A norm for NCHW tensors (GroupNorm(1) also takes (N, C, L))."""
    if kind == "layernorm":
        return LayerNorm2d(dim, eps=1e-6)
    if kind == "batchnorm":
        return nn.BatchNorm2d(dim)
    if kind == "groupnorm":
        return nn.GroupNorm(1, dim)
    raise ValueError(f"unknown norm {kind!r}")


class LayerScale(nn.Module):
    def __init__(self, dim: int, init: float) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class DropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch per sample during training."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


def same_padding(kernel: int, stride: int) -> int:
    """Padding that gives ceil(size / stride) outputs for the usual kernels (7/4 → 2, 3/2 → 1, 2/2 → 0, 7/2 →
    3)."""
    return max(0, (kernel - stride + 1) // 2)


def conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def need_grid(size: tuple[int, int], minimum: int, loc: list[str | int], what: str) -> None:
    """Raise SpecError when a spatial grid is too small for the next layer (the API shows it as a 422)."""
    if min(size) < minimum:
        raise SpecError.at(
            loc,
            f"{what} needs a grid of at least {minimum}×{minimum} "
            f"but gets {size[0]}×{size[1]} for this input "
            "(too many downsamplings, or a stride too large for the image)",
            "input_mismatch",
        )
