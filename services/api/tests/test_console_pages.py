"""The console's pages over HTTP, in process against real Kafka and the store: sign-in (and the
gate of dev sign-in), cookies, CSRF, secrets never shown, the API's messages, test events; and
the statistics' arithmetic."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from integrations_api.console.forms import build_attributes, changed_only
from integrations_api.console.session import dev_signing_secret
from integrations_api.console.settings import ConsoleSettings
from integrations_api.console.stats import percentile, window_stats
from integrations_api.settings import ApiSettings, AuthSettings
from integrations_common.attempts import AttemptLog, JobStatus
from integrations_common.jobs import DeliveryJob, job_id_for
from integrations_testkit.factories import make_event, make_integration

from .conftest import JWT_SECRET, RunningApi, token

pytestmark = pytest.mark.integration

SECRET = "do_not_show_me_9876"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def _signed_in(
    api: RunningApi, *, store_id: str | None = "s-1", org_id: str | None = "o-1"
) -> tuple[httpx.AsyncClient, str]:
    """Sign `api`'s client in to the console; answer it and the CSRF value of its forms."""
    client = api.client
    client.cookies.clear()
    page = await client.get("/console/sign-in")
    answer = await client.post(
        "/console/sign-in",
        data={"csrf": _csrf(page.text), "token": token(store_id=store_id, org_id=org_id)},
    )
    assert answer.status_code == 303
    listing = await client.get("/console/integrations")
    assert listing.status_code == 200
    return client, _csrf(listing.text)


async def _created_webhook(api: RunningApi, csrf: str, **fields: str) -> str:
    """Create a webhook integration through the console's form; answer its page's URL."""
    data = {"csrf": csrf, "integration_type": "webhook", "url": "https://example.com/hook"}
    created = await api.client.post("/console/integrations/new", data={**data, **fields})
    assert created.status_code == 303
    return created.headers["location"].split("?")[0]


async def _stored(api: RunningApi, integration_id: str) -> dict[str, Any]:
    """The integration as the API answers it to the console's test tenant (`s-1`, `o-1`)."""
    stored = await api.client.get(
        f"/v2/integrations/{integration_id}",
        headers={"Authorization": f"Bearer {token(store_id='s-1', org_id='o-1')}"},
    )
    data: dict[str, Any] = stored.json()["data"]
    return data


async def test_sign_in_sets_strict_http_only_cookies_and_checks_the_token(
    running_api: RunningApi,
) -> None:
    client = running_api.client
    client.cookies.clear()
    assert (await client.get("/console/integrations")).headers["location"] == "/console/sign-in"
    page = await client.get("/console/sign-in")
    assert page.status_code == 200
    assert 'for="token"' in page.text
    assert "Dev sign-in" not in page.text  # no local secrets file matches the test secret
    refused = await client.post(
        "/console/sign-in", data={"csrf": _csrf(page.text), "token": "garbage"}
    )
    assert refused.status_code == 401
    assert "The token is not valid." in refused.text
    answer = await client.post(
        "/console/sign-in", data={"csrf": _csrf(page.text), "token": token(store_id="s-1")}
    )
    assert answer.status_code == 303
    cookies = answer.headers.get_list("set-cookie")
    token_cookie = next(c for c in cookies if c.startswith("console_token="))
    assert "HttpOnly" in token_cookie
    assert "SameSite=strict" in token_cookie or "SameSite=Strict" in token_cookie
    assert "Path=/console" in token_cookie


