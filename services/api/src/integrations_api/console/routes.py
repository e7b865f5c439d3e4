"""The console's pages under `/console`: server-rendered forms, POST/redirect/GET, no script."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from integrations_api.auth.dev_token import mint
from integrations_api.console import session
from integrations_api.console.client import ApiAnswer, ApiClient
from integrations_api.console.forms import (
    COMMON_FIELDS,
    CONFIG_FIELDS,
    TYPE_LABELS,
    TYPES,
    FormState,
    build_attributes,
    changed_only,
    field_errors,
    first,
    form_values,
    integration_values,
    parse_form,
)
from integrations_api.console.settings import ConsoleSettings
from integrations_api.console.stats import window_stats
from integrations_api.errors import AuthenticationError
from integrations_api.state import services_of
from integrations_common.catalogue import expand_observes
from integrations_common.cloudevents_codec import InvalidEventError, validate_attributes
from integrations_common.errors import IntegrationsError
from integrations_common.jobs import utc_now
from integrations_common.publisher import EventPublisher

router = APIRouter(prefix="/console", include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _when(value: object) -> str:
    """An API timestamp as `2026-12-03 07:18:25 UTC` (unchanged when it is not one)."""
    if not isinstance(value, str):
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


templates.env.filters["when"] = _when
PAGE = 25
TEST_EVENT_SOURCE = "urn:integrations-console"

# Messages after a redirect are chosen by key, so nothing from the URL is echoed into the page.
MESSAGES = {
    "created": "The integration was created.",
    "saved": "The integration was saved.",
    "enabled": "The integration is enabled.",
    "disabled": "The integration is disabled.",
    "deleted": "The integration was deleted.",
    "test_sent": "A test event was sent to the events topic; its delivery appears below soon.",
    "replayed": "The job was sent again; its new attempts appear below soon.",
    "recovered": "The failed jobs of that window were sent again; their new attempts appear soon.",
    "nothing_to_recover": "No job of that window had failed for good; nothing was sent.",
    "signed_out": "You are signed out.",
    "expired": "Your token was refused (expired or not valid). Sign in again.",
    "csrf": "The form had expired. Please try again.",
}


def console_settings(request: Request) -> ConsoleSettings:
    """The console's settings, kept on the app by `install_console`."""
    settings: ConsoleSettings = request.app.state.console
    return settings


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _render(
    request: Request, name: str, context: dict[str, Any], *, status: int = 200
) -> HTMLResponse:
    message = MESSAGES.get(request.query_params.get("msg", ""))
    context = {
        "csrf": session.csrf_of(request),
        "signed_in": session.token_of(request) is not None,
        "message": message,
        **context,
    }
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["Referrer-Policy"] = "same-origin"
    session.remember_csrf(request, response)
    return response


def _problem(request: Request, answer: ApiAnswer) -> Response:
    """A page for an API answer the console cannot go on with."""
    if answer.status == 401:
        return _redirect("/console/sign-in?msg=expired")
    return _render(
        request,
        "problem.html",
        {"title": f"The API answered {answer.status}", "detail": answer.first_detail()},
        status=answer.status if answer.status >= 400 else 502,
    )


def _path(integration_id: str, *rest: str) -> str:
    return "/".join(["/integrations", quote(integration_id, safe=""), *rest])


def _page_url(integration_id: str, msg: str = "") -> str:
    url = f"/console/integrations/{quote(integration_id, safe='')}"
    return f"{url}?msg={msg}" if msg else url


Form = dict[str, list[str]]


async def _form(request: Request) -> Form | None:
    """The POSTed form, or None when its CSRF value is wrong."""
    form = parse_form(await request.body())
    return form if session.csrf_ok(request, first(form, "csrf")) else None


def _client(request: Request, token: str) -> ApiClient:
    return ApiClient(request.app, token)


async def _call(
    request: Request,
    token: str,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    json: dict[str, Any] | None = None,
) -> ApiAnswer:
    """One API request as the signed-in user, in a client of its own."""
    async with _client(request, token) as api:
        return await api.request(method, path, params=params, json=json)


async def _signed_form(request: Request, integration_id: str) -> tuple[str, Form] | Response:
    """The token and the CSRF-checked form of a POST about one integration, else a redirect."""
    token = session.token_of(request)
    if token is None:
        return _redirect("/console/sign-in")
    form = await _form(request)
    if form is None:
        return _redirect(_page_url(integration_id, "csrf"))
    return token, form


