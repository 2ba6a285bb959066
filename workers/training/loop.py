"""Old import path of ``train``, kept until the runner imports ``workers.training.train_spec`` (the module
that builds the model and calls the engine; it never held a loop)."""

from workers.training.train_spec import train

__all__ = ["train"]
