"""Cheap checks that need no model: a spec's size and cost from arithmetic alone, and the limits it breaks.

``static_cost`` walks the spec the way the builders do, with integers only: parameters and MACs exactly as
``measure()`` counts them (tests hold it to that for every preset and registry entry), and the other ops,
activation bytes, grouped-conv MACs and op calls by the same rules (see ``app.zoo.measure``), approximately
(within a factor of ~2). It costs microseconds to milliseconds whatever the spec, so the web process can
refuse absurd specs before anything is built or measured.

``app.zoo.limits.static_check`` turns it into the violations a benchmark's limits give.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.zoo.costmodel import DEFAULT_BATCH, REFERENCE_CPU
from app.zoo.layers import conv_out, same_padding
from app.zoo.measure import NORM_OPS_PER_ELEMENT, SOFTMAX_OPS_PER_ELEMENT, Measurement, window_reads
from app.zoo.repmlp import repmlp_grids
from app.zoo.spec import (
    ArchSpec,
    AttentionMixer,
    ConvMixerSpec,
    ConvStem,
    DenseNetSpec,
    DWConvMixer,
    DynamicDWConvMixer,
    ExternalAttentionMixer,
    MetaFormerSpec,
    PatchStem,
    PlainSpec,
    PoolingMixer,
    RepMLPSpec,
    RepVGGSpec,
    ResNetSpec,
    SpatialMLPMixer,
    SpecError,
    Stage,
    WindowAttentionMixer,
    parse_spec,
)

Grid = tuple[int, int]
BYTES = 4  # float32 activations
# A window (pool or kernel) this much larger than its grid only adds padding; published models stay far below.
MIN_MEANINGFUL_WINDOW = 7


@dataclass
class StaticCost:
    """Arithmetic size and forward cost of one image (same meaning as ``Measurement``'s fields)."""

    params: int = 0
    macs: int = 0
    grouped_conv_macs: int = 0
    other_ops: int = 0
    activation_bytes: int = 0
    calls: int = 0
    # (loc, window side, side of the grid it slides over) for every pool/kernel whose size the spec sets
    windows: list[tuple[list[str | int], int, int]] = field(default_factory=list)

    def window(self, loc: list[str | int], size: int, grid: Grid) -> None:
        self.windows.append((loc, size, min(grid)))

    def conv(self, cin: int, cout: int, k: int, out: Grid, groups: int = 1, bias: bool = True) -> None:
        self.params += cout * (cin // groups) * k * k + (cout if bias else 0)
        macs = out[0] * out[1] * cout * (cin // groups) * k * k
        self.macs += macs
        self.grouped_conv_macs += macs if groups > 1 else 0
        self._write(out[0] * out[1] * cout, 1)

    def linear(self, rows: int, din: int, dout: int, bias: bool = True) -> None:
        self.params += din * dout + (dout if bias else 0)
        self.macs += rows * din * dout
        self._write(rows * dout, 4)

    def norm(self, n: int, dim: int, params: bool = True) -> None:
        self.params += 2 * dim if params else 0
        self.other_ops += NORM_OPS_PER_ELEMENT * n
        self._write(n, 3)

    def pointwise(self, n: int, calls: int = 1) -> None:
        self.other_ops += n
        self._write(n, calls)

    def move(self, n: int, calls: int = 1) -> None:
        self._write(n, calls)

    def reduce(self, n: int, out: int) -> None:
        self.other_ops += n
        self._write(out, 1)

    def softmax(self, n: int) -> None:
        self.other_ops += SOFTMAX_OPS_PER_ELEMENT * n
        self._write(n, 1)

    def pool(self, planes: int, grid: Grid, out: Grid, k: int, stride: int, pad: int) -> None:
        reads = window_reads(grid[0], out[0], k, stride, pad) * window_reads(grid[1], out[1], k, stride, pad)
        self.other_ops += planes * reads
        self._write(planes * out[0] * out[1], 1)

    def views(self, n: int) -> None:
        self.calls += n

    def _write(self, elements: int, calls: int) -> None:
        self.activation_bytes += BYTES * elements
        self.calls += calls

    def as_measurement(self) -> Measurement:
        """For the cost model, which reads these fields off a Measurement."""
        return Measurement(
            params=self.params,
            macs=self.macs,
            flops=2 * self.macs,
            other_ops=self.other_ops,
            activation_bytes=self.activation_bytes,
            kernels=self.calls,
            grouped_conv_macs=self.grouped_conv_macs,
        )

    def train_s_per_image(self, batch_size: int = DEFAULT_BATCH) -> float:
        return REFERENCE_CPU.seconds_per_image(self.as_measurement(), batch_size)


def _halve(grid: Grid, k: int, pad: int) -> Grid:
    return conv_out(grid[0], k, 2, pad), conv_out(grid[1], k, 2, pad)


def _need(grid: Grid, minimum: int, loc: list[str | int], what: str) -> None:
    if min(grid) < minimum:
        raise SpecError.at(
            loc,
            f"{what} needs a grid of at least {minimum}×{minimum} but gets {grid[0]}×{grid[1]} for this input",
            "input_mismatch",
        )


# ---------------------------------------------------------------- MetaFormer


def _mixer(c: StaticCost, stage: Stage, grid: Grid, tokens: int, index: int, loc: list[str | int]) -> None:
    d, spec, n = stage.width, stage.mixer, tokens * stage.width
    if isinstance(spec, AttentionMixer):
        c.linear(tokens, d, 3 * d, spec.qkv_bias)
        _attention_core(c, spec.heads, tokens, d, 1)
        c.linear(tokens, d, d)
    elif isinstance(spec, WindowAttentionMixer):
        _window_attention(c, spec, d, grid, index)
    elif isinstance(spec, DWConvMixer):
        c.window([*loc, "kernel"], spec.kernel, grid)
        c.conv(d, d, spec.kernel, grid, groups=d)
        c.views(6)
    elif isinstance(spec, DynamicDWConvMixer):
        hidden = max(1, d // spec.reduction)
        c.window([*loc, "kernel"], spec.kernel, grid)
        c.reduce(n, d)
        c.linear(1, d, hidden)
        c.pointwise(hidden)
        c.linear(1, hidden, d * spec.kernel**2)
        c.params += d
        c.move(n + d)  # the batch folded into the channels: a copy of the grid and the repeated bias
        c.conv(d, d, spec.kernel, grid, groups=d, bias=False)
        c.params -= d * spec.kernel**2  # the kernels are generated, not parameters
        c.views(8)
    elif isinstance(spec, SpatialMLPMixer):
        hidden = max(1, int(spec.hidden_ratio * d))
        c.move(n)
        c.linear(d, tokens, hidden)
        c.pointwise(d * hidden)
        c.linear(d, hidden, tokens)
        c.views(2)
    elif isinstance(spec, ExternalAttentionMixer):
        c.linear(tokens, d, d)
        c.move(n)
        c.linear(tokens * spec.heads, d // spec.heads, spec.memory, bias=False)
        c.softmax(tokens * spec.heads * spec.memory)
        c.reduce(tokens * spec.heads * spec.memory, tokens * spec.heads)
        c.pointwise(tokens * spec.heads * spec.memory + tokens * spec.heads, 2)
        c.linear(tokens * spec.heads, spec.memory, d // spec.heads, bias=False)
        c.move(n)
        c.linear(tokens, d, d)
    elif isinstance(spec, PoolingMixer):
        c.window([*loc, "pool_size"], spec.pool_size, grid)
        c.move(n)
        c.pool(d, grid, grid, spec.pool_size, 1, spec.pool_size // 2)
        c.pointwise(n)
        c.views(4)


def _attention_core(c: StaticCost, heads: int, tokens: int, dim: int, windows: int) -> None:
    """SDPA's math path: scaled q and k, two batched matmuls, softmax, and the heads merged (a copy)."""
    c.pointwise(2 * windows * tokens * dim, 2)
    c.macs += 2 * windows * tokens * tokens * dim
    c.move(windows * (heads * tokens * tokens + tokens * dim), 2)
    c.softmax(windows * heads * tokens * tokens)
    c.move(windows * tokens * dim)
    c.views(16)


def _window_attention(c: StaticCost, spec: WindowAttentionMixer, d: int, grid: Grid, index: int) -> None:
    w = min(spec.window, *grid)
    shift = w // 2 if spec.shift and index % 2 == 1 and w < min(grid) else 0
    padded = (-(-grid[0] // w) * w, -(-grid[1] // w) * w)
    windows, area = (padded[0] // w) * (padded[1] // w), w * w
    tokens = padded[0] * padded[1]
    if spec.rel_pos_bias:
        c.params += (2 * w - 1) ** 2 * spec.heads
    c.move(tokens * d * (1 + (padded != grid) + 2 * (shift > 0)), 3)  # window partition, padding, rolls
    c.linear(tokens, d, 3 * d, spec.qkv_bias)
    mask = spec.rel_pos_bias or shift > 0 or padded != grid
    if mask:
        c.move(windows * spec.heads * area * area, 3)
    _attention_core(c, spec.heads, area, d, windows)
    c.linear(tokens, d, d)
    c.move(2 * tokens * d, 2)


def _metaformer_stem(c: StaticCost, spec: MetaFormerSpec, cin: int, size: Grid) -> Grid:
    stem, d = spec.stem, spec.stages[0].width
    if isinstance(stem, PatchStem):
        p = stem.patch_size
        if size[0] % p or size[1] % p:
            raise SpecError.at(
                ["stem", "patch_size"],
                f"patch size {p} does not divide the {size[0]}×{size[1]} input",
                "input_mismatch",
            )
        k, s, pad = p, p, 0
    else:
        assert isinstance(stem, ConvStem)
        k, s, pad = stem.kernel, stem.stride, same_padding(stem.kernel, stem.stride)
        _need(size, k - 2 * pad, ["stem", "kernel"], "the conv stem")
    grid = (conv_out(size[0], k, s, pad), conv_out(size[1], k, s, pad))
    c.conv(cin, d, k, grid)
    if stem.norm:
        c.norm(grid[0] * grid[1] * d, d)
    c.views(2)
    return grid


def _metaformer_block(
    c: StaticCost, spec: MetaFormerSpec, stage: Stage, grid: Grid, tokens: int, at: tuple[int, int]
) -> None:
    """Block ``at[1]`` of stage ``at[0]``."""
    d, n, j = stage.width, tokens * stage.width, at[1]
    loc: list[str | int] = ["stages", at[0], "mixer"]
    hidden = max(1, int(d * stage.mlp_ratio))
    ls = spec.layer_scale is not None
    if spec.block == "metaformer":
        c.norm(n, d)
        _mixer(c, stage, grid, tokens, j, loc)
        if ls:
            c.params += d
            c.pointwise(n)
        c.pointwise(n)  # residual
    else:
        _mixer(c, stage, grid, tokens, j, loc)
    c.norm(n, d)
    c.linear(tokens, d, hidden)
    c.pointwise(tokens * hidden)
    c.linear(tokens, hidden, d)
    if ls:
        c.params += d
        c.pointwise(n)
    c.pointwise(n)


def _metaformer(spec: MetaFormerSpec, shape: tuple[int, int, int], classes: int) -> StaticCost:
    c = StaticCost()
    grid = _metaformer_stem(c, spec, shape[0], (shape[1], shape[2]))
    width, extra = spec.stages[0].width, int(spec.pool == "cls")
    if extra:
        c.params += width
        c.move((grid[0] * grid[1] + 1) * width)
    if spec.pos_embed:
        c.params += (grid[0] * grid[1] + extra) * width
        c.pointwise((grid[0] * grid[1] + extra) * width)
    prev = width
    for i, stage in enumerate(spec.stages):
        if spec.layout == "hierarchical" and i > 0:
            _need(grid, 2, ["stages", i], f"downsampling before stage {i}")
            k = spec.downsample.kernel
            if spec.downsample.norm:
                c.norm(grid[0] * grid[1] * prev, prev)
            grid = _halve(grid, k, same_padding(k, 2))
            c.conv(prev, stage.width, k, grid)
        for j in range(stage.depth):
            _metaformer_block(c, spec, stage, grid, grid[0] * grid[1] + extra, (i, j))
        prev = stage.width
    c.reduce((grid[0] * grid[1] + extra) * prev, prev)
    if spec.head_norm:
        c.norm(prev, prev)
    c.linear(1, prev, classes)
    return c


# ---------------------------------------------------------------- CNNs


def _conv_bn(c: StaticCost, cin: int, cout: int, k: int, out: Grid, groups: int = 1, act: bool = True) -> None:
    c.conv(cin, cout, k, out, groups, bias=False)
    c.norm(out[0] * out[1] * cout, cout)
    if act:
        c.pointwise(out[0] * out[1] * cout)


def _imagenet_stem(c: StaticCost, cin: int, width: int, grid: Grid) -> Grid:
    _need(grid, 4, ["stem"], "the ImageNet stem (7×7/2 conv, 3×3/2 max-pool)")
    conv = _halve(grid, 7, 3)
    _conv_bn(c, cin, width, 7, conv)
    out = _halve(conv, 3, 1)
    c.pool(width, conv, out, 3, 2, 1)
    return out


def _head(c: StaticCost, chans: int, grid: Grid, classes: int) -> None:
    c.reduce(grid[0] * grid[1] * chans, chans)
    c.linear(1, chans, classes)


def _resnet(spec: ResNetSpec, shape: tuple[int, int, int], classes: int) -> StaticCost:
    c = StaticCost()
    grid: Grid = (shape[1], shape[2])
    if spec.stem == "imagenet":
        grid = _imagenet_stem(c, shape[0], spec.stem_width, grid)
    else:
        _conv_bn(c, shape[0], spec.stem_width, 3, grid)
    chans = spec.stem_width
    for i, (n, planes) in enumerate(zip(spec.layers, spec.widths, strict=False)):
        for j in range(n):
            stride = 2 if i > 0 and j == 0 else 1
            if stride == 2:
                _need(grid, 2, ["layers", i], f"stage {i} (stride 2)")
            chans, grid = _resnet_block(c, spec, chans, planes, stride, grid)
    _head(c, chans, grid, classes)
    return c


def _resnet_block(c: StaticCost, spec: ResNetSpec, cin: int, planes: int, stride: int, grid: Grid) -> tuple[int, Grid]:
    out = _halve(grid, 3, 1) if stride == 2 else grid
    if spec.block == "basic":
        cout = planes
        _conv_bn(c, cin, planes, 3, out)
        _conv_bn(c, planes, planes, 3, out, act=False)
    else:
        cout, mid = planes * 4, int(planes * spec.width_per_group / 64) * spec.groups
        _conv_bn(c, cin, mid, 1, grid)
        _conv_bn(c, mid, mid, 3, out, spec.groups)
        _conv_bn(c, mid, cout, 1, out, act=False)
    if stride != 1 or cin != cout:
        if spec.shortcut == "zero_pad":
            c.move(out[0] * out[1] * cout)
        else:
            _conv_bn(c, cin, cout, 1, out, act=False)
    c.pointwise(2 * out[0] * out[1] * cout, 2)  # add, ReLU
    return cout, out


def _plain(spec: PlainSpec, shape: tuple[int, int, int], classes: int) -> StaticCost:
    c = StaticCost()
    grid: Grid = (shape[1], shape[2])
    chans = shape[0]
    for i, stage in enumerate(spec.stages):
        if i > 0:
            _need(grid, 2, ["stages", i], f"the 2×2 max-pool before stage {i}")
            out = (grid[0] // 2, grid[1] // 2)
            c.pool(chans, grid, out, 2, 2, 0)
            grid = out
        c.window(["kernel"], spec.kernel, grid)
        for _ in range(stage.depth):
            c.conv(chans, stage.width, spec.kernel, grid, bias=spec.norm is None)
            if spec.norm:
                c.norm(grid[0] * grid[1] * stage.width, stage.width)
            c.pointwise(grid[0] * grid[1] * stage.width)
            chans = stage.width
    _head(c, chans, grid, classes)
    return c


def _convmixer(spec: ConvMixerSpec, shape: tuple[int, int, int], classes: int) -> StaticCost:
    c = StaticCost()
    p, d, k = spec.patch_size, spec.width, spec.kernel
    if shape[1] % p or shape[2] % p:
        raise SpecError.at(
            ["patch_size"], f"patch size {p} does not divide the {shape[1]}×{shape[2]} input", "input_mismatch"
        )
    grid = (shape[1] // p, shape[2] // p)
    n = grid[0] * grid[1] * d
    c.window(["kernel"], k, grid)
    c.conv(shape[0], d, p, grid)
    c.pointwise(n)
    c.norm(n, d)
    for _ in range(spec.depth()):
        c.conv(d, d, k, grid, groups=d)
        c.pointwise(2 * n, 2)  # act, residual
        c.norm(n, d)
        c.conv(d, d, 1, grid)
        c.pointwise(n)
        c.norm(n, d)
    _head(c, d, grid, classes)
    return c


def _densenet(spec: DenseNetSpec, shape: tuple[int, int, int], classes: int) -> StaticCost:
    c = StaticCost()
    grid: Grid = (shape[1], shape[2])
    chans = spec.init_width
    if spec.stem == "imagenet":
        grid = _imagenet_stem(c, shape[0], chans, grid)
    else:
        c.conv(shape[0], chans, 3, grid, bias=False)
    for i, n in enumerate(spec.blocks):
        area = grid[0] * grid[1]
        if i > 0:
            _need(grid, 2, ["blocks", i], f"the transition before dense block {i}")
            out = int(chans * spec.compression)
            c.norm(area * chans, chans)
            c.pointwise(area * chans)
            c.conv(chans, out, 1, grid, bias=False)
            half = (grid[0] // 2, grid[1] // 2)
            c.pool(out, grid, half, 2, 2, 0)
            chans, grid, area = out, half, half[0] * half[1]
        for _ in range(n):
            cin = chans
            if spec.bottleneck:
                mid = spec.bn_size * spec.growth_rate
                c.norm(area * cin, cin)
                c.pointwise(area * cin)
                c.conv(cin, mid, 1, grid, bias=False)
                cin = mid
            c.norm(area * cin, cin)
            c.pointwise(area * cin)
            c.conv(cin, spec.growth_rate, 3, grid, bias=False)
            chans += spec.growth_rate
            c.move(area * chans)  # the concatenation copies every earlier feature map again
    c.norm(grid[0] * grid[1] * chans, chans)
    c.pointwise(grid[0] * grid[1] * chans)
    _head(c, chans, grid, classes)
    return c


def _repvgg_block(c: StaticCost, cin: int, cout: int, stride: int, grid: Grid, deploy: bool) -> Grid:
    out = _halve(grid, 3, 1) if stride == 2 else grid
    n = out[0] * out[1] * cout
    if deploy:
        c.conv(cin, cout, 3, out)
    else:
        _conv_bn(c, cin, cout, 3, out, act=False)
        _conv_bn(c, cin, cout, 1, out, act=False)
        c.pointwise(n)
        if cin == cout and stride == 1:
            c.norm(n, cin)
            c.pointwise(n)
    c.pointwise(n)
    return out


def _repvgg(spec: RepVGGSpec, shape: tuple[int, int, int], classes: int) -> StaticCost:
    c = StaticCost()
    grid: Grid = (shape[1], shape[2])
    if spec.stem_stride == 2:
        _need(grid, 2, ["stem_stride"], "the stride-2 stem")
    grid = _repvgg_block(c, shape[0], spec.stem_width, spec.stem_stride, grid, spec.deploy)
    chans = spec.stem_width
    for i, (n, width) in enumerate(zip(spec.layers, spec.widths, strict=False)):
        _need(grid, 2, ["layers", i], f"stage {i} (stride 2)")
        for j in range(n):
            grid = _repvgg_block(c, chans, width, 2 if j == 0 else 1, grid, spec.deploy)
            chans = width
    _head(c, chans, grid, classes)
    return c


def _repmlp_unit(c: StaticCost, spec: RepMLPSpec, d: int, part: int, sets: int, grid: Grid) -> None:
    n, area = grid[0] * grid[1] * d, part * part
    hidden = max(1, d // spec.gp_reduce)
    c.reduce(n, d)
    c.linear(1, d, hidden)
    c.pointwise(hidden)
    c.linear(1, hidden, d)
    c.pointwise(d)
    c.move(n)  # partitions
    c.params += sets * area * area
    c.macs += n * area
    c.move(n, 3)
    if spec.deploy:
        c.params += sets * area
        c.pointwise(n)
    else:
        c.norm(n, sets)
        for k in spec.kernels:  # a depth-wise conv per channel set, over every partition of every channel
            c.params += sets * k * k
            c.macs += n * k * k
            c.grouped_conv_macs += n * k * k if sets > 1 else 0
            c.move(n)
            c.norm(n, sets)
            c.pointwise(n)
    c.move(n)  # merge
    c.pointwise(n)  # × global perceptron
    c.views(10)


def _repmlp(spec: RepMLPSpec, shape: tuple[int, int, int], classes: int) -> StaticCost:
    c = StaticCost()
    grids = repmlp_grids(spec, shape)
    p, width = spec.patch_size, spec.stages[0].width
    _conv_bn(c, shape[0], width, p, grids[0])
    for i, (stage, grid) in enumerate(zip(spec.stages, grids, strict=True)):
        if i > 0:
            _conv_bn(c, width, stage.width, 2, grid)
        width = stage.width
        part = _partition_side(stage.partition, grid, i)
        if spec.kernels and not spec.deploy:
            c.window(["kernels"], max(spec.kernels), (part, part))
        n, hidden = grid[0] * grid[1] * width, max(1, int(width * spec.ffn_ratio))
        for _ in range(stage.depth):
            c.norm(n, width)
            _repmlp_unit(c, spec, width, part, stage.sharesets, grid)
            c.pointwise(n)
            c.norm(n, width)
            _conv_bn(c, width, hidden, 1, grid)
            _conv_bn(c, hidden, width, 1, grid, act=False)
            c.pointwise(n)
    c.norm(grids[-1][0] * grids[-1][1] * width, width)
    _head(c, width, grids[-1], classes)
    return c


def _partition_side(partition: int | None, grid: Grid, index: int) -> int:
    if partition is None:
        if grid[0] != grid[1]:
            raise SpecError.at(
                ["stages", index, "partition"], "a whole-grid partition needs a square grid", "input_mismatch"
            )
        return grid[0]
    if grid[0] % partition or grid[1] % partition:
        raise SpecError.at(
            ["stages", index, "partition"],
            f"partition {partition} does not divide stage {index}'s {grid[0]}×{grid[1]} token grid",
            "input_mismatch",
        )
    return partition


_WALKERS: dict[type, Callable[[Any, tuple[int, int, int], int], StaticCost]] = {
    MetaFormerSpec: _metaformer,
    ResNetSpec: _resnet,
    PlainSpec: _plain,
    ConvMixerSpec: _convmixer,
    DenseNetSpec: _densenet,
    RepVGGSpec: _repvgg,
    RepMLPSpec: _repmlp,
}


def static_cost(spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int) -> StaticCost:
    """Size and forward cost of one image by arithmetic (no model); SpecError where the builders would raise
    one for this input."""
    spec = parse_spec(spec)
    return _WALKERS[type(spec)](spec, tuple(input_shape), num_classes)  # type: ignore[arg-type]