async def _signed_post(
    request: Request,
    integration_id: str,
    *,
    method: str,
    path: str,
    body: Callable[[Form], dict[str, Any]] | None = None,
) -> tuple[ApiAnswer, Form] | Response:
    """A POST about one integration, passed on to the API as the signed-in user (with
    `body(form)` as JSON): the API's answer and the form, else the page to show instead."""
    signed = await _signed_form(request, integration_id)
    if isinstance(signed, Response):
        return signed
    token, form = signed
    answer = await _call(request, token, method, path, json=body(form) if body else None)
    if not answer.ok:
        return _problem(request, answer)
    return answer, form


async def _signed_in_integration(
    request: Request, integration_id: str
) -> dict[str, Any] | Response:
    """The integration's resource for the signed-in user, else where to go instead."""
    token = session.token_of(request)
    if token is None:
        return _redirect("/console/sign-in")
    return await _integration_or_problem(request, token, integration_id)


async def _integration_or_problem(
    request: Request, token: str, integration_id: str
) -> dict[str, Any] | Response:
    """The integration's resource, else the page for the API's answer."""
    answer = await _call(request, token, "GET", _path(integration_id))
    if not answer.ok:
        return _problem(request, answer)
    integration: dict[str, Any] = answer.body["data"]
    return integration


# --- sign-in ------------------------------------------------------------------------------


@router.get("")
@router.get("/")
async def home(request: Request) -> Response:
    """The integrations when signed in, else the sign-in page."""
    if session.token_of(request):
        return _redirect("/console/integrations")
    return _redirect("/console/sign-in")


def _dev_secret(request: Request) -> str | None:
    return session.dev_signing_secret(services_of(request).settings, console_settings(request))


