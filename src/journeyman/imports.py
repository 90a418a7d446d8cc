"""Reading contacts from CSV: good rows are kept, bad rows reported with their line numbers."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from journeyman.errors import InvalidContact
from journeyman.model.contacts import (
    AttributeDefinition,
    coerce_attributes,
    normalize_email,
    normalize_phone,
)
from journeyman.store.contacts import ContactInput

FIELDS = {"EMAIL", "SMS", "WHATSAPP", "EXT_ID", "TIMEZONE"}


@dataclass(frozen=True, kw_only=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def parse_contacts_csv(
    lines: Iterable[str], definitions: Mapping[str, AttributeDefinition]
) -> tuple[list[ContactInput], list[RowError]]:
    """Header row: EMAIL plus attribute names (and SMS, WHATSAPP, EXT_ID, TIMEZONE).

    An unknown column refuses the whole file (nothing is imported); a bad row is skipped and
    reported.
    """
    reader = csv.reader(lines)
    try:
        header = [h.strip().upper() for h in next(reader)]
    except StopIteration:
        raise InvalidContact("the CSV file is empty; expected a header row with EMAIL") from None
    _check_header(header, definitions)
    good: list[ContactInput] = []
    bad: list[RowError] = []
    start = reader.line_num + 1
    for row in reader:
        line, start = start, reader.line_num + 1  # a quoted field may span several lines
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            bad.append(RowError(line=line, message=f"{len(row)} fields, header has {len(header)}"))
            continue
        try:
            good.append(contact_from_mapping(dict(zip(header, row, strict=True)), definitions))
        except InvalidContact as exc:
            bad.append(RowError(line=line, message=str(exc)))
    return good, bad


def _check_header(header: list[str], definitions: Mapping[str, AttributeDefinition]) -> None:
    if "EMAIL" not in header:
        raise InvalidContact(f"the header row has no EMAIL column: {', '.join(header)}")
    unknown = [h for h in header if h not in FIELDS and h not in definitions]
    if unknown:
        known = ", ".join(sorted(definitions))
        raise InvalidContact(
            f"unknown column(s) {', '.join(unknown)}: define them as attributes first "
            f"(defined: {known}; also accepted: {', '.join(sorted(FIELDS))})"
        )
    duplicates = {h for h in header if header.count(h) > 1}
    if duplicates:
        raise InvalidContact(f"column(s) given twice: {', '.join(sorted(duplicates))}")


def contact_from_mapping(
    values: Mapping[str, Any], definitions: Mapping[str, AttributeDefinition]
) -> ContactInput:
    """A contact from upper-case column names; empty cells leave a value as it is."""
    present = {k: v for k, v in values.items() if v is not None and str(v).strip() != ""}
    email = normalize_email(str(values.get("EMAIL") or ""))
    attributes = {k: v for k, v in present.items() if k not in FIELDS}
    sms, whatsapp = present.get("SMS"), present.get("WHATSAPP")
    return ContactInput(
        email=email,
        attributes=coerce_attributes(definitions, attributes),
        sms=normalize_phone(str(sms), field_name="SMS") if sms else None,
        whatsapp=normalize_phone(str(whatsapp), field_name="WHATSAPP") if whatsapp else None,
        ext_id=str(present["EXT_ID"]) if "EXT_ID" in present else None,
        timezone=_timezone(present.get("TIMEZONE")),
    )


def _timezone(value: Any) -> str | None:
    if value is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidContact(f"TIMEZONE {value!r} is not an IANA time zone name") from None
    return str(value)
