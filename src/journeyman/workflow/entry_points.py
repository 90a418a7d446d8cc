"""Entry points: how contacts enter a workflow, as users write them.

Every entry point is an event name plus filters, so enrolment takes one path: an event is
queued (by the API, or by the store as a *system event* in the transaction that made the
change), and the triggers match it against the active workflows' entry points::

    - event: purchase                      # any event, by name; filters on its properties
      where: {amount: {gte: 100}}
    - order_created: {total: {gt: 50}}     # e-commerce and activity events: the value holds
    - page_visited: {url: {contains: /pricing}}   # filters on the event's properties; a plain
    - email_opened: {step: welcome}        # value means ``equals``
    - contact_created: {}
    - list_added: Customers                # or a list of names: any of them
    - attribute_changed: {name: PLAN, from: free, to: {in: [pro, team]}}
    - anniversary: {attribute: BIRTHDAY, days_before: 3}
    - segment: {attribute: {name: PLAN, equals: pro}}   # starts matching (real time)
      enrol_existing: true                 # on activation, those who match already

Each one also takes ``contacts:``, a condition on the contact (a contact filter). Manual
enrolment needs no entry point: every workflow accepts the ``manual_enrolment`` events that
name it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from journeyman.conditions import Comparison, Condition

# Event names the store writes itself (source "system"), and the ones enrolment uses.
CONTACT_CREATED = "contact_created"
LIST_ADDED = "list_added"
LIST_REMOVED = "list_removed"
ATTRIBUTE_CHANGED = "attribute_changed"
DEAL_CREATED = "deal_created"
ANNIVERSARY = "anniversary"
MANUAL_ENROLMENT = "manual_enrolment"  # properties: {workflow: KEY}
SEGMENT_BACKFILL = "segment_backfill"  # properties: {workflow: KEY}
SYSTEM_SOURCE = "system"

# The changes after which a contact may start matching a segment.
SEGMENT_CHANGES = frozenset({CONTACT_CREATED, ATTRIBUTE_CHANGED, LIST_ADDED, LIST_REMOVED})

Scalar = str | int | float | bool
Filter = Comparison | Scalar  # a plain value means ``equals``
Filters = tuple[tuple[str, Comparison], ...]


def as_comparison(value: Filter) -> Comparison:
    return value if isinstance(value, Comparison) else Comparison(equals=value)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Entry(_Frozen):
    """What every entry point has: the events it listens to, their filters, a contact filter."""

    contacts: Condition | None = Field(
        default=None, description="contact filter: the contact must meet this condition"
    )

    @property
    def event_names(self) -> frozenset[str]:
        raise NotImplementedError

    @cached_property
    def filters(self) -> Filters:
        """(property path, test) pairs the event must all pass."""
        return ()


class EventEntry(Entry):
    """Enter when the contact does ``event``; ``where`` filters on the event's properties
    (dotted paths for nested ones), all of which must match."""

    event: str = Field(min_length=1)
    where: dict[str, Comparison] = Field(default_factory=dict)

    @property
    def event_names(self) -> frozenset[str]:
        return frozenset([self.event])

    @cached_property
    def filters(self) -> Filters:
        return tuple(self.where.items())


class _PropertyEntry(Entry):
    """An event of a known kind; the value filters on its properties (path -> test).

    ``KNOWN`` lists the properties the event carries when Journeyman writes it (None: any,
    such as the properties of orders and page visits, which come from the website)."""

    KIND: ClassVar[str]
    KNOWN: ClassVar[tuple[str, ...] | None] = None

    @model_validator(mode="before")
    @classmethod
    def _empty_means_any(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and cls.KIND in data and data[cls.KIND] is None:
            return {**data, cls.KIND: {}}
        return data

    @model_validator(mode="after")
    def _known_properties(self) -> _PropertyEntry:
        known = self.KNOWN
        unknown = sorted(set(self._values) - set(known)) if known is not None else []
        if unknown:
            expected = ", ".join(known) if known else "none (write {})"
            raise ValueError(
                f"{self.KIND} events have no property {unknown[0]!r}; expected: {expected}"
            )
        return self

    @property
    def _values(self) -> dict[str, Filter]:
        values: dict[str, Filter] = getattr(self, self.KIND)
        return values

    @property
    def event_names(self) -> frozenset[str]:
        return frozenset([self.KIND])

    @cached_property
    def filters(self) -> Filters:
        return tuple((path, as_comparison(test)) for path, test in self._values.items())


PropertyFilters = dict[str, Filter]
_MESSAGE = ("workflow", "step", "message_key")


class OrderCreatedEntry(_PropertyEntry):
    KIND = "order_created"
    order_created: PropertyFilters = Field(description="filters on the order's properties")


class CartUpdatedEntry(_PropertyEntry):
    KIND = "cart_updated"
    cart_updated: PropertyFilters = Field(description="filters on the cart's properties")


class CartDeletedEntry(_PropertyEntry):
    KIND = "cart_deleted"
    cart_deleted: PropertyFilters = Field(description="filters on the cart's properties")


class PageVisitedEntry(_PropertyEntry):
    KIND = "page_visited"
    page_visited: PropertyFilters = Field(description="filters such as url, title, referrer")


class FormSubmittedEntry(_PropertyEntry):
    KIND = "form_submitted"
    form_submitted: PropertyFilters = Field(description="filters such as form (its name)")


class ContactCreatedEntry(_PropertyEntry):
    KIND = CONTACT_CREATED
    KNOWN = ()
    contact_created: PropertyFilters = Field(description="{}: any new contact")


class EmailOpenedEntry(_PropertyEntry):
    KIND = "email_opened"
    KNOWN = _MESSAGE
    email_opened: PropertyFilters = Field(description="which email: workflow, step, message_key")


class EmailClickedEntry(_PropertyEntry):
    KIND = "email_clicked"
    KNOWN = (*_MESSAGE, "url")
    email_clicked: PropertyFilters = Field(description="which email (workflow, step...), url")


class EmailUnsubscribedEntry(_PropertyEntry):
    KIND = "email_unsubscribed"
    KNOWN = _MESSAGE
    email_unsubscribed: PropertyFilters = Field(description="which email the link was in")


class DealCreatedEntry(_PropertyEntry):
    KIND = DEAL_CREATED
    KNOWN = ("deal_id", "name", "pipeline", "stage", "amount")
    deal_created: PropertyFilters = Field(description="filters such as pipeline, stage")


class DealStageChangedEntry(_PropertyEntry):
    KIND = "deal_stage_changed"
    KNOWN = ("deal_id", "name", "pipeline", "from", "to")
    deal_stage_changed: PropertyFilters = Field(description="filters such as pipeline, from, to")


class TaskCompletedEntry(_PropertyEntry):
    KIND = "task_completed"
    KNOWN = ("task_id", "deal_id", "title", "type")
    task_completed: PropertyFilters = Field(description="filters such as type (call, ...)")


ListName = Annotated[str, Field(min_length=1)]
ListNames = ListName | Annotated[list[ListName], Field(min_length=1)]


def _list_filter(names: str | list[str]) -> Filters:
    wanted = [names] if isinstance(names, str) else names
    return (("list", Comparison.model_validate({"in": wanted})),)


class ListAddedEntry(Entry):
    """Enter when the contact joins the list (any of the lists), however it happened: an
    import, the API, or another workflow's action."""

    list_added: ListNames

    @property
    def event_names(self) -> frozenset[str]:
        return frozenset([LIST_ADDED])

    @cached_property
    def filters(self) -> Filters:
        return _list_filter(self.list_added)


