"""How Journeyman's processes run: ``serve`` (the API with the engine beside it), the engine
for good (``worker``) or until idle, in one process or in shards of processes, and the one
mechanism that starts a child process and supervises it (:mod:`.children`).

The outermost layer with ``cli``: it imports the application (``app``, ``api``), never the
reverse."""
