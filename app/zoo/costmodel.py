"""Projected training time of a spec from what its forward pass does (``measure()``'s counts).

The model, per training image (forward + backward + AdamW step) at batch size B on the reference CPU:

    seconds/image = a + b·MACs + g·grouped_conv_MACs + c·other_ops + d·activation_bytes
                    + (e·(kernels + views) + f·params) / B

- ``a``: fixed per-image work (loading and normalising the input, the loss);
- ``b``, ``c``, ``d``: arithmetic (MACs), the other ops (pooling windows, norms, element-wise ops) and the
  memory traffic of the activations, all forward counts whose coefficients include the backward pass;
- ``g``: the extra cost of a MAC in a grouped or depth-wise conv (memory-bound on a CPU, ~10× a dense MAC);
- ``e``: the per-op cost of dispatching an op (and its backward) once per batch, whatever the batch size —
  what dominates small models on a CPU;
- ``f``: the optimiser's per-parameter work, once per batch.

The coefficients are fitted by ``bench/cost_model.py`` (non-negative least squares on relative error) against
real timings of ``probe_train_step`` for every preset on its benchmark, the test registry and a set of stress
variants (deep/wide pooling, long attention, large kernels). Reference CPU: the development machine's x86-64
core, one torch thread (the workers' setting), torch 2.13 CPU build. Other machines scale roughly uniformly; the
projection is for ordering and budgets, not a promise: the probe measures the real thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.zoo.measure import Measurement, measure
from app.zoo.spec import ArchSpec

DEFAULT_BATCH = 64


@dataclass(frozen=True)
class CostModel:
    per_image_s: float
    per_mac_s: float
    per_other_op_s: float
    per_activation_byte_s: float
    per_op_call_s: float
    per_param_s: float
    per_grouped_conv_mac_s: float

    def seconds_per_image(self, m: Measurement, batch_size: int) -> float:
        """Projected seconds per training image at ``batch_size`` for a spec measured as ``m``."""
        per_batch = self.per_op_call_s * (m.kernels + m.views) + self.per_param_s * m.params
        return (
            self.per_image_s
            + self.per_mac_s * m.macs
            + self.per_grouped_conv_mac_s * m.grouped_conv_macs
            + self.per_other_op_s * m.other_ops
            + self.per_activation_byte_s * m.activation_bytes
            + per_batch / max(1, batch_size)
        )


# Fitted by bench/cost_model.py on 134 timed cases (presets on their benchmarks, the test registry at 8×8 and
# 32×32, stress variants). On a second, independent timing run these coefficients were off by a median factor
# of 1.19 (90th percentile 1.62, worst 2.8: attention over 1024 tokens, which the meta count prices as if the
# N² scores were written out, while the CPU kernel streams them). Refit when the zoo's ops change.
REFERENCE_CPU = CostModel(
    per_image_s=5.135e-05,
    per_mac_s=4.306e-11,
    per_other_op_s=6.370e-10,
    per_activation_byte_s=3.908e-10,
    per_op_call_s=4.537e-05,
    per_param_s=2.146e-08,
    per_grouped_conv_mac_s=9.947e-10,
)


@dataclass(frozen=True)
class Cost:
    """What one training image costs: forward counts (see ``app.zoo.measure``) and the projected seconds per
    training image on the reference CPU at ``batch_size``."""

    params: int
    macs: int
    other_ops: int
    activation_bytes: int
    kernels: int
    views: int
    batch_size: int
    train_s_per_image: float

    def run_seconds(self, images: int, epochs: int) -> float:
        """Projected seconds to train ``epochs`` passes over ``images`` training images."""
        return self.train_s_per_image * images * epochs


def cost_of(m: Measurement, batch_size: int = DEFAULT_BATCH, model: CostModel = REFERENCE_CPU) -> Cost:
    seconds = model.seconds_per_image(m, batch_size)
    return Cost(m.params, m.macs, m.other_ops, m.activation_bytes, m.kernels, m.views, batch_size, seconds)


def estimate_cost(
    spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int, batch_size: int = DEFAULT_BATCH
) -> Cost:
    """Count every op of one forward pass on the meta device (cached) and project the training time."""
    return cost_of(measure(spec, input_shape, num_classes), batch_size)
