"""Architecture specs: the user's config as data, validated strictly, in canonical form and hashed.

A spec is JSON data, never code. Every family has its own strict pydantic model (unknown keys, wrong types and
out-of-range values are rejected; ``"3"`` and ``true`` are not numbers). Parsing never builds a model, so
hostile input costs no allocation beyond the (size-capped) JSON itself.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from typing import Annotated, Any, Literal, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MAX_SPEC_BYTES = 8 * 1024
MAX_NESTING = 6
MAX_INT = 2**53  # JSON-safe; every numeric field has a far smaller bound

Norm = Literal["layernorm", "batchnorm", "groupnorm"]
Act = Literal["gelu", "relu", "silu"]
Width = Annotated[int, Field(ge=1, le=2048)]


def _odd(value: int) -> int:
    if value % 2 == 0:
        raise ValueError(f"must be odd (only an odd kernel keeps the grid's size), got {value}")
    return value


OddKernel = Annotated[int, Field(ge=1, le=31, json_schema_extra={"odd": True}), AfterValidator(_odd)]


class SpecError(ValueError):
    """A spec that cannot be accepted; ``errors`` has pydantic's shape (``loc`` starts with ``"spec"``)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        lines = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors]
        super().__init__("invalid spec: " + "; ".join(lines))

    @classmethod
    def at(cls, loc: list[str | int], msg: str, type_: str = "value_error") -> SpecError:
        """One error at ``loc`` (relative to the spec root; "spec" is prepended)."""
        return cls([{"loc": ["spec", *loc], "msg": msg, "type": type_}])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# ---------------------------------------------------------------- token mixers (MetaFormer)


class AttentionMixer(_Strict):
    """Global multi-head self-attention (ViT)."""

    kind: Literal["attention"] = Field(description="Token mixer type: global self-attention.")
    heads: int = Field(4, ge=1, le=64, description="Attention heads; the stage width must be a multiple of it.")
    qkv_bias: bool = Field(True, description="Learn a bias in the query/key/value projection.")


class WindowAttentionMixer(_Strict):
    """Attention inside non-overlapping windows; every second block of a stage shifts them (Swin)."""

    kind: Literal["window_attention"] = Field(description="Token mixer type: attention inside local windows.")
    heads: int = Field(4, ge=1, le=64, description="Attention heads; the stage width must be a multiple of it.")
    window: int = Field(
        7, ge=1, le=31, description="Side of the square windows, in tokens (clamped to the token grid)."
    )
    shift: bool = Field(True, description="Shift the windows by half a window in every second block.")
    qkv_bias: bool = Field(True, description="Learn a bias in the query/key/value projection.")
    rel_pos_bias: bool = Field(True, description="Add a learned bias for each relative position in a window.")


class DWConvMixer(_Strict):
    """Depth-wise k×k convolution (ConvNeXt, ConvFormer-style)."""

    kind: Literal["dwconv"] = Field(description="Token mixer type: depth-wise convolution.")
    kernel: OddKernel = Field(7, description="Side of the square convolution kernel, in tokens (odd).")


class DynamicDWConvMixer(_Strict):
    """Depth-wise convolution whose per-sample kernels are predicted from the pooled input (Han et al.
    2022)."""

    kind: Literal["dynamic_dwconv"] = Field(description="Token mixer type: depth-wise conv with per-image kernels.")
    kernel: OddKernel = Field(7, description="Side of the square convolution kernel, in tokens (odd).")
    reduction: int = Field(
        4, ge=1, le=64, description="The kernel generator's hidden layer has width // reduction units."
    )


class SpatialMLPMixer(_Strict):
    """Token-mixing MLP across patches (MLP-Mixer). Hidden size is ``int(hidden_ratio * width)`` as in
    timm."""

    kind: Literal["spatial_mlp"] = Field(description="Token mixer type: an MLP across the tokens.")
    hidden_ratio: float = Field(
        0.5, gt=0.0, le=8.0, description="Hidden units of the token MLP, as a multiple of the stage width."
    )


class ExternalAttentionMixer(_Strict):
    """Two linear layers against shared memory units with double normalisation (Guo et al. 2021)."""

    kind: Literal["external_attention"] = Field(description="Token mixer type: attention to learned memories.")
    heads: int = Field(4, ge=1, le=64, description="Heads; the stage width must be a multiple of it.")
    memory: int = Field(64, ge=1, le=1024, description="Learned memory units shared by all images.")


