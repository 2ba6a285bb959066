"""RepMLPNet (Ding et al.): MLP blocks whose training-time conv branches fold into fully-connected layers.

The RepMLP unit works on an NCHW grid cut into ``p × p`` partitions. Each partition's ``p²`` tokens are mixed
by a fully-connected layer (``p² → p²``) that is shared by the channels of one channel set (``S`` sets; channel
``c`` belongs to set ``c mod S``): the partition-wise FC. While training, a BatchNorm follows the FC and a
local perceptron runs beside it: per set, a depth-wise ``k × k`` conv + BN for every kernel size in
``kernels``, zero-padded at the partition border. A conv restricted to a partition is a linear map of its
``p²`` tokens, so it equals an FC whose weights are the conv's response to each unit impulse; ``fuse()`` adds
those weights (scaled by the BNs) into the FC and keeps one bias per set and position. A global perceptron
(average pool → FC → ReLU → FC → sigmoid) scales the result per channel and image; it depends on the input,
so it stays.
"""

from __future__ import annotations

import math
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from app.zoo.layers import conv_out, need_grid
from app.zoo.spec import RepMLPSpec, RepMLPStage, SpecError

Grid = tuple[int, int]


def _bn_affine(bn: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """The eval-mode BatchNorm as y = scale · x + shift (running statistics)."""
    assert bn.running_var is not None and bn.running_mean is not None
    scale = bn.weight / (bn.running_var + bn.eps).sqrt()
    return scale, bn.bias - bn.running_mean * scale


def _conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    padding = kernel // 2 if stride == 1 else 0
    conv = nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(cout))


class RepMLPUnit(nn.Module):
    """Global perceptron × (partition-wise FC [+ BN] [+ local conv branches]) on (B, C, H, W)."""

    bmm_kind = "linear"  # its batched matmul is the partition-wise FC, not attention (MAC breakdown)

    def __init__(self, dim: int, partition: int, sets: int, kernels: list[int], gp_reduce: int, deploy: bool) -> None:
        super().__init__()
        self.dim, self.part, self.sets = dim, partition, sets
        area = partition * partition
        hidden = max(1, dim // gp_reduce)
        self.gp_fc1 = nn.Linear(dim, hidden)
        self.gp_fc2 = nn.Linear(hidden, dim)
        # (set, output position, input position); the default init of a 1×1 conv with p² inputs per group.
        bound = 1.0 / math.sqrt(area)
        self.weight = nn.Parameter(torch.empty(sets, area, area).uniform_(-bound, bound))
        self.bias: nn.Parameter | None = nn.Parameter(torch.zeros(sets, area)) if deploy else None
        self.fc_bn: nn.BatchNorm1d | None = None if deploy else nn.BatchNorm1d(sets)
        self.local = nn.ModuleDict()
        if not deploy:
            for k in kernels:
                self.local[str(k)] = _conv_bn(sets, sets, k, groups=sets)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) → (B·C/S·H/p·W/p, S, p, p): every partition of every channel set."""
        b, c, h, w = x.shape
        p, s = self.part, self.sets
        x = x.reshape(b, c // s, s, h // p, p, w // p, p).permute(0, 1, 3, 5, 2, 4, 6)
        return x.reshape(-1, s, p, p)

    def _merge(self, rows: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        b, c, h, w = shape
        p, s = self.part, self.sets
        x = rows.reshape(b, c // s, h // p, w // p, s, p, p).permute(0, 1, 4, 2, 5, 3, 6)
        return x.reshape(b, c, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = torch.sigmoid(self.gp_fc2(F.relu(self.gp_fc1(x.mean(dim=(2, 3))))))
        parts = self._split(x)
        rows = parts.flatten(2)  # (R, S, p²)
        out = torch.bmm(rows.transpose(0, 1), self.weight.transpose(1, 2)).transpose(0, 1)
        if self.bias is not None:
            out = out + self.bias
        if self.fc_bn is not None:
            out = self.fc_bn(out)
        for branch in self.local.values():
            out = out + branch(parts).flatten(2)
        return self._merge(out, x.shape) * scale[:, :, None, None]

    def _conv_as_fc(self, kernel: torch.Tensor) -> torch.Tensor:
        """A per-set (S, 1, k, k) conv on a p × p partition as (S, p², p²) FC weights: column i is the conv's
        response to a unit impulse at position i."""
        p, area = self.part, self.part * self.part
        impulses = torch.eye(area, device=kernel.device, dtype=kernel.dtype).reshape(area, 1, p, p)
        response = F.conv2d(
            impulses.expand(area, self.sets, p, p), kernel, padding=kernel.shape[-1] // 2, groups=self.sets
        )
        return response.reshape(area, self.sets, area).permute(1, 2, 0)

    @torch.no_grad()
    def fuse(self) -> None:
        """Fold the FC's BN and every local conv + BN branch into one FC with a bias (eval-mode statistics)."""
        if self.fc_bn is None:
            return
        scale, shift = _bn_affine(self.fc_bn)
        weight = self.weight * scale[:, None, None]
        bias = shift[:, None].expand(self.sets, self.part * self.part).clone()
        for branch in self.local.values():
            seq = cast(nn.Sequential, branch)
            conv, bn = cast(nn.Conv2d, seq[0]), cast(nn.BatchNorm2d, seq[1])
            k_scale, k_shift = _bn_affine(bn)
            weight += self._conv_as_fc(conv.weight * k_scale[:, None, None, None])
            bias += k_shift[:, None]
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias)
        self.fc_bn = None
        self.local = nn.ModuleDict()


