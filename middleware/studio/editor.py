"""Edit a state's fields from the page: validate with the pack loader, save with tomlkit.

A change is a map of the state's fields (prompt, tags, bpm, key, meter, bars, energy,
seed) and of its stems' (instrument, register, intensity). It is applied to the state's
TOML with tomlkit, so the designer's comments, key order and layout stay as written;
the whole pack is then validated by the real loader on a scratch copy. Only a pack that
loads is written back (to a temporary file renamed over the original): a rejected change
leaves every file untouched and returns the loader's problems, each naming its key, for
the page to show beside the field.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from middleware.errors import TemplateError, TemplateProblem
from middleware.studio.errors import StudioError
from middleware.studio.pack_view import length_text
from middleware.templates.loader import PACK_FILE, load_pack
from middleware.templates.model import StateTemplate, TemplatePack, TransitionRule

#: fields of a state the page may change, and of each of its stems
STATE_FIELDS = ("prompt", "tags", "bpm", "key", "meter", "bars", "energy", "seed")
STEM_FIELDS = ("instrument", "register", "intensity")


class BadChangeError(StudioError):
    """A change the editor cannot even apply (unknown field, wrong shape)."""

    code = "bad_field"
    exit_code = 2


@dataclass(frozen=True)
class SavedState:
    pack: TemplatePack
    state: StateTemplate
    file: Path
    old_hash: str


def state_file(pack: TemplatePack, name: str) -> tuple[Path, tuple[str, ...]]:
    """The file holding state `name` and the key path of its table inside it."""
    state = pack.state(name)
    file = Path(state.source_file)
    if not file.is_absolute():
        file = pack.root / file
    if file.name == PACK_FILE:
        return file, ("states", name)
    return file, ()


def apply_change(text: str, prefix: tuple[str, ...], change: Mapping[str, Any]) -> str:
    """The TOML text with `change` applied (comments and layout kept). `None` removes a key."""
    document = tomlkit.parse(text)
    table: Any = document
    for key in prefix:
        table = table[key]
    for key, value in change.items():
        if key == "stems":
            _apply_stems(table, value)
        elif key in STATE_FIELDS:
            _set(table, key, value)
        else:
            raise BadChangeError(
                f"the studio cannot edit {key!r}", {"field": key, "expected": list(STATE_FIELDS)}
            )
    return tomlkit.dumps(document)


def _apply_stems(table: Any, stems: Any) -> None:
    if not isinstance(stems, Mapping):
        raise BadChangeError("stems must be a map of stem name to fields", {"field": "stems"})
    existing = table.get("stems")
    for name, fields in stems.items():
        if existing is None or name not in existing:
            raise BadChangeError(f"no stem {name!r} in this state", {"field": f"stems.{name}"})
        if not isinstance(fields, Mapping):
            raise BadChangeError("stem fields must be a map", {"field": f"stems.{name}"})
        stem: Table = existing[name]
        for key, value in fields.items():
            if key not in STEM_FIELDS:
                raise BadChangeError(
                    f"the studio cannot edit stems.{name}.{key}",
                    {"field": f"stems.{name}.{key}", "expected": list(STEM_FIELDS)},
                )
            if key == "instrument" and value is not None and "program" in stem:
                del stem["program"]  # a named instrument replaces a bare program number
            _set(stem, key, value)


def _set(table: Any, key: str, value: Any) -> None:
    if value is None:
        if key in table:
            del table[key]
        return
    if key == "prompt" and isinstance(value, str) and "\n" in value:
        value = tomlkit.string(value, multiline=True)
    table[key] = value


@dataclass(frozen=True)
class PendingSave:
    """A validated change, not written yet."""

    pack: TemplatePack
    state: str  # the state edited ("" for a change to pack.toml's rules)
    file: Path
    text: str


def check_change(pack: TemplatePack, name: str, change: Mapping[str, Any]) -> PendingSave:
    """Apply `change` to state `name` in memory and validate the whole pack with it.

    Raises `TemplateError` (the loader's problems, naming the designer's files) or
    `BadChangeError`. Nothing is written.
    """
    pack.state(name)
    file, prefix = state_file(pack, name)
    new_text = apply_change(file.read_text(encoding="utf-8"), prefix, change)
    _validate(pack, file, new_text)
    return PendingSave(pack, name, file, new_text)


def _validate(pack: TemplatePack, file: Path, new_text: str) -> None:
    """Load the pack with `file` replaced by `new_text`, on a scratch copy."""
    with tempfile.TemporaryDirectory(prefix="ostinato-edit-") as scratch:
        copy = Path(scratch) / pack.root.name
        shutil.copytree(pack.root, copy)
        (copy / file.relative_to(pack.root)).write_text(new_text, encoding="utf-8")
        try:
            load_pack(copy)
        except TemplateError as error:
            raise TemplateError([_relocated(p, copy, pack.root) for p in error.problems]) from None


def _replace(file: Path, text: str) -> None:
    temp = file.with_name(f".{file.name}.studio-tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, file)


def write_change(pending: PendingSave) -> SavedState:
    """Write a checked change (temporary file renamed over the original); reload the pack."""
    old_hash = pending.pack.state(pending.state).generation_hash
    file = pending.file
    _replace(file, pending.text)
    fresh = load_pack(pending.pack.root)
    return SavedState(fresh, fresh.state(pending.state), file, old_hash)


def save_state(pack: TemplatePack, name: str, change: Mapping[str, Any]) -> SavedState:
    """Check `change` to state `name` against the whole pack, then write it."""
    return write_change(check_change(pack, name, change))


def _relocated(problem: TemplateProblem, scratch: Path, root: Path) -> TemplateProblem:
    """A problem found in the scratch copy, named by the designer's real file."""
    file = problem.file.replace(str(scratch), str(root))
    return TemplateProblem(
        file,
        problem.key,
        problem.message,
        line=problem.line,
        value=problem.value,
        allowed=problem.allowed,
    )


