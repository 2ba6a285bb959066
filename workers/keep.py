"""Keeping a finished run's trained weights: the engine hands the model over (``KeptWeights`` is its
``on_trained``), the runner's record step writes them to the weights store with their provenance and stores
the key with the result. A store that cannot be written leaves the run finished without weights (its
downstream runs are then not queued); the log says why, and no message names a path."""

from __future__ import annotations

import logging

from torch import nn

from app.benchmarks.downstream import get_task
from app.benchmarks.registry import get_benchmark
from app.core.config import Settings
from app.core.db.tables import RunKind
from app.runs.lifecycle import ClaimedRun
from app.weights.store import run_key, store_for
from app.zoo.identity import fingerprint
from app.zoo.spec import parse_spec
from workers.training.results import TrainResult
from workers.training.weights import State, cpu_state, state_bytes

log = logging.getLogger(__name__)


class KeptWeights:
    """The trained model's state, copied to the CPU when training ends."""

    def __init__(self) -> None:
        self.state: State | None = None

    def __call__(self, model: nn.Module) -> None:
        self.state = cpu_state(model)

    def keep_state(self, state: State) -> None:
        """A batched member's weights, already a one-model state dict on the CPU."""
        self.state = state


def provenance(run: ClaimedRun, result: TrainResult) -> dict[str, str]:
    """What the weights are: which spec, trained how, on what, with which seed."""
    if run.kind == RunKind.UPSTREAM:
        recipe, classes = get_benchmark(run.benchmark).recipe.version, get_benchmark(run.benchmark).num_classes
    else:
        task = get_task(run.task)
        recipe, classes = task.recipe(run.kind).version, task.num_classes
    c, h, w = get_benchmark(run.benchmark).input_shape
    return {
        "run_id": str(run.run_id),
        "submission_id": str(run.submission_id),
        "benchmark": run.benchmark,
        "kind": run.kind,
        "task": run.task,
        "seed": str(run.seed),
        "spec_hash": result.spec_hash,
        "fingerprint": run.fingerprint or _fingerprint(run),
        "recipe": recipe,
        "recipe_version": result.recipe_version,
        "input_shape": f"{c}x{h}x{w}",
        "num_classes": str(classes),
        "code_version": result.code_version,
        "torch_version": result.torch_version,
    }


def _fingerprint(run: ClaimedRun) -> str:
    """The spec's functional fingerprint (``app.zoo.identity``) on the upstream benchmark's input."""
    benchmark = get_benchmark(run.benchmark)
    try:
        return fingerprint(parse_spec(run.spec), benchmark.input_shape, benchmark.num_classes)
    except ValueError:  # a spec the zoo no longer builds: its weights say so by an empty fingerprint
        return ""


def store_weights(settings: Settings, run: ClaimedRun, result: TrainResult, kept: KeptWeights) -> str | None:
    """Write the kept weights; their key, or None when there are none or the store refused them."""
    if kept.state is None:
        return None
    key = run_key(run.run_id)
    try:
        store_for(settings).put(key, state_bytes(kept.state, provenance(run, result)))
    except Exception as exc:  # the store is another service: its failure must not lose the run's result
        log.warning("run %s: weights not stored (%s)", run.run_id, type(exc).__name__)
        return None
    return key
