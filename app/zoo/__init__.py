"""The architecture zoo: specs as data, models built from them, their size and cost, and their identity."""

from app.zoo.build import build_model, fuse_model
from app.zoo.costmodel import Cost, cost_of, estimate_cost
from app.zoo.fields import SpecField, field_for, get_path, numeric_paths, set_path, spec_fields
from app.zoo.identity import fingerprint, lineage_key, near_variant, size_vector
from app.zoo.limits import Limits, check_limits, fits, presets_that_fit, static_check
from app.zoo.measure import Measurement, measure, throughput, warm_up
from app.zoo.presets import PRESETS, preset_names
from app.zoo.probe import StepTiming, probe_train_step
from app.zoo.spec import ArchSpec, SpecError, canonical_spec, deploy_spec, parse_spec, spec_hash, spec_summary
from app.zoo.static import StaticCost, static_cost

__all__ = [
    "PRESETS",
    "ArchSpec",
    "Cost",
    "Limits",
    "Measurement",
    "SpecError",
    "SpecField",
    "StaticCost",
    "StepTiming",
    "build_model",
    "canonical_spec",
    "check_limits",
    "cost_of",
    "deploy_spec",
    "estimate_cost",
    "field_for",
    "fingerprint",
    "fits",
    "fuse_model",
    "get_path",
    "lineage_key",
    "measure",
    "near_variant",
    "numeric_paths",
    "parse_spec",
    "preset_names",
    "presets_that_fit",
    "probe_train_step",
    "set_path",
    "size_vector",
    "spec_fields",
    "spec_hash",
    "spec_summary",
    "static_check",
    "static_cost",
    "throughput",
    "warm_up",
]
