"""Every error Journeyman raises on purpose.

    JourneymanError
    ├── InvalidInput                 bad data from a user: names the field, value, expectation
    │   ├── InvalidWorkflow          a workflow document refused at apply time (step id and field)
    │   ├── InvalidContact           a contact or attribute value refused on write
    │   ├── InvalidEvent             an event refused at ingestion
    │   └── Duplicate                a name or value that must be unique is taken already
    ├── NotFound                     a contact, list, workflow or message that does not exist
    ├── StoreError                   the database failed (driver errors are wrapped into this)
    ├── WorkerFailed                 an engine worker process (run --workers) ended on its own
    └── DeliveryError                an outbound channel failed to deliver a message
        ├── TransientDeliveryError   a retry may fix it (4xx replies, timeouts, refused connections)
        └── PermanentDeliveryError   a retry will not fix it (5xx SMTP replies, bad recipient)

The class docstring is the default message. HTTP status mapping belongs to the API layer only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class JourneymanError(Exception):
    """Journeyman failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class InvalidInput(JourneymanError):
    """The input is invalid."""


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One thing wrong with a document: where (step id, field path) and what. ``code`` names
    the kind of problem for a program (a UI showing it in another language): pydantic's error
    type (``missing``, ``extra_forbidden``, ...) or one of ours (``unknown_target``,
    ``unreachable``, ``duplicate_id``, ``unknown_attribute``, ...); None when only the message
    says it. Codes are stable; messages may change."""

    message: str
    step: str | None = None
    field: str | None = None
    code: str | None = None

    def __str__(self) -> str:
        where = []
        if self.step is not None:
            where.append(f"step {self.step!r}")
        if self.field:
            where.append(f"field {self.field!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class InvalidWorkflow(InvalidInput):
    """The workflow document is invalid."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"the workflow is invalid:\n{lines}")


class InvalidContact(InvalidInput):
    """The contact data is invalid."""


class InvalidEvent(InvalidInput):
    """The event is invalid."""


class Duplicate(InvalidInput):
    """The value must be unique, and is taken already."""


class NotFound(JourneymanError):
    """The requested object does not exist."""


class StoreError(JourneymanError):
    """The database failed."""


class WorkerFailed(JourneymanError):
    """An engine worker process ended unexpectedly."""


class DeliveryError(JourneymanError):
    """The message could not be delivered."""

    retryable: bool = False


class TransientDeliveryError(DeliveryError):
    """The message could not be delivered this time; a retry may succeed."""

    retryable = True


class PermanentDeliveryError(DeliveryError):
    """The message cannot be delivered; retrying will not help."""

    retryable = False