# -- transition rules --------------------------------------------------------------------

#: fields of a transition rule the matrix may change
RULE_FIELDS = ("leave_at", "enter_at", "fade", "fade_length", "phrase_bars", "filler")


def rule_table(rule: TransitionRule) -> dict[str, Any]:
    """A resolved rule written out in full (a new exact rule starts as a copy of it)."""
    table: dict[str, Any] = {
        "leave_at": str(rule.leave_at),
        "enter_at": str(rule.enter_at),
        "fade": str(rule.fade),
        "fade_length": length_text(rule.fade_length.value, str(rule.fade_length.unit)),
    }
    if rule.leave_at == "next_phrase":
        table["phrase_bars"] = rule.phrase_bars
    if rule.filler is not None:
        table["filler"] = (
            rule.filler.stinger if rule.filler.stinger else {"bridge_bars": rule.filler.bridge_bars}
        )
    if rule.hold_previous:
        table["hold_previous"] = True
    return table


def apply_rule_change(
    text: str, pack: TemplatePack, source: str, target: str, change: Mapping[str, Any]
) -> str:
    """pack.toml's text with the rule `source -> target` changed (created if the pair
    was covered by a wildcard or the default), comments and layout kept."""
    for key in change:
        if key not in RULE_FIELDS:
            raise BadChangeError(
                f"the studio cannot edit a rule's {key!r}",
                {"field": key, "expected": list(RULE_FIELDS)},
            )
    pack.state(source)
    pack.state(target)
    document = tomlkit.parse(text)
    if "transitions" not in document:
        document["transitions"] = tomlkit.table(is_super_table=True)
    rules = document["transitions"]
    name = f"{source} -> {target}"
    if name not in rules:
        table = tomlkit.table()
        for key, value in rule_table(pack.transition(source, target)).items():
            table[key] = value
        rules[name] = table
    for key, value in change.items():
        if key == "filler":
            _set_filler(rules[name], value)
        else:
            _set(rules[name], key, value)
    return tomlkit.dumps(document)


def _set_filler(rule: Any, value: Any) -> None:
    """`None` (no filler), `{"stinger": name}` or `{"bridge_bars": n}`; the loader judges
    the values. A stinger filler written as a bare name stays a bare name."""
    if value is None:
        _set(rule, "filler", None)
        return
    if (
        not isinstance(value, Mapping)
        or len(value) != 1
        or not (set(value) <= {"stinger", "bridge_bars"})
    ):
        raise BadChangeError(
            "a filler is null, {stinger = NAME} or {bridge_bars = N}",
            {"field": "filler", "expected": ["null", "{stinger}", "{bridge_bars}"]},
        )
    if "stinger" in value and isinstance(rule.get("filler"), str):
        rule["filler"] = value["stinger"]
        return
    ((key, raw),) = value.items()
    # spelled as designers write it (`{ bridge_bars = 2 }`), not tomlkit's `{bridge_bars = 2}`
    rule["filler"] = tomlkit.parse(f"v = {{ {key} = {tomlkit.item(raw).as_string()} }}")["v"]


def check_rule_change(
    pack: TemplatePack, source: str, target: str, change: Mapping[str, Any]
) -> PendingSave:
    file = pack.root / PACK_FILE
    new_text = apply_rule_change(file.read_text(encoding="utf-8"), pack, source, target, change)
    _validate(pack, file, new_text)
    return PendingSave(pack, "", file, new_text)


def write_pack_file(pending: PendingSave) -> TemplatePack:
    """Write a checked pack.toml change; the reloaded pack."""
    _replace(pending.file, pending.text)
    return load_pack(pending.pack.root)
