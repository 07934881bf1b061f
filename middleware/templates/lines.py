"""Where a key sits in a TOML file: the line numbers validation errors point at.

`tomllib` reports the line and column of a *syntax* error, but the dictionaries it returns
forget where each key came from. Semantic problems (a bad meter, an unknown stem role) must
still name a line, so this module scans the raw text once and maps every key path it can
see, from table headers (``[stems.bass]``), dotted keys (``a.b = 1``) and inline tables
(``filler = { stinger = "hit" }``), to the 1-based line that defines it.

The scanner only has to understand text that `tomllib` has already accepted, so it is
deliberately small: it tracks the current table header, reads the key of each
``key = value`` line and skips the continuation lines of multi-line strings and arrays.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

KeyPath = tuple[str, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_INLINE_KEY = re.compile(r"[{,]\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')\s*)=")


def _read_key(text: str) -> tuple[KeyPath, str] | None:
    """Read a (possibly dotted, possibly quoted) key at the start of `text`.

    Returns the key path and the rest of the text after it, or None if `text` does not
    start with a key.
    """
    parts: list[str] = []
    rest = text.lstrip()
    while True:
        if rest.startswith('"'):
            end = rest.find('"', 1)
            if end < 0:
                return None
            parts.append(rest[1:end])
            rest = rest[end + 1 :]
        elif rest.startswith("'"):
            end = rest.find("'", 1)
            if end < 0:
                return None
            parts.append(rest[1:end])
            rest = rest[end + 1 :]
        else:
            match = _BARE_KEY.match(rest)
            if match is None:
                return None
            parts.append(match.group(0))
            rest = rest[match.end() :]
        rest = rest.lstrip()
        if rest.startswith("."):
            rest = rest[1:].lstrip()
            continue
        return tuple(parts), rest


def _inline_keys(value: str) -> Iterable[KeyPath]:
    """Keys of an inline table written on one line (one level deep is enough here)."""
    for match in _INLINE_KEY.finditer(value):
        parsed = _read_key(match.group(1))
        if parsed is not None:
            yield parsed[0]


def index_key_lines(text: str) -> dict[KeyPath, int]:
    """Map every key path defined in `text` to the 1-based line where it is defined."""
    index: dict[KeyPath, int] = {}
    table: KeyPath = ()
    open_multiline: str | None = None  # the closing delimiter we are waiting for
    depth = 0  # bracket depth of a multi-line array or inline table value
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if open_multiline is not None:
            if open_multiline in line:
                open_multiline = None
            continue
        if depth > 0:
            depth += line.count("[") + line.count("{") - line.count("]") - line.count("}")
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            inner = line[2:] if line.startswith("[[") else line[1:]
            parsed = _read_key(inner)
            if parsed is not None:
                table = parsed[0]
                for end in range(1, len(table) + 1):  # [a.b] also defines a (implicitly)
                    index.setdefault(table[:end], number)
            continue
        parsed = _read_key(line)
        if parsed is None or not parsed[1].startswith("="):
            continue
        path = table + parsed[0]
        index.setdefault(path, number)
        value = parsed[1][1:].strip()
        for inner_key in _inline_keys(value):
            index.setdefault(path + inner_key, number)
        for delimiter in ('"""', "'''"):
            if value.startswith(delimiter) and value.count(delimiter) == 1:
                open_multiline = delimiter
        if open_multiline is None and value[:1] in "[{":
            unquoted = re.sub(r"\"[^\"]*\"|'[^']*'", "", value.split("#", 1)[0])
            depth = (
                unquoted.count("[")
                + unquoted.count("{")
                - unquoted.count("]")
                - unquoted.count("}")
            )
    return index


def line_of(index: dict[KeyPath, int], path: KeyPath) -> int | None:
    """Line of `path`, or of its nearest defined ancestor (a key inside an inline table)."""
    for end in range(len(path), 0, -1):
        line = index.get(path[:end])
        if line is not None:
            return line
    return None
