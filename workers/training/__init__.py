"""The training loop: pure PyTorch (imports ``app.zoo`` and ``app.benchmarks`` only), no database or broker.

Public API: ``workers.training.loop.train`` and the types in ``workers.training.results``.
"""

from workers.training.results import EpochMetrics, TrainingFailed, TrainResult

__all__ = ["EpochMetrics", "TrainResult", "TrainingFailed"]
