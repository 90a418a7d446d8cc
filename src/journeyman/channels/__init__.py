"""Outbound channels: transports that deliver rendered messages."""