def _sign_in_page(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    return _render(
        request,
        "sign_in.html",
        {"title": "Sign in", "error": error, "dev": _dev_secret(request) is not None},
        status=status,
    )


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    """Paste a bearer token (and, under `make up`, a dev sign-in)."""
    return _sign_in_page(request)


async def _accept(request: Request, token: str) -> Response:
    answer = await _call(request, token, "GET", "/integrations", params={"page[limit]": 1})
    if not answer.ok:
        return _sign_in_page(request, error=answer.first_detail(), status=answer.status)
    response = _redirect("/console/integrations")
    session.sign_in(request, response, token)
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Check the token against the API, then keep it in an HttpOnly cookie."""
    form = await _form(request)
    if form is None:
        return _sign_in_page(request, error=MESSAGES["csrf"], status=403)
    token = first(form, "token").strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not token:
        return _sign_in_page(request, error="Paste a bearer token.", status=422)
    return await _accept(request, token)


@router.post("/dev-sign-in")
async def dev_sign_in(request: Request) -> Response:
    """Mint a local token for a store and/or org; only with the local development secret."""
    secret = _dev_secret(request)
    if secret is None:
        return _render(
            request,
            "problem.html",
            {"title": "Not available", "detail": "Dev sign-in exists only under make up."},
            status=404,
        )
    form = await _form(request)
    if form is None:
        return _sign_in_page(request, error=MESSAGES["csrf"], status=403)
    store_id = first(form, "store_id").strip() or None
    org_id = first(form, "org_id").strip() or None
    if not (store_id or org_id):
        return _sign_in_page(request, error="Give a store id, an org id or both.", status=422)
    ttl = console_settings(request).dev_token_ttl_s
    token = mint(secret=secret, store_id=store_id, org_id=org_id, ttl_s=ttl)
    return await _accept(request, token)


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """Forget the token."""
    response = _redirect("/console/sign-in?msg=signed_out")
    session.sign_out(response)
    return response


# --- integrations ---------------------------------------------------------------------------


@router.get("/integrations")
async def integrations(request: Request) -> Response:
    """The tenant's integrations, a page at a time."""
    token = session.token_of(request)
    if token is None:
        return _redirect("/console/sign-in")
    try:
        offset = max(0, int(request.query_params.get("offset", "0")))
    except ValueError:
        offset = 0
    params = {"page[offset]": offset, "page[limit]": PAGE}
    answer = await _call(request, token, "GET", "/integrations", params=params)
    if not answer.ok:
        return _problem(request, answer)
    total = int(answer.body.get("results", {}).get("total", 0))
    return _render(
        request,
        "list.html",
        {
            "title": "Integrations",
            "items": answer.body.get("data", []),
            "total": total,
            "offset": offset,
            "prev": max(0, offset - PAGE) if offset else None,
            "next": offset + PAGE if offset + PAGE < total else None,
            "types": TYPES,
            "labels": TYPE_LABELS,
        },
    )


def _form_page(
    request: Request,
    *,
    integration_type: str,
    state: FormState,
    integration: dict[str, Any] | None,
    status: int = 200,
) -> Response:
    editing = integration is not None
    label = TYPE_LABELS[integration_type]
    return _render(
        request,
        "form.html",
        {
            "title": f"Edit {integration['name']}" if integration else f"New {label} integration",
            "integration_type": integration_type,
            "type_label": label,
            "fields": CONFIG_FIELDS[integration_type],
            "state": state,
            "integration": integration,
            "masks": (integration or {}).get("configuration") or {},
            "editing": editing,
            "action": (
                f"/console/integrations/{quote(integration['id'], safe='')}/edit"
                if integration
                else "/console/integrations/new"
            ),
        },
        status=status,
    )


@router.get("/integrations/new")
async def new_integration(request: Request) -> Response:
    """An empty form for the chosen type."""
    if session.token_of(request) is None:
        return _redirect("/console/sign-in")
    integration_type = request.query_params.get("type", "webhook")
    if integration_type not in TYPES:
        integration_type = "webhook"
    state = FormState(values={"enabled": "on"})
    return _form_page(request, integration_type=integration_type, state=state, integration=None)


def _known_fields(integration_type: str) -> set[str]:
    return set(COMMON_FIELDS) | {f.name for f in CONFIG_FIELDS[integration_type]}


def _expired_form_page(
    request: Request, form: Form, integration_type: str, *, integration: dict[str, Any] | None
) -> Response:
    """The form again, as POSTed, when its CSRF value was wrong (403)."""
    state = FormState(values=form_values(form, integration_type), general=[MESSAGES["csrf"]])
    return _form_page(
        request, integration_type=integration_type, state=state, integration=integration, status=403
    )


def _refused_form_page(
    request: Request,
    answer: ApiAnswer,
    form: Form,
    integration_type: str,
    *,
    integration: dict[str, Any] | None,
) -> Response:
    """The form again with the API's 400/422 messages next to the fields; else a problem page."""
    if answer.status not in (400, 422):
        return _problem(request, answer)
    state = field_errors(answer.errors, _known_fields(integration_type))
    state.values = form_values(form, integration_type)
    return _form_page(
        request, integration_type=integration_type, state=state, integration=integration, status=422
    )


@router.post("/integrations/new")
async def create_integration(request: Request) -> Response:
    """POST the form to the API; its 422 messages go next to the fields."""
    token = session.token_of(request)
    if token is None:
        return _redirect("/console/sign-in")
    form = parse_form(await request.body())
    integration_type = first(form, "integration_type")
    if integration_type not in TYPES:
        integration_type = "webhook"
    if not session.csrf_ok(request, first(form, "csrf")):
        return _expired_form_page(request, form, integration_type, integration=None)
    body = {"data": build_attributes(integration_type, form, creating=True)}
    answer = await _call(request, token, "POST", "/integrations", json=body)
    if answer.ok:
        return _redirect(_page_url(answer.body["data"]["id"], "created"))
    return _refused_form_page(request, answer, form, integration_type, integration=None)


async def _integration(api: ApiClient, integration_id: str) -> ApiAnswer:
    return await api.request("GET", _path(integration_id))


@router.get("/integrations/{integration_id}/edit")
async def edit_integration(request: Request, integration_id: str) -> Response:
    """The form of an existing integration (secrets only as the API's masks, as placeholders)."""
    integration = await _signed_in_integration(request, integration_id)
    if isinstance(integration, Response):
        return integration
    state = FormState(values=integration_values(integration))
    return _form_page(
        request,
        integration_type=integration["integration_type"],
        state=state,
        integration=integration,
    )


@router.post("/integrations/{integration_id}/edit")
async def save_integration(request: Request, integration_id: str) -> Response:
    """PUT the changed attributes; empty secret fields keep the stored secrets."""
    token = session.token_of(request)
    if token is None:
        return _redirect("/console/sign-in")
    form = parse_form(await request.body())
    async with _client(request, token) as api:
        current = await _integration(api, integration_id)
        if not current.ok:
            return _problem(request, current)
        integration = current.body["data"]
        integration_type = integration["integration_type"]
        if not session.csrf_ok(request, first(form, "csrf")):
            return _expired_form_page(request, form, integration_type, integration=integration)
        data = build_attributes(integration_type, form, creating=False)
        body = {"data": changed_only(data, integration)}
        answer = await api.request("PUT", _path(integration_id), json=body)
    if answer.ok:
        return _redirect(_page_url(integration_id, "saved"))
    return _refused_form_page(request, answer, form, integration_type, integration=integration)


def _enabled(form: Form) -> bool:
    return first(form, "enabled") == "true"


@router.post("/integrations/{integration_id}/enabled")
async def set_enabled(request: Request, integration_id: str) -> Response:
    """Enable or disable (a partial update of `enabled` only)."""
    sent = await _signed_post(
        request,
        integration_id,
        method="PUT",
        path=_path(integration_id),
        body=lambda form: {"data": {"type": "integration", "enabled": _enabled(form)}},
    )
    if isinstance(sent, Response):
        return sent
    _, form = sent
    enabled = _enabled(form)
    back = first(form, "back")
    msg = "enabled" if enabled else "disabled"
    if back == "list":
        return _redirect(f"/console/integrations?msg={msg}")
    return _redirect(_page_url(integration_id, msg))


@router.get("/integrations/{integration_id}/delete")
async def confirm_delete(request: Request, integration_id: str) -> Response:
    """Ask before deleting."""
    integration = await _signed_in_integration(request, integration_id)
    if isinstance(integration, Response):
        return integration
    return _render(
        request,
        "delete.html",
        {"title": f"Delete {integration['name']}", "integration": integration},
    )


@router.post("/integrations/{integration_id}/delete")
async def delete_integration(request: Request, integration_id: str) -> Response:
    """DELETE it through the API."""
    sent = await _signed_post(request, integration_id, method="DELETE", path=_path(integration_id))
    if isinstance(sent, Response):
        return sent
    return _redirect("/console/integrations?msg=deleted")


# --- one integration's deliveries --------------------------------------------------------------


async def _recent_logs(
    request: Request, api: ApiClient, integration_id: str, *, since: datetime
) -> tuple[list[dict[str, Any]], bool] | ApiAnswer:
    """Attempt logs newest first, until one is older than `since`, no more exist, or the cap.

    Answers the logs and whether the cap cut the window short.
    """
    settings = console_settings(request)
    limit = min(100, services_of(request).settings.pagination.max_limit)
    logs: list[dict[str, Any]] = []
    offset = 0
    while len(logs) < settings.stats_max_logs:
        page = min(limit, settings.stats_max_logs - len(logs))
        answer = await api.request(
            "GET",
            _path(integration_id, "logs"),
            params={"page[offset]": offset, "page[limit]": page},
        )
        if not answer.ok:
            return answer
        batch = [log for log in answer.body.get("data", []) if isinstance(log, dict)]
        logs.extend(batch)
        offset += len(batch)
        if not batch or not answer.body.get("links", {}).get("next"):
            return logs, False
        oldest = batch[-1].get("meta", {}).get("timestamps", {}).get("finished_at", "")
        if isinstance(oldest, str) and oldest and _parse(oldest) < since:
            return logs, False
    return logs, True


def _parse(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)


def _job_id(log: dict[str, Any]) -> str | None:
    job = log.get("relationships", {}).get("job", {}).get("data", {})
    value = job.get("id") if isinstance(job, dict) else None
    return value if isinstance(value, str) else None


@router.get("/integrations/{integration_id}")
async def integration_page(request: Request, integration_id: str) -> Response:
    """The integration, its delivery stats, and its recent jobs with their attempts."""
    token = session.token_of(request)
    if token is None:
        return _redirect("/console/sign-in")
    settings = console_settings(request)
    now = datetime.now(UTC)
    async with _client(request, token) as api:
        answer = await _integration(api, integration_id)
        if not answer.ok:
            return _problem(request, answer)
        integration = answer.body["data"]
        read = await _recent_logs(request, api, integration_id, since=now - timedelta(days=1))
        if isinstance(read, ApiAnswer):
            return _problem(request, read)
        logs, capped = read
        jobs_answer = await api.request(
            "GET", _path(integration_id, "jobs"), params={"page[limit]": settings.recent_jobs}
        )
        if not jobs_answer.ok:
            return _problem(request, jobs_answer)
        attempts: dict[str, list[dict[str, Any]]] = {}
        for log in logs:
            job_id = _job_id(log)
            if job_id is not None:
                attempts.setdefault(job_id, []).append(log)
        jobs = [job for job in jobs_answer.body.get("data", []) if isinstance(job, dict)]
        for job in jobs:
            if job["id"] not in attempts:
                job_answer = await api.request(
                    "GET", _path(integration_id, "jobs", quote(job["id"], safe=""), "logs")
                )
                attempts[job["id"]] = job_answer.body.get("data", []) if job_answer.ok else []
    for job_logs in attempts.values():
        job_logs.sort(key=lambda log: int(log.get("attempt", 0)))
    windows = [
        window_stats(logs, now=now, span=timedelta(hours=1), label="Last hour"),
        window_stats(logs, now=now, span=timedelta(days=1), label="Last day"),
    ]
    observable = sorted(expand_observes(integration.get("observes") or []))
    return _render(
        request,
        "integration.html",
        {
            "title": integration["name"],
            "integration": integration,
            "type_label": TYPE_LABELS.get(integration["integration_type"], "?"),
            "fields": CONFIG_FIELDS.get(integration["integration_type"], ()),
            "windows": windows,
            "logs_read": len(logs),
            "capped": capped,
            "max_logs": settings.stats_max_logs,
            "jobs": jobs,
            "attempts": attempts,
            "preview": settings.body_preview_chars,
            "observable": observable,
            "recover_windows": RECOVER_WINDOWS,
        },
    )


RECOVER_WINDOWS = {"1h": "the last hour", "1d": "the last day", "7d": "the last 7 days"}
_WINDOW_SPANS = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}


