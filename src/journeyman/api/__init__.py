"""The HTTP API: Brevo's v3 wire format for contacts, lists, attributes and events (so
Brevo's SDKs work against it), and the legacy tracker. ``create_app`` builds it."""

from journeyman.api.app import create_app

__all__ = ["create_app"]
