"""`ostinato validate` and `ostinato templates show`: check and inspect template packs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from middleware.errors import TemplateError
from middleware.templates.loader import PACK_FILE, load_pack
from middleware.templates.model import TemplatePack, TransitionRule


def _pack_paths(path: Path) -> list[Path]:
    """`path` itself if it is a pack (folder or pack.toml), else the packs directly inside it."""
    if path.suffix == ".toml" or (path / PACK_FILE).is_file() or not path.is_dir():
        return [path]
    inner = sorted(p.parent for p in path.glob(f"*/{PACK_FILE}"))
    return inner or [path]


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report on stdout.")
def validate(paths: tuple[Path, ...], as_json: bool) -> None:
    """Check template packs: prints every problem and exits 1 if there is any.

    PATHS are pack folders, files of a pack (the whole pack is checked), or folders
    holding several packs.

    \b
    Examples:
      ostinato validate templates/fantasy_rpg
      ostinato validate templates            # every pack inside
      ostinato validate templates --json     # {"packs": [{"path", "ok", "problems"...}]}
    """
    failed = 0
    report: list[dict[str, Any]] = []
    for given in paths:
        for path in _pack_paths(given):
            try:
                pack = load_pack(path)
            except TemplateError as error:
                failed += 1
                report.append(
                    {
                        "path": str(path),
                        "ok": False,
                        "problems": [p.to_json() for p in error.problems],
                    }
                )
                if as_json:
                    continue
                click.echo(f"{path}: {len(error.problems)} problem(s)", err=True)
                for problem in error.problems:
                    click.echo(f"  {problem.format()}", err=True)
                continue
            report.append(
                {
                    "path": str(path), "ok": True, "pack": pack.name, "states": len(pack.states),
                    "stingers": len(pack.stingers), "transitions": len(pack.transitions),
                }
            )  # fmt: skip
            if as_json:
                continue
            click.echo(
                f"{path}: ok ({_count(len(pack.states), 'state')}, "
                f"{_count(len(pack.stingers), 'stinger')}, "
                f"{_count(len(pack.transitions), 'transition rule')})"
            )
    if as_json:
        click.echo(json.dumps({"packs": report}, indent=2))
    if failed:
        # A ClickException (not ctx.exit) so the exit code survives standalone_mode=False.
        raise click.ClickException(f"{failed} pack(s) failed validation")


@click.group()
def templates() -> None:
    """Inspect template packs.

    \b
    Examples:
      ostinato templates show templates/fantasy_rpg
      ostinato templates show templates/fantasy_rpg --state battle --json
    """


@templates.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the resolved pack as JSON.")
@click.option("--state", "state_name", help="Show every resolved value of one state.")
def show(path: Path, as_json: bool, state_name: str | None) -> None:
    """Show a pack's resolved values (after inheritance) and each state's generation hash."""
    pack = load_pack(path)
    if state_name is not None:
        state = pack.state(state_name)  # UnknownStateError names the states there are
        summary = pack_summary(pack)["states"][state.name]
        if as_json:
            click.echo(json.dumps(summary, indent=2))
        else:
            _print_state(summary, state.name)
        return
    if as_json:
        click.echo(json.dumps(pack_summary(pack), indent=2))
        return
    _print_pack(pack)


def _print_state(summary: dict[str, Any], name: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"State {name} (resolved)", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    spec = summary["spec"]
    for key, value in summary.items():
        if key != "spec":
            table.add_row(key, str(value))
    for key, value in spec.items():
        if key in summary:
            continue  # one_shot: already shown
        if key == "stems":
            for stem in value:
                table.add_row(f"stems.{stem['name']}", json.dumps(stem))
        else:
            table.add_row(key, str(value))
    Console().print(table)


def _fade_text(rule: TransitionRule) -> str:
    if rule.fade.value == "none":
        return "none"
    length = rule.fade_length
    unit = length.unit.value[:-1] if length.value == 1 else length.unit.value
    return f"{rule.fade.value} {length.value:g} {unit}"


def _filler_text(rule: TransitionRule) -> str:
    if rule.filler is None:
        return ""
    if rule.filler.stinger:
        return f"stinger {rule.filler.stinger}"
    return f"bridge {rule.filler.bridge_bars} bars"


def pack_summary(pack: TemplatePack) -> dict[str, Any]:
    """The resolved pack as plain data (what `templates show --json` prints)."""
    states = {}
    for name, state in pack.states.items():
        spec = state.spec
        states[name] = {
            "generation_hash": state.generation_hash,
            "file": state.source_file,
            "seed": state.seed,
            "variants": state.variants,
            "intensity": state.intensity,
            "one_shot": state.one_shot,
            "next": state.next,
            "variant_weights": state.variant_weights,
            "spec": spec.canonical(),
        }
    stingers = {
        name: {
            "generation_hash": s.spec.generation_hash() if s.spec else None,
            "file": str(s.file) if s.file else None,
            "seed": s.seed,
            "sync": s.sync.value,
            "duck_db": s.duck_db,
            "gain_db": s.gain_db,
        }
        for name, s in pack.stingers.items()
    }
    transitions = [
        {
            "from": r.source,
            "to": r.target,
            "leave_at": r.leave_at.value,
            "enter_at": r.enter_at.value,
            "fade": r.fade.value,
            "fade_length": [r.fade_length.value, r.fade_length.unit.value],
            "phrase_bars": r.phrase_bars,
            "filler": _filler_text(r) or None,
            "hold_previous": r.hold_previous,
        }
        for r in pack.transitions
    ]
    return {
        "name": pack.name,
        "description": pack.description,
        "start_state": pack.start_state,
        "defaults": {k: v for k, v in vars(pack.defaults).items()},
        "states": states,
        "stingers": stingers,
        "transitions": transitions,
    }


def _print_pack(pack: TemplatePack) -> None:
    import pretty_midi
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{pack.name}[/bold]: {pack.description}")
    defaults = ", ".join(f"{k}={v}" for k, v in vars(pack.defaults).items() if v is not None)
    console.print(f"start state: {pack.start_state}; defaults: {defaults}")

    states = Table(title="States (resolved)")
    for column in ("state", "hash", "bpm", "meter", "key", "bars", "variants", "seed", "plays"):
        states.add_column(column)
    for state in pack.states.values():
        spec = state.spec
        plays = f"once, then {state.next}" if state.one_shot else "loop"
        states.add_row(
            state.name,
            state.generation_hash,
            f"{spec.bpm:g}",
            spec.meter,
            spec.key,
            str(spec.bars),
            str(state.variants),
            str(state.seed),
            plays,
        )
    console.print(states)

    stems = Table(title="Stems")
    for column in ("state", "stem", "role", "instrument", "register", "intensity", "gain_db"):
        stems.add_column(column)
    for state in pack.states.values():
        for stem in state.spec.stems:
            instrument = (
                f"kit {stem.program}"
                if stem.is_drums
                else f"{pretty_midi.program_to_instrument_name(stem.program)} ({stem.program})"
            )
            low, high = stem.register
            stems.add_row(
                state.name,
                stem.name,
                stem.role,
                instrument,
                f"{pretty_midi.note_number_to_name(low)}-{pretty_midi.note_number_to_name(high)}",
                f"{stem.intensity[0]:g}-{stem.intensity[1]:g}",
                f"{stem.gain_db:g}",
            )
    console.print(stems)

    if pack.stingers:
        stingers = Table(title="Stingers")
        for column in ("stinger", "hash", "source", "sync", "duck_db"):
            stingers.add_column(column)
        for stinger in pack.stingers.values():
            source = str(stinger.file) if stinger.file else "generated"
            digest = stinger.spec.generation_hash() if stinger.spec else "-"
            stingers.add_row(
                stinger.name, digest, source, stinger.sync.value, f"{stinger.duck_db:g}"
            )
        console.print(stingers)

    rules = Table(title="Transitions (looked up exact, from->*, *->to, *->*, default)")
    for column in ("from", "to", "leave_at", "enter_at", "fade", "filler"):
        rules.add_column(column)
    for rule in (*pack.transitions, pack.default_transition):
        label = "default" if rule is pack.default_transition else rule.source
        rules.add_row(
            label,
            rule.target,
            rule.leave_at.value
            + (f" ({rule.phrase_bars} bars)" if rule.leave_at.value == "next_phrase" else ""),
            rule.enter_at.value,
            _fade_text(rule),
            _filler_text(rule),
        )
    console.print(rules)


def _count(number: int, noun: str) -> str:
    """ "1 stinger", "2 stingers"."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
