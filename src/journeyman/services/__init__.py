"""The application layer: every verb the edges use, each in its own transaction.

The edges — ``cli``, ``api/``, the simulator and the demo — call only these modules; they
never import ``store/``. A service function opens its own transaction: a read transaction
(``store.read_transaction``: no write lock on SQLite) for what only reads, ``store.write`` (or
``store.transaction``) for what writes. Modules are named after the concern they serve
(contacts, lists, workflows, events, reports, ...), and take a :class:`Context` — the
database, the clock, the settings and the signing keys — as their first argument.
"""

from journeyman.services.context import Context

__all__ = ["Context"]
