"""CloudEvents on Kafka: decode a record into a `CommerceEvent`, encode one in structured mode.

Two modes, as the CloudEvents Kafka protocol binding defines them:

- structured: the value is the whole event as JSON; the `content-type` header, when present,
  is `application/cloudevents+json`. A value that is a JSON object with `specversion` and no
  `ce_specversion` header is also read as structured, since many producers send no header.
- binary: the attributes are `ce_<name>` headers (UTF-8), the `content-type` header is the
  event's `datacontenttype` and the value is the data itself (JSON).

Every failure raises `InvalidEventError` with a stable `reason` code and a readable detail.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from integrations_common.catalogue import EventScope, scope_of
from integrations_common.errors import PermanentError
from integrations_common.events import CLOUDEVENTS_CONTENT_TYPE, CommerceEvent

Headers = Sequence[tuple[str, bytes]]

CONTENT_TYPE_HEADER = "content-type"
BINARY_PREFIX = "ce_"
_REQUIRED = ("id", "source", "type", "specversion", "time", "orgid")
_JSON_TYPES = ("application/json", "text/json")


class RejectReason(StrEnum):
    """Why an input record is not a valid commerce event (the dead-letter reason codes)."""

    EMPTY = "empty"
    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    BAD_HEADER = "bad_header"
    UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
    UNSUPPORTED_SPECVERSION = "unsupported_specversion"
    MISSING_ATTRIBUTE = "missing_attribute"
    INVALID_ATTRIBUTE = "invalid_attribute"
    INVALID_DATA = "invalid_data"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_STOREID = "missing_storeid"


class InvalidEventError(PermanentError):
    """A record that is not a valid commerce event; `reason` is the machine-readable cause."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


def header_value(headers: Headers | None, name: str) -> str | None:
    """The last value of header `name` (case-insensitive) as text, or None."""
    found: str | None = None
    for key, raw in headers or ():
        if key.lower() == name:
            found = _text(key, raw)
    return found


def _text(key: str, raw: bytes | None) -> str:
    try:
        return (raw or b"").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEventError(RejectReason.BAD_HEADER, f"header {key} is not UTF-8") from exc


def is_binary_mode(headers: Headers | None) -> bool:
    """True when the record carries its attributes as `ce_*` headers."""
    return any(key.lower() == "ce_specversion" for key, _ in headers or ())


def decode_record(value: bytes | None, headers: Headers | None = None) -> CommerceEvent:
    """Parse and validate one Kafka record as a commerce event (either mode)."""
    content_type = header_value(headers, CONTENT_TYPE_HEADER)
    structured = content_type is not None and content_type.lower().startswith(
        "application/cloudevents"
    )
    if not structured and is_binary_mode(headers):
        attributes = _binary_attributes(value, headers or (), content_type)
    else:
        fast = _fast_structured(value)
        if fast is not None:
            return fast
        attributes = _structured_attributes(value)
    return validate_attributes(attributes)


def _fast_structured(value: bytes | None) -> CommerceEvent | None:
    """The common case in one pydantic-core pass; None sends the record to the full checks."""
    if not value:
        return None
    try:
        event = CommerceEvent.model_validate_json(value)
    except ValidationError:
        return None
    if "specversion" not in event.model_fields_set or "data_base64" in (event.model_extra or {}):
        return None
    _check_content_type(event.datacontenttype)
    return validate_event(event)


def _json(value: bytes | None, what: str) -> Any:
    if not value:
        raise InvalidEventError(RejectReason.EMPTY, f"the {what} is empty")
    try:
        return json.loads(value)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidEventError(RejectReason.NOT_JSON, f"the {what} is not JSON: {exc}") from exc


