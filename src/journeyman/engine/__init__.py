"""The engine: triggers (events -> enrolments), the stepper (claim, group, run, apply) and
the dispatcher (outbox -> transports)."""
