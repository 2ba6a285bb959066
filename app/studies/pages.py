"""Study pages: the list, one study with its verdict grids and charts, and the POST forms that create a study
(from the submit page) and add seeds to one (owner or admin). Every POST form checks the CSRF token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app.core.db.tables import User
from app.core.errors import Forbidden, InputError
from app.quotas.service import QuotaExceeded
from app.studies import service, views
from app.studies.forms import field_errors, study_from_form
from app.studies.plots import study_figures
from app.submissions.pages import study_form_page
from app.users.service import DEMO_USER, get_or_create_user
from app.web import sessions as accounts_web
from app.web.deps import SessionDep, SettingsDep, WebUserDep
from app.web.params import StudyId
from app.web.ratelimit import rate_limited
from app.web.templating import error_page, render

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(alias=accounts_web.CSRF_FIELD, max_length=200)]
Text = Annotated[str, Form(max_length=4000)]


@router.get("/studies", response_class=HTMLResponse)
def studies_page(request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    return render(
        request, "studies.html", {"studies": views.list_with_answers(session, max_epochs=settings.max_epochs)}
    )


@router.get("/studies/{study_id}", response_class=HTMLResponse)
def study_page(
    request: Request, study_id: StudyId, session: SessionDep, settings: SettingsDep, web_user: WebUserDep
) -> HTMLResponse:
    view = views.study_view(session, study_id, max_epochs=settings.max_epochs)
    context = {
        "s": view.out,
        "grids": view.grids,
        "figures": study_figures(view.out.variant_list, view.out.axis, view.out.axis_label),
        "can_manage": views.can_manage(view.out, web_user),
    }
    return accounts_web.render_form_page(request, "study.html", context)


def _form_user(session: SessionDep, settings: SettingsDep, web_user: User | None) -> User | None:
    if web_user is not None:
        return web_user
    return get_or_create_user(session, DEMO_USER) if settings.mode == "demo" else None


@router.post("/studies/new", response_model=None, dependencies=[Depends(rate_limited)])
def create_study(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web_user: WebUserDep,
    name: Annotated[str, Form(max_length=80)] = "",
    benchmark: Annotated[str, Form(max_length=64)] = "digits",
    preset: Annotated[str, Form(max_length=64)] = "",
    axis: Annotated[str, Form(max_length=16)] = "mixer",
    values: Text = "",
    series: Text = "",
    match: Annotated[str, Form(max_length=8)] = "",
    seeds: Annotated[str, Form(max_length=8)] = "",
    path: Annotated[str, Form(max_length=100)] = "",
    csrf: Csrf = "",
) -> Response:
    if not accounts_web.csrf_ok(request, csrf):
        return accounts_web.csrf_refused(request)
    form = {"name": name, "benchmark": benchmark, "preset": preset, "axis": axis, "values": values}
    form |= {"series": series, "match": match, "seeds": seeds, "path": path}

    def again(errors: dict[str, str], status: int) -> HTMLResponse:
        return study_form_page(request, session, settings, web_user, form, errors, status)

    user = _form_user(session, settings, web_user)
    if user is None:
        return again({"form": "Log in (or sign up) to create a study: a study's runs count against your quota."}, 401)
    try:
        study = service.create_study(
            session, user, study_from_form(form), max_epochs=settings.max_epochs, data_dir=settings.data_dir
        )
    except QuotaExceeded as exc:
        return again({"form": str(exc)}, 429)
    except InputError as exc:
        return again(field_errors(exc.errors), 422)
    except ValidationError as exc:
        return again(field_errors([dict(e) for e in exc.errors()]), 422)
    session.commit()
    return RedirectResponse(f"/studies/{study.id}", status_code=303)


@router.post("/studies/{study_id}/seeds", response_model=None, dependencies=[Depends(rate_limited)])
def add_seeds(
    request: Request,
    study_id: StudyId,
    session: SessionDep,
    settings: SettingsDep,
    web_user: WebUserDep,
    seeds: Annotated[int, Form(ge=1, le=100)] = 3,
    csrf: Csrf = "",
) -> Response:
    if not accounts_web.csrf_ok(request, csrf):
        return accounts_web.csrf_refused(request)
    if web_user is None:
        return error_page(request, 401, "Log in as the study's owner (or an admin) to add seeds.")
    try:
        service.add_seeds(session, web_user, study_id, seeds, max_epochs=settings.max_epochs)
    except Forbidden as exc:
        return error_page(request, 403, str(exc))
    except QuotaExceeded as exc:
        return error_page(request, 429, str(exc))
    except InputError as exc:
        return error_page(request, 422, _errors_text(exc.errors))
    session.commit()
    return RedirectResponse(f"/studies/{study_id}", status_code=303)


def _errors_text(errors: object) -> str:
    items = errors if isinstance(errors, list) else []
    lines = [f"{'.'.join(map(str, e.get('loc', [])))}: {e.get('msg', '')}" for e in items]
    return "The study could not be created or changed. " + " · ".join(lines)