def _structured_attributes(value: bytes | None) -> dict[str, Any]:
    document = _json(value, "value")
    if not isinstance(document, dict):
        raise InvalidEventError(RejectReason.NOT_AN_OBJECT, "the event is not a JSON object")
    if "data_base64" in document:
        if "data" in document:
            raise InvalidEventError(
                RejectReason.INVALID_DATA, "the event has both data and data_base64"
            )
        encoded = document.pop("data_base64")
        try:
            raw = base64.b64decode(str(encoded), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidEventError(RejectReason.INVALID_DATA, "data_base64 is not base64") from exc
        _check_content_type(document.get("datacontenttype"))
        document["data"] = _json(raw, "data")
    return document


def _binary_attributes(
    value: bytes | None, headers: Headers, content_type: str | None
) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for key, raw in headers:
        name = key.lower()
        if name.startswith(BINARY_PREFIX) and len(name) > len(BINARY_PREFIX):
            attributes[name[len(BINARY_PREFIX) :]] = _text(key, raw)
    _check_content_type(content_type)
    if content_type is not None:
        attributes["datacontenttype"] = content_type
    attributes["data"] = _json(value, "data")
    return attributes


def _check_content_type(content_type: object) -> None:
    if content_type is None:
        return
    media = str(content_type).split(";", 1)[0].strip().lower()
    if media not in _JSON_TYPES and not media.endswith("+json"):
        raise InvalidEventError(
            RejectReason.UNSUPPORTED_CONTENT_TYPE,
            f"data of content type {content_type!r} is not supported; send JSON",
        )


def validate_attributes(attributes: dict[str, Any]) -> CommerceEvent:
    """Check the attributes of one event and build it; raise `InvalidEventError` otherwise."""
    missing = [name for name in _REQUIRED if attributes.get(name) in (None, "")]
    if missing:
        raise InvalidEventError(
            RejectReason.MISSING_ATTRIBUTE, f"required attribute(s) missing: {', '.join(missing)}"
        )
    if attributes["specversion"] != "1.0":
        raise InvalidEventError(
            RejectReason.UNSUPPORTED_SPECVERSION,
            f"specversion {attributes['specversion']!r} is not supported; use 1.0",
        )
    if attributes.get("storeid") == "":
        attributes = {k: v for k, v in attributes.items() if k != "storeid"}
    _check_content_type(attributes.get("datacontenttype"))
    try:
        event = CommerceEvent.model_validate(attributes)
    except ValidationError as exc:
        reason = RejectReason.INVALID_ATTRIBUTE
        if any(error["loc"][:1] == ("data",) for error in exc.errors()):
            reason = RejectReason.INVALID_DATA
        raise InvalidEventError(reason, _describe(exc)) from exc
    return validate_event(event)


def validate_event(event: CommerceEvent) -> CommerceEvent:
    """Check the catalogue rules: a known type, and `storeid` for store-level types."""
    scope = scope_of(event.type)
    if scope is None:
        raise InvalidEventError(
            RejectReason.UNKNOWN_TYPE, f"{event.type!r} is not an observable event type"
        )
    if scope is EventScope.STORE and event.storeid is None:
        raise InvalidEventError(
            RejectReason.MISSING_STOREID, f"{event.type} is a store-level event and needs storeid"
        )
    return event


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "event"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def encode_structured(event: CommerceEvent) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The value and headers of an event in structured mode."""
    value = event.model_dump_json(exclude_none=True).encode()
    return value, [(CONTENT_TYPE_HEADER, CLOUDEVENTS_CONTENT_TYPE.encode())]


def encode_binary(event: CommerceEvent) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The value (the data) and `ce_*` headers of an event in binary mode."""
    document = event.model_dump(mode="json", exclude_none=True)
    data = document.pop("data")
    content_type = document.pop("datacontenttype", "application/json")
    headers = [(f"{BINARY_PREFIX}{name}", _attribute(value)) for name, value in document.items()]
    headers.append((CONTENT_TYPE_HEADER, str(content_type).encode()))
    return json.dumps(data, separators=(",", ":")).encode(), headers


def _attribute(value: Any) -> bytes:
    return (value if isinstance(value, str) else json.dumps(value)).encode()


def reasons() -> Iterable[str]:
    """Every reason code, for documentation and metric pre-registration."""
    return (reason.value for reason in RejectReason)