async def test_posts_without_the_csrf_value_or_from_another_origin_change_nothing(
    running_api: RunningApi,
) -> None:
    client, csrf = await _signed_in(running_api)
    form = {
        "integration_type": "webhook",
        "name": "csrf probe",
        "observes": "order.paid",
        "url": "https://example.com/hook",
    }
    missing = await client.post("/console/integrations/new", data=form)
    assert missing.status_code == 403
    foreign = await client.post(
        "/console/integrations/new",
        data={**form, "csrf": csrf},
        headers={"origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    listing = await client.get("/console/integrations")
    assert "csrf probe" not in listing.text


async def test_secrets_are_never_shown_and_422_messages_sit_by_their_fields(
    running_api: RunningApi,
) -> None:
    client, csrf = await _signed_in(running_api)
    form = {
        "csrf": csrf,
        "integration_type": "aws_sqs",
        "name": "",
        "observes": "order.exploded",
        "url": "https://sqs.eu-west-1.amazonaws.com/1/q",
        "aws_access_key_id": SECRET,
        "aws_secret_access_key": SECRET,
    }
    refused = await client.post("/console/integrations/new", data=form)
    assert refused.status_code == 422
    assert SECRET not in refused.text
    assert 'id="name-error"' in refused.text
    refused = await client.post("/console/integrations/new", data={**form, "name": "Queue"})
    assert refused.status_code == 422
    assert SECRET not in refused.text
    assert 'id="region-error"' in refused.text
    assert 'id="observes-error"' in refused.text
    assert "&#39;order.exploded&#39; is not an observable event" in refused.text
    assert 'value="Queue"' in refused.text  # what was typed stays, secrets aside
    created = await client.post(
        "/console/integrations/new",
        data={
            "csrf": csrf,
            "integration_type": "stomp",
            "name": "Broker",
            "observes": "order.paid",
            "addresses": "stomp+ssl://broker.example:61614\nstomp://backup.example:61613",
            "destination": "/queue/orders",
            "username": "user",
            "password": SECRET,
            "enabled": "on",
        },
    )
    assert created.status_code == 303
    page = await client.get(created.headers["location"])
    assert page.status_code == 200
    assert SECRET not in page.text
    assert "****9876" in page.text
    edit_url = created.headers["location"].split("?")[0] + "/edit"
    edit = await client.get(edit_url)
    assert SECRET not in edit.text
    assert "unchanged (" in edit.text
    # Saving with an empty password keeps it; a bad address comes back as a field message.
    addresses = "stomp+ssl://broker.example:61614\nstomp://backup.example:61613"
    edited = {
        "csrf": csrf,
        "name": "Broker 2",
        "observes": "order.paid",
        "addresses": "http://not-stomp",
        "destination": "/queue/orders",
        "username": "user",
        "password": "",
        "enabled": "on",
    }
    saved = await client.post(edit_url, data=edited)
    assert saved.status_code == 422
    assert 'id="addresses-error"' in saved.text
    integration_id = created.headers["location"].split("/")[-1].split("?")[0]
    stored = await _stored(running_api, integration_id)
    assert stored["configuration"]["password"].endswith("9876")
    assert stored["name"] == "Broker"
    # A valid save with an empty password: the name changes, the stored password stays.
    saved = await client.post(edit_url, data={**edited, "addresses": addresses})
    assert saved.status_code == 303
    stored = await _stored(running_api, integration_id)
    assert stored["name"] == "Broker 2"
    assert stored["configuration"]["password"].endswith("9876")


async def test_a_test_event_needs_an_observed_type_and_an_org(running_api: RunningApi) -> None:
    client, csrf = await _signed_in(running_api, store_id="s-2", org_id=None)
    page_url = await _created_webhook(running_api, csrf, name="Store only", observes="order.*")
    page = await client.get(page_url)
    assert '<option value="order.paid">' in page.text  # the wildcard, expanded
    wrong = await client.post(
        f"{page_url}/test-event", data={"csrf": csrf, "event_type": "customer.created"}
    )
    assert wrong.status_code == 422
    no_org = await client.post(
        f"{page_url}/test-event", data={"csrf": csrf, "event_type": "order.paid"}
    )
    assert no_org.status_code == 422
    assert "org id" in no_org.text


def _settings(host: str, secret: str | None) -> ApiSettings:
    return ApiSettings(
        host=host,
        auth=AuthSettings(jwt_secret=SecretStr(secret) if secret else None, jwks_url=None)
        if secret
        else AuthSettings(jwks_url="https://keys.example/jwks.json"),
    )


@pytest.mark.unit
def test_dev_sign_in_exists_only_with_the_local_secret_on_loopback(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text(f"# local\nINTEGRATIONS_JWT_SECRET={JWT_SECRET}\n")
    console = ConsoleSettings(dev_secrets_file=secrets_file)
    assert dev_signing_secret(_settings("127.0.0.1", JWT_SECRET), console) == JWT_SECRET
    assert dev_signing_secret(_settings("::1", JWT_SECRET), console) == JWT_SECRET
    # Production shapes: another bind address, another secret, a key set, no file.
    assert dev_signing_secret(_settings("0.0.0.0", JWT_SECRET), console) is None  # noqa: S104
    assert dev_signing_secret(_settings("127.0.0.1", "another-" + "y" * 40), console) is None
    assert dev_signing_secret(_settings("127.0.0.1", None), console) is None
    missing = ConsoleSettings(dev_secrets_file=tmp_path / "absent.env")
    assert dev_signing_secret(_settings("127.0.0.1", JWT_SECRET), missing) is None


async def test_dev_sign_in_mints_a_token_when_allowed(
    running_api: RunningApi, tmp_path: Path
) -> None:
    client = running_api.client
    client.cookies.clear()
    page = await client.get("/console/sign-in")
    refused = await client.post(
        "/console/dev-sign-in", data={"csrf": _csrf(page.text), "store_id": "s-9"}
    )
    assert refused.status_code == 404
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text(f"INTEGRATIONS_JWT_SECRET={JWT_SECRET}\n")
    app: Any = running_api.app
    before = app.state.console
    app.state.console = ConsoleSettings(dev_secrets_file=secrets_file)
    try:
        page = await client.get("/console/sign-in")
        assert "Dev sign-in" in page.text
        answer = await client.post(
            "/console/dev-sign-in",
            data={"csrf": _csrf(page.text), "store_id": "s-9", "org_id": "o-9"},
        )
        assert answer.status_code == 303
        assert (await client.get("/console/integrations")).status_code == 200
    finally:
        app.state.console = before


def _log(finished: datetime, *, ok: bool, latency_ms: float) -> dict[str, Any]:
    event_time = finished - timedelta(milliseconds=latency_ms)
    return {
        "succeeded": ok,
        "meta": {
            "timestamps": {
                "event_time": event_time.isoformat(),
                "finished_at": finished.isoformat().replace("+00:00", "Z"),
            }
        },
    }


@pytest.mark.unit
def test_window_stats_count_attempts_and_take_percentiles_of_successes() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    logs = [_log(now - timedelta(minutes=i), ok=True, latency_ms=100 + i) for i in range(20)]
    logs += [_log(now - timedelta(minutes=5), ok=False, latency_ms=5000)]
    logs += [_log(now - timedelta(hours=5), ok=True, latency_ms=9000)]
    logs += [_log(now - timedelta(days=2), ok=False, latency_ms=1)]
    hour = window_stats(logs, now=now, span=timedelta(hours=1), label="h")
    assert (hour.attempts, hour.succeeded) == (21, 20)
    assert hour.success_rate == pytest.approx(20 / 21)
    assert hour.p50_ms == pytest.approx(109)
    assert hour.p95_ms == pytest.approx(118)
    day = window_stats(logs, now=now, span=timedelta(days=1), label="d")
    assert (day.attempts, day.succeeded) == (22, 21)
    assert day.p95_ms == pytest.approx(119)
    empty = window_stats([], now=now, span=timedelta(hours=1), label="e")
    assert empty.success_rate is None
    assert empty.p50_ms is None
    assert percentile([3.0], 0.95) == 3.0


@pytest.mark.unit
def test_an_edit_sends_only_what_changed_and_keeps_empty_secrets() -> None:
    integration = {
        "name": "Hook",
        "description": "",
        "enabled": True,
        "observes": ["order.paid"],
        "configuration": {"url": "https://****@example.com/h", "secret_key": "****1234"},
    }
    form = {
        "name": ["Hook 2"],
        "description": [""],
        "enabled": ["on"],
        "observes": ["order.paid"],
        "url": ["https://****@example.com/h"],
        "secret_key": [""],
    }
    data = build_attributes("webhook", form, creating=False)
    assert "secret_key" not in data["configuration"]
    assert changed_only(data, integration) == {"type": "integration", "name": "Hook 2"}
    removed = build_attributes("webhook", {**form, "remove_secret_key": ["on"]}, creating=False)
    assert changed_only(removed, integration)["configuration"] == {"secret_key": None}


async def test_replay_and_recover_buttons_send_jobs_again(running_api: RunningApi) -> None:
    client, csrf = await _signed_in(running_api, store_id="s-replay", org_id="o-replay")
    page_url = await _created_webhook(
        running_api, csrf, name="Replays", enabled="on", observes="order.paid"
    )
    integration_id = page_url.rsplit("/", 1)[1]
    now = datetime.now(UTC)
    event_ids = ["console-replay-1", "console-replay-2"]
    await _store_failed_jobs(running_api, integration_id, event_ids, routed_at=now)
    page = await client.get(page_url)
    assert page.text.count(">Replay</button>") == len(event_ids)
    assert 'action="' + page_url + '/recover"' in page.text

    job_id = job_id_for(event_ids[0], integration_id)
    replayed = await client.post(f"{page_url}/jobs/{job_id}/replay", data={"csrf": csrf})
    recovered = await client.post(f"{page_url}/recover", data={"csrf": csrf, "window": "1h"})
    again = await client.post(f"{page_url}/recover", data={"csrf": csrf, "window": "1h"})

    assert replayed.headers["location"].endswith("?msg=replayed")
    # The replayed job is claimed by its replay: the recovery sends only the other one.
    assert recovered.headers["location"].endswith("?msg=recovered")
    assert again.headers["location"].endswith("?msg=nothing_to_recover")
    sent = sorted(job.job_id for job in await running_api.sent_jobs(integration_id, 2))
    assert sent == sorted(job_id_for(e, integration_id) for e in event_ids)


async def _store_failed_jobs(
    api: RunningApi, integration_id: str, event_ids: list[str], *, routed_at: datetime
) -> None:
    """Jobs of the integration that failed for good, as the log writer stores them."""
    integration = make_integration(
        integration_id=integration_id,
        org_id="o-replay",
        store_id="s-replay",
        configuration={"url": "https://example.com/hook"},
    )
    logs = []
    for event_id in event_ids:
        event = make_event(event_id, org_id="o-replay", store_id="s-replay", time=routed_at)
        job = DeliveryJob.route(event, integration, now=routed_at)
        logs.append(
            AttemptLog.for_job(
                job,
                succeeded=False,
                job_status=JobStatus.FAILED,
                started_at=routed_at,
                finished_at=routed_at,
                status_code=500,
            )
        )
    await api.store_attempts(logs)
