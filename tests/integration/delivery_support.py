"""Helpers of the engine-to-SMTP integration tests: a recording SMTP server on loopback and
the installed command. Fixtures are in conftest.py."""

from __future__ import annotations

import email
import email.policy
import os
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any


@dataclass(frozen=True)
class Mail:
    recipients: tuple[str, ...]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def body(self, subtype: str) -> str:
        part = self.message.get_body((subtype,))
        assert part is not None, f"no text/{subtype} part"
        return str(part.get_content())


@dataclass
class MailHandler:
    """Records accepted messages; answers the recipients in ``refusals`` with that reply.
    ``refusals`` may be changed while the server runs."""

    refusals: dict[str, str] = field(default_factory=dict)
    received: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            refusal = self.refusals.get(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.received.append(Mail(tuple(envelope.rcpt_tos), message))
        return "250 OK"

    def mails(self) -> list[Mail]:
        with self.lock:
            return list(self.received)

    def refuse(self, refusals: dict[str, str]) -> None:
        with self.lock:
            self.refusals = dict(refusals)


@dataclass(frozen=True)
class MailServer:
    handler: MailHandler
    port: int

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=10"


def clean_environment(**extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYMAN_")}
    environment.update(COLUMNS="250", NO_COLOR="1", TERM="dumb")
    environment.update(extra)
    return environment
