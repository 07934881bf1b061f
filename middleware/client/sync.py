"""The blocking Python client: `AsyncClient` driven from a private event-loop thread.

    with Client("tcp://127.0.0.1:5570") as client:
        client.hello()
        client.event("battle", intensity=0.8)

Callbacks registered with `on(...)` run on the client's loop thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from middleware.client.aio import AsyncClient, ClientCurve, NotificationCallback
from middleware.client.results import EventAck, Hello

T = TypeVar("T")


class Client:
    def __init__(
        self,
        endpoint: str,
        *,
        name: str = "ostinato-python/0.1",
        timeout_s: float = 5.0,
        curve: ClientCurve | None = None,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="ostinato-client"
        )
        self._thread.start()
        self._client: AsyncClient = self._run(
            _make(endpoint, name=name, timeout_s=timeout_s, curve=curve)
        )

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    @property
    def session(self) -> str | None:
        return self._client.session

    @property
    def resume_token(self) -> str | None:
        """The secret that, with `session`, resumes the session (from the hello reply)."""
        return self._client.resume_token

    def hello(self, **kwargs: Any) -> Hello:
        return self._run(self._client.hello(**kwargs))

    def request(self, request_type: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._run(self._client.request(request_type, body))

    def ping(self, t: Any = None) -> dict[str, Any]:
        return self._run(self._client.ping(t))

    def status(self) -> dict[str, Any]:
        return self._run(self._client.status())

    def list(self, pack: str | None = None) -> dict[str, Any]:
        return self._run(self._client.list(pack))

    def event(self, state: str, **kwargs: Any) -> EventAck:
        return self._run(self._client.event(state, **kwargs))

    def intensity(self, value: float) -> float:
        return self._run(self._client.intensity(value))

    def stinger(self, name: str) -> dict[str, Any]:
        return self._run(self._client.stinger(name))

    def fetch(self, state: str, **kwargs: Any) -> bytes:
        return self._run(self._client.fetch(state, **kwargs))

    def fetch_rendition(self, stinger: str, state: str, **kwargs: Any) -> bytes:
        return self._run(self._client.fetch_rendition(stinger, state, **kwargs))

    def fetch_bridge(self, source: str, target: str, **kwargs: Any) -> bytes:
        return self._run(self._client.fetch_bridge(source, target, **kwargs))

    def on(self, topic: str, callback: NotificationCallback) -> None:
        self._client.on(topic, callback)

    def bye(self) -> None:
        self._run(self._client.bye())

    def close(self) -> None:
        if self._loop.is_running():
            self._run(self._client.close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _make(endpoint: str, **kwargs: Any) -> AsyncClient:
    return await AsyncClient(endpoint, **kwargs).connect()
