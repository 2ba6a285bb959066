"""MetaFormer: one block (norm → token mixer → residual; norm → channel MLP → residual), stages, stems, head.

Tokens travel as (B, N, C) between blocks; the grid (H, W) of every stage is fixed at build time from the
input shape, so incompatible specs (patch size not dividing the image, too many downsamplings, a window not
tiling the grid) fail here with a SpecError rather than deep inside a forward pass.
"""

from __future__ import annotations

import torch
from torch import nn

from app.zoo.layers import (
    DropPath,
    LayerScale,
    TokenNorm,
    channel_norm,
    conv_out,
    make_act,
    need_grid,
    same_padding,
)
from app.zoo.mixers import build_mixer, to_grid, to_tokens
from app.zoo.spec import ConvStem, MetaFormerSpec, PatchStem, SpecError


class Mlp(nn.Module):
    """Channel MLP: Linear → act → Linear (equal in params and MACs to PoolFormer's 1×1 convs)."""

    def __init__(self, dim: int, hidden: int, act: str) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = make_act(act)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def _scale(dim: int, init: float | None) -> nn.Module:
    return LayerScale(dim, init) if init is not None else nn.Identity()


class MetaFormerBlock(nn.Module):
    """``style="metaformer"``: x + ls1(mixer(norm1(x))), then x + ls2(mlp(norm2(x))). ``style="convnext"``: x
    + ls2(mlp(norm2(mixer(x)))) — ConvNeXt's single-residual variant of the same parts."""

    def __init__(
        self,
        dim: int,
        mixer: nn.Module,
        norm: str,
        act: str,
        mlp_ratio: float,
        layer_scale: float | None,
        drop_path: float,
        style: str,
    ) -> None:
        super().__init__()
        self.style = style
        self.norm1 = TokenNorm(norm, dim) if style == "metaformer" else nn.Identity()
        self.mixer = mixer
        self.ls1 = _scale(dim, layer_scale) if style == "metaformer" else nn.Identity()
        self.norm2 = TokenNorm(norm, dim)
        self.mlp = Mlp(dim, max(1, int(dim * mlp_ratio)), act)
        self.ls2 = _scale(dim, layer_scale)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.style == "convnext":
            return x + self.drop_path(self.ls2(self.mlp(self.norm2(self.mixer(x)))))
        x = x + self.drop_path(self.ls1(self.mixer(self.norm1(x))))
        return x + self.drop_path(self.ls2(self.mlp(self.norm2(x))))


class ConvEmbed(nn.Module):
    """Conv on the grid (stem or downsampling), with an optional norm before and/or after; tokens in and
    out."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int,
        stride: int,
        grid_in: tuple[int, int] | None,
        norm_before: str | None,
        norm_after: str | None,
    ) -> None:
        super().__init__()
        self.grid_in = grid_in  # None: the input is an image (NCHW) rather than tokens
        self.pre = channel_norm(norm_before, cin) if norm_before else nn.Identity()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=same_padding(kernel, stride))
        self.post = channel_norm(norm_after, cout) if norm_after else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.grid_in is not None:
            x = to_grid(x, self.grid_in)
        return to_tokens(self.post(self.conv(self.pre(x))))


def _stem_grid(stem: PatchStem | ConvStem, size: tuple[int, int]) -> tuple[int, int, int]:
    """(kernel, stride, padding) of the stem; SpecError when it does not fit the image."""
    if isinstance(stem, PatchStem):
        p = stem.patch_size
        if size[0] % p or size[1] % p:
            raise SpecError.at(
                ["stem", "patch_size"],
                f"patch size {p} does not divide the {size[0]}×{size[1]} input",
                "input_mismatch",
            )
        return p, p, 0
    need_grid(size, stem.kernel - 2 * same_padding(stem.kernel, stem.stride), ["stem", "kernel"], "the conv stem")
    return stem.kernel, stem.stride, same_padding(stem.kernel, stem.stride)


class MetaFormer(nn.Module):
    def __init__(self, spec: MetaFormerSpec, input_shape: tuple[int, int, int], num_classes: int) -> None:
        super().__init__()
        cin, h, w = input_shape
        kernel, stride, pad = _stem_grid(spec.stem, (h, w))
        grid = (conv_out(h, kernel, stride, pad), conv_out(w, kernel, stride, pad))
        width = spec.stages[0].width
        self.stem = ConvEmbed(cin, width, kernel, stride, None, None, spec.stem.norm)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width)) if spec.pool == "cls" else None
        extra = 1 if spec.pool == "cls" else 0
        self.pos_embed = nn.Parameter(torch.zeros(1, grid[0] * grid[1] + extra, width)) if spec.pos_embed else None
        if self.pos_embed is not None:
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
        if self.cls_token is not None:
            nn.init.trunc_normal_(self.cls_token, std=0.02)

        n = spec.depth()
        rates = [spec.drop_path * i / max(1, n - 1) for i in range(n)]  # linear stochastic-depth schedule
        stages: list[nn.Module] = []
        prev = width
        for i, stage in enumerate(spec.stages):
            layers: list[nn.Module] = []
            if spec.layout == "hierarchical" and i > 0:
                need_grid(grid, 2, ["stages", i], f"downsampling before stage {i}")
                k = spec.downsample.kernel
                layers.append(ConvEmbed(prev, stage.width, k, 2, grid, spec.downsample.norm, None))
                grid = (
                    conv_out(grid[0], k, 2, same_padding(k, 2)),
                    conv_out(grid[1], k, 2, same_padding(k, 2)),
                )
            for j in range(stage.depth):
                mixer = build_mixer(stage.mixer, stage.width, grid, grid[0] * grid[1] + extra, spec.act, j)
                rate = rates.pop(0)
                layers.append(
                    MetaFormerBlock(
                        stage.width,
                        mixer,
                        spec.norm,
                        spec.act,
                        stage.mlp_ratio,
                        spec.layer_scale,
                        rate,
                        spec.block,
                    )
                )
            stages.append(nn.Sequential(*layers))
            prev = stage.width
        self.stages = nn.Sequential(*stages)
        self.head_norm = TokenNorm(spec.norm, prev) if spec.head_norm else nn.Identity()
        self.head = nn.Linear(prev, num_classes)
        self._init_linear()

    def _init_linear(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        if self.pos_embed is not None:
            x = x + self.pos_embed
        x = self.stages(x)
        pooled = x[:, :1] if self.cls_token is not None else x.mean(dim=1, keepdim=True)
        return self.head(self.head_norm(pooled)[:, 0])


def build_metaformer(spec: MetaFormerSpec, input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    return MetaFormer(spec, input_shape, num_classes)
