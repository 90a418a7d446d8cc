"""``POST /v3/contacts/import``: contacts from ``jsonBody`` (or a CSV ``fileBody``).

Brevo imports in the background and answers with a process id; Journeyman imports at once
and answers the same way, adding what happened (``created``, ``updated``, ``failures`` by
index) for clients that want to know.
"""

from __future__ import annotations

import csv
import io
import itertools
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from journeyman.api.auth import require_api_key
from journeyman.api.contact_input import contact_input
from journeyman.api.errors import ERROR_RESPONSES, ApiError, InvalidParameter, MissingParameter
from journeyman.api.limits import NAME_LENGTH, FolderId, ListId
from journeyman.api.wire import Body, Email, Journeyman, JsonRoute
from journeyman.errors import InvalidInput
from journeyman.services import attributes, imports, lists
from journeyman.services.contacts import ContactChange

router = APIRouter(
    prefix="/v3/contacts",
    tags=["contacts"],
    dependencies=[Depends(require_api_key)],
    responses=ERROR_RESPONSES,
    route_class=JsonRoute,
)

MAX_ROWS = 50_000
_process_ids = itertools.count(1)


class ImportRow(Body):
    email: Email | None = None
    attributes: dict[str, Any] | None = None


class NewList(Body):
    listName: Annotated[str, Field(max_length=NAME_LENGTH)]
    folderId: FolderId | None = None


class ImportContacts(Body):
    max_text: ClassVar[int | None] = None  # fileBody is a whole CSV file; rows are checked
    jsonBody: list[ImportRow] | None = None
    fileBody: str | None = None
    fileUrl: str | None = None
    listIds: list[ListId] | None = None
    newList: NewList | None = None
    updateExistingContacts: bool = True
    emptyContactsAttributes: bool = False
    emailBlacklist: bool = False
    smsBlacklist: bool = False


class ImportFailure(BaseModel):
    index: int
    message: str


class ImportResult(BaseModel):
    processId: int
    created: int
    updated: int
    skipped: int
    failures: list[ImportFailure]


@router.post("/import", status_code=202, response_model=ImportResult)
def import_contacts(body: ImportContacts, app: Journeyman) -> ImportResult:
    """Import contacts: good rows are kept, refused rows reported by their index."""
    if body.fileUrl:
        raise InvalidParameter(
            "fileUrl is not supported: send the contacts as jsonBody or fileBody"
        )
    rows = _rows(body)
    if len(rows) > MAX_ROWS:
        raise InvalidParameter(f"at most {MAX_ROWS} contacts per import")
    list_ids = [*(body.listIds or ()), *_new_list(app, body.newList)]
    definitions = attributes.definitions(app)
    found: list[ContactChange] = []
    failures: list[ImportFailure] = []
    for index, row in enumerate(rows):
        try:
            if not row.email:
                raise MissingParameter("email is missing")
            contact, _ = contact_input(
                row.email, row.attributes, definitions, keep_empty=body.emptyContactsAttributes
            )
        except (ApiError, InvalidInput) as exc:
            failures.append(ImportFailure(index=index, message=str(exc)))
            continue
        found.append(
            ContactChange(
                contact=contact,
                email_blocklisted=True if body.emailBlacklist else None,
                sms_blocklisted=True if body.smsBlacklist else None,
                join=tuple(list_ids),
            )
        )
    created, updated, skipped = imports.import_changes(
        app, found, update_existing=body.updateExistingContacts
    )
    return ImportResult(
        processId=next(_process_ids),
        created=created,
        updated=updated,
        skipped=skipped,
        failures=failures,
    )


def _rows(body: ImportContacts) -> list[ImportRow]:
    if body.jsonBody is not None:
        return body.jsonBody
    if body.fileBody is not None:
        return _csv_rows(body.fileBody)
    raise MissingParameter("jsonBody is missing (or fileBody)")


def _csv_rows(text: str) -> list[ImportRow]:
    """Brevo's ``fileBody``: a header row naming EMAIL and attributes, ``;`` or ``,``."""
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in header_line else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    rows = []
    try:
        for record in reader:
            values = {str(k).strip().upper(): v for k, v in record.items() if k is not None}
            email = values.pop("EMAIL", None)
            rows.append(ImportRow(email=email, attributes=values))
    except csv.Error as exc:  # a field over the csv module's limit (128 KiB)
        raise InvalidParameter(f"fileBody: line {reader.line_num}: {exc}") from None
    if reader.fieldnames is None or "EMAIL" not in [f.strip().upper() for f in reader.fieldnames]:
        raise InvalidParameter("fileBody: the header row has no EMAIL column")
    return rows


def _new_list(app: Journeyman, new_list: NewList | None) -> list[int]:
    if new_list is None:
        return []
    name = new_list.listName.strip()
    if not name:
        raise InvalidParameter("newList.listName is empty")
    return [lists.ensure(app, name)]
