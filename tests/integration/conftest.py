"""Integration tier fixtures: a recording SMTP server on loopback. The databases (``db_url``,
``app``, ``clock``) come from tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loopback import EphemeralController

from .delivery_support import MailHandler, MailServer


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    """An SMTP server on 127.0.0.1 (port chosen by the OS) recording every message."""
    handler = MailHandler()
    controller = EphemeralController(handler, hostname="127.0.0.1", server_hostname="mx.test")
    controller.start()
    try:
        yield MailServer(handler, controller.port)
    finally:
        controller.stop()
