"""JSON API of downstream transfer and stored weights. Thin: parse, call the service, return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import StreamingResponse

from app.benchmarks.registry import UnknownBenchmark, get_benchmark
from app.core.errors import ERROR_RESPONSES, MAX_ID, NOT_FOUND, MessageOut, NotFound
from app.transfer import service
from app.transfer.schemas import BenchmarkTransferOut, TransferOut
from app.web.deps import SessionDep, SettingsDep
from app.web.params import SubmissionId

router = APIRouter(prefix="/api/v1")
RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="A run's id.")]
SAFETENSORS = "application/octet-stream"
WEIGHTS_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {SAFETENSORS: {}}, "description": "The run's trained weights (safetensors, with metadata)."},
    **NOT_FOUND,
    **ERROR_RESPONSES,
    503: {"model": MessageOut, "description": "The weights store is not answering; retry later."},
}
READ_RESPONSES: dict[int | str, dict[str, object]] = {**NOT_FOUND, **ERROR_RESPONSES}


def slug_or_404(slug: str) -> str:
    try:
        return get_benchmark(slug).slug
    except UnknownBenchmark:
        raise NotFound(f"benchmark {slug[:64]!r}") from None


@router.get("/submissions/{submission_id}/transfer", responses=READ_RESPONSES, tags=["submissions"])
def submission_transfer(submission_id: SubmissionId, session: SessionDep) -> TransferOut:
    """Upstream vs downstream accuracy (linear probe, fine-tune) per downstream task, with 95% intervals, and
    the download link of every run's stored weights."""
    return service.entry_transfer(session, submission_id)


@router.get("/benchmarks/{slug}/transfer", responses=READ_RESPONSES, tags=["benchmarks"])
def benchmark_transfer(slug: str, session: SessionDep) -> list[BenchmarkTransferOut]:
    """Every entry's upstream and downstream accuracy on each downstream task of the benchmark."""
    return service.benchmark_transfer(session, slug_or_404(slug))


@router.get("/runs/{run_id}/weights", responses=WEIGHTS_RESPONSES, response_class=StreamingResponse, tags=["runs"])
def run_weights(run_id: RunId, session: SessionDep, settings: SettingsDep) -> StreamingResponse:
    """The run's trained weights as a safetensors file; its metadata names the spec hash and fingerprint, the
    recipe and its version, the seed and the benchmark (and the downstream task)."""
    found = service.weights_file(session, settings, run_id)
    headers = {
        "Content-Disposition": f'attachment; filename="{found.filename}"',
        "Content-Length": str(found.size),
    }
    return StreamingResponse(found.chunks, media_type=SAFETENSORS, headers=headers)
