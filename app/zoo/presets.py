"""Named recipes: published models (ImageNet 224×224×3 / CIFAR 32×32×3) and tiny baselines for the built-in
benchmarks. The ``*_digits`` presets (8×8×1) share one macro architecture and differ only in the token mixer,
which is the comparison the leaderboard exists for; ``*_32`` presets are the same for 32×32 inputs and
``*_fmnist`` for Fashion-MNIST's 28×28×1."""

from __future__ import annotations

from typing import Any

Spec = dict[str, Any]


def _resnet(block: str, layers: list[int]) -> Spec:
    return {"family": "resnet", "block": block, "layers": layers, "widths": [64, 128, 256, 512]}


def _cifar_resnet(n: int) -> Spec:
    """He et al. 2016 §4.2: 6n+2 layers, widths 16/32/64, option-A (zero-padding) shortcuts."""
    return {
        "family": "resnet",
        "block": "basic",
        "layers": [n, n, n],
        "widths": [16, 32, 64],
        "stem": "cifar",
        "stem_width": 16,
        "shortcut": "zero_pad",
    }


def _vit(width: int, depth: int, heads: int) -> Spec:
    """ViT (Dosovitskiy et al.): 16×16 patches, class token, learned position embedding, final LayerNorm."""
    return {
        "family": "metaformer",
        "layout": "isotropic",
        "stem": {"kind": "patch", "patch_size": 16},
        "stages": [{"depth": depth, "width": width, "mixer": {"kind": "attention", "heads": heads}}],
        "pos_embed": True,
        "pool": "cls",
        "head_norm": True,
    }


def _mixer(width: int, depth: int) -> Spec:
    """MLP-Mixer (Tolstikhin et al.): token MLP hidden = width/2, channel MLP ×4, global average pool."""
    return {
        "family": "metaformer",
        "layout": "isotropic",
        "stem": {"kind": "patch", "patch_size": 16},
        "stages": [{"depth": depth, "width": width, "mixer": {"kind": "spatial_mlp", "hidden_ratio": 0.5}}],
        "pool": "avg",
        "head_norm": True,
    }


def _convnext_t() -> Spec:
    """ConvNeXt-T (Liu et al. 2022): 4×4 patch stem + LN, LN + 2×2/2 downsampling, 7×7 dwconv, layer scale
    1e-6."""
    widths, depths = [96, 192, 384, 768], [3, 3, 9, 3]
    return {
        "family": "metaformer",
        "layout": "hierarchical",
        "block": "convnext",
        "stem": {"kind": "patch", "patch_size": 4, "norm": "layernorm"},
        "stages": [
            {"depth": d, "width": w, "mixer": {"kind": "dwconv", "kernel": 7}}
            for d, w in zip(depths, widths, strict=False)
        ],
        "downsample": {"kernel": 2, "norm": "layernorm"},
        "layer_scale": 1e-6,
        "drop_path": 0.1,
    }


def _poolformer_s12() -> Spec:
    """PoolFormer-S12 (Yu et al. 2022): 7×7/4 conv stem, 3×3/2 downsampling, GroupNorm(1), layer scale
    1e-5."""
    widths, depths = [64, 128, 320, 512], [2, 2, 6, 2]
    return {
        "family": "metaformer",
        "layout": "hierarchical",
        "stem": {"kind": "conv", "kernel": 7, "stride": 4},
        "stages": [
            {"depth": d, "width": w, "mixer": {"kind": "pooling", "pool_size": 3}}
            for d, w in zip(depths, widths, strict=False)
        ],
        "downsample": {"kernel": 3},
        "norm": "groupnorm",
        "layer_scale": 1e-5,
        "drop_path": 0.1,
    }


def _repmlpnet(widths: tuple[int, ...], depths: tuple[int, ...], sharesets: tuple[int, ...]) -> Spec:
    """RepMLPNet (Ding et al., CVPR 2022; github.com/DingXiaoH/RepMLP): 4×4 patches, four stages whose
    partitions cover the whole token grid (the paper's h = w = the grid side: 56/28/14/7 at 224 px, 64/32/16/8
    at 256 px, so one spec serves both resolutions), local perceptron kernels 1 and 3, FFN ×4."""
    return {
        "family": "repmlp",
        "patch_size": 4,
        "stages": [{"depth": d, "width": w, "sharesets": s} for w, d, s in zip(widths, depths, sharesets, strict=True)],
        "kernels": [1, 3],
        "gp_reduce": 4,
        "ffn_ratio": 4.0,
    }


