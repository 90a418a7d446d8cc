"""Hostile and awkward input on the command line (issue 16, points 7 and 8): documents nested
10,000 levels deep, CSV files from spreadsheets in Windows encodings, binary files, duplicate
rows, bad option values, and user data that looks like Rich markup: each a one-line error or
printed as it is, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeyman.documents import MAX_DOCUMENT_DEPTH

from .cli_support import Cli, Reader

DEEP = 10_000
NAMES = "EMAIL,FIRSTNAME,LASTNAME\njurgen@example.com,Jürgen,Façade\nzoe@example.com,Zoë,Ångström\n"


def one_line_error(stderr: str) -> str:
    """The error, which must be one line and no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("flow.yaml", "key: deep\nsteps: " + "[" * DEEP + "]" * DEEP + "\n"),
        ("block.yaml", "key: deep\nsteps:\n" + "".join(" " * i + "a:\n" for i in range(1, 1500))),
        ("deep.json", '{"key": "deep", "steps": ' + "[" * DEEP + "]" * DEEP + "}"),
    ],
)
def test_a_deep_document_is_a_clear_error(cli: Cli, tmp_path: Path, name: str, text: str) -> None:
    """Before: json.loads or PyYAML raised RecursionError, a traceback (exit 1)."""
    (tmp_path / name).write_text(text, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'journeyman.db'}"
    for command in ("apply", "validate"):
        result = cli("workflow", command, name, db=db, expect=2)
        assert "Traceback" not in result.stderr
        assert f"{name}: nested deeper than {MAX_DOCUMENT_DEPTH} levels" in result.err


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("bad.yaml", "key: a\nname: [open\nsteps:\n", "but got ':' at line 3, column 6"),
        ("bad.json", '{"key": "a",\n "x": }', "Expecting value at line 2, column 7"),
    ],
)
def test_a_syntax_error_is_one_problem_line_naming_where(
    cli: Cli, tmp_path: Path, name: str, text: str, reason: str
) -> None:
    """Before: PyYAML's own text, the line quoted with a caret under it, on six lines."""
    (tmp_path / name).write_text(text, encoding="utf-8")
    result = cli("workflow", "validate", name, db=f"sqlite:///{tmp_path / 'j.db'}", expect=2)
    problems = [line for line in result.stderr.splitlines() if line.strip().startswith("- ")]
    assert len(problems) == 1 and reason in problems[0], result.stderr
    assert len(result.stderr.strip().splitlines()) == 2, result.stderr  # the heading, the problem


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1"])
def test_contacts_import_reads_spreadsheet_encodings(
    cli: Cli, cli_db_url: str, tmp_path: Path, encoding: str
) -> None:
    """Before: the file was read as UTF-8 only; cp1252 and latin-1 raised
    UnicodeDecodeError (a traceback)."""
    (tmp_path / "contacts.csv").write_bytes(NAMES.replace("\n", "\r\n").encode(encoding))
    cli("attributes", "define", "FIRSTNAME", "text", db=cli_db_url)
    cli("attributes", "define", "LASTNAME", "text", db=cli_db_url)
    result = cli("contacts", "import", "contacts.csv", db=cli_db_url)

    assert "imported: 2 created, 0 updated" in result.out
    if encoding.startswith("utf-8"):
        assert result.stderr == ""
    else:  # both are read as cp1252, which agrees with latin-1 on these letters
        assert "contacts.csv: not UTF-8, read as cp1252" in result.err
    reader = Reader(cli_db_url)
    try:
        rows = reader.rows("select email, attributes from contacts order by email")
    finally:
        reader.close()
    names = [(email, _attributes(raw)) for email, raw in rows]
    assert names == [
        ("jurgen@example.com", {"FIRSTNAME": "Jürgen", "LASTNAME": "Façade"}),
        ("zoe@example.com", {"FIRSTNAME": "Zoë", "LASTNAME": "Ångström"}),
    ]


def _attributes(raw: object) -> object:
    import json

    return json.loads(raw) if isinstance(raw, str) else raw


def test_an_encoding_can_be_named(cli: Cli, tmp_path: Path) -> None:
    """latin-1 named with --encoding: bytes cp1252 reads as other letters (0x80..0x9f) are
    never guessed; an unknown name or bytes not in the named encoding are one-line errors."""
    db = f"sqlite:///{tmp_path / 'journeyman.db'}"
    cli("attributes", "define", "FIRSTNAME", "text", db=db)
    (tmp_path / "latin.csv").write_bytes("EMAIL,FIRSTNAME\nx@example.com,Zoë\n".encode("latin-1"))
    cli("contacts", "import", "latin.csv", "--encoding", "latin-1", db=db)
    assert '"FIRSTNAME": "Zoë"' in cli("contacts", "show", "x@example.com", db=db).out

    unknown = cli("contacts", "import", "latin.csv", "--encoding", "klingon", db=db, expect=2)
    assert one_line_error(unknown.stderr) == "error: unknown encoding 'klingon'"
    wrong = cli("contacts", "import", "latin.csv", "--encoding", "utf-8", db=db, expect=2)
    assert one_line_error(wrong.stderr) == "error: line 2: byte 0xeb is not utf-8 text"


