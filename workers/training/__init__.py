"""The training loop: pure PyTorch (imports ``app.zoo`` and ``app.benchmarks`` only), no database or broker.

Public API: ``workers.training.train_spec`` (``train``, ``train_batched``, ``can_batch``) and the types in
``workers.training.results``.
"""

from workers.training.results import EpochMetrics, Member, TrainingFailed, TrainResult

__all__ = ["EpochMetrics", "Member", "TrainResult", "TrainingFailed"]
