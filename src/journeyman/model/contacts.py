"""Contacts and typed attributes; validation of attribute values on write."""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from journeyman.errors import InvalidContact, InvalidInput

_EMAIL = re.compile(
    r"^[^@\s<>,;\"\x00-\x1f\x7f]+@[^@\s<>,;\"\x00-\x1f\x7f]+\.[^@\s<>,;\".\x00-\x1f\x7f]+$"
)
EMAIL_LENGTH = 320  # RFC 5321's limit, the column's width
_LARGEST_NUMBER = 2**63 - 1  # what a JSON column holds as an integer
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class AttributeType(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"
    CATEGORY = "category"


@dataclass(frozen=True, kw_only=True)
class AttributeDefinition:
    name: str
    type: AttributeType
    allowed_values: tuple[str, ...] = ()


# Columns of a contact that are fields, not attributes (Brevo's names, upper case).
CONTACT_FIELDS = ("EMAIL", "SMS", "WHATSAPP", "EXT_ID", "TIMEZONE")

DEFAULT_ATTRIBUTES = (
    AttributeDefinition(name="FIRSTNAME", type=AttributeType.TEXT),
    AttributeDefinition(name="LASTNAME", type=AttributeType.TEXT),
)


_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return _EMPTY


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactView:
    """A contact as steps and templates see it."""

    id: int
    email: str | None
    attributes: Mapping[str, Any] = field(default_factory=_empty)
    sms: str | None = None
    whatsapp: str | None = None
    timezone: str | None = None
    email_blocklisted: bool = False
    sms_blocklisted: bool = False
    owner_id: int | None = None

    def template_context(self) -> dict[str, Any]:
        return {**self.attributes, "EMAIL": self.email, "email": self.email, "id": self.id}


@dataclass(frozen=True, slots=True, kw_only=True)
class Deal:
    """A deal of a contact, as deal conditions see it."""

    pipeline: str
    stage: str
    status: str  # open, won, lost


@dataclass(frozen=True, kw_only=True)
class ContactInput:
    """A validated contact to create or update (attributes already coerced)."""

    email: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    sms: str | None = None
    whatsapp: str | None = None
    ext_id: str | None = None
    timezone: str | None = None


@dataclass(frozen=True, kw_only=True)
class ContactRecord:
    """A contact as the API shows it: every column, with the ids of its lists."""

    id: int
    email: str | None
    attributes: Mapping[str, Any]
    sms: str | None
    whatsapp: str | None
    ext_id: str | None
    email_blocklisted: bool
    sms_blocklisted: bool
    created_at: dt.datetime
    modified_at: dt.datetime
    list_ids: tuple[int, ...] = ()


# How an identifier names a contact (Brevo's ``identifierType`` values).
IDENTIFIER_KINDS = ("email_id", "contact_id", "ext_id", "phone_id", "whatsapp_id")
_DIGITS = re.compile(r"^\d{1,18}$")


def identifier_kind(identifier: str, identifier_type: str | None) -> str:
    """Brevo's ``identifierType``, or what the identifier looks like: an email, an id, a
    phone number, else an ext_id."""
    if identifier_type is not None:
        if identifier_type not in IDENTIFIER_KINDS:
            known = ", ".join(IDENTIFIER_KINDS)
            raise InvalidInput(f"identifierType: {identifier_type!r} is not one of {known}")
        return identifier_type
    if "@" in identifier:
        return "email_id"
    if _DIGITS.match(identifier):
        return "contact_id"
    if identifier.startswith("+"):
        return "phone_id"
    return "ext_id"


def identifier_value(kind: str, identifier: Any) -> Any:
    """The value to look for in the column ``kind`` names."""
    text = str(identifier).strip()
    if kind == "contact_id":
        if not _DIGITS.match(text):
            raise InvalidInput(f"contact id {identifier!r} is not a number")
        return int(text)
    if kind == "email_id":
        return text.lower()
    if kind in ("phone_id", "whatsapp_id"):
        return normalize_phone(text, field_name="phone number")
    return text


def normalize_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > EMAIL_LENGTH or not _EMAIL.match(email):
        raise InvalidContact(f"email {raw!r} is not a valid email address")
    return email


def normalize_phone(raw: str, *, field_name: str) -> str:
    phone = re.sub(r"[\s().-]", "", raw)
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    if not _E164.match(phone):
        raise InvalidContact(
            f"{field_name} {raw!r} is not a phone number in E.164 form (e.g. +4915112345678)"
        )
    return phone


_TRUE = {"true", "yes", "1", "y", "on"}
_FALSE = {"false", "no", "0", "n", "off"}


def coerce_attribute(definition: AttributeDefinition, raw: Any) -> Any:
    """The stored value for ``raw``, or InvalidContact naming attribute, value and expectation.

    ``None`` and ``""`` clear the attribute.
    """
    if raw is None or raw == "":
        return None
    name, kind = definition.name, definition.type
    if kind is AttributeType.TEXT:
        return str(raw)
    if kind is AttributeType.NUMBER:
        return _number(name, raw)
    if kind is AttributeType.BOOLEAN:
        return _boolean(name, raw)
    if kind is AttributeType.DATE:
        return _date(name, raw)
    value = str(raw)
    if value not in definition.allowed_values:
        raise InvalidContact(
            f"attribute {name}: {value!r} is not one of {', '.join(definition.allowed_values)}"
        )
    return value


def _number(name: str, raw: Any) -> int | float:
    if isinstance(raw, bool):
        raise InvalidContact(f"attribute {name}: expected a number, got {raw!r}")
    if isinstance(raw, int):
        if abs(raw) > _LARGEST_NUMBER:
            raise InvalidContact(f"attribute {name}: {raw} is outside the 64-bit integer range")
        return raw
    try:
        number = raw if isinstance(raw, float) else float(str(raw).strip())
    except ValueError:
        raise InvalidContact(f"attribute {name}: expected a number, got {raw!r:.100}") from None
    if not math.isfinite(number):
        raise InvalidContact(f"attribute {name}: expected a finite number, got {raw!r:.100}")
    if isinstance(raw, float) or not number.is_integer() or "." in str(raw):
        return number
    # "1e300" is an integer too large for JSON's 64 bits: it stays a float.
    return int(number) if abs(number) <= _LARGEST_NUMBER else number


def _boolean(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidContact(f"attribute {name}: expected true or false, got {raw!r}")


def _date(name: str, raw: Any) -> str:
    if isinstance(raw, dt.date):
        return raw.isoformat()[:10]
    try:
        return dt.date.fromisoformat(str(raw).strip()[:10]).isoformat()
    except ValueError:
        raise InvalidContact(
            f"attribute {name}: expected a date as YYYY-MM-DD, got {raw!r}"
        ) from None


def coerce_attributes(
    definitions: Mapping[str, AttributeDefinition], values: Mapping[str, Any]
) -> dict[str, Any]:
    """Validate a whole mapping; unknown names are refused with the names that exist."""
    result: dict[str, Any] = {}
    for name, raw in values.items():
        key = name.upper()
        definition = definitions.get(key)
        if definition is None:
            known = ", ".join(sorted(definitions)) or "none"
            raise InvalidContact(f"unknown attribute {name!r} (defined: {known})")
        result[key] = coerce_attribute(definition, raw)
    return result


def parse_allowed_values(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(v.strip() for v in values if v.strip())
