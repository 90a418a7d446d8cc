"""Brevo's contact attributes read into a contact to upsert: ``EMAIL``, ``SMS``,
``WHATSAPP``, ``EXT_ID`` and ``TIMEZONE`` are fields, a category attribute may be set by
its value's number, empty values clear an attribute or are ignored. What the changes do is
:mod:`journeyman.services.contacts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from journeyman.api import limits
from journeyman.api.errors import InvalidParameter
from journeyman.model.contacts import (
    AttributeDefinition,
    AttributeType,
    ContactInput,
    coerce_attributes,
    normalize_email,
    normalize_phone,
)

FIELDS = ("EMAIL", "SMS", "WHATSAPP", "EXT_ID", "TIMEZONE")
ZONE_LENGTH = 64  # the longest IANA name is 32


def contact_input(
    email: str,
    values: Mapping[str, Any] | None,
    definitions: Mapping[str, AttributeDefinition],
    *,
    ext_id: str | None = None,
    keep_empty: bool = False,
) -> tuple[ContactInput, str | None]:
    """The contact to upsert from Brevo's ``attributes`` (SMS, WHATSAPP, EXT_ID and EMAIL are
    fields), and the new email an ``EMAIL`` attribute asks for. Empty values clear an
    attribute when ``keep_empty``, else they are ignored."""
    given = {str(k).upper(): v for k, v in (values or {}).items()}
    fields = {name: given.pop(name, None) for name in FIELDS}
    if not keep_empty:
        given = {k: v for k, v in given.items() if v is not None and v != ""}
    new_email = normalize_email(str(fields["EMAIL"])) if fields["EMAIL"] else None
    sms, whatsapp, zone = fields["SMS"], fields["WHATSAPP"], fields["TIMEZONE"]
    contact = ContactInput(
        email=normalize_email(email),
        attributes=coerce_attributes(definitions, _category_labels(definitions, given)),
        sms=normalize_phone(str(sms), field_name="SMS") if sms else None,
        whatsapp=normalize_phone(str(whatsapp), field_name="WHATSAPP") if whatsapp else None,
        ext_id=_ext_id(ext_id or fields["EXT_ID"]),
        timezone=_timezone(zone) if zone else None,
    )
    return contact, new_email if new_email != contact.email else None


def _category_labels(
    definitions: Mapping[str, AttributeDefinition], values: Mapping[str, Any]
) -> dict[str, Any]:
    """Brevo sets a category attribute by the number of its value (1, 2 ...) or its label."""
    result = dict(values)
    for name, value in values.items():
        definition = definitions.get(name)
        if (
            definition is not None
            and definition.type is AttributeType.CATEGORY
            and isinstance(value, int)
            and not isinstance(value, bool)
            and 1 <= value <= len(definition.allowed_values)
        ):
            result[name] = definition.allowed_values[value - 1]
    return result


def _ext_id(value: Any) -> str | None:
    text = str(value or "") or None
    if text is not None and len(text) > limits.NAME_LENGTH:
        raise InvalidParameter(f"ext_id: at most {limits.NAME_LENGTH} characters")
    return text


def _timezone(value: Any) -> str:
    try:
        if len(str(value)) > ZONE_LENGTH:
            raise ValueError(value)
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidParameter(f"TIMEZONE {value!r:.100} is not an IANA time zone name") from None
    return str(value)
