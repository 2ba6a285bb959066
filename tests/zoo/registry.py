"""The test registry: one small spec per family × token mixer × layout, plus option variants.

Every entry must build, train a step and agree with measure() on both (1, 8, 8) and (3, 32, 32) inputs.
"""

from __future__ import annotations

from typing import Any

from app.zoo.spec import MIXER_KINDS

SMALL_MIXERS: dict[str, dict[str, Any]] = {
    "attention": {"kind": "attention", "heads": 2},
    "window_attention": {"kind": "window_attention", "heads": 2, "window": 2},
    "dwconv": {"kind": "dwconv", "kernel": 3},
    "dynamic_dwconv": {"kind": "dynamic_dwconv", "kernel": 3, "reduction": 4},
    "spatial_mlp": {"kind": "spatial_mlp", "hidden_ratio": 0.5},
    "external_attention": {"kind": "external_attention", "heads": 2, "memory": 8},
    "pooling": {"kind": "pooling", "pool_size": 3},
    "identity": {"kind": "identity"},
}
assert set(SMALL_MIXERS) == set(MIXER_KINDS)


def metaformer(mixer: str, layout: str, **options: Any) -> dict[str, Any]:
    widths = [16, 16] if layout == "isotropic" else [16, 32]
    return {
        "family": "metaformer",
        "layout": layout,
        "stem": {"kind": "patch", "patch_size": 2},
        "stages": [{"depth": 2, "width": w, "mixer": SMALL_MIXERS[mixer], "mlp_ratio": 2} for w in widths],
        **options,
    }


REGISTRY: dict[str, dict[str, Any]] = {
    **{f"metaformer-{m}-{lay}": metaformer(m, lay) for m in MIXER_KINDS for lay in ("isotropic", "hierarchical")},
    "metaformer-mixed-hierarchical": {
        **metaformer("dwconv", "hierarchical"),
        "stages": [
            {"depth": 1, "width": 16, "mixer": "pooling"},
            {"depth": 1, "width": 32, "mixer": {"kind": "attention", "heads": 4}},
        ],
    },
    "metaformer-vit-options": metaformer("attention", "isotropic", pool="cls", pos_embed=True, layer_scale=0.1),
    "metaformer-batchnorm-convstem": {
        **metaformer("dwconv", "hierarchical", norm="batchnorm", act="relu", drop_path=0.1),
        "stem": {"kind": "conv", "kernel": 3, "stride": 2, "norm": "batchnorm"},
    },
    "metaformer-convnext-block": metaformer(
        "dwconv",
        "hierarchical",
        block="convnext",
        layer_scale=1e-6,
        downsample={"kernel": 2, "norm": "layernorm"},
    ),
    "metaformer-swin-batchnorm": {
        **metaformer("window_attention", "hierarchical", norm="batchnorm"),
        "stages": [
            {"depth": 2, "width": 16, "mixer": {"kind": "window_attention", "heads": 2, "window": 3}},
            {"depth": 2, "width": 32, "mixer": {"kind": "window_attention", "heads": 4, "window": 3}},
        ],
    },
    "metaformer-groupnorm-silu": metaformer("pooling", "hierarchical", norm="groupnorm", act="silu", head_norm=False),
    "resnet-basic-cifar": {
        "family": "resnet",
        "layers": [1, 1, 1],
        "widths": [8, 16, 32],
        "stem": "cifar",
        "stem_width": 8,
    },
    "resnet-basic-zero-pad": {
        "family": "resnet",
        "layers": [2, 1],
        "widths": [8, 16],
        "stem": "cifar",
        "stem_width": 8,
        "shortcut": "zero_pad",
    },
    "resnext-bottleneck": {
        "family": "resnet",
        "block": "bottleneck",
        "layers": [1, 1],
        "widths": [8, 16],
        "stem": "cifar",
        "stem_width": 16,
        "groups": 4,
        "width_per_group": 8,
    },
    "plain": {"family": "plain", "stages": [{"depth": 2, "width": 8}, {"depth": 1, "width": 16}]},
    "plain-no-norm": {"family": "plain", "stages": [{"depth": 1, "width": 8}], "norm": None, "act": "gelu"},
    "convmixer": {"family": "convmixer", "width": 16, "depth": 2, "kernel": 3, "patch_size": 2},
    "densenet": {"family": "densenet", "blocks": [2, 2], "growth_rate": 4, "init_width": 8, "stem": "cifar"},
    "densenet-no-bottleneck": {
        "family": "densenet",
        "blocks": [2, 1],
        "growth_rate": 4,
        "init_width": 8,
        "stem": "cifar",
        "bottleneck": False,
        "compression": 1.0,
    },
    "repvgg": {"family": "repvgg", "layers": [1, 2], "widths": [8, 16], "stem_width": 8, "stem_stride": 1},
    "repvgg-deploy": {
        "family": "repvgg",
        "layers": [1, 1],
        "widths": [8, 16],
        "stem_width": 8,
        "deploy": True,
    },
    "repmlp": {
        "family": "repmlp",
        "patch_size": 2,
        "stages": [{"depth": 2, "width": 8, "sharesets": 2, "partition": 2}, {"depth": 1, "width": 16, "sharesets": 4}],
        "kernels": [1, 3],
        "ffn_ratio": 2.0,
    },
    "repmlp-one-set-no-local": {
        "family": "repmlp",
        "patch_size": 2,
        "stages": [{"depth": 1, "width": 8}],
        "kernels": [],
        "gp_reduce": 2,
    },
    "repmlp-deploy": {
        "family": "repmlp",
        "patch_size": 4,
        "stages": [{"depth": 1, "width": 8, "sharesets": 8}, {"depth": 1, "width": 16, "sharesets": 2}],
        "kernels": [3, 5],
        "deploy": True,
    },
}
