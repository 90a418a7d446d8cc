"""Settings, read from the environment once, at the edge (CLI, server start)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from journeyman.store.database import DEFAULT_URL

DEV_SECRET = "journeyman-development-secret"


class Secret:
    """A string that does not show itself in ``repr`` or logs."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)


def _zone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"JOURNEYMAN_DEFAULT_TIMEZONE {name!r} is not an IANA time zone") from None
    return name


@dataclass(frozen=True, kw_only=True)
class Settings:
    database_url: str = DEFAULT_URL
    smtp_url: Secret | None = None  # None: emails are captured in the outbox
    secret: Secret = field(default_factory=lambda: Secret(DEV_SECRET))
    batch_size: int = 1000
    sms_url: Secret | None = None  # a Twilio-compatible provider; None: captured
    webhook_allow_networks: tuple[str, ...] = ()  # private networks webhooks may call
    public_url: str | None = None  # where the HTTP API is reachable (unsubscribe links)
    default_timezone: str = "UTC"  # for contacts without a time zone of their own

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        smtp = environ.get("JOURNEYMAN_SMTP_URL", "").strip()
        return cls(
            database_url=environ.get("JOURNEYMAN_DATABASE_URL", "").strip() or DEFAULT_URL,
            smtp_url=Secret(smtp) if smtp else None,
            secret=Secret(environ.get("JOURNEYMAN_SECRET", "").strip() or DEV_SECRET),
            batch_size=int(environ.get("JOURNEYMAN_BATCH_SIZE", "1000")),
            sms_url=Secret(sms) if (sms := environ.get("JOURNEYMAN_SMS_URL", "").strip()) else None,
            webhook_allow_networks=tuple(
                n.strip()
                for n in environ.get("JOURNEYMAN_WEBHOOK_ALLOW_NETWORKS", "").split(",")
                if n.strip()
            ),
            public_url=environ.get("JOURNEYMAN_PUBLIC_URL", "").strip() or None,
            default_timezone=_zone(environ.get("JOURNEYMAN_DEFAULT_TIMEZONE", "").strip() or "UTC"),
        )
