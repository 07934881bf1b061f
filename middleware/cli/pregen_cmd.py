"""`ostinato pregen PACK`: fill the variant cache for a template pack, with progress."""

from __future__ import annotations

import time
from concurrent.futures import Future
from pathlib import Path

import click

from middleware.cli.cache_cmd import CACHE_OPTION

DEFAULT_ENGINE = "engine_core.generate:Engine"


@click.command()
@click.argument("pack_path", metavar="PACK", type=click.Path(exists=True, path_type=Path))
@CACHE_OPTION
@click.option("--workers", type=int, default=None, help="Worker processes (default: one per core).")
@click.option(
    "--state",
    "states",
    multiple=True,
    help="Only these sets (repeatable): states, stingers, `<stinger>@<state>`, `bridge:<a>-><b>`.",
)
@click.option("--current", default=None, help="Generate this state first (default: start state).")
@click.option("--retries", type=int, default=2, show_default=True, help="Retries per set.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the outcome as JSON (no progress bars)."
)
@click.option(
    "--engine",
    "engine_factory",
    default=DEFAULT_ENGINE,
    show_default=True,
    help="The engine as module:callable (another backend with the same generate API).",
)
def pregen(
    pack_path: Path,
    cache_dir: Path | None,
    workers: int | None,
    states: tuple[str, ...],
    current: str | None,
    retries: int,
    engine_factory: str,
    as_json: bool,
) -> None:
    """Generate every state (and stinger) of PACK into the cache, most urgent first.

    Sets already cached are skipped. Exits 1 if any set failed.

    \b
    Examples:
      ostinato pregen templates/fantasy_rpg
      ostinato pregen templates/fantasy_rpg --current battle --workers 2
      ostinato pregen templates/neon_runner --state run --state chase --json
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from middleware.scheduler import (
        EventKind,
        Scheduler,
        SchedulerEvent,
        SetFailedError,
        pack_requests,
    )
    from middleware.set_names import resolve_set
    from middleware.templates.loader import load_pack

    pack = load_pack(pack_path)
    if current is not None:
        pack.state(current)  # UnknownStateError names the states
    for name in states:  # a state, stinger, `<stinger>@<state>` or `bridge:<a>-><b>`
        resolve_set(pack, name)  # UnknownStateError says what the name is not
    requests = [
        (state, priority)
        for state, priority in pack_requests(pack, current)
        if not states or state.name in states
    ]
    console = Console(quiet=as_json)
    started = time.monotonic()
    outcome: dict[str, str] = {}
    seconds: dict[str, float] = {}
    columns = (
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
    )
    with (
        Progress(*columns, console=console) as progress,
        Scheduler(
            cache_dir, workers=workers, retries=retries, engine_factory=engine_factory
        ) as scheduler,
    ):
        bars = {
            state.name: progress.add_task(
                state.name, total=getattr(state, "variants", 1), stage="queued"
            )
            for state, _ in requests
        }

        def on_event(event: SchedulerEvent) -> None:
            task = bars.get(event.state)
            if task is None:
                return
            if event.kind is EventKind.STARTED:
                progress.update(task, stage=f"attempt {event.attempt}")
            elif event.kind is EventKind.PROGRESS:
                progress.update(task, stage=f"{event.stage} {event.done}/{event.total}")
            elif event.kind is EventKind.VARIANT_READY:
                progress.advance(task)
            elif event.kind is EventKind.SET_READY:
                progress.update(
                    task,
                    completed=progress.tasks[task].total,
                    stage="cached" if not event.generated else "done",
                )
            elif event.kind is EventKind.RETRYING:
                progress.update(task, stage=f"retrying: {event.error}")
            elif event.kind is EventKind.FAILED:
                progress.update(task, stage="failed")

        scheduler.add_listener(on_event)
        futures: dict[str, Future] = scheduler.submit_many(requests)
        for name, future in futures.items():
            try:
                result = future.result()
            except SetFailedError as error:
                outcome[name] = f"failed: {error.detail.get('cause', error.message)}"
                continue
            outcome[name] = "generated" if result.generated else "cached"
            seconds[name] = result.elapsed_s
    table = Table(
        title=f"{pack.name}: {len(requests)} set(s) in {time.monotonic() - started:.1f} s"
    )
    for column in ("state", "priority", "result", "seconds"):
        table.add_column(column)
    for state, priority in requests:
        took = seconds.get(state.name)
        table.add_row(
            state.name,
            priority.name.lower(),
            outcome.get(state.name, "?"),
            "" if took is None else f"{took:.1f}",
        )
    console.print(table)
    if engine_factory == DEFAULT_ENGINE:
        from engine_core.data.provenance import shipped_weights_notice

        notice = shipped_weights_notice()
        if notice:
            click.echo(notice, err=True)
    if as_json:
        import json

        sets = {
            state.name: {
                "priority": priority.name.lower(),
                "result": outcome.get(state.name, "?"),
                "seconds": seconds.get(state.name),
            }
            for state, priority in requests
        }
        click.echo(json.dumps({"pack": pack.name, "sets": sets}, indent=2))
    failed = [n for n, text in outcome.items() if text.startswith("failed")]
    if failed:
        raise click.ClickException(f"{len(failed)} set(s) failed: {', '.join(failed)}")
