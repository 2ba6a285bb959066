"""Token mixers: every one maps tokens (B, N, C) → (B, N, C).

Grid mixers (window attention, convolutions, pooling) know the token grid (H, W) from construction: input
shapes are fixed per benchmark, so a model is built for one input size. Sequence mixers also accept a leading
class token.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from app.zoo.layers import make_act
from app.zoo.spec import (
    AttentionMixer,
    DWConvMixer,
    DynamicDWConvMixer,
    ExternalAttentionMixer,
    IdentityMixer,
    MixerSpec,
    PoolingMixer,
    SpatialMLPMixer,
    WindowAttentionMixer,
)


def to_grid(x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """(B, H*W, C) → (B, C, H, W)."""
    b, _, c = x.shape
    return x.transpose(1, 2).reshape(b, c, *grid)


def to_tokens(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) → (B, H*W, C)."""
    return x.flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Global multi-head self-attention; SDPA so FlopCounterMode counts the attention matmuls."""

    def __init__(self, dim: int, heads: int, qkv_bias: bool) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


def _window_partition(x: torch.Tensor, w: int) -> torch.Tensor:
    """(B, H, W, C) → (B * nW, w*w, C)."""
    b, h, wd, c = x.shape
    x = x.view(b, h // w, w, wd // w, w, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, w * w, c)


def _window_merge(x: torch.Tensor, w: int, b: int, h: int, wd: int) -> torch.Tensor:
    """(B * nW, w*w, C) → (B, H, W, C)."""
    c = x.shape[-1]
    x = x.view(b, h // w, wd // w, w, w, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, wd, c)


class WindowAttention(nn.Module):
    """Swin-style attention in non-overlapping w×w windows, optionally cyclically shifted by w // 2.

    The window is clamped to the grid (as Swin does when the grid is smaller than a window; no shift then). A
    grid that windows do not tile is zero-padded to the next multiple of w, and padded tokens are masked out
    as keys (as Swin's detection backbone pads), so any grid works.
    """

    def __init__(
        self,
        dim: int,
        grid: tuple[int, int],
        heads: int,
        window: int,
        shift: bool,
        qkv_bias: bool,
        rel_pos_bias: bool,
    ) -> None:
        super().__init__()
        self.grid, self.heads = grid, heads
        self.window = w = min(window, *grid)
        self.shift = w // 2 if shift and w < min(grid) else 0
        self.padded = (-(-grid[0] // w) * w, -(-grid[1] // w) * w)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.bias_table = nn.Parameter(torch.zeros((2 * w - 1) ** 2, heads)) if rel_pos_bias else None
        if self.bias_table is not None:
            nn.init.trunc_normal_(self.bias_table, std=0.02)
            coords = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")).flatten(1)
            rel = (coords[:, :, None] - coords[:, None, :]) + (w - 1)
            self.register_buffer("bias_index", (rel[0] * (2 * w - 1) + rel[1]).reshape(-1), persistent=False)
        self.bias_index: torch.Tensor
        self.register_buffer("window_mask", self._window_mask(), persistent=False)
        self.window_mask: torch.Tensor | None

    def _window_mask(self) -> torch.Tensor | None:
        """Additive mask (nW, N, N): -100 where a shifted window would mix tokens that were not adjacent
        (regions labelled as in Swin) and where the key is padding."""
        (hp, wp), w, s = self.padded, self.window, self.shift
        padding = self.padded != self.grid
        if s == 0 and not padding:
            return None
        label = torch.zeros(1, hp, wp, 1)
        if s:
            spans = (slice(0, -w), slice(-w, -s), slice(-s, None))
            for i, (hs, ws) in enumerate((hs, ws) for hs in spans for ws in spans):
                label[:, hs, ws, :] = i
        region = _window_partition(label, w).squeeze(-1)  # (nW, N)
        blocked = region[:, None, :] != region[:, :, None]
        if padding:
            real = torch.zeros(1, hp, wp, 1)
            real[:, : self.grid[0], : self.grid[1]] = 1.0
            real = _window_partition(torch.roll(real, shifts=(-s, -s), dims=(1, 2)), w).squeeze(-1)
            blocked = blocked | (real[:, None, :] == 0)
        return torch.zeros(blocked.shape).masked_fill(blocked, -100.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, c = x.shape
        (h, wd), (hp, wp) = self.grid, self.padded
        w, s = self.window, self.shift
        x = x.reshape(b, h, wd, c)
        if (hp, wp) != (h, wd):
            x = F.pad(x, (0, 0, 0, wp - wd, 0, hp - h))
        if s:
            x = torch.roll(x, shifts=(-s, -s), dims=(1, 2))
        win = _window_partition(x, w)
        bw, n, _ = win.shape
        q, k, v = self.qkv(win).reshape(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        mask = None
        if self.bias_table is not None:
            mask = self.bias_table[self.bias_index].view(n, n, -1).permute(2, 0, 1)[None]  # (1, heads, N, N)
        if self.window_mask is not None:
            wm = self.window_mask[:, None].repeat(b, 1, 1, 1)  # (B * nW, 1, N, N)
            mask = wm if mask is None else mask + wm
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        out = self.proj(out.transpose(1, 2).reshape(bw, n, c))
        out = _window_merge(out, w, b, hp, wp)
        if s:
            out = torch.roll(out, shifts=(s, s), dims=(1, 2))
        return out[:, :h, :wd].reshape(b, h * wd, c)


class DWConv(nn.Module):
    """Depth-wise k×k convolution over the token grid."""

    def __init__(self, dim: int, grid: tuple[int, int], kernel: int) -> None:
        super().__init__()
        self.grid = grid
        self.conv = nn.Conv2d(dim, dim, kernel, padding=kernel // 2, groups=dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return to_tokens(self.conv(to_grid(x, self.grid)))


class DynamicDWConv(nn.Module):
    """Depth-wise conv with per-sample kernels predicted from the globally pooled input (Han et al., ICLR
    2022).

    Kernel generator: pool → Linear(C, C/r) → ReLU → Linear(C/r, C·k²). The batch is folded into the channels
    so one grouped conv applies every sample's own kernels (counted as a conv by FlopCounterMode).
    """

    def __init__(self, dim: int, grid: tuple[int, int], kernel: int, reduction: int) -> None:
        super().__init__()
        self.grid, self.kernel = grid, kernel
        hidden = max(1, dim // reduction)
        self.reduce = nn.Linear(dim, hidden)
        self.act = nn.ReLU()
        self.expand = nn.Linear(hidden, dim * kernel * kernel)
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, c = x.shape
        k = self.kernel
        weight = self.expand(self.act(self.reduce(x.mean(dim=1)))).reshape(b * c, 1, k, k)
        grid = to_grid(x, self.grid).reshape(1, b * c, *self.grid)
        out = F.conv2d(grid, weight, self.bias.repeat(b), padding=k // 2, groups=b * c)
        return to_tokens(out.reshape(b, c, *self.grid))


class SpatialMLP(nn.Module):
    """Token-mixing MLP (MLP-Mixer): the same MLP across the token axis for every channel."""

    def __init__(self, tokens: int, hidden: int, act: str) -> None:
        super().__init__()
        self.fc1 = nn.Linear(tokens, hidden)
        self.act = make_act(act)
        self.fc2 = nn.Linear(hidden, tokens)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x.transpose(1, 2)))).transpose(1, 2)


class ExternalAttention(nn.Module):
    """Multi-head external attention (Guo et al. 2021): keys and values are learned memories M_k, M_v (S
    units) shared by all samples; softmax over tokens, then l1-normalisation over memory units (double
    normalisation)."""

    def __init__(self, dim: int, heads: int, memory: int) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(dim, dim)
        self.mk = nn.Linear(dim // heads, memory, bias=False)
        self.mv = nn.Linear(memory, dim // heads, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q = self.query(x).view(b, n, self.heads, c // self.heads).transpose(1, 2)
        attn = self.mk(q).softmax(dim=-2)
        attn = attn / (attn.sum(dim=-1, keepdim=True) + 1e-9)
        out = self.mv(attn).transpose(1, 2).reshape(b, n, c)
        return self.proj(out)


class Pooling(nn.Module):
    """PoolFormer's mixer: average pool minus the input (the block adds the input back)."""

    def __init__(self, grid: tuple[int, int], pool_size: int) -> None:
        super().__init__()
        self.grid = grid
        self.pool = nn.AvgPool2d(pool_size, stride=1, padding=pool_size // 2, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Contiguous on purpose: the grid view has channels_last strides, and CUDA's channels_last avg_pool2d
        # backward with padding returns wrong gradients (seen with torch 2.11 on an H200: a PoolFormer trained to
        # 39 % on digits instead of 83 %; bench/cuda_check.py's "grads" check compares every preset with CPU).
        g = to_grid(x, self.grid).contiguous()
        return to_tokens(self.pool(g) - g)


def build_mixer(spec: MixerSpec, dim: int, grid: tuple[int, int], tokens: int, act: str, index: int) -> nn.Module:
    """The mixer for block ``index`` of a stage: ``tokens`` counts a class token, ``grid`` does not."""
    if isinstance(spec, AttentionMixer):
        return Attention(dim, spec.heads, spec.qkv_bias)
    if isinstance(spec, WindowAttentionMixer):
        return WindowAttention(
            dim,
            grid,
            spec.heads,
            spec.window,
            spec.shift and index % 2 == 1,
            spec.qkv_bias,
            spec.rel_pos_bias,
        )
    if isinstance(spec, DWConvMixer):
        return DWConv(dim, grid, spec.kernel)
    if isinstance(spec, DynamicDWConvMixer):
        return DynamicDWConv(dim, grid, spec.kernel, spec.reduction)
    if isinstance(spec, SpatialMLPMixer):
        return SpatialMLP(tokens, max(1, int(spec.hidden_ratio * dim)), act)
    if isinstance(spec, ExternalAttentionMixer):
        return ExternalAttention(dim, spec.heads, spec.memory)
    if isinstance(spec, PoolingMixer):
        return Pooling(grid, spec.pool_size)
    if isinstance(spec, IdentityMixer):
        return nn.Identity()
    raise TypeError(f"unknown mixer {spec!r}")
