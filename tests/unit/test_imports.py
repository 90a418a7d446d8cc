"""CSV import parsing: good rows kept, bad rows reported by line, bad headers refuse the file."""

from __future__ import annotations

import io

import pytest

from journeyman.errors import InvalidContact
from journeyman.imports import RowError, decode_csv, parse_contacts_csv
from journeyman.model.contacts import AttributeDefinition, AttributeType

DEFINITIONS = {
    d.name: d
    for d in (
        AttributeDefinition(name="FIRSTNAME", type=AttributeType.TEXT),
        AttributeDefinition(name="LASTNAME", type=AttributeType.TEXT),
        AttributeDefinition(name="LEAD_SCORE", type=AttributeType.NUMBER),
        AttributeDefinition(
            name="PLAN", type=AttributeType.CATEGORY, allowed_values=("free", "pro")
        ),
    )
}


def parse(text: str) -> tuple[list[str], list[RowError]]:
    good, bad = parse_contacts_csv(io.StringIO(text), DEFINITIONS)
    return [c.email for c in good], bad


def lines_of(errors: list[RowError]) -> list[int]:
    return [e.line for e in errors]


def test_good_rows_are_kept_and_typed() -> None:
    good, bad = parse_contacts_csv(
        io.StringIO(
            "email,firstname,LEAD_SCORE,PLAN,SMS,TIMEZONE,EXT_ID\n"
            "Jane@Example.com,Jane,12,pro,+49 151 12345678,Europe/Berlin,crm-1\n"
            "max@example.com,,,,,,\n"
        ),
        DEFINITIONS,
    )

    assert bad == []
    jane, max_ = good
    assert jane.email == "jane@example.com"
    assert jane.attributes == {"FIRSTNAME": "Jane", "LEAD_SCORE": 12, "PLAN": "pro"}
    assert (jane.sms, jane.timezone, jane.ext_id) == ("+4915112345678", "Europe/Berlin", "crm-1")
    assert max_.email == "max@example.com"
    assert max_.attributes == {}  # empty cells leave values as they are


def test_bad_rows_are_reported_with_their_line_and_good_rows_kept() -> None:
    text = (
        "EMAIL,FIRSTNAME,LEAD_SCORE,PLAN\n"  # line 1
        "jane@example.com,Jane,12,pro\n"  # 2
        "not-an-email,Bad,1,free\n"  # 3
        "max@example.com,Max,lots,free\n"  # 4
        "\n"  # 5: blank lines are skipped but counted
        "ann@example.com,Ann,3,gold\n"  # 6
        "bob@example.com,Bob\n"  # 7: too few fields
        "eve@example.com,Eve,7,free\n"  # 8
    )

    good, bad = parse(text)

    assert good == ["jane@example.com", "eve@example.com"]
    assert lines_of(bad) == [3, 4, 6, 7]
    assert "'not-an-email'" in bad[0].message
    assert "LEAD_SCORE" in bad[1].message and "'lots'" in bad[1].message
    assert "PLAN" in bad[2].message and "'gold'" in bad[2].message
    assert bad[3].message == "2 fields, header has 4"
    assert str(bad[1]).startswith("line 4: ")


def test_quoted_commas_and_newlines_keep_the_line_numbers_right() -> None:
    text = (
        "EMAIL,FIRSTNAME,LASTNAME\n"  # 1
        'jane@example.com,"Jane, Jr.","Doe\n'  # 2
        'of Springfield"\n'  # 3
        "bad-email,Bad,Row\n"  # 4
        'max@example.com,"Max ""the Max""",Mustermann\n'  # 5
        "also-bad,,\n"  # 6
    )

    good, bad = parse_contacts_csv(io.StringIO(text), DEFINITIONS)

    assert [c.attributes for c in good] == [
        {"FIRSTNAME": "Jane, Jr.", "LASTNAME": "Doe\nof Springfield"},
        {"FIRSTNAME": 'Max "the Max"', "LASTNAME": "Mustermann"},
    ]
    assert lines_of(bad) == [4, 6]


def test_a_bad_row_spanning_lines_is_reported_at_the_line_where_it_starts() -> None:
    text = (
        "EMAIL,FIRSTNAME,LEAD_SCORE\n"  # 1
        'jane@example.com,"Jane\n'  # 2
        'Doe",many\n'  # 3
        "max@example.com,Max,1\n"  # 4
    )

    good, bad = parse(text)

    assert good == ["max@example.com"]
    assert lines_of(bad) == [2]


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("EMAIL,FIRSTNAME,SHOE_SIZE", "unknown column(s) SHOE_SIZE"),
        ("FIRSTNAME,LASTNAME", "no EMAIL column"),
        ("EMAIL,FIRSTNAME,firstname", "given twice: FIRSTNAME"),
    ],
)
def test_a_bad_header_refuses_the_whole_file(header: str, words: str) -> None:
    with pytest.raises(InvalidContact) as caught:
        parse(f"{header}\njane@example.com,Jane,Doe\n")

    assert words in str(caught.value)


def test_an_unknown_column_message_lists_what_is_defined() -> None:
    with pytest.raises(InvalidContact) as caught:
        parse("EMAIL,SHOE_SIZE\njane@example.com,42\n")

    assert "FIRSTNAME, LASTNAME, LEAD_SCORE, PLAN" in str(caught.value)


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(InvalidContact, match="empty"):
        parse("")


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("jane@example.com,0151 1234,", "SMS"),
        ("jane@example.com,,Mars/Olympus", "TIMEZONE 'Mars/Olympus'"),
    ],
)
def test_bad_fields_are_row_errors(row: str, words: str) -> None:
    good, bad = parse(f"EMAIL,SMS,TIMEZONE\n{row}\n")

    assert good == []
    assert lines_of(bad) == [2]
    assert words in bad[0].message


def test_a_second_row_with_the_same_email_is_reported_not_merged() -> None:
    good, bad = parse(
        "EMAIL,FIRSTNAME\njane@example.com,Jane\nmax@example.com,Max\nJANE@example.com,Janet\n"
    )
    assert good == ["jane@example.com", "max@example.com"]
    assert [str(e) for e in bad] == [
        "line 4: EMAIL jane@example.com is on line 2 already: row skipped"
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("Jürgen,Zoë,façade,€".encode(), "utf-8"),
        ("Jürgen,Zoë,façade,€".encode("utf-8-sig"), "utf-8-sig"),
        ("Jürgen,Zoë,façade,€".encode("utf-16"), "utf-16"),
        ("Jürgen,Zoë,façade,€".encode("cp1252"), "cp1252"),
        ("Jürgen,Zoë,façade".encode("latin-1"), "cp1252"),  # the same letters in both
    ],
)
def test_csv_files_are_read_in_their_encoding(data: bytes, expected: str) -> None:
    text, used = decode_csv(data)
    assert used == expected
    assert text.startswith("Jürgen,Zoë,façade")


def test_bytes_cp1252_cannot_read_fall_back_to_latin_1_and_are_refused_as_binary() -> None:
    """0x81 is undefined in cp1252; latin-1 reads it as a C1 control character: binary."""
    with pytest.raises(InvalidContact, match=r"^line 2: binary data \(character U\+0081\)"):
        decode_csv(b"EMAIL\n\x81x@example.com\n")
    with pytest.raises(InvalidContact, match=r"^line 1: binary data \(character U\+0000\)"):
        decode_csv("EMAIL\n".encode("utf-16-le"))  # UTF-16 without its byte order mark
