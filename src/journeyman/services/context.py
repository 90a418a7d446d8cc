"""What every service needs: the database, the clock, the settings and the signing keys."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.engine import Engine

from journeyman.clock import Clock
from journeyman.config import Settings
from journeyman.signing import SigningKeys


class Context(Protocol):
    """The application's shared parts; :class:`journeyman.app.App` is one."""

    @property
    def engine(self) -> Engine: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def keys(self) -> SigningKeys: ...