class PoolingMixer(_Strict):
    """Average pooling minus identity (PoolFormer)."""

    kind: Literal["pooling"] = Field(description="Token mixer type: average pooling minus the input.")
    pool_size: OddKernel = Field(3, description="Side of the square pooling window, in tokens (odd).")


class IdentityMixer(_Strict):
    """No token mixing at all: the block is a channel MLP only (a baseline for what mixing adds)."""

    kind: Literal["identity"] = Field(description="Token mixer type: none (tokens never exchange information).")


MixerSpec = Annotated[
    AttentionMixer
    | WindowAttentionMixer
    | DWConvMixer
    | DynamicDWConvMixer
    | SpatialMLPMixer
    | ExternalAttentionMixer
    | PoolingMixer
    | IdentityMixer,
    Field(discriminator="kind"),
]
MIXER_KINDS: tuple[str, ...] = (
    "attention",
    "window_attention",
    "dwconv",
    "dynamic_dwconv",
    "spatial_mlp",
    "external_attention",
    "pooling",
    "identity",
)
# Mixers that see the token sequence only, so they also work with a class token.
SEQUENCE_MIXERS = frozenset({"attention", "external_attention", "spatial_mlp", "identity"})


# ---------------------------------------------------------------- MetaFormer


class PatchStem(_Strict):
    """Non-overlapping patches: a conv with kernel == stride == patch_size."""

    kind: Literal["patch"] = Field(description="Stem type: non-overlapping patches.")
    patch_size: int = Field(16, ge=1, le=32, description="Side of each square patch, in pixels; must divide the image.")
    norm: Norm | None = Field(None, description="Norm after the stem's conv, or none.")


class ConvStem(_Strict):
    """Overlapping conv stem (kernel > stride, padding (kernel - stride + 1) // 2), e.g. PoolFormer's
    7×7/4."""

    kind: Literal["conv"] = Field(description="Stem type: one overlapping strided convolution.")
    kernel: int = Field(7, ge=1, le=31, description="Side of the stem's convolution kernel, in pixels.")
    stride: int = Field(4, ge=1, le=32, description="Stride of the stem's convolution (the image shrinks by it).")
    norm: Norm | None = Field(None, description="Norm after the stem's conv, or none.")


StemSpec = Annotated[PatchStem | ConvStem, Field(discriminator="kind")]


class Downsample(_Strict):
    """Between hierarchical stages: optional norm, then a stride-2 conv (ConvNeXt: LN + 2×2; PoolFormer:
    3×3)."""

    kernel: int = Field(
        3, ge=2, le=7, description="Kernel of the stride-2 downsampling conv between stages (hierarchical only)."
    )
    norm: Norm | None = Field(None, description="Norm before the downsampling conv, or none.")


