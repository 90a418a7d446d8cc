"""The store: one SQLAlchemy Core implementation for SQLite and PostgreSQL.

Modules hold the verbs of one aggregate each (contacts, lists, events, workflows, runs,
outbox); a function whose name ends in ``_txn`` runs inside the caller's transaction.
"""

from journeyman.config import DEFAULT_URL
from journeyman.store.database import (
    make_engine,
    normalize_url,
    read_transaction,
    transaction,
    write,
)

__all__ = [
    "DEFAULT_URL",
    "make_engine",
    "normalize_url",
    "read_transaction",
    "transaction",
    "write",
]