@router.post("/integrations/{integration_id}/jobs/{job_id}/replay")
async def replay_job(request: Request, integration_id: str, job_id: str) -> Response:
    """Send one job again through the API's replay."""
    path = _path(integration_id, "jobs", quote(job_id, safe=""), "replay")
    sent = await _signed_post(request, integration_id, method="POST", path=path)
    if isinstance(sent, Response):
        return sent
    return _redirect(_page_url(integration_id, "replayed"))


@router.post("/integrations/{integration_id}/recover")
async def recover(request: Request, integration_id: str) -> Response:
    """Send again the failed jobs of a recent window through the API's recover."""

    def since(form: Form) -> dict[str, Any]:
        span = _WINDOW_SPANS.get(first(form, "window"), _WINDOW_SPANS["1d"])
        return {"since": (datetime.now(UTC) - span).isoformat()}

    posted = await _signed_post(
        request, integration_id, method="POST", path=_path(integration_id, "recover"), body=since
    )
    if isinstance(posted, Response):
        return posted
    answer, _ = posted
    sent = answer.body.get("data", {}).get("jobs", 0)
    return _redirect(_page_url(integration_id, "recovered" if sent else "nothing_to_recover"))


def _sample_data(event_type: str) -> dict[str, Any]:
    resource = event_type.rsplit(".", 1)[0]
    data: dict[str, Any] = {"type": resource, "id": str(uuid.uuid4())}
    if not event_type.endswith(".deleted"):
        data["attributes"] = {"console_test_event": True}
    return {"data": data}


