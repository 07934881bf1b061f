"""The Python client of the Ostinato service (sync `Client`, asyncio `AsyncClient`)."""

from middleware.client.aio import AsyncClient, ClientCurve, ClientTimeout
from middleware.client.results import EventAck, Hello, Notification, StreamInfo, Transition
from middleware.client.stream import StreamPlayer
from middleware.client.sync import Client

__all__ = [
    "AsyncClient",
    "Client",
    "ClientCurve",
    "ClientTimeout",
    "EventAck",
    "Hello",
    "Notification",
    "StreamInfo",
    "StreamPlayer",
    "Transition",
]