def test_a_binary_file_is_refused_naming_the_line(cli: Cli, tmp_path: Path) -> None:
    """Before: a file that happened to be valid UTF-8 was imported as garbage, any other
    raised UnicodeDecodeError (a traceback)."""
    db = f"sqlite:///{tmp_path / 'journeyman.db'}"
    data = b"EMAIL\na@example.com\n" + bytes(range(256)) * 8
    (tmp_path / "photo.csv").write_bytes(data)
    (tmp_path / "nul.csv").write_bytes(b"EMAIL\na@example.com\nb@example.com\x00\x01\n")

    photo = cli("contacts", "import", "photo.csv", db=db, expect=2)
    nul = cli("contacts", "import", "nul.csv", db=db, expect=2)

    assert one_line_error(photo.stderr).startswith("error: line 3: binary data (character U+00")
    assert one_line_error(nul.stderr) == (
        "error: line 3: binary data (character U+0000), not a CSV text file"
    )
    assert "a@example.com" not in cli("lists", "list", db=db).stdout  # nothing imported


def test_duplicate_rows_are_reported_not_merged(cli: Cli, cli_db_url: str, tmp_path: Path) -> None:
    """Before: the second row with the same email silently overwrote the first."""
    (tmp_path / "twice.csv").write_text(
        "EMAIL,FIRSTNAME\nann@example.com,Ann\nbob@example.com,Bob\nANN@example.com,Anna\n",
        encoding="utf-8",
    )
    cli("attributes", "define", "FIRSTNAME", "text", db=cli_db_url)
    result = cli("contacts", "import", "twice.csv", db=cli_db_url)

    assert "imported: 2 created, 0 updated" in result.out
    assert "skipped line 4: EMAIL ann@example.com is on line 2 already: row skipped" in result.err
    assert "1 row(s) skipped" in result.err
    assert '"FIRSTNAME": "Ann"' in cli("contacts", "show", "ann@example.com", db=cli_db_url).out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["event", "send", "order", "--email", "a@example.com", "--time", "garbage"],
            "error: --time 'garbage' is not an ISO 8601 date and time, "
            "e.g. 2027-01-15T09:00:00+01:00",
        ),
        (
            ["event", "send", "order", "--email", "a@example.com", "--prop", "x=" + "[" * DEEP],
            "error: property x: nested deeper than 32 levels",
        ),
        (
            ["workflow", "enrol", "k", "--segment", "{in_list: ["],
            "error: --segment '{in_list: [' is not YAML/JSON: expected the node content, "
            "but found '<stream end>' (column 12)",
        ),
        (
            ["workflow", "enrol", "k", "--segment", "[" * DEEP + "]" * DEEP],
            "error: --segment '" + "[" * 99 + " is not YAML/JSON: nested deeper than 32 "
            "levels (line 1, column 33)",
        ),
        (
            ["workflow", "simulate", "x.yaml", "--webhook-json", "[" * DEEP],
            "error: --webhook-json: nested deeper than 32 levels",
        ),
        (["contacts", "import", "missing.csv"], "error: cannot read missing.csv: No such file"),
    ],
)
def test_a_bad_value_is_a_one_line_error(
    cli: Cli, tmp_path: Path, args: list[str], message: str
) -> None:
    """Before: ValueError or RecursionError tracebacks, or a YAML error over five lines.
    A narrow terminal does not break the line either."""
    (tmp_path / "x.yaml").write_text(
        "key: x\nentry_points: [{event: e}]\nsteps: [{id: s, add_to_list: {lists: L}}]\n",
        encoding="utf-8",
    )
    result = cli(*args, db=f"sqlite:///{tmp_path / 'journeyman.db'}", expect=2, COLUMNS="60")
    assert one_line_error(result.stderr).startswith(message)


def test_user_data_is_printed_as_it_is(cli: Cli, tmp_path: Path) -> None:
    """Before: Rich read ":smile:" as an emoji and "[bold]" as markup (dropping it), and
    ``contacts show`` printed attributes as JSON escapes (J\\u00fcrgen)."""
    db = f"sqlite:///{tmp_path / 'journeyman.db'}"
    tricky = ":smile: [bold]x[/bold] :a:"
    cli("attributes", "define", "FIRSTNAME", "text", db=db)
    (tmp_path / "c.csv").write_text(
        f"EMAIL,FIRSTNAME\njurgen@example.com,Jürgen\nt@example.com,{tricky}\n", encoding="utf-8"
    )
    cli("contacts", "import", "c.csv", db=db)
    created = cli("lists", "create", tricky, db=db)
    listed = cli("lists", "list", db=db)

    assert '"FIRSTNAME": "Jürgen"' in cli("contacts", "show", "jurgen@example.com", db=db).out
    assert f'"FIRSTNAME": "{tricky}"' in cli("contacts", "show", "t@example.com", db=db).out
    assert created.out == f"list '{tricky}': created"
    assert tricky in listed.stdout
