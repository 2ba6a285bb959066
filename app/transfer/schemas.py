"""What the transfer API returns."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ScoreOut(BaseModel):
    mean: float = Field(description="Mean test accuracy over the seeds (a fraction).")
    low: float = Field(description="Lower end of the 95% interval (seed noise and test-set sampling).")
    high: float = Field(description="Upper end of the 95% interval.")
    n: int = Field(description="Seeds with a finished run.")


class WeightsLinkOut(BaseModel):
    run_id: int
    seed: int
    kind: str = Field(description="upstream, probe or finetune.")
    url: str = Field(description="Download of the run's trained weights (safetensors).")


class TransferRunOut(BaseModel):
    id: int
    seed: int
    kind: str = Field(description="probe (linear probe on the frozen backbone) or finetune (every weight).")
    status: str
    test_acc: float | None
    parent_run_id: int | None = Field(description="The upstream run whose weights it started from.")
    weights_url: str | None
    error_message: str | None


class TaskTransferOut(BaseModel):
    task: str
    title: str
    description: str
    recipes: dict[str, str] = Field(description="Each transfer recipe in one sentence, by kind.")
    upstream: ScoreOut | None = Field(description="The entry's own test accuracy, over its seeds.")
    probe: ScoreOut | None
    finetune: ScoreOut | None
    runs: list[TransferRunOut]


class TransferOut(BaseModel):
    submission_id: int
    benchmark: str
    noise: str = Field(description="Which seed-noise reference the intervals use.")
    weights: list[WeightsLinkOut] = Field(description="Every run of the entry with stored weights.")
    tasks: list[TaskTransferOut] = Field(description="One per downstream task the benchmark declares.")


class TransferPointOut(BaseModel):
    id: int
    name: str
    family: str
    mixer: str | None
    is_baseline: bool
    upstream: ScoreOut | None
    probe: ScoreOut | None
    finetune: ScoreOut | None


class BenchmarkTransferOut(BaseModel):
    benchmark: str
    task: str
    title: str
    description: str
    recipes: dict[str, str]
    entries: list[TransferPointOut]
