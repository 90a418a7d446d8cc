"""The benchmark of the source document's example: ``python -m bench`` (``make bench``).

Each configuration (backend, contacts, batch size) runs in its own process (``bench.worker``)
on a fresh database, so the peak RSS it reports is that run's own. ``bench.__main__`` plans the
runs and prints the results (``bench.report``).
"""

TARGET_CONTACTS = 100_000
TARGETS = {"sqlite": 20_000, "postgres": 10_000}  # contacts/s at TARGET_CONTACTS
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
