"""The studio's web server: static page assets, JSON routes and the WebSocket (aiohttp).

`Studio` owns the ZeroMQ `Service` it drives (same process, same event loop) and an
aiohttp application bound to a loopback port. The server never renders HTML: `/` is the
shipped `static/index.html`, the page asks `/api/...` for JSON and opens `/ws`.
"""

from __future__ import annotations

import contextlib
import logging
from importlib import resources
from pathlib import Path
from typing import Any

import zmq.asyncio
from aiohttp import web

from engine_core.errors import OstinatoError
from middleware.service.server import Service
from middleware.studio import service_link
from middleware.studio.gateway import PageLink
from middleware.studio.origin import check_origin, is_loopback_host
from middleware.studio.pack_view import pack_view
from middleware.studio.panels import Panels
from middleware.studio.variant_choices import VariantChoices

log = logging.getLogger(__name__)

STATIC = resources.files("middleware.studio") / "static"
#: WebSocket messages above this many times the protocol's cap close the socket (1009);
#: below it an oversized request gets the protocol's `too_large` error reply
WS_SLACK_FACTOR = 4


class Studio:
    """Serve the studio page for the first pack of `service` on http://host:port/."""

    def __init__(
        self,
        service: Service,
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        allowed_origins: tuple[str, ...] = (),
    ) -> None:
        if not is_loopback_host(host) and not allowed_origins:
            from middleware.service.errors import ServiceConfigError

            raise ServiceConfigError(
                f"refusing to serve the studio on {host}: loopback only unless "
                "--allow-origin names the pages that may use it",
                {"host": host},
            )
        self.service = service
        self.pack_name = service.default_pack
        self.host = host
        self.port = port
        self.allowed_origins = allowed_origins
        self.links: set[PageLink] = set()
        self.panels = Panels(self)
        self.choices = VariantChoices(self)
        self.url = ""
        self._context: zmq.asyncio.Context | None = None
        self._runner: web.AppRunner | None = None

    @property
    def pack(self):  # -> TemplatePack
        return service_link.served_pack(self.service, self.pack_name)

    def ready(self, name: str) -> int:
        found = service_link.variant_set(self.service, self.pack_name, name)
        return 0 if found is None else len(found.variants)

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> str:
        await self.service.start()
        self._context = zmq.asyncio.Context()
        app = web.Application(client_max_size=1 << 20)
        app.add_routes(
            [
                web.get("/", self._index),
                web.get("/static/{name}", self._static),
                web.get("/api/pack", self._pack),
                web.get("/ws", self._socket),
                *self.panels.routes(),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            await self.service.stop()
            self._context.term()
            from middleware.service.errors import ServiceStartError

            raise ServiceStartError(
                f"cannot serve the studio on {self.host}:{self.port}: {error.strerror}"
                " (try --port 0 for any free port)",
                {"host": self.host, "port": self.port},
            ) from None
        port = self._runner.addresses[0][1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{port}/"
        return self.url

    async def stop(self) -> None:
        await self.choices.close()
        for link in list(self.links):
            with contextlib.suppress(Exception):
                await link.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.service.stop()
        if self._context is not None:
            self._context.term()

    async def __aenter__(self) -> Studio:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def broadcast(self, topic: str, body: dict[str, Any]) -> None:
        """A studio notification to every open page (pack edited, re-roll started...)."""
        for link in self.links:
            link.notify(topic, body)

    # -- routes -------------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return _static_file("index.html")

    async def _static(self, request: web.Request) -> web.StreamResponse:
        return _static_file(request.match_info["name"])

    async def _pack(self, request: web.Request) -> web.Response:
        view = pack_view(self.pack, self.ready)
        view["endpoint"] = self.service.endpoint
        view["pub_endpoint"] = self.service.pub_endpoint
        return web.json_response(view)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        try:
            check_origin(
                request.headers.get("Origin"), request.headers.get("Host"), self.allowed_origins
            )
        except OstinatoError as error:
            return web.json_response({"error": error.to_wire()}, status=403)
        limit = self.service.config.max_message_bytes
        socket = web.WebSocketResponse(max_msg_size=WS_SLACK_FACTOR * limit, heartbeat=None)
        await socket.prepare(request)
        assert self._context is not None
        link = PageLink(
            socket,
            self._context,
            self.service.endpoint,
            self.service.pub_endpoint,
            max_message_bytes=limit,
        )
        self.links.add(link)
        try:
            await link.run()
        finally:
            self.links.discard(link)
        return socket


def _static_file(name: str) -> web.StreamResponse:
    """A shipped asset by plain file name (no paths: nothing outside static/ is served)."""
    if "/" in name or "\\" in name or name.startswith("."):
        raise web.HTTPNotFound()
    entry = STATIC / name
    if not entry.is_file():
        raise web.HTTPNotFound()
    headers = {"Cache-Control": "no-cache"}
    return web.FileResponse(Path(str(entry)), headers=headers)
