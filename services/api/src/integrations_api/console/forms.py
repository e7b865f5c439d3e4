"""The integration forms: one per type, their request bodies and the API's 422 messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

TYPES = ("webhook", "aws_sqs", "stomp")
TYPE_LABELS = {"webhook": "Webhook", "aws_sqs": "AWS SQS", "stomp": "STOMP"}


@dataclass(frozen=True)
class Field:
    """One configuration field of an integration type."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    multiline: bool = False
    hint: str = ""


CONFIG_FIELDS: dict[str, tuple[Field, ...]] = {
    "webhook": (
        Field("url", "URL", hint="http(s) URL that receives a POST per event"),
        Field("secret_key", "Signing secret", secret=True, required=False),
    ),
    "aws_sqs": (
        Field("url", "Queue URL"),
        Field("region", "Region", hint="for example eu-west-1"),
        Field("aws_access_key_id", "Access key id", secret=True),
        Field("aws_secret_access_key", "Secret access key", secret=True),
    ),
    "stomp": (
        Field("addresses", "Broker addresses", multiline=True, hint="one stomp+ssl://… per line"),
        Field("destination", "Destination", hint="for example /queue/orders"),
        Field("username", "Username", required=False),
        Field("password", "Password", secret=True, required=False),
    ),
}
COMMON_FIELDS = ("name", "description", "enabled", "observes")


def parse_form(body: bytes) -> dict[str, list[str]]:
    """An `application/x-www-form-urlencoded` body."""
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def first(form: dict[str, list[str]], name: str) -> str:
    """The first value of a form field, or ''."""
    values = form.get(name)
    return values[0] if values else ""


def split_list(text: str) -> list[str]:
    """Entries separated by new lines, commas or spaces."""
    return [part for part in re.split(r"[\s,]+", text) if part]


@dataclass
class FormState:
    """What a form shows: values (never secrets), the API's messages per field, and the rest."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)


def build_attributes(
    integration_type: str, form: dict[str, list[str]], *, creating: bool
) -> dict[str, Any]:
    """The request's `data` from the form.

    On create an empty optional secret is left out; on edit an empty secret keeps the stored one
    (it is not sent) and a ticked "remove" box sends `null` for optional secrets.
    """
    configuration: dict[str, Any] = {}
    for spec in CONFIG_FIELDS[integration_type]:
        raw = first(form, spec.name)
        if spec.multiline:
            configuration[spec.name] = split_list(raw)
        elif spec.secret:
            if raw:
                configuration[spec.name] = raw
            elif not creating and not spec.required and first(form, f"remove_{spec.name}"):
                configuration[spec.name] = None
            elif creating and spec.required:
                configuration[spec.name] = raw  # let the API say it is missing or empty
        elif raw or spec.required or not creating:
            configuration[spec.name] = raw if raw or spec.required else None
    data: dict[str, Any] = {
        "type": "integration",
        "name": first(form, "name"),
        "description": first(form, "description"),
        "enabled": bool(first(form, "enabled")),
        "observes": split_list(first(form, "observes")),
        "configuration": configuration,
    }
    if creating:
        data["integration_type"] = integration_type
    return data


def form_values(form: dict[str, list[str]], integration_type: str) -> dict[str, str]:
    """What to show again after a refusal: every field but the secrets."""
    secret = {f.name for f in CONFIG_FIELDS[integration_type] if f.secret}
    values = {name: first(form, name) for name in COMMON_FIELDS}
    for spec in CONFIG_FIELDS[integration_type]:
        if spec.name not in secret:
            values[spec.name] = first(form, spec.name)
    return values


def integration_values(integration: dict[str, Any]) -> dict[str, str]:
    """An integration as form values (secrets are left out: the API gives only masks)."""
    integration_type = integration.get("integration_type", "webhook")
    configuration = integration.get("configuration") or {}
    values = {
        "name": str(integration.get("name") or ""),
        "description": str(integration.get("description") or ""),
        "enabled": "on" if integration.get("enabled") else "",
        "observes": "\n".join(integration.get("observes") or []),
    }
    for spec in CONFIG_FIELDS.get(integration_type, ()):
        value = configuration.get(spec.name)
        if spec.secret:
            continue
        if isinstance(value, list):
            values[spec.name] = "\n".join(str(v) for v in value)
        else:
            values[spec.name] = "" if value is None else str(value)
    return values


_FIELD_OF_POINTER = re.compile(r"^/data/(?:configuration/)?([a-z_]+)")


def field_errors(errors: list[dict[str, Any]], known: set[str]) -> FormState:
    """The API's 422 entries, by form field (from `source.pointer`), the others apart."""
    state = FormState()
    for error in errors:
        detail = str(error.get("detail") or error.get("title") or "Not valid.")
        pointer = (error.get("source") or {}).get("pointer") or ""
        match = _FIELD_OF_POINTER.match(pointer)
        name = match.group(1) if match else None
        if name in known:
            state.errors.setdefault(name, []).append(detail)
        else:
            state.general.append(detail)
    return state


def changed_only(data: dict[str, Any], integration: dict[str, Any]) -> dict[str, Any]:
    """The update's `data` without what equals the integration's current values.

    So a save that changes only the name sends only the name: no new version for nothing, and
    a stored value the API would now refuse to take back (a masked URL) is not sent back.
    """
    changed: dict[str, Any] = {"type": "integration"}
    for name in ("name", "description", "enabled", "observes"):
        if name in data and data[name] != integration.get(name):
            changed[name] = data[name]
    current = integration.get("configuration") or {}
    configuration = {
        key: value
        for key, value in (data.get("configuration") or {}).items()
        if value != current.get(key) or key not in current
    }
    if configuration:
        changed["configuration"] = configuration
    return changed
