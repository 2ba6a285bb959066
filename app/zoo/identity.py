"""When two specs are the same experiment, and when they are near variants of one another.

**Functional fingerprint** (``fingerprint``): two specs that build the same function on a benchmark get the
same fingerprint, whatever fields the model ignores say (``downsample.kernel`` in an isotropic model, the
local perceptron's kernels of a RepMLP already in deploy form, a pool window larger than the grid, ...). The
model is built on the CPU with a fixed seed (one thread, the global RNG restored afterwards) and run on a
fixed batch, once in training mode (batch statistics, stochastic depth drawn from a fixed seed) and once in
eval mode. The fingerprint hashes the parameter count and both outputs, rounded to 2⁻¹² of their largest
magnitude, so it is stable across processes on one machine and torch version; a different BLAS may round
differently, so compare fingerprints computed by the same deployment (``FINGERPRINT_VERSION`` changes when
the recipe of the fingerprint does). It builds the real model: call it after the limits have passed.

**Lineage** (``lineage_key``, ``size_vector``, ``near_variant``): the rule for "the same idea, resized".
The *size fields* of a family are its width- and depth-like numbers (``SIZE_FIELDS``: depths, widths,
channel-multiplier ratios, growth rates, memory units). ``lineage_key`` is the hash of the canonical spec with
those values removed (the number of stages stays: a 3-stage and a 4-stage ResNet are different lineages), so
two specs share a key exactly when they differ in size fields only. ``size_vector`` lists the size fields by
path. Two specs are *near variants* when they share a lineage key and every size field is within a factor
``1 + tolerance`` of the other's (default 15 %: widths 64 and 72 are near, 64 and 80 are not; integers below 7
must be equal). Specs with the same fingerprint are the same entry, which the caller checks first.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from typing import Any

import torch

from app.zoo.build import build_model
from app.zoo.spec import ArchSpec, canonical_spec, parse_spec

FINGERPRINT_VERSION = 1
_INIT_SEED = 20240601
_DATA_SEED = 7
_BATCH = 4
_QUANTUM = 2.0**-12
_global_rng = threading.Lock()

# Size-field path patterns per family ("*": any list index).
SIZE_FIELDS: dict[str, tuple[str, ...]] = {
    "metaformer": (
        "stages.*.depth",
        "stages.*.width",
        "stages.*.mlp_ratio",
        "stages.*.mixer.hidden_ratio",
        "stages.*.mixer.memory",
    ),
    "resnet": ("layers.*", "widths.*", "stem_width", "width_per_group"),
    "plain": ("stages.*.depth", "stages.*.width"),
    "convmixer": ("width", "depth"),
    "densenet": ("blocks.*", "growth_rate", "init_width", "bn_size"),
    "repvgg": ("layers.*", "widths.*", "stem_width"),
    "repmlp": ("stages.*.depth", "stages.*.width", "ffn_ratio"),
}


def _quantise(out: torch.Tensor) -> list[int]:
    scale = float(out.abs().max())
    if scale == 0.0 or not torch.isfinite(out).all():
        return [0] if scale == 0.0 else [-1]
    exponent = int(torch.tensor(scale).log2().ceil())  # a power-of-two scale: exact, no rounding of its own
    return [exponent, *torch.round(out / (2.0**exponent) / _QUANTUM).to(torch.int64).flatten().tolist()]


def fingerprint(spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int) -> str:
    """A hash of what the spec computes on this input (see the module docstring)."""
    spec = parse_spec(spec)
    shape = tuple(int(d) for d in input_shape)
    with _global_rng:  # the seeds and thread count are the process's: one fingerprint at a time
        return _fingerprint(spec, shape, num_classes)


def _fingerprint(spec: ArchSpec, shape: tuple[int, ...], num_classes: int) -> str:
    threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.set_num_threads(1)
        try:
            torch.manual_seed(_INIT_SEED)
            model = build_model(spec, shape, num_classes)  # type: ignore[arg-type]
            x = torch.randn((_BATCH, *shape), generator=torch.Generator().manual_seed(_DATA_SEED))
            with torch.no_grad():
                torch.manual_seed(_DATA_SEED)
                train_out = model.train()(x)
                eval_out = model.eval()(x)
        finally:
            torch.set_num_threads(threads)
    params = sum(p.numel() for p in model.parameters())
    payload = [FINGERPRINT_VERSION, list(shape), num_classes, params, _quantise(train_out), _quantise(eval_out)]
    return hashlib.sha256(json.dumps(payload, separators=(",", ":")).encode()).hexdigest()


# ---------------------------------------------------------------- lineage


def _leaves(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{prefix}{k}.")]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{prefix}{i}.")]
    return [(prefix[:-1], value)]


def _is_size(family: str, path: str) -> bool:
    pattern = re.sub(r"\.\d+(?=\.|$)", ".*", path)
    return pattern in SIZE_FIELDS.get(family, ())


def size_vector(spec: ArchSpec) -> dict[str, float]:
    """The spec's size fields by path (``"stages.0.width"``), as floats."""
    spec = parse_spec(spec)
    leaves = _leaves(canonical_spec(spec))
    return {path: float(v) for path, v in leaves if _is_size(spec.family, path) and isinstance(v, (int, float))}


def _strip(value: Any, family: str, prefix: str) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v, family, f"{prefix}{k}.") for k, v in value.items() if not _is_size(family, f"{prefix}{k}")}
    if isinstance(value, list):
        kept = [_strip(v, family, f"{prefix}{i}.") for i, v in enumerate(value) if not _is_size(family, f"{prefix}{i}")]
        return kept if kept else len(value)  # a list of sizes keeps only its length (the number of stages)
    return value


def lineage_key(spec: ArchSpec) -> str:
    """Hash of the canonical spec without its size fields: equal for specs that differ only in size."""
    spec = parse_spec(spec)
    reduced = _strip(canonical_spec(spec), spec.family, "")
    return hashlib.sha256(json.dumps(reduced, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def near_variant(a: ArchSpec, b: ArchSpec, tolerance: float = 0.15) -> bool:
    """Same lineage key and every size field within a factor ``1 + tolerance`` (module docstring)."""
    a, b = parse_spec(a), parse_spec(b)
    return lineage_key(a) == lineage_key(b) and sizes_near(size_vector(a), size_vector(b), tolerance)


def sizes_near(sa: dict[str, float], sb: dict[str, float], tolerance: float = 0.15) -> bool:
    """Two size vectors of one lineage key: every size within a factor ``1 + tolerance`` of the other's."""
    if sa.keys() != sb.keys():
        return False
    for path, x in sa.items():
        y = sb[path]
        low, high = min(x, y), max(x, y)
        if high > low * (1.0 + tolerance) or (low <= 0.0 < high):
            return False
    return True
