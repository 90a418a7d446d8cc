"""``/v3/contacts/attributes``: the attribute definitions, in Brevo's categories and types.

Brevo's ``normal`` category holds text, float, date and boolean attributes (Journeyman's
text, number, date, boolean); its ``category`` category holds attributes with an enumeration
of allowed values (Journeyman's category type; a value's number is its position, from 1).
As in Brevo, a category attribute is answered without a ``type`` (its category says what it
is, and both Brevo SDKs refuse a ``type`` outside text, date, float, id and boolean).
Transactional, calculated and global attributes do not exist here.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel

from journeyman.api.auth import require_api_key
from journeyman.api.errors import (
    ERROR_RESPONSES,
    DocumentNotFound,
    DuplicateParameter,
    InvalidParameter,
    MissingParameter,
)
from journeyman.api.wire import Body, Journeyman, JsonRoute
from journeyman.model.contacts import AttributeDefinition, AttributeType
from journeyman.services import attributes

router = APIRouter(
    prefix="/v3/contacts/attributes",
    tags=["attributes"],
    dependencies=[Depends(require_api_key)],
    responses=ERROR_RESPONSES,
    route_class=JsonRoute,
)

CATEGORIES = ("normal", "category")
TYPES = {
    "text": AttributeType.TEXT,
    "float": AttributeType.NUMBER,
    "number": AttributeType.NUMBER,
    "date": AttributeType.DATE,
    "boolean": AttributeType.BOOLEAN,
    "category": AttributeType.CATEGORY,
}
BREVO_TYPES = {
    AttributeType.TEXT: "text",
    AttributeType.NUMBER: "float",
    AttributeType.DATE: "date",
    AttributeType.BOOLEAN: "boolean",
    AttributeType.CATEGORY: "category",
}
RESERVED = ("EMAIL", "SMS", "WHATSAPP", "EXT_ID", "TIMEZONE")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")

Category = Annotated[
    str, Path(description="normal or category", json_schema_extra={"enum": list(CATEGORIES)})
]
Name = Annotated[str, Path(json_schema_extra={"pattern": _NAME.pattern})]


class EnumerationItem(BaseModel):
    value: int
    label: str


class AttributeItem(BaseModel):
    name: str
    category: str
    type: str | None = None
    enumeration: list[EnumerationItem] | None = None


class AttributesPage(BaseModel):
    attributes: list[AttributeItem]


class AttributeBody(Body):
    type: str | None = None
    enumeration: list[EnumerationItem] | None = None
    value: str | None = None
    isRecurring: bool | None = None
    multiCategoryOptions: list[str] | None = None


def _category_of(definition: AttributeDefinition) -> str:
    return "category" if definition.type is AttributeType.CATEGORY else "normal"


def _item(definition: AttributeDefinition) -> AttributeItem:
    if definition.type is AttributeType.CATEGORY:
        enumeration = [
            EnumerationItem(value=i, label=label)
            for i, label in enumerate(definition.allowed_values, start=1)
        ]
        return AttributeItem(name=definition.name, category="category", enumeration=enumeration)
    return AttributeItem(name=definition.name, category="normal", type=BREVO_TYPES[definition.type])


@router.get("", response_model=AttributesPage, response_model_exclude_none=True)
def get_attributes(app: Journeyman) -> AttributesPage:
    definitions = sorted(attributes.definitions(app).values(), key=lambda d: d.name)
    return AttributesPage(attributes=[_item(d) for d in definitions])


def _labels(enumeration: list[EnumerationItem] | None) -> tuple[str, ...]:
    if not enumeration:
        raise MissingParameter("enumeration is missing: a category attribute needs its values")
    ordered = sorted(enumeration, key=lambda e: e.value)
    labels = tuple(e.label.strip() for e in ordered)
    if any(not label for label in labels) or len(set(labels)) != len(labels):
        raise InvalidParameter("enumeration: labels must be given, and different")
    return labels


def _check_category(category: str) -> None:
    if category not in CATEGORIES:
        raise InvalidParameter(
            f"attributeCategory {category!r} is not supported (supported: normal, category)"
        )


def _definition(app: Journeyman, category: str, name: str) -> AttributeDefinition:
    _check_category(category)
    definition = attributes.definitions(app).get(name.upper())
    if definition is None or _category_of(definition) != category:
        raise DocumentNotFound(f"Attribute {name!r} not found in category {category!r}")
    return definition


@router.post("/{attributeCategory}/{attributeName}", status_code=201, response_class=Response)
def create_attribute(
    attributeCategory: Category, attributeName: Name, body: AttributeBody, app: Journeyman
) -> Response:
    _check_category(attributeCategory)
    name = attributeName.upper()
    if not _NAME.match(attributeName) or name in RESERVED:
        raise InvalidParameter(
            f"attributeName {attributeName!r}: letters, digits and '_', starting with a letter, "
            f"not one of {', '.join(RESERVED)}"
        )
    kind = "category" if attributeCategory == "category" else body.type
    if kind is None:
        raise MissingParameter("type is missing (text, float, date, boolean or category)")
    if kind not in TYPES:
        raise InvalidParameter(f"type {kind!r} is not one of text, float, date, boolean, category")
    if name in attributes.definitions(app):
        raise DuplicateParameter(f"Attribute name {name!r} must be unique: it exists already")
    allowed = _labels(body.enumeration) if TYPES[kind] is AttributeType.CATEGORY else ()
    definition = AttributeDefinition(name=name, type=TYPES[kind], allowed_values=allowed)
    attributes.define(app, definition)
    return Response(status_code=201)


@router.put("/{attributeCategory}/{attributeName}", status_code=204)
def update_attribute(
    attributeCategory: Category, attributeName: Name, body: AttributeBody, app: Journeyman
) -> Response:
    """A category attribute's enumeration (the only thing of an attribute that changes)."""
    definition = _definition(app, attributeCategory, attributeName)
    if definition.type is not AttributeType.CATEGORY:
        raise InvalidParameter(
            f"attribute {definition.name} is {BREVO_TYPES[definition.type]}: only the enumeration "
            "of a category attribute can be updated"
        )
    allowed = _labels(body.enumeration)
    attributes.define(
        app,
        AttributeDefinition(name=definition.name, type=definition.type, allowed_values=allowed),
    )
    return Response(status_code=204)


@router.delete("/{attributeCategory}/{attributeName}", status_code=204)
def delete_attribute(attributeCategory: Category, attributeName: Name, app: Journeyman) -> Response:
    """The definition and every contact's value (not while a workflow names it)."""
    definition = _definition(app, attributeCategory, attributeName)
    attributes.delete(app, definition.name)
    return Response(status_code=204)