@router.post("/integrations/{integration_id}/test-event")
async def send_test_event(request: Request, integration_id: str) -> Response:
    """Emit a sample event of an observed type to the events topic, as the token's tenant."""
    signed = await _signed_form(request, integration_id)
    if isinstance(signed, Response):
        return signed
    token, form = signed
    integration = await _integration_or_problem(request, token, integration_id)
    if isinstance(integration, Response):
        return integration
    event_type = first(form, "event_type")
    services = services_of(request)
    detail: str | None = None
    if event_type not in expand_observes(integration.get("observes") or []):
        detail = "Choose one of the event types the integration observes."
    else:
        try:
            tenant = await services.verifier.tenant_for(token=token)
        except AuthenticationError:
            return _redirect("/console/sign-in?msg=expired")
        if tenant.org_id is None:
            detail = "Events need an org id: sign in with a token that carries org_id."
        else:
            attributes: dict[str, Any] = {
                "specversion": "1.0",
                "id": str(uuid.uuid4()),
                "source": TEST_EVENT_SOURCE,
                "type": event_type,
                "time": utc_now().isoformat(),
                "orgid": tenant.org_id,
                "data": _sample_data(event_type),
            }
            if tenant.store_id is not None:
                attributes["storeid"] = tenant.store_id
            try:
                event = validate_attributes(attributes)
                publisher = EventPublisher(
                    kafka=services.settings.kafka,
                    topic=services.settings.topics.events,
                    producer=services.producer,
                )
                async with publisher:
                    await publisher.publish(event)
            except InvalidEventError as exc:
                detail = f"The event is not valid: {exc.detail}"
            except IntegrationsError:
                detail = "Kafka did not take the event; try again."
    if detail is not None:
        return _render(
            request, "problem.html", {"title": "No test event sent", "detail": detail}, status=422
        )
    return _redirect(_page_url(integration_id, "test_sent"))
