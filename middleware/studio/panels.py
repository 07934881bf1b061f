"""Routes of the studio's panels beyond live play: the state editor, re-roll, the gallery.

Each panel adds its own small route set (JSON in, JSON or audio out); the live-play panel
needs only `/api/pack` and the WebSocket. Slow work (validating and writing a pack,
encoding audio, reading a variant's notes) runs in a thread so the service's event loop,
which also pumps every session's PCM, never waits for it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import web

from engine_core.errors import OstinatoError
from middleware.errors import TemplateError, UnknownStateError
from middleware.protocol.errors import BadFieldError, BadMessageError, TooLargeError
from middleware.studio import service_link
from middleware.studio.editor import (
    check_change,
    check_rule_change,
    write_change,
    write_pack_file,
)
from middleware.studio.gallery import variant_gallery, variant_wav
from middleware.studio.pack_view import rule_view, state_view

if TYPE_CHECKING:
    from middleware.studio.app import Studio

#: largest JSON body a panel accepts (an edited state is a few kB)
MAX_BODY_BYTES = 65536


class Panels:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self._saving = asyncio.Lock()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/state/{name}", self._get_state),
            web.post("/api/state/{name}", self._post_state),
            web.post("/api/reroll/{name}", self._reroll),
            web.post("/api/pin/{name}/{index}", self._pin),
            web.post("/api/transition", self._post_rule),
            web.get("/api/variants/{name}", self._variants),
            web.get("/api/audio/{name}/{index}", self._audio),
        ]

    # -- editor -------------------------------------------------------------------------

    async def _get_state(self, request: web.Request) -> web.Response:
        try:
            return web.json_response(self._state_json(request.match_info["name"]))
        except OstinatoError as error:
            return error_response(error)

    def _state_json(self, name: str) -> dict[str, Any]:
        studio = self.studio
        state = studio.pack.state(name)  # UnknownStateError
        view = state_view(state, studio.ready(name))
        inferred = getattr(state, "inferred", None)  # prompt inference, where the pack has it
        if inferred:
            view["inferred"] = [value.to_json() for value in inferred]
        return view

    async def _post_state(self, request: web.Request) -> web.Response:
        try:
            body = await _json_body(request)
            change = body.get("change")
            if not isinstance(change, dict):
                raise BadMessageError("the body needs a 'change' map", {"reason": "change"})
            return web.json_response(await self._save(request.match_info["name"], change))
        except TemplateError as error:
            return error_response(error, status=422)
        except OstinatoError as error:
            return error_response(error)

    async def _post_rule(self, request: web.Request) -> web.Response:
        """Change the rule of one (source, target) pair in pack.toml."""
        studio = self.studio
        try:
            body = await _json_body(request)
            source, target, change = body.get("from"), body.get("to"), body.get("change")
            if not (isinstance(source, str) and isinstance(target, str)):
                raise BadMessageError("the body needs 'from' and 'to' states", {"reason": "from"})
            if not isinstance(change, dict):
                raise BadMessageError("the body needs a 'change' map", {"reason": "change"})
            async with self._saving:
                loop = asyncio.get_running_loop()
                pending = await loop.run_in_executor(
                    None, check_rule_change, studio.pack, source, target, change
                )
                pack = await loop.run_in_executor(None, write_pack_file, pending)
                service_link.serve_pack(studio.service, pack)
        except TemplateError as error:
            return error_response(error, status=422)
        except OstinatoError as error:
            return error_response(error)
        rule = rule_view(pack.transition(source, target))
        studio.broadcast("studio.rules", {"from": source, "to": target, "rule": rule})
        return web.json_response({"ok": True, "file": pending.file.name, "rule": rule})

    async def _reroll(self, request: web.Request) -> web.Response:
        """`{}`: a new seed for the state (written to its file, so the result reproduces)
        for every unpinned variant; `{"variant": i}`: a new seed for that variant only
        (kept in the pack's studio-variants.json; the answer comes before the music)."""
        studio = self.studio
        try:
            name = request.match_info["name"]
            studio.pack.state(name)
            body = await _json_body(request) if request.can_read_body else {}
            variant = body.get("variant")
            if variant is not None:
                if isinstance(variant, bool) or not isinstance(variant, int):
                    raise BadFieldError(
                        "variant must be an integer", {"field": "variant", "expected": "int"}
                    )
                seed = studio.choices.reroll_one(name, variant)
                return web.json_response(
                    {"ok": True, "state": name, "variant": variant, "seed": seed}
                )
            service_link.check_can_regenerate(studio.service)
            studio.choices.check_file()  # refused before anything is written
            seed = secrets.randbelow(2**31)
            result = await self._save(name, {"seed": seed})
            # only pinned slots stay (the new set is composed in a task after this)
            studio.choices.after_reroll_all(name)
            return web.json_response(result)
        except OstinatoError as error:
            return error_response(error)

    async def _pin(self, request: web.Request) -> web.Response:
        """`{"pinned": true|false}`: keep variant `index` through re-rolls and restarts."""
        studio = self.studio
        try:
            name = request.match_info["name"]
            studio.pack.state(name)
            index = _index(request.match_info["index"], studio.pack.state(name).variants)
            body = await _json_body(request)
            pinned = body.get("pinned")
            if not isinstance(pinned, bool):
                raise BadFieldError(
                    "pinned must be true or false", {"field": "pinned", "expected": "bool"}
                )
            slots = studio.choices.pin(name, index, pinned)
        except OstinatoError as error:
            return error_response(error)
        studio.broadcast("studio.pins", {"state": name, "slots": slots})
        return web.json_response({"ok": True, "state": name, "slots": slots})

    async def _save(self, name: str, change: dict[str, Any]) -> dict[str, Any]:
        studio = self.studio
        async with self._saving:
            loop = asyncio.get_running_loop()
            pending = await loop.run_in_executor(None, check_change, studio.pack, name, change)
            service_link.check_can_regenerate(studio.service)  # before anything is written
            saved = await loop.run_in_executor(None, write_change, pending)
            await service_link.regenerate(studio.service, saved.pack, saved.state)
        result = {
            "ok": True,
            "state": name,
            "file": saved.file.name,
            "old_hash": saved.old_hash,
            "new_hash": saved.state.generation_hash,
            "seed": saved.state.seed,
            "view": self._state_json(name),
        }
        studio.broadcast("studio.saved", {k: v for k, v in result.items() if k != "view"})
        return result

    # -- gallery ------------------------------------------------------------------------

    async def _variants(self, request: web.Request) -> web.Response:
        try:
            name = request.match_info["name"]
            found = self._set(name)
            loop = asyncio.get_running_loop()
            view = await loop.run_in_executor(None, variant_gallery, found, self.studio.pack)
            if name in self.studio.pack.states:
                view["slots"] = self.studio.choices.view(name, len(found.variants))
            return web.json_response(view)
        except OstinatoError as error:
            return error_response(error)

    async def _audio(self, request: web.Request) -> web.StreamResponse:
        try:
            name = request.match_info["name"]
            found = self._set(name)
            index = _index(request.match_info["index"], len(found.variants))
            stems = request.query.get("stems")
            chosen = None if stems is None else [s for s in stems.split(",") if s]
            loop = asyncio.get_running_loop()
            data = await loop.run_in_executor(None, variant_wav, found.variants[index], chosen)
        except OstinatoError as error:
            return error_response(error)
        return web.Response(body=data, content_type="audio/wav")

    def _set(self, name: str):  # -> VariantSet
        pack = self.studio.pack
        if name not in pack.states and name not in pack.stingers:
            raise UnknownStateError(
                f"no state or stinger {name!r} in pack {pack.name!r}",
                {"state": name, "states": sorted([*pack.states, *pack.stingers])},
            )
        found = service_link.variant_set(self.studio.service, pack.name, name)
        if found is None:
            from middleware.protocol.errors import NotReadyError

            raise NotReadyError(f"{name!r} is not generated yet", {"name": name})
        return found


def _index(text: str, count: int) -> int:
    if not text.isdigit() or int(text) >= count:
        raise BadFieldError(
            f"variant {text!r} out of range: there are {count}",
            {"field": "variant", "expected": f"int in [0, {count - 1}]"},
        )
    return int(text)


async def _json_body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise TooLargeError(
            f"body of {request.content_length} bytes exceeds the {MAX_BODY_BYTES}-byte cap",
            {"size": request.content_length, "limit": MAX_BODY_BYTES},
        )
    raw = await request.content.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise TooLargeError(
            f"body exceeds the {MAX_BODY_BYTES}-byte cap",
            {"size": len(raw), "limit": MAX_BODY_BYTES},
        )
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise BadMessageError("body is not valid JSON", {"reason": str(error)}) from None
    if not isinstance(body, dict):
        raise BadMessageError("body must be a JSON object", {"reason": type(body).__name__})
    return body


def error_response(error: OstinatoError, status: int = 400) -> web.Response:
    return web.json_response({"ok": False, "error": error.to_wire()}, status=status)
