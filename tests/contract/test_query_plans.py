"""PostgreSQL plans a statement for the values it is run with, on every connection.

psycopg prepares a statement run five times, and PostgreSQL then caches a generic plan for
it, worked out once, from the table's size at that moment, and kept for as long as the
connection lives unless an ANALYZE comes by. The engine's first lookups run while its tables
are nearly empty: the generic plan of ``id = ANY($1)`` on a wide table like ``contacts`` is
then a sequential scan comparing every row with every value, kept while the table grows.
Measured in the ingestion benchmark: at 300,000 contacts one such lookup of 1,000 ids took
about 0.7 s, and the engine's drain fell from ~5,000 to ~1,100 emails/s.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from journeyman.app import App
from journeyman.config import Settings
from journeyman.store.contacts import load_contacts_txn

pytestmark = pytest.mark.postgres

RUNS = 12  # psycopg prepares after 5 runs; PostgreSQL tries 5 custom plans before a generic


def test_a_lookup_by_ids_first_run_on_a_small_table_uses_the_index_once_the_table_is_large(
    pg_url: str,
) -> None:
    app = App.open(Settings(database_url=pg_url))
    try:
        with app.engine.connect() as connection:
            with connection.begin():
                mode = connection.exec_driver_sql("SHOW plan_cache_mode").scalar()
                _add_contacts(connection, 10)
                few = _ids(connection, 10)
            for _ in range(RUNS):  # while the table is small, on this one connection
                with connection.begin():
                    assert len(load_contacts_txn(connection, few)) == 10
            with connection.begin():
                _add_contacts(connection, 20_000)
                some = _ids(connection, 20)

            with (
                connection.begin()
            ):  # the counts of this backend not yet reported, before and after
                before = _scans(connection)
                found = load_contacts_txn(connection, some)
                after = _scans(connection)

        assert mode == "force_custom_plan"
        assert sorted(found) == some
        assert after[0] == before[0], "the contacts table was scanned whole for 20 ids"
        assert after[1] > before[1]
    finally:
        app.close()


def _add_contacts(connection: sa.Connection, count: int) -> None:
    connection.exec_driver_sql(
        "INSERT INTO contacts (email, attributes, created_at, modified_at) "
        "SELECT 'c' || g || '-' || md5(random()::text) || '@plans.example', "
        '\'{"FIRSTNAME": "Ada"}\'::jsonb, now(), now() '
        f"FROM generate_series(1, {count}) AS g"
    )


def _scans(connection: sa.Connection) -> tuple[int, int]:
    """Sequential and index scans of ``contacts`` by this backend (``pg_stat_xact``)."""
    row = connection.exec_driver_sql(
        "SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'contacts'"
    ).one()
    return int(row[0]), int(row[1])


def _ids(connection: sa.Connection, count: int) -> list[int]:
    rows = connection.exec_driver_sql(f"SELECT id FROM contacts ORDER BY id DESC LIMIT {count}")
    return sorted(r[0] for r in rows)
