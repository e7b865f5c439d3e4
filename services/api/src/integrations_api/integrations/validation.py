"""Domain validation the request schema cannot express: configuration by type, and `observes`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from integrations_api.errors import Problem
from integrations_api.integrations.models import CONFIGURATION_MODELS
from integrations_common.catalogue import EventScope, expand_observes_key, scope_of
from integrations_common.tenancy import Tenant
from integrations_common.transports import Transport

HTTP_SCHEMES = frozenset({"http", "https"})
STOMP_SCHEMES = frozenset({"stomp", "stomp+ssl", "tcp", "ssl"})
CONFIGURATION_POINTER = "/data/configuration"
CREDENTIAL_FIELDS = {
    Transport.WEBHOOK: "secret_key (sent as X-MOLTIN-SECRET-KEY and used to sign)",
    Transport.SQS: "aws_access_key_id and aws_secret_access_key",
    Transport.STOMP: "username and password",
}
"""Where each integration type keeps its credentials (encrypted and masked), for the 422."""


def has_userinfo(value: str) -> bool:
    """True when the URL's authority carries a `user[:password]@` part (even an empty one)."""
    try:
        return "@" in urlsplit(value).netloc
    except ValueError:
        return False


def _url_problem(
    value: str,
    schemes: frozenset[str],
    pointer: str,
    field: str,
    integration_type: Transport,
) -> Problem | None:
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
        parts = None
    if (
        parts is None
        or not port_ok
        or parts.scheme.lower() not in schemes
        or not parts.hostname
        or any(c.isspace() for c in value)
    ):
        allowed = ", ".join(sorted(schemes))
        return Problem(f"{field}: must be an absolute URL with scheme {allowed}", pointer=pointer)
    if has_userinfo(value):
        return Problem(
            f"{field}: must not contain credentials (user:password@); put them in the "
            f"configuration's secret fields, which are stored encrypted and shown masked: "
            f"{CREDENTIAL_FIELDS[integration_type]}",
            pointer=pointer,
        )
    return None


def _pointer(loc: tuple[int | str, ...]) -> str:
    return CONFIGURATION_POINTER + "".join(f"/{part}" for part in loc)


def validate_configuration(
    integration_type: Transport, configuration: dict[str, Any]
) -> tuple[BaseModel | None, list[Problem]]:
    """The parsed configuration for the type, or the problems with it (one per field)."""
    model = CONFIGURATION_MODELS[integration_type]
    try:
        parsed = model.model_validate(configuration)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            field = ".".join(str(p) for p in loc) or "configuration"
            name = integration_type.integration_type
            message = {
                "missing": f"is required for integration_type {name}",
                "extra_forbidden": f"is not a field of a {name} configuration",
            }.get(error["type"], error["msg"])
            problems.append(Problem(f"configuration.{field}: {message}", pointer=_pointer(loc)))
        return None, problems
    problems = []
    data = parsed.model_dump(exclude_none=True)
    if "url" in data:
        problem = _url_problem(
            data["url"], HTTP_SCHEMES, _pointer(("url",)), "configuration.url", integration_type
        )
        if problem:
            problems.append(problem)
    for index, address in enumerate(data.get("addresses", [])):
        problem = _url_problem(
            address,
            STOMP_SCHEMES,
            _pointer(("addresses", index)),
            f"configuration.addresses.{index}",
            integration_type,
        )
        if problem:
            problems.append(problem)
    return (None if problems else parsed), problems


def validate_observes(observes: list[str], tenant: Tenant) -> list[Problem]:
    """One problem per `observes` entry that is not observable by this tenant.

    Entries are catalogue keys, custom API entry keys (`<slug>.created|updated|deleted`) or
    wildcards `<resource>.*`. An org-level tenant observes only events emitted at org level.
    """
    problems = []
    for index, key in enumerate(observes):
        pointer = f"/data/observes/{index}"
        expanded = expand_observes_key(key)
        if not expanded:
            problems.append(
                Problem(f"observes.{index}: '{key}' is not an observable event", pointer=pointer)
            )
            continue
        if not tenant.is_store and not any(
            scope_of(event) == EventScope.STORE_OR_ORG for event in expanded
        ):
            problems.append(
                Problem(
                    f"observes.{index}: '{key}' is not emitted at organization level",
                    pointer=pointer,
                )
            )
    return problems


def unique(observes: list[str]) -> list[str]:
    """The entries without repeats, in their first order."""
    return list(dict.fromkeys(observes))