def _tiny_repmlp(patch: int, width: int, depth: int, sharesets: int) -> Spec:
    """RepMLP on the tiny baselines' macro architecture: isotropic (one stage), whole-grid partitions, FFN ×2."""
    return {
        "family": "repmlp",
        "patch_size": patch,
        "stages": [{"depth": depth, "width": width, "sharesets": sharesets}],
        "kernels": [1, 3],
        "ffn_ratio": 2.0,
    }


def _tiny(mixer: Spec, patch: int, width: int, depth: int = 4) -> Spec:
    """The shared macro architecture of the small baselines: isotropic, 4 blocks (2 for ``*_synth``), MLP
    ratio 2."""
    return {
        "family": "metaformer",
        "layout": "isotropic",
        "stem": {"kind": "patch", "patch_size": patch},
        "stages": [{"depth": depth, "width": width, "mixer": mixer, "mlp_ratio": 2.0}],
        "pos_embed": mixer["kind"] in ("attention", "external_attention"),
        "pool": "avg",
        "head_norm": True,
    }


_TINY_MIXERS: dict[str, tuple[Spec, Spec]] = {  # name → (mixer for 8×8 inputs, mixer for 32×32 inputs)
    "vit": ({"kind": "attention", "heads": 4}, {"kind": "attention", "heads": 4}),
    "swin": (
        {"kind": "window_attention", "heads": 4, "window": 2},
        {"kind": "window_attention", "heads": 4, "window": 4},
    ),
    "mixer": ({"kind": "spatial_mlp", "hidden_ratio": 0.5}, {"kind": "spatial_mlp", "hidden_ratio": 0.5}),
    "convformer": ({"kind": "dwconv", "kernel": 3}, {"kind": "dwconv", "kernel": 5}),
    "dynconv": ({"kind": "dynamic_dwconv", "kernel": 3}, {"kind": "dynamic_dwconv", "kernel": 3}),
    "eanet": (
        {"kind": "external_attention", "heads": 4, "memory": 32},
        {"kind": "external_attention", "heads": 4, "memory": 64},
    ),
    "poolformer": ({"kind": "pooling", "pool_size": 3}, {"kind": "pooling", "pool_size": 3}),
    "identityformer": ({"kind": "identity"}, {"kind": "identity"}),
}


def _tiny_cnns(suffix: str) -> dict[str, Spec]:
    """CNN baselines of about the same size as the MetaFormer ones (≤ ~150k params; ≤ ~15 M MACs at 32×32)."""
    digits = suffix == "digits"
    plain = [(2, 32), (2, 64), (1, 64)] if digits else [(1, 16), (2, 32), (2, 64)]
    return {
        f"tiny_resnet_{suffix}": {
            "family": "resnet",
            "block": "basic",
            "layers": [1, 1, 1],
            "widths": [16, 32, 64],
            "stem": "cifar",
            "stem_width": 16,
        },
        f"tiny_plain_{suffix}": {"family": "plain", "stages": [{"depth": d, "width": w} for d, w in plain]},
        f"tiny_convmixer_{suffix}": {
            "family": "convmixer",
            "width": 64 if digits else 96,
            "depth": 4,
            "kernel": 3 if digits else 5,
            "patch_size": 1 if digits else 2,
        },
        f"tiny_densenet_{suffix}": {
            "family": "densenet",
            "blocks": [4, 4, 4] if digits else [3, 3, 3],
            "growth_rate": 12 if digits else 8,
            "init_width": 24 if digits else 16,
            "stem": "cifar",
        },
        f"tiny_repvgg_{suffix}": {
            "family": "repvgg",
            "layers": [1, 2, 1],
            "widths": [32, 64, 96],
            "stem_width": 32,
            "stem_stride": 1 if digits else 2,
        },
    }