class ListRemovedEntry(Entry):
    list_removed: ListNames

    @property
    def event_names(self) -> frozenset[str]:
        return frozenset([LIST_REMOVED])

    @cached_property
    def filters(self) -> Filters:
        return _list_filter(self.list_removed)


class AttributeChange(_Frozen):
    """Which attribute (any when absent), and tests on its value before and after."""

    name: str | None = Field(default=None, min_length=1)
    from_: Filter | None = Field(default=None, alias="from")
    to: Filter | None = None


class AttributeChangedEntry(Entry):
    """Enter when an attribute's value changes (an update, an import, a workflow action);
    the event carries the attribute's ``name``, its ``old`` and its ``new`` value."""

    attribute_changed: AttributeChange

    @model_validator(mode="before")
    @classmethod
    def _empty_means_any(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("attribute_changed", {}) is None:
            return {**data, "attribute_changed": {}}
        return data

    @property
    def event_names(self) -> frozenset[str]:
        return frozenset([ATTRIBUTE_CHANGED])

    @cached_property
    def filters(self) -> Filters:
        change = self.attribute_changed
        pairs = (("name", change.name), ("old", change.from_), ("new", change.to))
        return tuple((path, as_comparison(test)) for path, test in pairs if test is not None)


class Anniversary(_Frozen):
    """Yearly, on the date in ``attribute`` (month and day), or N days before or after it,
    in the contact's timezone. A 29 February falls on 28 February in other years."""

    attribute: str = Field(min_length=1)
    days_before: int | None = Field(default=None, ge=0, le=365)
    days_after: int | None = Field(default=None, ge=0, le=365)

    @model_validator(mode="after")
    def _one_offset(self) -> Anniversary:
        if self.days_before is not None and self.days_after is not None:
            raise ValueError("give days_before or days_after, not both")
        return self

    @property
    def offset(self) -> int:
        """Days before the date (negative: after it)."""
        return self.days_before if self.days_before is not None else -(self.days_after or 0)


class AnniversaryEntry(Entry):
    anniversary: Anniversary

    @property
    def event_names(self) -> frozenset[str]:
        return frozenset([ANNIVERSARY])

    @cached_property
    def filters(self) -> Filters:
        return (
            ("attribute", Comparison(equals=self.anniversary.attribute)),
            ("days_before", Comparison(equals=self.anniversary.offset)),
        )


class SegmentEntry(Entry):
    """Enter when the contact starts matching ``segment``: on the change (contact created,
    attribute changed, list joined or left) after which it matches and before which it did
    not. With ``enrol_existing``, activating the workflow also enrols every contact that
    matches already, ``per_minute`` contacts examined per minute."""

    segment: Condition
    enrol_existing: bool = False
    per_minute: int = Field(default=1000, ge=1, le=1_000_000)

    @property
    def event_names(self) -> frozenset[str]:
        return SEGMENT_CHANGES | {SEGMENT_BACKFILL}


_ENTRY_MODELS: tuple[type[Entry], ...] = (
    EventEntry,
    OrderCreatedEntry,
    CartUpdatedEntry,
    CartDeletedEntry,
    PageVisitedEntry,
    FormSubmittedEntry,
    ContactCreatedEntry,
    EmailOpenedEntry,
    EmailClickedEntry,
    EmailUnsubscribedEntry,
    DealCreatedEntry,
    DealStageChangedEntry,
    TaskCompletedEntry,
    ListAddedEntry,
    ListRemovedEntry,
    AttributeChangedEntry,
    AnniversaryEntry,
    SegmentEntry,
)
_KIND_OF_MODEL = {
    model: next(name for name in model.model_fields if name not in {"contacts", "where"})
    for model in _ENTRY_MODELS
}
ENTRY_KINDS: tuple[str, ...] = tuple(_KIND_OF_MODEL.values())


_MODEL_OF_KIND = {kind: model for model, kind in _KIND_OF_MODEL.items()}


def _entry_tag(value: Any) -> str | None:
    """The member of the union: its class name (which error locations leave out)."""
    if isinstance(value, BaseModel):
        return type(value).__name__
    if isinstance(value, Mapping):
        kinds = [k for k in value if k in _MODEL_OF_KIND]
        return _MODEL_OF_KIND[kinds[0]].__name__ if len(kinds) == 1 else None
    return None


EntryPoint = Annotated[
    Annotated[EventEntry, Tag("EventEntry")]
    | Annotated[OrderCreatedEntry, Tag("OrderCreatedEntry")]
    | Annotated[CartUpdatedEntry, Tag("CartUpdatedEntry")]
    | Annotated[CartDeletedEntry, Tag("CartDeletedEntry")]
    | Annotated[PageVisitedEntry, Tag("PageVisitedEntry")]
    | Annotated[FormSubmittedEntry, Tag("FormSubmittedEntry")]
    | Annotated[ContactCreatedEntry, Tag("ContactCreatedEntry")]
    | Annotated[EmailOpenedEntry, Tag("EmailOpenedEntry")]
    | Annotated[EmailClickedEntry, Tag("EmailClickedEntry")]
    | Annotated[EmailUnsubscribedEntry, Tag("EmailUnsubscribedEntry")]
    | Annotated[DealCreatedEntry, Tag("DealCreatedEntry")]
    | Annotated[DealStageChangedEntry, Tag("DealStageChangedEntry")]
    | Annotated[TaskCompletedEntry, Tag("TaskCompletedEntry")]
    | Annotated[ListAddedEntry, Tag("ListAddedEntry")]
    | Annotated[ListRemovedEntry, Tag("ListRemovedEntry")]
    | Annotated[AttributeChangedEntry, Tag("AttributeChangedEntry")]
    | Annotated[AnniversaryEntry, Tag("AnniversaryEntry")]
    | Annotated[SegmentEntry, Tag("SegmentEntry")],
    Discriminator(
        _entry_tag,
        custom_error_type="invalid_entry_point",
        custom_error_message="an entry point is an object with exactly one of: "
        + ", ".join(ENTRY_KINDS),
    ),
]


def names_listened(entry_points: Any) -> set[str]:
    """The event names stored (already validated) entry points listen to."""
    names: set[str] = set()
    for entry in entry_points if isinstance(entry_points, list) else ():
        if not isinstance(entry, Mapping):
            continue
        if isinstance(entry.get("event"), str):
            names.add(entry["event"])
        elif "segment" in entry:
            names |= SEGMENT_CHANGES | {SEGMENT_BACKFILL}
        else:
            names.update(k for k in entry if k in _MODEL_OF_KIND)
    return names


def lists_named_by(entry: Entry) -> set[str]:
    """The lists an entry point names (they must exist, like the lists steps use)."""
    if isinstance(entry, ListAddedEntry | ListRemovedEntry):
        names = entry.list_added if isinstance(entry, ListAddedEntry) else entry.list_removed
        return {names} if isinstance(names, str) else set(names)
    return set()


# --- anniversaries: pure date arithmetic ---------------------------------------------------


def anniversary_in(year: int, month: int, day: int) -> dt.date:
    """The date's anniversary in ``year``; 29 February is 28 February in other years."""
    if month == 2 and day == 29 and not _leap(year):
        return dt.date(year, 2, 28)
    return dt.date(year, month, day)


def parse_date(value: Any) -> dt.date | None:
    """A date attribute's value (ISO 8601 text, a date or a time is read by its date part)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def due_anniversary(value: Any, today: dt.date, days_before: int) -> dt.date | None:
    """The anniversary of ``value`` for which an entry ``days_before`` days before it (negative:
    after) is due on the contact's local date ``today``; None when none is."""
    date = parse_date(value)
    if date is None:
        return None
    target = today + dt.timedelta(days=days_before)
    if target.year < date.year:
        return None
    occurrence = anniversary_in(target.year, date.month, date.day)
    return occurrence if occurrence == target else None


def anniversary_properties(
    attribute: str, days_before: int, occurrence: dt.date, birth: dt.date
) -> dict[str, Any]:
    """The properties of an ``anniversary`` event (its entry point filters on the first two;
    templates may use ``years``, the age at the occurrence)."""
    return {
        "attribute": attribute,
        "days_before": days_before,
        "date": occurrence.isoformat(),
        "years": occurrence.year - birth.year,
    }


def month_days_due(utc_day: dt.date, days_before: int) -> set[str]:
    """``MM-DD`` of every date whose anniversary may be due somewhere on earth while it is
    ``utc_day`` in UTC (local dates run from the day before to the day after)."""
    found = set()
    for shift in (-1, 0, 1):
        target = utc_day + dt.timedelta(days=shift + days_before)
        found.add(f"{target.month:02d}-{target.day:02d}")
        if target.month == 2 and target.day == 28 and not _leap(target.year):
            found.add("02-29")
    return found


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
