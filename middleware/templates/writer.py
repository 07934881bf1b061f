"""Write a resolved state back out as a template file a designer can keep editing.

`state_toml` turns a `GenerationSpec` (and the `InferredValue`s that explain it) into a state
file that sets every musical value explicitly, each with a comment saying where an inferred
value came from. Loading it gives the same `GenerationSpec` — the same generation hash, so
the same audio for the same seed. `save_state` writes it (and a minimal pack.toml when the
folder has none, so the folder is a pack `ostinato validate` and `generate` accept), each
file to a temporary name first, so nothing partial is ever left behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from engine_core.spec import GenerationSpec, StemSpec
from middleware.errors import TemplateError, TemplateProblem
from middleware.prompt.infer import InferredValue, Source
from middleware.prompt.names import instrument_label, note_name
from middleware.templates.loader import PACK_FILE, STATE_NAME


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a TOML basic string is a JSON string


def _number(value: float) -> str:
    return repr(float(value))


def _comment(values: dict[str, InferredValue], key: str) -> str:
    item = values.get(key)
    if item is None or item.source is Source.FIELD:
        return ""
    return f"  # inferred ({item.source.value}): {item.evidence}"


def _stem_lines(stem: StemSpec, values: dict[str, InferredValue]) -> list[str]:
    lines = [f"[stems.{stem.name}]{_comment(values, f'stems.{stem.name}')}"]
    lines.append(f"role = {_string(stem.role)}")
    if getattr(stem, "pitched", False):  # pitched percussion is named by its instrument
        lines.append(f"instrument = {_string(instrument_label(stem))}")
    else:
        lines.append(f"program = {stem.program}  # {instrument_label(stem)}")
    low, high = stem.register  # drums too: the kit's note range is part of the hash
    lines.append(f"register = [{_string(note_name(low))}, {_string(note_name(high))}]")
    low, high = stem.intensity
    lines.append(f"intensity = [{_number(low)}, {_number(high)}]")
    lines.append(f"gain_db = {_number(stem.gain_db)}")
    lines.append(f"pan = {_number(stem.pan)}")
    if stem.optional:
        lines.append("optional = true")
    if stem.pattern is not None:
        lines.append(f"pattern = {_string(stem.pattern)}")
    return lines


def state_toml(
    spec: GenerationSpec,
    inferred: Sequence[InferredValue],
    *,
    seed: int,
    variants: int,
    header: str = "",
) -> str:
    """A state file that resolves to exactly `spec` (same generation hash)."""
    values = {v.key: v for v in inferred}
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines.append(f"prompt = {_string(spec.prompt)}")
    tags = ", ".join(_string(t) for t in spec.tags)
    lines.append(f"tags = [{tags}]{_comment(values, 'tags')}")
    lines.append(f"bpm = {_number(spec.bpm)}{_comment(values, 'bpm')}")
    lines.append(f"key = {_string(spec.key)}{_comment(values, 'key')}")
    lines.append(f"meter = {_string(spec.meter)}{_comment(values, 'meter')}")
    lines.append(f"bars = {spec.bars}{_comment(values, 'bars')}")
    for name in ("energy", "density", "brightness"):
        value = getattr(spec, name)
        if value is not None:
            lines.append(f"{name} = {_number(value)}{_comment(values, name)}")
    style = dict(spec.extra).get("style")
    if style is not None:
        lines.append(f"style = {_string(style)}{_comment(values, 'style')}")
    if spec.groove is not None:
        lines.append(f"groove = {_string(spec.groove)}")
    lines.append(f"seed = {seed}")
    lines.append(f"variants = {variants}")
    lines.append(f"sample_rate = {spec.sample_rate}")
    lines.append(f"loudness_lufs = {_number(spec.loudness_lufs)}")
    lines.append(f"true_peak_db = {_number(spec.true_peak_db)}")
    lines.append(f"variance = {_number(spec.variance)}")
    if spec.one_shot:
        lines.append("one_shot = true")
    for stem in spec.stems:
        lines.append("")
        lines.extend(_stem_lines(stem, values))
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def check_state_path(path: str | Path) -> Path:
    """`path` if it can name a state file (``battle.toml``), else a `TemplateError`."""
    target = Path(path)
    if target.suffix != ".toml" or not STATE_NAME.match(target.stem) or target.name == PACK_FILE:
        raise TemplateError(
            [
                TemplateProblem(
                    str(target),
                    "(file name)",
                    "a state file is named after its state",
                    value=target.name,
                    allowed="<state>.toml with lower-case letters, digits and '_' "
                    "(e.g. menu.toml), not pack.toml",
                )
            ]
        )
    return target


def save_state(path: str | Path, text: str) -> list[Path]:
    """Write a state file (and pack.toml beside it if there is none); the files written.

    The file name is the state name, so it must be a valid one (``battle.toml``).
    """
    target = check_state_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    written = []
    pack = target.parent / PACK_FILE
    if not pack.exists():
        _write_atomic(
            pack,
            f"# A pack written by `ostinato compose`; add states, stingers and transitions.\n"
            f"[pack]\nname = {_string(target.parent.resolve().name)}\n"
            f"start_state = {_string(target.stem)}\n",
        )
        written.append(pack)
    _write_atomic(target, text)
    written.append(target)
    return written
