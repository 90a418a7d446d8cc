"""Settings, read from the environment once, at the edge (CLI, server start)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The embedded default: a SQLite file in the working directory.
DEFAULT_URL = "sqlite:///journeyman.db"


# The value that signed tokens before a secret was generated for each database: it is in
# the source code, so it is refused (a token signed with it must never verify).
RETIRED_DEVELOPMENT_SECRET = "journeyman-development-secret"
MIN_SECRET_LENGTH = 16


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


def _secret(value: str) -> Secret | None:
    if not value:
        return None
    if value == RETIRED_DEVELOPMENT_SECRET:
        raise ValueError(
            "JOURNEYMAN_SECRET is the old development value, which is public: unset it (a "
            "secret is then generated and kept in the database) or set a random one"
        )
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"JOURNEYMAN_SECRET has {len(value)} characters: expected at least "
            f"{MIN_SECRET_LENGTH} random ones (e.g. python -c 'import secrets; "
            "print(secrets.token_hex(32))')"
        )
    return Secret(value)


def _listed(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


@dataclass(frozen=True, kw_only=True)
class Settings:
    database_url: str = DEFAULT_URL
    smtp_url: Secret | None = None  # None: emails are captured in the outbox
    # JOURNEYMAN_SECRET; None: the database's own secret (generated on first use, rotated
    # with ``journeyman secret rotate``: journeyman.signing).
    secret: Secret | None = None
    batch_size: int = 1000
    sms_url: Secret | None = None  # a Twilio-compatible provider; None: captured
    webhook_allow_networks: tuple[str, ...] = ()  # private networks webhooks may call
    public_url: str | None = None  # where the HTTP API is reachable (unsubscribe links)
    default_timezone: str = "UTC"  # for contacts without a time zone of their own
    tracker_origins: tuple[str, ...] = ()  # web pages whose tracker may call /api/v2 (CORS)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        smtp = environ.get("JOURNEYMAN_SMTP_URL", "").strip()
        return cls(
            database_url=environ.get("JOURNEYMAN_DATABASE_URL", "").strip() or DEFAULT_URL,
            smtp_url=Secret(smtp) if smtp else None,
            secret=_secret(environ.get("JOURNEYMAN_SECRET", "").strip()),
            batch_size=int(environ.get("JOURNEYMAN_BATCH_SIZE", "1000")),
            sms_url=Secret(sms) if (sms := environ.get("JOURNEYMAN_SMS_URL", "").strip()) else None,
            webhook_allow_networks=_listed(environ.get("JOURNEYMAN_WEBHOOK_ALLOW_NETWORKS", "")),
            public_url=environ.get("JOURNEYMAN_PUBLIC_URL", "").strip() or None,
            default_timezone=_zone(environ.get("JOURNEYMAN_DEFAULT_TIMEZONE", "").strip() or "UTC"),
            tracker_origins=_listed(environ.get("JOURNEYMAN_TRACKER_ORIGINS", "")),
        )
