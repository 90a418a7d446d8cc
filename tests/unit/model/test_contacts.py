"""Typed attributes: coercion of every type, allowed values, and errors that say what is wrong."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from journeyman.errors import InvalidContact, InvalidInput
from journeyman.model.contacts import (
    AttributeDefinition,
    AttributeType,
    coerce_attribute,
    coerce_attributes,
    normalize_email,
    normalize_phone,
)

TEXT = AttributeDefinition(name="FIRSTNAME", type=AttributeType.TEXT)
NUMBER = AttributeDefinition(name="LEAD_SCORE", type=AttributeType.NUMBER)
BOOLEAN = AttributeDefinition(name="OPT_IN", type=AttributeType.BOOLEAN)
DATE = AttributeDefinition(name="BIRTHDAY", type=AttributeType.DATE)
CATEGORY = AttributeDefinition(
    name="PLAN", type=AttributeType.CATEGORY, allowed_values=("free", "pro", "gold")
)
DEFINITIONS = {d.name: d for d in (TEXT, NUMBER, BOOLEAN, DATE, CATEGORY)}


@pytest.mark.parametrize(
    ("definition", "raw", "stored"),
    [
        (TEXT, "Jane", "Jane"),
        (TEXT, 42, "42"),
        (NUMBER, 42, 42),
        (NUMBER, 4.5, 4.5),
        (NUMBER, "42", 42),
        (NUMBER, " 17 ", 17),
        (NUMBER, "4.5", 4.5),
        (NUMBER, "-3", -3),
        (NUMBER, "1e3", 1000),
        (BOOLEAN, True, True),
        (BOOLEAN, False, False),
        (BOOLEAN, "yes", True),
        (BOOLEAN, "TRUE", True),
        (BOOLEAN, "1", True),
        (BOOLEAN, "no", False),
        (BOOLEAN, "off", False),
        (BOOLEAN, "0", False),
        (DATE, "2027-03-01", "2027-03-01"),
        (DATE, "2027-03-01T10:30:00+01:00", "2027-03-01"),
        (DATE, dt.date(2027, 3, 1), "2027-03-01"),
        (DATE, dt.datetime(2027, 3, 1, 23, 59), "2027-03-01"),
        (CATEGORY, "pro", "pro"),
    ],
)
def test_values_are_stored_in_their_type(
    definition: AttributeDefinition, raw: Any, stored: Any
) -> None:
    value = coerce_attribute(definition, raw)

    assert value == stored
    assert type(value) is type(stored)


@pytest.mark.parametrize("definition", list(DEFINITIONS.values()))
@pytest.mark.parametrize("raw", [None, ""])
def test_none_and_empty_clear_any_attribute(definition: AttributeDefinition, raw: Any) -> None:
    assert coerce_attribute(definition, raw) is None


@pytest.mark.parametrize(
    ("definition", "raw", "expected"),
    [
        (NUMBER, "many", "expected a number"),
        (NUMBER, True, "expected a number"),
        (NUMBER, "4,5", "expected a number"),
        (BOOLEAN, "maybe", "expected true or false"),
        (BOOLEAN, 2, "expected true or false"),
        (DATE, "01/03/2027", "expected a date as YYYY-MM-DD"),
        (DATE, "2027-02-30", "expected a date as YYYY-MM-DD"),
        (CATEGORY, "platinum", "is not one of free, pro, gold"),
        (CATEGORY, "Pro", "is not one of free, pro, gold"),
    ],
)
def test_wrong_values_are_refused_naming_attribute_and_value(
    definition: AttributeDefinition, raw: Any, expected: str
) -> None:
    with pytest.raises(InvalidContact) as caught:
        coerce_attribute(definition, raw)

    message = str(caught.value)
    assert message.startswith(f"attribute {definition.name}: ")
    assert repr(raw) in message
    assert expected in message
    assert isinstance(caught.value, InvalidInput)


@pytest.mark.parametrize("raw", ["nan", "inf", "-Infinity", "1e400", float("nan"), 2**63])
def test_a_number_json_cannot_hold_is_refused(raw: Any) -> None:
    with pytest.raises(InvalidContact, match=r"^attribute LEAD_SCORE: .*(finite|64-bit)"):
        coerce_attribute(NUMBER, raw)


def test_an_integer_written_with_an_exponent_past_64_bits_stays_a_float() -> None:
    assert coerce_attribute(NUMBER, "1e300") == 1e300
    assert type(coerce_attribute(NUMBER, "1e300")) is float
    assert coerce_attribute(NUMBER, "1e3") == 1000
    assert type(coerce_attribute(NUMBER, "1e3")) is int


def test_a_mapping_is_coerced_with_names_in_upper_case() -> None:
    values = {"firstname": "Jane", "Lead_Score": "12", "OPT_IN": "yes", "PLAN": ""}

    assert coerce_attributes(DEFINITIONS, values) == {
        "FIRSTNAME": "Jane",
        "LEAD_SCORE": 12,
        "OPT_IN": True,
        "PLAN": None,
    }


def test_an_unknown_attribute_is_refused_with_the_names_that_exist() -> None:
    with pytest.raises(InvalidContact) as caught:
        coerce_attributes(DEFINITIONS, {"FIRSTNAME": "Jane", "SHOE_SIZE": 42})

    message = str(caught.value)
    assert "unknown attribute 'SHOE_SIZE'" in message
    assert "BIRTHDAY, FIRSTNAME, LEAD_SCORE, OPT_IN, PLAN" in message


@pytest.mark.parametrize(
    ("raw", "email"),
    [
        ("jane@example.com", "jane@example.com"),
        ("  Jane.Doe@Example.COM ", "jane.doe@example.com"),
        ("a+tag@sub.example.org", "a+tag@sub.example.org"),
    ],
)
def test_emails_are_normalized_to_lower_case(raw: str, email: str) -> None:
    assert normalize_email(raw) == email


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "jane",
        "jane@",
        "@example.com",
        "jane@example",
        "a b@example.com",
        "a@b@c.com",
        "nul\x00@example.com",  # PostgreSQL text cannot hold it
        "j" * 309 + "@example.com",  # 321 characters: past RFC 5321 and the column
    ],
)
def test_invalid_emails_are_refused_with_the_value(raw: str) -> None:
    with pytest.raises(InvalidContact, match="is not a valid email address") as caught:
        normalize_email(raw)

    assert repr(raw) in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("+49 151 1234-5678", "+4915112345678"),
        ("0049 (151) 12345678", "+4915112345678"),
        ("+1.415.555.0100", "+14155550100"),
    ],
)
def test_phone_numbers_are_normalized_to_e164(raw: str, phone: str) -> None:
    assert normalize_phone(raw, field_name="SMS") == phone


@pytest.mark.parametrize("raw", ["0151 12345678", "+0151234567", "+49", "call me"])
def test_phone_numbers_not_in_e164_are_refused(raw: str) -> None:
    with pytest.raises(InvalidContact, match=r"^WHATSAPP .* E\.164"):
        normalize_phone(raw, field_name="WHATSAPP")