class RepMLPBlock(nn.Module):
    """x + RepMLP(BN(x)), then x + FFN(BN(x)) with FFN = 1×1 conv-BN → GELU → 1×1 conv-BN."""

    def __init__(self, dim: int, partition: int, spec: RepMLPSpec, sets: int) -> None:
        super().__init__()
        hidden = max(1, int(dim * spec.ffn_ratio))
        self.norm1 = nn.BatchNorm2d(dim)
        self.mixer = RepMLPUnit(dim, partition, sets, spec.kernels, spec.gp_reduce, spec.deploy)
        self.norm2 = nn.BatchNorm2d(dim)
        self.ffn = nn.Sequential(*_conv_bn(dim, hidden, 1), nn.GELU(), *_conv_bn(hidden, dim, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.mixer(self.norm1(x))
        return x + self.ffn(self.norm2(x))


def _partition(stage: RepMLPStage, grid: Grid, index: int) -> int:
    """The partition side of a stage; SpecError unless it tiles the (square) grid."""
    if stage.partition is None:
        if grid[0] != grid[1]:
            raise SpecError.at(
                ["stages", index, "partition"],
                f"a whole-grid partition needs a square grid, not {grid[0]}×{grid[1]}; set a partition side",
                "input_mismatch",
            )
        return grid[0]
    p = stage.partition
    if grid[0] % p or grid[1] % p:
        raise SpecError.at(
            ["stages", index, "partition"],
            f"partition {p} does not divide stage {index}'s {grid[0]}×{grid[1]} token grid",
            "input_mismatch",
        )
    return p


def repmlp_grids(spec: RepMLPSpec, input_shape: tuple[int, int, int]) -> list[Grid]:
    """The token grid of every stage; SpecError when the stem or a downsampling does not fit the input."""
    _, h, w = input_shape
    p = spec.patch_size
    if h % p or w % p:
        raise SpecError.at(["patch_size"], f"patch size {p} does not divide the {h}×{w} input", "input_mismatch")
    grids: list[Grid] = [(h // p, w // p)]
    for i in range(1, len(spec.stages)):
        need_grid(grids[-1], 2, ["stages", i], f"the 2×2 downsampling before stage {i}")
        grids.append((conv_out(grids[-1][0], 2, 2, 0), conv_out(grids[-1][1], 2, 2, 0)))
    return grids


class RepMLPNet(nn.Module):
    def __init__(self, spec: RepMLPSpec, input_shape: tuple[int, int, int], num_classes: int) -> None:
        super().__init__()
        cin = input_shape[0]
        grids = repmlp_grids(spec, input_shape)
        parts = [_partition(stage, grid, i) for i, (stage, grid) in enumerate(zip(spec.stages, grids, strict=True))]
        p, width = spec.patch_size, spec.stages[0].width
        layers: list[nn.Module] = [*_conv_bn(cin, width, p, stride=p), nn.ReLU()]
        for i, (stage, part) in enumerate(zip(spec.stages, parts, strict=True)):
            if i > 0:
                layers += [*_conv_bn(width, stage.width, 2, stride=2), nn.ReLU()]
            width = stage.width
            layers += [RepMLPBlock(width, part, spec, stage.sharesets) for _ in range(stage.depth)]
        self.body = nn.Sequential(*layers)
        self.head_norm = nn.BatchNorm2d(width)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.head_norm(self.body(x)).mean(dim=(2, 3)))


def build_repmlp(spec: RepMLPSpec, input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    return RepMLPNet(spec, input_shape, num_classes)
