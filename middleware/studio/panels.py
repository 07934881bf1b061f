"""Routes of the studio's panels beyond live play (gallery, editor, matrix).

Each panel adds its own small route set; the live-play panel needs only `/api/pack` and
the WebSocket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from middleware.studio.app import Studio


class Panels:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    def routes(self) -> list[web.RouteDef]:
        return []
