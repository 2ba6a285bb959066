"""Submission pages: one submission (live while it trains) and the submit form."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app.benchmarks.registry import DEFAULT_BENCHMARK, UnknownBenchmark, all_benchmarks, get_benchmark
from app.core.db.tables import Submission, User
from app.core.errors import MAX_ID, InputError
from app.entries import repository as entries_repo
from app.entries.views import load_submission, submission_out
from app.moderation.pages import moderation_context
from app.quotas.service import QuotaExceeded, fresh_quota, quota_for
from app.submissions import service
from app.submissions.schemas import SubmissionIn
from app.submissions.specform import (
    STUDY_DEFAULTS,
    benchmark_limits,
    family_forms,
    fitting_presets,
    json_error_message,
    plain_errors,
)
from app.transfer.pages import entry_context as transfer_context
from app.users.service import DEMO_USER, authenticate, get_or_create_user, get_user_by_name
from app.web import sessions as accounts_web
from app.web.deps import SessionDep, SettingsDep, WebUserDep
from app.web.figures import kind_color
from app.web.params import form_int
from app.zoo.presets import PRESETS

router = APIRouter(include_in_schema=False)
DEFAULT_SPEC = {"preset": "tiny_resnet_digits", "overrides": {}}
NEED_TOKEN = "log in, or give an API token (create one on your tokens page, /tokens), to submit"


def curl_command(base_url: str, body: dict[str, Any]) -> str:
    """The same submission as one API request, with the JSON quoted for a POSIX shell."""
    payload = json.dumps(body, indent=2, sort_keys=True).replace("'", "'\\''")
    return (
        f"curl -X POST {base_url.rstrip('/')}/api/v1/submissions \\\n"
        '  -H "Authorization: Bearer $ARCHARENA_TOKEN" -H "Content-Type: application/json" \\\n'
        f"  -d '{payload}'"
    )


@router.get("/submissions/{submission_id}", response_model=None)
def submission_page(
    submission_id: int,
    request: Request,
    session: SessionDep,
    web_user: WebUserDep,
    added: Annotated[int | None, Query(ge=0, le=100)] = None,
) -> Response:
    """One entry, live while it trains; ``?added=N`` after a submit that joined it says what happened. A link to
    an entry keeps its meaning after a delete: it leads to the page saying what happened to it."""
    found = entries_repo.get_submission(session, submission_id) if 1 <= submission_id <= MAX_ID else None
    if found is not None and found.deleted_at is not None:
        return RedirectResponse(f"/submissions/{submission_id}/deleted", status_code=303)
    stored = load_submission(session, submission_id)
    submission = submission_out(session, stored)
    body = {
        "benchmark": submission.benchmark,
        "name": submission.name,
        "description": submission.description,
        "spec": submission.spec,
        "seeds": submission.seeds_requested,
    }
    others = entries_repo.list_submissions(session, benchmark=submission.benchmark, status="finished", limit=50)
    visible = (o for o in others if o.id != submission.id and o.hidden_reason is None)
    candidates = sorted(visible, key=lambda o: (not o.is_baseline, -o.id))
    context = {
        "s": submission,
        "data": submission.model_dump(mode="json"),
        "curl": curl_command(str(request.base_url), body),
        "candidates": [{"id": o.id, "name": o.name, "baseline": o.is_baseline} for o in candidates[:20]],
        "joined": _joined_message(stored, added),
        "max_seeds": get_benchmark(stored.benchmark).max_seeds,
        "curve_color": kind_color(stored.family, stored.mixer),
        **moderation_context(session, stored, web_user),
        **transfer_context(session, stored.id),
    }
    return accounts_web.render_form_page(request, "submission.html", context)


@router.get("/submit", response_class=HTMLResponse)
def submit_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web_user: WebUserDep,
    benchmark: str = DEFAULT_BENCHMARK,
    from_: Annotated[int | None, Query(alias="from", ge=1, le=MAX_ID)] = None,
) -> HTMLResponse:
    form = {
        "benchmark": benchmark,
        "name": "",
        "description": "",
        "spec": json.dumps(DEFAULT_SPEC, indent=2),
        "seeds": "",
        "token": "",
        "family": "",
    }
    source_notes: list[str] = []
    if from_ is not None:  # "resubmit with changes": start from another submission's canonical spec
        source = load_submission(session, from_)
        form.update(
            benchmark=source.benchmark,
            name=f"{source.name} (changed)"[:120],
            description=source.description,
            spec=json.dumps(source.spec, indent=2),
            seeds=str(source.seeds_requested),
        )
        if source.hidden_reason:
            source_notes.append(f"#{source.id} is hidden by an admin (off every board): {source.hidden_reason}")
        if source.flag_reason:
            source_notes.append(f"#{source.id} is flagged by an admin: {source.flag_reason}")
    quota = _quota_line(session, _submitter(session, settings, web_user), form)
    return _render_form(request, form, [], quota=quota, source_notes=source_notes)


def study_form_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web_user: User | None,
    study: dict[str, Any],
    study_errors: dict[str, str],
    status_code: int,
) -> HTMLResponse:
    """The submit page again after a study form that could not be used: its input kept, each error beside the
    field it concerns."""
    form = {"benchmark": DEFAULT_BENCHMARK, "name": "", "description": "", "spec": json.dumps(DEFAULT_SPEC, indent=2)}
    form |= {"seeds": "", "token": "", "family": ""}
    quota = _quota_line(session, _submitter(session, settings, web_user), form)
    return _render_form(request, form, [], status_code, quota=quota, study=study, study_errors=study_errors)


@router.post("/submit", response_model=None)
def submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web_user: WebUserDep,
    name: Annotated[str, Form(max_length=200)],
    spec: Annotated[str, Form(max_length=65536)],
    benchmark: Annotated[str, Form(max_length=64)] = DEFAULT_BENCHMARK,
    description: Annotated[str, Form(max_length=4000)] = "",
    seeds: Annotated[str, Form(max_length=8)] = "",
    token: Annotated[str, Form(max_length=200)] = "",
    family: Annotated[str, Form(max_length=32)] = "",
    csrf: Annotated[str, Form(alias=accounts_web.CSRF_FIELD, max_length=200)] = "",
) -> Response:
    if not accounts_web.csrf_ok(request, csrf):
        return accounts_web.csrf_refused(request)
    form = {"benchmark": benchmark, "name": name, "description": description, "spec": spec, "seeds": seeds}
    form |= {"token": "", "family": family if family in family_forms() else ""}
    user: User | None
    if token:
        user = authenticate(session, token.strip())
        if user is None:
            return _render_form(request, form, [_error("token", "this API token is unknown or revoked")], 401)
    elif web_user is not None:
        user = web_user
    elif settings.mode == "demo":
        user = get_or_create_user(session, DEMO_USER)
    else:
        return _render_form(request, form, [_error("token", NEED_TOKEN)], 401)
    try:
        body = SubmissionIn(
            benchmark=benchmark,
            name=name,
            description=description,
            spec=_parse_spec_text(spec),
            seeds=form_int(seeds, "seeds", 1, 100) if seeds.strip() else None,
        )
        outcome = service.submit(session, user, body, max_epochs=settings.max_epochs, data_dir=settings.data_dir)
    except QuotaExceeded as exc:
        return _render_form(request, form, [_error("quota", str(exc))], 429, quota=exc.quota.message)
    except InputError as exc:
        return _render_form(request, form, exc.errors, 422)
    except ValidationError as exc:
        return _render_form(request, form, [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()], 422)
    session.commit()
    submission = outcome.submission
    if outcome.joined is not None:  # the existing entry, saying what this submission did to it
        return RedirectResponse(f"/submissions/{submission.id}?added={outcome.joined.seeds_added}", status_code=303)
    return RedirectResponse(f"/submissions/{submission.id}", status_code=303)


def _joined_message(stored: Submission, added: int | None) -> str | None:
    """The sentence the API's ``duplicate.message`` gives, for the page a joining submit lands on."""
    if added is None:
        return None
    have = stored.seeds_requested
    return service.Joined(stored, have, min(added, have), 1 if added else 0).message


