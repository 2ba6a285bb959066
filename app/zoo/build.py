"""Spec → torch.nn.Module for one input shape (C, H, W) and class count."""

from __future__ import annotations

from torch import nn

from app.zoo.cnn import build_convmixer, build_densenet, build_plain, build_repvgg, build_resnet
from app.zoo.metaformer import build_metaformer
from app.zoo.repmlp import build_repmlp
from app.zoo.spec import (
    ArchSpec,
    ConvMixerSpec,
    DenseNetSpec,
    MetaFormerSpec,
    PlainSpec,
    RepMLPSpec,
    RepVGGSpec,
    ResNetSpec,
    SpecError,
)

MAX_INPUT_SIDE = 1024
MAX_CLASSES = 100_000


def _check_input(input_shape: tuple[int, int, int], num_classes: int) -> None:
    if len(input_shape) != 3 or not all(isinstance(d, int) and d >= 1 for d in input_shape):
        raise ValueError(f"input_shape must be (C, H, W) positive ints, got {input_shape!r}")
    if input_shape[0] > 64 or max(input_shape[1:]) > MAX_INPUT_SIDE:
        raise ValueError(f"input_shape {input_shape!r} is out of range")
    if not 1 <= num_classes <= MAX_CLASSES:
        raise ValueError(f"num_classes must be in [1, {MAX_CLASSES}], got {num_classes}")


def build_model(spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """Build the model for NCHW float input of ``input_shape``; returns logits (N, num_classes).

    Raises SpecError (loc under "spec") when the spec cannot fit this input, e.g. a patch size that does not
    divide the image or more downsamplings than the image allows.
    """
    input_shape = tuple(input_shape)  # type: ignore[assignment]
    _check_input(input_shape, num_classes)
    if isinstance(spec, MetaFormerSpec):
        return build_metaformer(spec, input_shape, num_classes)
    if isinstance(spec, ResNetSpec):
        return build_resnet(spec, input_shape, num_classes)
    if isinstance(spec, PlainSpec):
        return build_plain(spec, input_shape, num_classes)
    if isinstance(spec, ConvMixerSpec):
        return build_convmixer(spec, input_shape, num_classes)
    if isinstance(spec, DenseNetSpec):
        return build_densenet(spec, input_shape, num_classes)
    if isinstance(spec, RepVGGSpec):
        return build_repvgg(spec, input_shape, num_classes)
    if isinstance(spec, RepMLPSpec):
        return build_repmlp(spec, input_shape, num_classes)
    raise SpecError.at(["family"], f"cannot build {type(spec).__name__}", "type_error")


def fuse_model(model: nn.Module) -> nn.Module:
    """Re-parameterise in place for inference: every block with a ``fuse()`` (RepVGG, RepMLP) folds its
    training-time branches away. Call in eval mode after training; outputs stay the same (up to rounding), and
    the model then has the parameters of the spec's ``deploy`` form."""
    for module in list(model.modules()):
        fuse = getattr(module, "fuse", None)
        if callable(fuse):
            fuse()
    return model
