"""A trained model's weights as safetensors bytes with their provenance, and back. Pure: no store, no
database (the runner moves the bytes)."""

from __future__ import annotations

import torch
from safetensors.torch import load, save
from torch import nn

from app.weights.format import FORMAT

State = dict[str, torch.Tensor]


def cpu_state(model: nn.Module) -> State:
    """The model's parameters and buffers on the CPU, each its own copy (safetensors refuses tensors that share
    memory, and the model may go on training or be freed)."""
    return {name: t.detach().to("cpu").clone().contiguous() for name, t in model.state_dict().items()}


def state_bytes(state: State, metadata: dict[str, str]) -> bytes:
    """Safetensors bytes of ``state`` with ``metadata`` (strings; ``format`` added)."""
    return save(state, metadata={"format": FORMAT, **{k: str(v) for k, v in metadata.items()}})


def weights_bytes(model: nn.Module, metadata: dict[str, str]) -> bytes:
    return state_bytes(cpu_state(model), metadata)


def load_weights(model: nn.Module, data: bytes) -> None:
    """Load stored weights into a model of the same architecture (strict: every name and shape must match)."""
    state = load(data)
    with torch.no_grad():
        model.load_state_dict(state, strict=True)
