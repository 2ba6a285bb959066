"""The architecture zoo: specs as data, models built from them, and their size in params and MACs."""

from app.zoo.build import build_model
from app.zoo.limits import Limits, check_limits
from app.zoo.measure import Measurement, measure, throughput, warm_up
from app.zoo.presets import PRESETS, preset_names
from app.zoo.spec import ArchSpec, SpecError, canonical_spec, parse_spec, spec_hash, spec_summary

__all__ = [
    "PRESETS",
    "ArchSpec",
    "Limits",
    "Measurement",
    "SpecError",
    "build_model",
    "canonical_spec",
    "check_limits",
    "measure",
    "parse_spec",
    "preset_names",
    "spec_hash",
    "spec_summary",
    "throughput",
    "warm_up",
]
