"""Request schemas: each request type's body fields, their types, defaults and ranges.

`validate_body(type, body)` returns the body with defaults filled and unknown keys
dropped, or raises `UnknownTypeError`, `MissingFieldError` or `BadFieldError`
(docs/protocol.md, "Requests and replies").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from middleware.protocol.errors import BadFieldError, MissingFieldError, UnknownTypeError

MAX_CLIENT_NAME_CHARS = 128
MAX_PARAMS_KEYS = 64
MAX_NAME_CHARS = 256
MIN_BLOCK_FRAMES = 128
MAX_BLOCK_FRAMES = 8192
DEFAULT_BLOCK_FRAMES = 1024
DEFAULT_MAX_CREDITS = 64
FETCH_FORMATS: tuple[str, ...] = ("wav", "ogg", "flac")

_MISSING = object()


@dataclass(frozen=True)
class FieldSpec:
    """One body field. `kind`: int, float, str, bool, map, any, list[int], list[str]."""

    name: str
    kind: str
    required: bool = False
    default: Any = None
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    max_len: int | None = None

    def expected(self) -> str:
        text = self.kind + ("?" if self.nullable else "")
        if self.choices:
            text += " one of " + ", ".join(self.choices)
        if self.minimum is not None or self.maximum is not None:
            text += f" in [{self.minimum}, {self.maximum}]"
        if self.max_len is not None:
            text += f" (at most {self.max_len} long)"
        return text


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "any":
        return True
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "map":
        return isinstance(value, dict)
    if kind == "list[int]":
        return isinstance(value, list) and all(_type_ok("int", item) for item in value)
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    raise ValueError(f"unknown field kind {kind!r}")


def _check(spec: FieldSpec, value: Any) -> Any:
    if value is None and spec.nullable:
        return None
    problem = None
    if not _type_ok(spec.kind, value):
        problem = f"wrong type {type(value).__name__}"
    elif spec.kind in ("int", "float"):
        if value != value:  # NaN
            problem = "NaN"
        elif spec.minimum is not None and value < spec.minimum:
            problem = f"{value} below {spec.minimum}"
        elif spec.maximum is not None and value > spec.maximum:
            problem = f"{value} above {spec.maximum}"
    elif spec.choices is not None and value not in spec.choices:
        problem = f"{value!r} not allowed"
    elif spec.max_len is not None and len(value) > spec.max_len:
        problem = f"length {len(value)} above {spec.max_len}"
    if problem is not None:
        raise BadFieldError(
            f"field {spec.name!r}: {problem} (expected {spec.expected()})",
            {"field": spec.name, "expected": spec.expected()},
        )
    return float(value) if spec.kind == "float" else value


def _fields(*specs: FieldSpec) -> dict[str, FieldSpec]:
    return {spec.name: spec for spec in specs}


#: request type -> its body fields
REQUEST_SCHEMAS: dict[str, dict[str, FieldSpec]] = {
    "hello": _fields(
        FieldSpec("versions", "list[int]", required=True, max_len=16),
        FieldSpec("client", "str", required=True, max_len=MAX_CLIENT_NAME_CHARS),
        FieldSpec("capabilities", "list[str]", default=[], max_len=64),
        FieldSpec("resume", "str", nullable=True, max_len=64),
        FieldSpec("pack", "str", nullable=True, max_len=MAX_NAME_CHARS),
        FieldSpec("resume_token", "str", nullable=True, max_len=64),
    ),
    "ping": _fields(FieldSpec("t", "any")),
    "bye": {},
    "list": _fields(FieldSpec("pack", "str", nullable=True, max_len=MAX_NAME_CHARS)),
    "status": {},
    "event": _fields(
        FieldSpec("state", "str", required=True, max_len=MAX_NAME_CHARS),
        FieldSpec("intensity", "float", nullable=True, minimum=0.0, maximum=1.0),
        FieldSpec("params", "map", default={}, max_len=MAX_PARAMS_KEYS),
        FieldSpec("replace_from", "int", nullable=True, minimum=0, maximum=2**62),
    ),
    "intensity": _fields(
        FieldSpec("value", "float", required=True, minimum=0.0, maximum=1.0),
        FieldSpec("replace_from", "int", nullable=True, minimum=0, maximum=2**62),
    ),
    "stinger": _fields(
        FieldSpec("name", "str", required=True, max_len=MAX_NAME_CHARS),
        FieldSpec("replace_from", "int", nullable=True, minimum=0, maximum=2**62),
    ),
    "stream_start": _fields(
        FieldSpec("format", "str", default="s16", choices=("s16", "f32")),
        FieldSpec(
            "block_frames",
            "int",
            default=DEFAULT_BLOCK_FRAMES,
            minimum=MIN_BLOCK_FRAMES,
            maximum=MAX_BLOCK_FRAMES,
        ),
        FieldSpec("credits", "int", default=0, minimum=0, maximum=2**31),
        FieldSpec("rewind", "bool", default=False),
    ),
    "credit": _fields(
        FieldSpec("credits", "int", required=True, minimum=1, maximum=2**31),
        FieldSpec("stream", "int", nullable=True),
    ),
    "stream_stop": {},
    "fetch": _fields(
        FieldSpec("state", "str", required=True, max_len=MAX_NAME_CHARS),
        FieldSpec("variant", "int", default=0, minimum=0, maximum=2**31),
        FieldSpec("format", "str", default="wav", choices=FETCH_FORMATS),
        FieldSpec("chunk", "int", default=0, minimum=0, maximum=2**31),
    ),
}

REQUEST_TYPES: tuple[str, ...] = tuple(REQUEST_SCHEMAS)

#: requests allowed without a session
SESSIONLESS_TYPES: frozenset[str] = frozenset({"hello", "ping", "list", "status"})


def validate_body(request_type: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Check a request body against its schema; defaults filled, unknown keys dropped."""
    schema = REQUEST_SCHEMAS.get(request_type)
    if schema is None:
        raise UnknownTypeError(
            f"unknown request type {request_type!r}",
            {"type": request_type, "types": list(REQUEST_TYPES)},
        )
    clean: dict[str, Any] = {}
    for name, spec in schema.items():
        value = body.get(name, _MISSING)
        if value is _MISSING or (value is None and spec.required):
            if spec.required:
                raise MissingFieldError(
                    f"{request_type}: missing field {name!r} ({spec.expected()})",
                    {"field": name, "expected": spec.expected()},
                )
            default = spec.default
            clean[name] = default.copy() if isinstance(default, list | dict) else default
            continue
        clean[name] = _check(spec, value)
    return clean