PRESETS: dict[str, Spec] = {
    "resnet18": _resnet("basic", [2, 2, 2, 2]),
    "resnet50": _resnet("bottleneck", [3, 4, 6, 3]),
    "resnet20_cifar": _cifar_resnet(3),
    "resnet56_cifar": _cifar_resnet(9),
    "vit_s16": _vit(384, 12, 6),
    "vit_b16": _vit(768, 12, 12),
    "mixer_s16": _mixer(512, 8),
    "mixer_b16": _mixer(768, 12),
    "convnext_t": _convnext_t(),
    "poolformer_s12": _poolformer_s12(),
    "densenet121": {"family": "densenet", "blocks": [6, 12, 24, 16], "growth_rate": 32, "init_width": 64},
    "repvgg_a0": {
        "family": "repvgg",
        "layers": [2, 4, 14, 1],
        "widths": [48, 96, 192, 1280],
        "stem_width": 48,
    },
    "convmixer_768_32": {
        "family": "convmixer",
        "width": 768,
        "depth": 32,
        "kernel": 7,
        "patch_size": 7,
        "act": "relu",
    },
    "repmlpnet_t": _repmlpnet((64, 128, 256, 512), (2, 2, 6, 2), (1, 4, 16, 128)),
    "repmlpnet_b": _repmlpnet((96, 192, 384, 768), (2, 2, 12, 2), (1, 4, 32, 128)),
    "repmlpnet_d": _repmlpnet((80, 160, 320, 640), (2, 2, 18, 2), (1, 4, 16, 128)),
    "repmlpnet_l": _repmlpnet((96, 192, 384, 768), (2, 2, 18, 2), (1, 4, 32, 256)),
    # RepMLP baselines: digits (8×8: 4×4 tokens, as the tiny MetaFormers), 28×28 / 32×32 (fashion_mnist, mnist;
    # 7×7 / 8×8 tokens) and the cheap 32×32 synthetic benchmarks (pathfinder, shapes).
    "tiny_repmlp_digits": _tiny_repmlp(2, 48, 4, 4),
    "tiny_repmlp_32": _tiny_repmlp(4, 64, 4, 4),
    "tiny_repmlp_synth": _tiny_repmlp(4, 32, 2, 4),
    **{f"tiny_{name}_digits": _tiny(mixers[0], 2, 48) for name, mixers in _TINY_MIXERS.items()},
    **_tiny_cnns("digits"),
    **{f"tiny_{name}_32": _tiny(mixers[1], 4, 64) for name, mixers in _TINY_MIXERS.items()},
    **_tiny_cnns("32"),
    # The built-in 32×32 benchmarks (pathfinder, shapes) on one CPU thread: the ``*_32`` presets take ~15 s an
    # epoch there, so these are ~5–10× cheaper: 4×4 patches (64 tokens), width 32, 2 blocks, the same mixers.
    **{f"tiny_{name}_synth": _tiny(mixers[1], 4, 32, depth=2) for name, mixers in _TINY_MIXERS.items()},
    # CNN of the same budget: ResNet with the ImageNet stem (7×7/2 conv + 3×3/2 max-pool → 8×8, like the
    # 4×4 patches), one basic block per stage; ~1 M MACs at 32×32.
    "tiny_resnet_synth": {
        "family": "resnet",
        "block": "basic",
        "layers": [1, 1, 1],
        "widths": [16, 32, 64],
        "stem": "imagenet",
        "stem_width": 16,
    },
    # Fashion-MNIST (28×28×1), sized so that 3 seeds of the ResNet, ViT and Mixer train within minutes on a
    # 2-core CPU: the MetaFormers share one macro architecture (4×4 patches → 7×7 tokens, width 48, 4 blocks,
    # MLP ratio 2) and differ only in the token mixer; the CNNs have about the same MACs (2–5 M).
    **{f"tiny_{name}_fmnist": _tiny(mixers[1], 4, 48) for name, mixers in _TINY_MIXERS.items()},
    # ImageNet-style stem (7×7/2 conv + 3×3/2 max-pool: 28 → 7, like the 4×4 patches), then 4 basic blocks in
    # two stages (7×7 and 4×4), as many blocks as the MetaFormers have.
    "tiny_resnet_fmnist": {
        "family": "resnet",
        "block": "basic",
        "layers": [2, 2],
        "widths": [24, 48],
        "stem": "imagenet",
        "stem_width": 24,
    },
    "tiny_plain_fmnist": {"family": "plain", "stages": [{"depth": 1, "width": w} for w in (16, 32, 64)]},
    "tiny_convmixer_fmnist": {"family": "convmixer", "width": 64, "depth": 4, "kernel": 5, "patch_size": 4},
}

# Published references: (input_shape, num_classes). Used by tests and docs.
PUBLISHED_INPUT: dict[str, tuple[tuple[int, int, int], int]] = {
    **{
        name: ((3, 224, 224), 1000)
        for name in (
            "resnet18",
            "resnet50",
            "vit_s16",
            "vit_b16",
            "mixer_s16",
            "mixer_b16",
            "convnext_t",
            "poolformer_s12",
            "convmixer_768_32",
            "densenet121",
            "repvgg_a0",
            "repmlpnet_t",
            "repmlpnet_b",
        )
    },
    "repmlpnet_d": ((3, 256, 256), 1000),
    "repmlpnet_l": ((3, 256, 256), 1000),
    "resnet20_cifar": ((3, 32, 32), 10),
    "resnet56_cifar": ((3, 32, 32), 10),
}


def preset_names() -> list[str]:
    return sorted(PRESETS)
