"""The Ostinato ZeroMQ service (docs/protocol.md): sessions, PCM stream, notifications.

Import `middleware.service.server.Service`; this package import stays cheap.
"""
