"""What request handlers may use of the service: the `ServiceContext` protocol.

Handlers (`middleware.service.requests`, `middleware.service.fetch`) are written against
this protocol, never against `middleware.service.server.Service`, so the server imports
its handlers and no handler imports the server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from middleware.service.config import ServiceConfig
from middleware.service.encoded_files import EncodedFiles
from middleware.service.library import MusicLibrary
from middleware.service.player import PlayerFactory
from middleware.service.session import Session, SessionRecords, SessionTable, StreamState
from middleware.templates.model import TemplatePack


class ServiceContext(Protocol):
    packs: dict[str, TemplatePack]
    library: MusicLibrary
    player_factory: PlayerFactory
    config: ServiceConfig
    sessions: SessionTable
    records: SessionRecords
    pub_endpoint: str
    encoded_files: EncodedFiles

    def end_session(self, session: Session) -> None: ...

    def prioritise(self, session: Session, state: str) -> None: ...

    def lookup_for(self, pack: str) -> Callable[[str], Any]: ...

    def pack_for(self, name: str | None, session: Session | None) -> TemplatePack: ...

    def readiness(self, pack: TemplatePack) -> Mapping[str, int]: ...

    def start_stream(
        self,
        session: Session,
        pcm_format: str,
        block_frames: int,
        credits: int,
        rewind: bool = False,
    ) -> StreamState: ...

    def rewind(self, session: Session, replace_from: int | None) -> dict[str, int] | None: ...

    def stop_stream(self, session: Session) -> StreamState | None: ...

    def add_credits(self, stream: StreamState, credits: int) -> None: ...

    def peer_of(self, routing_id: bytes) -> str: ...