class Stage(_Strict):
    """A run of identical blocks at one width and one token grid."""

    depth: int = Field(ge=1, le=64, description="Number of blocks in this stage.")
    width: Width = Field(description="Channels (embedding size) of every block in this stage.")
    mixer: MixerSpec = Field(description="The token mixer of every block in this stage.")
    mlp_ratio: float = Field(
        4.0, gt=0.0, le=8.0, description="Hidden units of the channel MLP, as a multiple of the width."
    )

    @field_validator("mixer", mode="before")
    @classmethod
    def _mixer_shorthand(cls, value: object) -> object:
        """``"mixer": "pooling"`` is short for ``{"kind": "pooling"}`` (defaults filled in canonical form)."""
        return {"kind": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _heads_divide_width(self) -> Stage:
        heads = getattr(self.mixer, "heads", 1)
        if self.width % heads:
            raise ValueError(f"width {self.width} is not divisible by the mixer's {heads} heads")
        return self


class MetaFormerSpec(_Strict):
    """MetaFormer: stem → stages of (norm → token mixer → residual; norm → channel MLP → residual) → head.

    ``block="convnext"`` is ConvNeXt's variant of the same block: x + ls(mlp(norm(mixer(x)))) (no pre-norm and
    no residual of its own around the mixer), needed to reproduce ConvNeXt exactly.
    """

    family: Literal["metaformer"] = Field(description="Architecture family.")
    layout: Literal["isotropic", "hierarchical"] = Field(
        "isotropic",
        description="isotropic: one token grid and width throughout; hierarchical: each stage after the first "
        "halves the grid (stride-2 conv) and may change the width.",
    )
    stem: StemSpec = Field(
        default_factory=lambda: PatchStem(kind="patch"), description="How the image becomes a grid of tokens."
    )
    stages: list[Stage] = Field(min_length=1, max_length=6, description="The stages, first to last.")
    downsample: Downsample = Field(
        default_factory=Downsample, description="The conv between hierarchical stages (unused when isotropic)."
    )
    norm: Norm = Field("layernorm", description="The norm used in every block and before the head.")
    act: Act = Field("gelu", description="Activation of the channel MLP (and of the token MLP).")
    block: Literal["metaformer", "convnext"] = Field(
        "metaformer",
        description="metaformer: residual around the mixer and around the MLP; convnext: one residual around "
        "mixer → norm → MLP.",
    )
    layer_scale: float | None = Field(
        None, gt=0.0, le=1.0, description="Initial value of a learned per-channel scale on each residual branch."
    )
    drop_path: float = Field(
        0.0, ge=0.0, le=0.5, description="Stochastic depth: chance of dropping a residual branch (last block)."
    )
    pos_embed: bool = Field(False, description="Add a learned position embedding to the tokens.")
    pool: Literal["avg", "cls"] = Field(
        "avg", description="avg: average all tokens for the head; cls: use an extra class token."
    )
    head_norm: bool = Field(True, description="Normalise the pooled features before the classifier.")

    @field_validator("stem", mode="before")
    @classmethod
    def _stem_shorthand(cls, value: object) -> object:
        return {"kind": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> MetaFormerSpec:
        if self.layout == "isotropic" and len({s.width for s in self.stages}) > 1:
            raise ValueError("isotropic layout needs the same width in every stage")
        if self.depth() > 200:
            raise ValueError(f"total depth {self.depth()} exceeds 200 blocks")
        for i, stage in enumerate(self.stages):
            if self.pool == "cls" and stage.mixer.kind not in SEQUENCE_MIXERS:
                raise ValueError(
                    f"stages[{i}]: pool 'cls' adds a class token, "
                    f"which mixer '{stage.mixer.kind}' cannot mix; "
                    f"use one of {sorted(SEQUENCE_MIXERS)} or pool 'avg'"
                )
        if self.pool == "cls" and self.layout == "hierarchical" and len(self.stages) > 1:
            raise ValueError("pool 'cls' needs a single token grid: use the isotropic layout")
        return self

    def depth(self) -> int:
        """Number of MetaFormer blocks."""
        return sum(s.depth for s in self.stages)

    def max_width(self) -> int:
        return max(s.width for s in self.stages)


# ---------------------------------------------------------------- CNN families


class ResNetSpec(_Strict):
    """ResNet / ResNeXt. ``width_per_group`` and ``groups`` give the bottleneck width as in torchvision."""

    family: Literal["resnet"] = Field(description="Architecture family.")
    block: Literal["basic", "bottleneck"] = Field(
        "basic", description="basic: two 3×3 convs; bottleneck: 1×1 → 3×3 → 1×1 with 4× wider output."
    )
    layers: list[Annotated[int, Field(ge=1, le=64)]] = Field(
        default_factory=lambda: [2, 2, 2, 2],
        min_length=1,
        max_length=6,
        description="Residual blocks per stage; every stage after the first halves the image.",
    )
    widths: list[Width] = Field(
        default_factory=lambda: [64, 128, 256, 512],
        min_length=1,
        max_length=6,
        description="Channels per stage (bottleneck blocks output 4× this).",
    )
    stem: Literal["imagenet", "cifar"] = Field(
        "imagenet", description="imagenet: 7×7/2 conv and 3×3/2 max-pool (4× smaller); cifar: one 3×3 conv."
    )
    stem_width: Width = Field(64, description="Channels of the stem.")
    groups: int = Field(1, ge=1, le=64, description="Groups of the bottleneck's 3×3 conv (ResNeXt's cardinality).")
    width_per_group: int = Field(
        64, ge=1, le=512, description="Bottleneck width per group at stage width 64 (ResNeXt's d; 64 = ResNet)."
    )
    shortcut: Literal["projection", "zero_pad"] = Field(
        "projection",
        description="How a shortcut changes shape: projection: 1×1 conv + BN; zero_pad: subsample and pad "
        "with zero channels (no parameters).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ResNetSpec:
        if len(self.layers) != len(self.widths):
            raise ValueError(f"layers has {len(self.layers)} stages but widths has {len(self.widths)}")
        if self.depth() > 200:
            raise ValueError(f"total depth {self.depth()} exceeds 200 blocks")
        if self.block == "basic" and (self.groups != 1 or self.width_per_group != 64):
            raise ValueError("groups/width_per_group (ResNeXt) need block 'bottleneck'")
        if self.shortcut == "zero_pad":
            chans = [self.stem_width, *self.out_widths()]
            if any(b < a for a, b in itertools.pairwise(chans)):
                raise ValueError("zero_pad shortcuts need non-decreasing channel widths")
        return self

    def out_widths(self) -> list[int]:
        mult = 4 if self.block == "bottleneck" else 1
        return [w * mult for w in self.widths]

    def depth(self) -> int:
        """Number of residual blocks."""
        return sum(self.layers)

    def max_width(self) -> int:
        mids = [int(w * self.width_per_group / 64) * self.groups for w in self.widths]
        return max(self.stem_width, *self.out_widths(), *mids)


class PlainStage(_Strict):
    """Convolutions at one width and resolution."""

    depth: int = Field(ge=1, le=64, description="Number of conv layers in this stage.")
    width: Width = Field(description="Channels of every conv in this stage.")


class PlainSpec(_Strict):
    """VGG-like: stages of k×k conv (→ norm) → act, 2×2 max-pool between stages, no shortcuts."""

    family: Literal["plain"] = Field(description="Architecture family.")
    stages: list[PlainStage] = Field(
        min_length=1, max_length=6, description="The stages; a 2×2 max-pool halves the image between them."
    )
    kernel: OddKernel = Field(3, description="Side of every conv kernel (odd).")
    norm: Literal["batchnorm"] | None = Field("batchnorm", description="BatchNorm after every conv, or none.")
    act: Act = Field("relu", description="Activation after every conv.")

    @model_validator(mode="after")
    def _consistent(self) -> PlainSpec:
        if self.depth() > 200:
            raise ValueError(f"total depth {self.depth()} exceeds 200 layers")
        return self

    def depth(self) -> int:
        """Number of conv layers."""
        return sum(s.depth for s in self.stages)

    def max_width(self) -> int:
        return max(s.width for s in self.stages)


class ConvMixerSpec(_Strict):
    """ConvMixer: patch conv stem, then depth × (residual depth-wise conv, point-wise conv), each act → BN."""

    family: Literal["convmixer"] = Field(description="Architecture family.")
    width: Width = Field(256, description="Channels of every layer.")
    depth_: int = Field(8, ge=1, le=200, alias="depth", description="Number of ConvMixer layers.")
    kernel: OddKernel = Field(9, description="Side of the depth-wise conv kernel (odd).")
    patch_size: int = Field(7, ge=1, le=32, description="Side of each square patch of the stem; must divide the image.")
    act: Act = Field("gelu", description="Activation after every conv.")

    model_config = ConfigDict(serialize_by_alias=True)

    def depth(self) -> int:
        return self.depth_

    def max_width(self) -> int:
        return self.width


class DenseNetSpec(_Strict):
    """DenseNet-BC: dense blocks of (BN-ReLU-1×1 conv-BN-ReLU-3×3 conv) joined by compressing transitions."""

    family: Literal["densenet"] = Field(description="Architecture family.")
    blocks: list[Annotated[int, Field(ge=1, le=64)]] = Field(
        default_factory=lambda: [6, 12, 24, 16],
        min_length=1,
        max_length=5,
        description="Dense layers per dense block; a transition halves the image between blocks.",
    )
    growth_rate: int = Field(32, ge=1, le=128, description="Channels each dense layer adds.")
    init_width: Width = Field(64, description="Channels of the stem.")
    bottleneck: bool = Field(True, description="Put a 1×1 conv before each 3×3 conv (the -B in DenseNet-BC).")
    bn_size: int = Field(4, ge=1, le=8, description="The bottleneck 1×1 conv has bn_size × growth_rate channels.")
    compression: float = Field(
        0.5, gt=0.0, le=1.0, description="Share of channels a transition keeps (the -C in DenseNet-BC)."
    )
    stem: Literal["imagenet", "cifar"] = Field(
        "imagenet", description="imagenet: 7×7/2 conv and 3×3/2 max-pool (4× smaller); cifar: one 3×3 conv."
    )

    @model_validator(mode="after")
    def _consistent(self) -> DenseNetSpec:
        if self.depth() > 200:
            raise ValueError(f"total depth {self.depth()} exceeds 200 dense layers")
        if self.max_width() > 4096:
            raise ValueError(f"channel count grows to {self.max_width()}, above 4096")
        return self

    def widths(self) -> list[int]:
        """Channels at the end of each dense block."""
        out, c = [], self.init_width
        for i, n in enumerate(self.blocks):
            c += n * self.growth_rate
            out.append(c)
            if i < len(self.blocks) - 1:
                c = int(c * self.compression)
        return out

    def depth(self) -> int:
        """Number of dense layers."""
        return sum(self.blocks)

    def max_width(self) -> int:
        return max(self.init_width, self.bn_size * self.growth_rate, *self.widths())


class RepVGGSpec(_Strict):
    """RepVGG: stages of (3×3 conv-BN + 1×1 conv-BN + identity-BN) → ReLU, fusable into one 3×3 conv for
    inference.

    The first block of every stage has stride 2 (the stem is the first stage's stride-2 block in the paper;
    here the stem is a separate block of width ``stem_width``).
    """

    family: Literal["repvgg"] = Field(description="Architecture family.")
    layers: list[Annotated[int, Field(ge=1, le=64)]] = Field(
        default_factory=lambda: [2, 4, 14, 1],
        min_length=1,
        max_length=6,
        description="RepVGG blocks per stage; the first block of every stage halves the image.",
    )
    widths: list[Width] = Field(
        default_factory=lambda: [64, 128, 256, 512], min_length=1, max_length=6, description="Channels per stage."
    )
    stem_width: Width = Field(64, description="Channels of the stem block.")
    stem_stride: int = Field(2, ge=1, le=2, description="Stride of the stem block (2 halves the image).")
    deploy: bool = Field(
        False, description="Build the inference form: each block's branches already folded into one 3×3 conv."
    )

    @model_validator(mode="after")
    def _consistent(self) -> RepVGGSpec:
        if len(self.layers) != len(self.widths):
            raise ValueError(f"layers has {len(self.layers)} stages but widths has {len(self.widths)}")
        if self.depth() > 200:
            raise ValueError(f"total depth {self.depth()} exceeds 200 blocks")
        return self

    def depth(self) -> int:
        """Number of RepVGG blocks, stem included."""
        return 1 + sum(self.layers)

    def max_width(self) -> int:
        return max(self.stem_width, *self.widths)


class RepMLPStage(_Strict):
    """RepMLP blocks at one width and token grid."""

    depth: int = Field(ge=1, le=64, description="Number of RepMLP blocks (RepMLP unit, then channel FFN).")
    width: Width = Field(description="Channels of every block in this stage.")
    partition: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Side of the square partitions whose tokens the FC mixes (the paper's h = w); it must "
        "divide the stage's token grid. None: one partition covering the whole grid.",
    )
    sharesets: int = Field(
        1,
        ge=1,
        le=512,
        description="Channel sets with their own partition-wise FC (the paper's S); the channels of a set share "
        "it. Must divide the width.",
    )

    @model_validator(mode="after")
    def _sets_divide_width(self) -> RepMLPStage:
        if self.width % self.sharesets:
            raise ValueError(f"width {self.width} is not divisible by {self.sharesets} sharesets")
        return self


class RepMLPSpec(_Strict):
    """RepMLPNet (Ding et al. 2021/2022): stages of [x + RepMLP(BN(x)); x + FFN(BN(x))], patch stem and 2×2
    stride-2 conv-BN-ReLU downsampling between stages.

    The RepMLP unit mixes the tokens of each partition with a fully-connected layer per channel set
    (partition-wise FC), beside a local perceptron (conv + BN branches of the given kernel sizes on the same
    partitions) that exists only for training: for inference (``deploy``) those branches and the FC's BN fold
    into the FC weights. A global perceptron (pool → FC → ReLU → FC → sigmoid) scales the output per channel.
    """

    family: Literal["repmlp"] = Field(description="Architecture family.")
    patch_size: int = Field(4, ge=1, le=32, description="Side of each square patch of the stem; must divide the image.")
    stages: list[RepMLPStage] = Field(
        min_length=1, max_length=6, description="The stages; a 2×2 stride-2 conv halves the grid between them."
    )
    kernels: list[OddKernel] = Field(
        default_factory=lambda: [1, 3],
        max_length=4,
        description="Kernel sizes of the local perceptron's conv + BN branches (odd, distinct; empty: none). "
        "Training only: they fold into the FC for inference.",
    )
    gp_reduce: int = Field(
        4, ge=1, le=64, description="The global perceptron's hidden layer has width // gp_reduce units."
    )
    ffn_ratio: float = Field(
        4.0, gt=0.0, le=8.0, description="Hidden channels of the channel FFN, as a multiple of the width."
    )
    deploy: bool = Field(
        False, description="Build the inference form: conv branches and BN already folded into the FC weights."
    )

    @field_validator("kernels", mode="after")
    @classmethod
    def _distinct_sorted(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("kernel sizes must be distinct")
        return sorted(value)

    @model_validator(mode="after")
    def _consistent(self) -> RepMLPSpec:
        if self.depth() > 200:
            raise ValueError(f"total depth {self.depth()} exceeds 200 blocks")
        return self

    def depth(self) -> int:
        """Number of RepMLP blocks."""
        return sum(s.depth for s in self.stages)

    def max_width(self) -> int:
        return max(s.width for s in self.stages)


FamilySpec = MetaFormerSpec | ResNetSpec | PlainSpec | ConvMixerSpec | DenseNetSpec | RepVGGSpec | RepMLPSpec
ArchSpec = Annotated[FamilySpec, Field(discriminator="family")]
FAMILIES: dict[str, type[BaseModel]] = {
    "metaformer": MetaFormerSpec,
    "resnet": ResNetSpec,
    "plain": PlainSpec,
    "convmixer": ConvMixerSpec,
    "densenet": DenseNetSpec,
    "repvgg": RepVGGSpec,
    "repmlp": RepMLPSpec,
}
FAMILIES_TUPLE = tuple(FAMILIES.values())
# Families trained with extra branches that fold away for inference; their spec has a ``deploy`` flag.
REPARAMETERISABLE = frozenset({"repvgg", "repmlp"})


def deploy_spec(spec: ArchSpec) -> ArchSpec | None:
    """The inference-time form of a re-parameterisable spec (``deploy`` set), or None for other families."""
    if isinstance(spec, (RepVGGSpec, RepMLPSpec)):
        return spec if spec.deploy else spec.model_copy(update={"deploy": True})
    return None


# ---------------------------------------------------------------- parsing


def _guard(raw: object) -> None:
    """Reject input that is not small, shallow, finite JSON data before pydantic sees it.

    Iterative walk with an early size estimate, so a huge or deeply nested object costs no more than the cap.
    """
    if not isinstance(raw, dict):
        raise SpecError.at([], f"a spec must be a JSON object, not {type(raw).__name__}", "type_error")
    budget = MAX_SPEC_BYTES
    stack: list[tuple[object, int, list[str | int]]] = [(raw, 1, [])]
    while stack:
        node, depth, loc = stack.pop()
        if depth > MAX_NESTING:
            raise SpecError.at(loc, f"nesting deeper than {MAX_NESTING} levels", "too_deep")
        if isinstance(node, (dict, list, tuple)):
            budget -= 2 + 2 * len(node)  # every item costs at least a byte and a separator
            if budget < 0:
                break
        if isinstance(node, dict):
            for key, value in node.items():
                if not isinstance(key, str):
                    raise SpecError.at(loc, "object keys must be strings", "type_error")
                budget -= len(key) + 4
                stack.append((value, depth + 1, [*loc, key]))
        elif isinstance(node, (list, tuple)):
            stack.extend((v, depth + 1, [*loc, i]) for i, v in enumerate(node))
        else:
            budget -= _scalar_cost(node, loc)
        if budget < 0:
            break
    size = len(json.dumps(raw, allow_nan=False)) if budget >= 0 else MAX_SPEC_BYTES + 1
    if size > MAX_SPEC_BYTES:
        raise SpecError.at([], f"spec is larger than {MAX_SPEC_BYTES} bytes of JSON", "too_large")


def _scalar_cost(node: object, loc: list[str | int]) -> int:
    """Bytes a JSON scalar takes, after checking it is one a spec may hold."""
    if isinstance(node, float):
        if not math.isfinite(node):
            raise SpecError.at(loc, "NaN and infinite numbers are not allowed", "finite_number")
        return 4
    if isinstance(node, str):
        return len(node) + 2
    if node is None or isinstance(node, bool):
        return 4
    if isinstance(node, int):
        if abs(node) > MAX_INT:  # also keeps str()/json.dumps away from huge ints (Python caps digits)
            raise SpecError.at(loc, f"integers must lie within ±{MAX_INT}", "int_range")
        return len(str(node))
    raise SpecError.at(loc, f"unsupported value of type {type(node).__name__}", "type_error")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``over`` into a copy of ``base``: dicts merge key by key, everything else is replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _resolve_preset(raw: dict[str, Any]) -> dict[str, Any]:
    from app.zoo.presets import PRESETS, preset_names

    extra = set(raw) - {"preset", "overrides"}
    if extra:
        raise SpecError.at([sorted(extra)[0]], "a preset spec has only 'preset' and 'overrides'", "extra_forbidden")
    name = raw["preset"]
    if not isinstance(name, str) or name not in PRESETS:
        allowed = ", ".join(preset_names())
        raise SpecError.at(["preset"], f"unknown preset {name!r}; allowed: {allowed}", "unknown_preset")
    overrides = raw.get("overrides", {})
    if not isinstance(overrides, dict):
        raise SpecError.at(["overrides"], "overrides must be a JSON object", "type_error")
    if "family" in overrides and overrides["family"] != PRESETS[name]["family"]:
        raise SpecError.at(["overrides", "family"], "overrides cannot change the family", "value_error")
    return _merge(copy.deepcopy(PRESETS[name]), overrides)


def _clean_loc(loc: tuple[str | int, ...], raw: object) -> list[str | int]:
    """Drop the discriminator tags pydantic inserts into locs (``mixer.attention.heads`` →
    ``mixer.heads``)."""
    out: list[str | int] = []
    node = raw
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part not in node and node.get("kind") == part:
            continue
        out.append(part)
        if isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return out


def _to_spec_error(exc: ValidationError, raw: dict[str, Any]) -> SpecError:
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = _clean_loc(tuple(err["loc"]), raw)
        errors.append({"loc": ["spec", *loc], "msg": err["msg"], "type": err["type"]})
    return SpecError(errors)


def parse_spec(raw: object) -> ArchSpec:
    """Validate user data into a family spec (or raise SpecError). Builds no model."""
    if isinstance(raw, FAMILIES_TUPLE):  # already validated (specs are frozen)
        return cast(FamilySpec, raw)
    _guard(raw)
    assert isinstance(raw, dict)
    data = _resolve_preset(raw) if "preset" in raw else raw
    family = data.get("family")
    if not isinstance(family, str) or family not in FAMILIES:
        msg = f"unknown or missing family {family!r}; allowed: {', '.join(FAMILIES)}"
        raise SpecError.at(["family"], msg, "union_tag_invalid")
    try:
        return cast(FamilySpec, FAMILIES[family].model_validate(data))
    except ValidationError as exc:
        raise _to_spec_error(exc, data) from None


# ---------------------------------------------------------------- canonical form, hash, summary


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalise(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if isinstance(value, float):
        return 0.0 if value == 0.0 else value
    return value


def canonical_spec(spec: ArchSpec) -> dict[str, Any]:
    """All defaults filled, keys sorted recursively, -0.0 → 0.0, tuples → lists."""
    return _normalise(spec.model_dump(mode="json", by_alias=True))


def spec_hash(spec: ArchSpec) -> str:
    blob = json.dumps(canonical_spec(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def spec_summary(spec: ArchSpec) -> dict[str, Any]:
    """Short description for tables: family, token mixer ("mixed" if stages differ; None for CNNs), size."""
    mixer: str | None = None
    layout: str | None = None
    if isinstance(spec, MetaFormerSpec):
        kinds = {s.mixer.kind for s in spec.stages}
        mixer = kinds.pop() if len(kinds) == 1 else "mixed"
        layout = spec.layout
    return {
        "family": spec.family,
        "mixer": mixer,
        "layout": layout,
        "depth": spec.depth(),
        "max_width": spec.max_width(),
    }
