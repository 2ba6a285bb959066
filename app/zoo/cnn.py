"""Classic CNN families: ResNet/ResNeXt, plain VGG-like nets, ConvMixer, DenseNet-BC and RepVGG.

Layer definitions follow torchvision/timm so that presets reproduce published parameter counts exactly.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from app.zoo.layers import conv_out, make_act, need_grid
from app.zoo.spec import ConvMixerSpec, DenseNetSpec, PlainSpec, RepVGGSpec, ResNetSpec, SpecError

Grid = tuple[int, int]


def _halve(grid: Grid, kernel: int = 3, padding: int = 1) -> Grid:
    return conv_out(grid[0], kernel, 2, padding), conv_out(grid[1], kernel, 2, padding)


def _conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]


def _init_convs(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


class ClassifierHead(nn.Sequential):
    """Global average pool → Linear."""

    def __init__(self, dim: int, num_classes: int) -> None:
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(dim, num_classes))


# ---------------------------------------------------------------- ResNet / ResNeXt


class ZeroPadShortcut(nn.Module):
    """He et al.'s option A: subsample spatially and zero-pad the new channels; no parameters."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.extra, self.stride = cout - cin, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, 0, self.extra))


def _shortcut(cin: int, cout: int, stride: int, kind: str) -> nn.Module:
    if stride == 1 and cin == cout:
        return nn.Identity()
    if kind == "zero_pad":
        return ZeroPadShortcut(cin, cout, stride)
    return nn.Sequential(*_conv_bn(cin, cout, 1, stride))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, planes: int, stride: int, shortcut: str) -> None:
        super().__init__()
        self.body = nn.Sequential(*_conv_bn(cin, planes, 3, stride), nn.ReLU(), *_conv_bn(planes, planes, 3))
        self.shortcut = _shortcut(cin, planes, stride, shortcut)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck (stride on the 3×3 conv, as torchvision/timm); ``groups`` > 1 gives ResNeXt."""

    def __init__(self, cin: int, planes: int, stride: int, shortcut: str, groups: int, width_per_group: int) -> None:
        super().__init__()
        mid = int(planes * width_per_group / 64) * groups
        self.body = nn.Sequential(
            *_conv_bn(cin, mid, 1),
            nn.ReLU(),
            *_conv_bn(mid, mid, 3, stride, groups),
            nn.ReLU(),
            *_conv_bn(mid, planes * 4, 1),
        )
        self.shortcut = _shortcut(cin, planes * 4, stride, shortcut)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


def build_resnet(spec: ResNetSpec, input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    cin, h, w = input_shape
    grid: Grid = (h, w)
    if spec.stem == "imagenet":
        need_grid(grid, 4, ["stem"], "the ImageNet stem (7×7/2 conv, 3×3/2 max-pool)")
        layers: list[nn.Module] = [
            nn.Conv2d(cin, spec.stem_width, 7, 2, 3, bias=False),
            nn.BatchNorm2d(spec.stem_width),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, 1),
        ]
        grid = _halve(_halve(grid, 7, 3))
    else:
        layers = [*_conv_bn(cin, spec.stem_width, 3), nn.ReLU()]
    chans = spec.stem_width
    for i, (n, planes) in enumerate(zip(spec.layers, spec.widths, strict=False)):
        stride = 1 if i == 0 else 2
        if stride == 2:
            need_grid(grid, 2, ["layers", i], f"stage {i} (stride 2)")
            grid = _halve(grid)
        for j in range(n):
            s = stride if j == 0 else 1
            if spec.block == "basic":
                layers.append(BasicBlock(chans, planes, s, spec.shortcut))
                chans = planes
            else:
                layers.append(Bottleneck(chans, planes, s, spec.shortcut, spec.groups, spec.width_per_group))
                chans = planes * 4
    model = nn.Sequential(*layers, ClassifierHead(chans, num_classes))
    _init_convs(model)
    return model


# ---------------------------------------------------------------- plain (VGG-like)


def build_plain(spec: PlainSpec, input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    cin, h, w = input_shape
    grid: Grid = (h, w)
    layers: list[nn.Module] = []
    chans = cin
    for i, stage in enumerate(spec.stages):
        if i > 0:
            need_grid(grid, 2, ["stages", i], f"the 2×2 max-pool before stage {i}")
            layers.append(nn.MaxPool2d(2))
            grid = (grid[0] // 2, grid[1] // 2)
        for _ in range(stage.depth):
            layers.append(nn.Conv2d(chans, stage.width, spec.kernel, padding=spec.kernel // 2, bias=spec.norm is None))
            if spec.norm == "batchnorm":
                layers.append(nn.BatchNorm2d(stage.width))
            layers.append(make_act(spec.act))
            chans = stage.width
    model = nn.Sequential(*layers, ClassifierHead(chans, num_classes))
    _init_convs(model)
    return model


# ---------------------------------------------------------------- ConvMixer


class Residual(nn.Module):
    def __init__(self, *body: nn.Module) -> None:
        super().__init__()
        self.body = nn.Sequential(*body)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def build_convmixer(spec: ConvMixerSpec, input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """Trockman & Kolter: patch conv → act → BN, then depth × [Residual(dw conv → act → BN), 1×1 conv → act →
    BN]."""
    cin, h, w = input_shape
    p, d, k = spec.patch_size, spec.width, spec.kernel
    if h % p or w % p:
        raise SpecError.at(["patch_size"], f"patch size {p} does not divide the {h}×{w} input", "input_mismatch")
    layers: list[nn.Module] = [nn.Conv2d(cin, d, p, stride=p), make_act(spec.act), nn.BatchNorm2d(d)]
    for _ in range(spec.depth()):
        layers += [
            Residual(nn.Conv2d(d, d, k, groups=d, padding=k // 2), make_act(spec.act), nn.BatchNorm2d(d)),
            nn.Conv2d(d, d, 1),
            make_act(spec.act),
            nn.BatchNorm2d(d),
        ]
    return nn.Sequential(*layers, ClassifierHead(d, num_classes))


# ---------------------------------------------------------------- DenseNet-BC


class DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int, bn_size: int, bottleneck: bool) -> None:
        super().__init__()
        body: list[nn.Module] = []
        if bottleneck:
            mid = bn_size * growth
            body += [nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, mid, 1, bias=False)]
            cin = mid
        body += [nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, growth, 3, padding=1, bias=False)]
        self.body = nn.Sequential(*body)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], dim=1)


def build_densenet(spec: DenseNetSpec, input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """torchvision's DenseNet (BN-ReLU-conv order, transitions BN-ReLU-1×1 conv-2×2 avg-pool, final
    BN-ReLU)."""
    cin, h, w = input_shape
    grid: Grid = (h, w)
    c = spec.init_width
    if spec.stem == "imagenet":
        need_grid(grid, 4, ["stem"], "the ImageNet stem (7×7/2 conv, 3×3/2 max-pool)")
        layers: list[nn.Module] = [
            nn.Conv2d(cin, c, 7, 2, 3, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, 1),
        ]
        grid = _halve(_halve(grid, 7, 3))
    else:
        layers = [nn.Conv2d(cin, c, 3, padding=1, bias=False)]
    for i, n in enumerate(spec.blocks):
        if i > 0:
            need_grid(grid, 2, ["blocks", i], f"the transition before dense block {i}")
            out = int(c * spec.compression)
            layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, out, 1, bias=False), nn.AvgPool2d(2)]
            c, grid = out, (grid[0] // 2, grid[1] // 2)
        for _ in range(n):
            layers.append(DenseLayer(c, spec.growth_rate, spec.bn_size, spec.bottleneck))
            c += spec.growth_rate
    model = nn.Sequential(*layers, nn.BatchNorm2d(c), nn.ReLU(), ClassifierHead(c, num_classes))
    _init_convs(model)
    return model


# ---------------------------------------------------------------- RepVGG


class RepVGGBlock(nn.Module):
    """Train time: ReLU(BN(3×3 conv) + BN(1×1 conv) + BN(x)) (identity branch only when shapes allow).
    ``fuse()`` folds all branches into one 3×3 conv with bias; outputs are identical in eval mode."""

    def __init__(self, cin: int, cout: int, stride: int, deploy: bool) -> None:
        super().__init__()
        self.cin, self.cout, self.stride = cin, cout, stride
        self.fused: nn.Conv2d | None = nn.Conv2d(cin, cout, 3, stride, 1) if deploy else None
        self.branches = nn.ModuleDict()
        if not deploy:
            self.branches["dense"] = nn.Sequential(*_conv_bn(cin, cout, 3, stride))
            self.branches["pointwise"] = nn.Sequential(*_conv_bn(cin, cout, 1, stride))
            if cin == cout and stride == 1:
                self.branches["identity"] = nn.BatchNorm2d(cin)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fused is not None:
            return F.relu(self.fused(x))
        out = self.branches["dense"](x) + self.branches["pointwise"](x)
        if "identity" in self.branches:
            out = out + self.branches["identity"](x)
        return F.relu(out)

    def _kernel_and_bias(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The branch as an equivalent 3×3 kernel and bias, folding its BatchNorm's running statistics."""
        branch = self.branches[name]
        if name == "identity":
            bn = cast(nn.BatchNorm2d, branch)
            kernel = torch.zeros(self.cout, self.cin, 3, 3, device=bn.weight.device)
            kernel[torch.arange(self.cin), torch.arange(self.cin), 1, 1] = 1.0
        else:
            seq = cast(nn.Sequential, branch)
            conv, bn = cast(nn.Conv2d, seq[0]), cast(nn.BatchNorm2d, seq[1])
            pad = (3 - conv.kernel_size[0]) // 2
            kernel = F.pad(conv.weight, (pad, pad, pad, pad))
        assert bn.running_var is not None and bn.running_mean is not None
        std = (bn.running_var + bn.eps).sqrt()
        scale = bn.weight / std
        return kernel * scale.reshape(-1, 1, 1, 1), bn.bias - bn.running_mean * scale

    @torch.no_grad()
    def fuse(self) -> None:
        """Replace the branches by the equivalent single 3×3 conv (uses BN running statistics)."""
        if self.fused is not None:
            return
        parts = [self._kernel_and_bias(name) for name in self.branches]
        conv = nn.Conv2d(self.cin, self.cout, 3, self.stride, 1).to(parts[0][0].device)
        conv.weight.copy_(torch.stack([k for k, _ in parts]).sum(0))
        cast(torch.Tensor, conv.bias).copy_(torch.stack([b for _, b in parts]).sum(0))
        self.fused = conv
        self.branches = nn.ModuleDict()


def build_repvgg(spec: RepVGGSpec, input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    cin, h, w = input_shape
    grid: Grid = (h, w)
    if spec.stem_stride == 2:
        need_grid(grid, 2, ["stem_stride"], "the stride-2 stem")
        grid = _halve(grid)
    layers: list[nn.Module] = [RepVGGBlock(cin, spec.stem_width, spec.stem_stride, spec.deploy)]
    chans = spec.stem_width
    for i, (n, width) in enumerate(zip(spec.layers, spec.widths, strict=False)):
        need_grid(grid, 2, ["layers", i], f"stage {i} (stride 2)")
        grid = _halve(grid)
        for j in range(n):
            layers.append(RepVGGBlock(chans, width, 2 if j == 0 else 1, spec.deploy))
            chans = width
    return nn.Sequential(*layers, ClassifierHead(chans, num_classes))


def fuse_repvgg(model: nn.Module) -> nn.Module:
    """Fuse every RepVGG block in place (call in eval mode, after training)."""
    for m in model.modules():
        if isinstance(m, RepVGGBlock):
            m.fuse()
    return model
