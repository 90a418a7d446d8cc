"""Reading contacts from CSV: good rows are kept, bad rows reported with their line numbers.

Files come from spreadsheets: UTF-8 (with or without a byte order mark), UTF-16 with one,
or a Windows/Excel code page (cp1252, else latin-1), found by :func:`decode_csv` or named by
the user. A file with control characters is binary, not CSV: refused naming the line.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from journeyman.errors import InvalidContact
from journeyman.model.contacts import (
    AttributeDefinition,
    ContactInput,
    coerce_attributes,
    normalize_email,
    normalize_phone,
)

FIELDS = {"EMAIL", "SMS", "WHATSAPP", "EXT_ID", "TIMEZONE"}
# Control characters but tab, line feed and carriage return: C0, DEL and C1 (which only
# latin-1 decodes to; cp1252 maps those bytes to letters or refuses them).
_BINARY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Tried in order when no encoding is given: latin-1 decodes any bytes, so it comes last.
_GUESSES = ("utf-8", "cp1252", "latin-1")


def decode_csv(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was read in: ``encoding`` when given,
    else the one its byte order mark names, else the first of UTF-8, cp1252 and latin-1
    that reads it. Refuses text that is not in ``encoding``, and binary data, naming the
    line."""
    if encoding is None:
        encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    for name in (encoding,) if encoding else _GUESSES:
        try:
            text = data.decode(name)
        except LookupError:
            raise InvalidContact(f"unknown encoding {name!r}") from None
        except UnicodeDecodeError as exc:
            if encoding:
                line = data.count(b"\n", 0, exc.start) + 1
                raise InvalidContact(
                    f"line {line}: byte 0x{data[exc.start]:02x} is not {name} text"
                ) from None
            continue
        break
    binary = _BINARY.search(text)
    if binary is not None:
        line = text.count("\n", 0, binary.start()) + 1
        raise InvalidContact(
            f"line {line}: binary data (character U+{ord(binary.group()):04X}), not a CSV text file"
        )
    return text.removeprefix("\ufeff"), name


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
    first_line: dict[str, int] = {}  # of each email
    start = reader.line_num + 1
    for row in reader:
        line, start = start, reader.line_num + 1  # a quoted field may span several lines
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            bad.append(RowError(line=line, message=f"{len(row)} fields, header has {len(header)}"))
            continue
        try:
            contact = contact_from_mapping(dict(zip(header, row, strict=True)), definitions)
        except InvalidContact as exc:
            bad.append(RowError(line=line, message=str(exc)))
            continue
        first = first_line.setdefault(contact.email, line)
        if first != line:  # the first row wins; merging them silently would lose the other
            message = f"EMAIL {contact.email} is on line {first} already: row skipped"
            bad.append(RowError(line=line, message=message))
            continue
        good.append(contact)
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