def _submitter(session: SessionDep, settings: SettingsDep, web_user: User | None) -> User | None:
    """Who a blank-token submission would be filed under: the logged-in user, else the demo user in the demo."""
    if web_user is not None:
        return web_user
    return get_user_by_name(session, DEMO_USER) if settings.mode == "demo" else None


def _quota_line(session: SessionDep, user: User | None, form: dict[str, str]) -> str:
    if user is None:
        return fresh_quota(form["benchmark"]).message
    return quota_for(session, user, form["benchmark"]).message


def _parse_spec_text(text: str) -> dict[str, Any]:
    """JSON (YAML's safe subset also accepted); never anything that executes. Nesting too deep for the parsers
    (the input guard stops most before they get here) is a 422 naming the field, like any other bad text."""
    import yaml

    try:
        data = json.loads(text)
    except RecursionError:
        raise InputError.one(["spec"], "the spec is nested too deeply") from None
    except json.JSONDecodeError as exc:
        if text.lstrip().startswith(("{", "[")):  # meant as JSON: say where the JSON breaks, not what YAML thinks
            raise InputError.one(["spec"], json_error_message(exc)) from None
        try:
            data = yaml.safe_load(text)
        except RecursionError:
            raise InputError.one(["spec"], "the spec is nested too deeply") from None
        except yaml.YAMLError as exc:
            raise InputError.one(["spec"], f"the spec is neither valid JSON nor YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InputError.one(["spec"], 'the spec must be an object, e.g. {"preset": "tiny_resnet_digits"}')
    return data


def _error(field: str, msg: str) -> dict[str, Any]:
    return {"loc": [field], "msg": msg, "type": "value_error"}


def _render_form(
    request: Request,
    form: dict[str, str],
    errors: list[dict[str, Any]],
    status_code: int = 200,
    *,
    quota: str | None = None,
    source_notes: list[str] | None = None,
    study: dict[str, Any] | None = None,
    study_errors: dict[str, str] | None = None,
) -> HTMLResponse:
    plain = plain_errors(errors)
    context = {
        "form": {**form, "preset": _preset_of(form["spec"])},
        "errors": plain,
        "spec_error": next((e["msg"] for e in plain if e["path"] == "spec"), None),
        "presets": fitting_presets().get(form["benchmark"], sorted(PRESETS)),
        "fitting": fitting_presets(),
        "limits": _limits_of(form["benchmark"]),
        "all_limits": {b.slug: benchmark_limits(b) for b in all_benchmarks()},
        "forms": family_forms(),
        "quota": quota,
        "source_notes": source_notes or [],
        "study": {**STUDY_DEFAULTS, **(study or {})},
        "study_errors": study_errors or {},
        "study_presets": fitting_presets().get((study or {}).get("benchmark", "digits"), sorted(PRESETS)),
    }
    return accounts_web.render_form_page(request, "submit.html", context, status_code)


def _limits_of(slug: str) -> dict[str, Any] | None:
    try:
        return benchmark_limits(get_benchmark(slug))
    except UnknownBenchmark:
        return None


def _preset_of(text: str) -> str:
    """The preset a spec text starts from, for the form's preset field ("" for none)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return ""
    return str(data.get("preset", "")) if isinstance(data, dict) else ""
