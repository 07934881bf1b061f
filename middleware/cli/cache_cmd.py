"""`ostinato cache ls|stats|verify|gc|clear`: inspect and maintain the variant cache."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from middleware.cache import VariantCache

CACHE_OPTION = click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Cache folder (default: $OSTINATO_CACHE, else $XDG_CACHE_HOME/ostinato).",
)


def size_text(size_bytes: int) -> str:
    value = float(size_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _when(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp).strftime("%m-%d %H:%M")


def _open(cache_dir: Path | None) -> VariantCache:
    return VariantCache(cache_dir)


@click.group()
def cache() -> None:
    """Inspect and maintain the variant cache.

    \b
    Examples:
      ostinato cache stats
      ostinato cache ls --state battle --json
      ostinato cache verify --check-only
      ostinato cache gc
    """


@cache.command("ls")
@CACHE_OPTION
@click.option("--state", default=None, help="Only sets of this state.")
@click.option("--json", "as_json", is_flag=True, help="Print the sets as JSON.")
def list_sets(cache_dir: Path | None, state: str | None, as_json: bool) -> None:
    """List cached variant sets, least recently used last.

    \b
    Examples:
      ostinato cache ls
      ostinato cache ls --state battle --json
    """
    from rich.console import Console
    from rich.table import Table

    with _open(cache_dir) as opened:
        sets = [s for s in opened.list_sets() if state is None or s.state == state]
        if as_json:
            import json

            rows = [
                {
                    "state": i.state, "set_key": i.set_key, "seed": i.seed, "variants": i.variants,
                    "size_bytes": i.size_bytes, "last_used_at": i.last_used_at,
                    "pinned_by": list(i.pinned_by), "weights_version": i.weights_version,
                }
                for i in sorted(sets, key=lambda s: s.last_used_at, reverse=True)
            ]  # fmt: skip
            click.echo(json.dumps({"root": str(opened.root), "sets": rows}, indent=2))
            return
        table = Table(title=f"{len(sets)} cached set(s) in {opened.root}")
        for column in ("state", "key", "seed", "variants", "size", "last used", "pins", "weights"):
            table.add_column(
                column,
                justify="right" if column in ("seed", "variants", "size") else "left",
                no_wrap=column != "weights",
            )
        for info in sorted(sets, key=lambda s: s.last_used_at, reverse=True):
            table.add_row(
                info.state,
                info.set_key[:8],
                str(info.seed),
                str(info.variants),
                size_text(info.size_bytes),
                _when(info.last_used_at),
                ", ".join(info.pinned_by),
                info.weights_version,
            )
        Console().print(table)


@cache.command()
@CACHE_OPTION
def stats(cache_dir: Path | None) -> None:
    """Totals: sets, variants, files, size against the budget, pins."""
    with _open(cache_dir) as opened:
        info = opened.stats()
    used = 100.0 * info.size_bytes / info.budget_bytes
    click.echo(f"root:     {info.root}")
    click.echo(f"sets:     {info.sets} ({info.variants} variants, {info.files} files)")
    click.echo(
        f"size:     {size_text(info.size_bytes)} of {size_text(info.budget_bytes)} ({used:.1f}%)"
    )
    click.echo(f"pinned:   {info.pinned_sets} set(s)")


@cache.command()
@CACHE_OPTION
@click.option("--check-only", is_flag=True, help="Report problems without repairing them.")
def verify(cache_dir: Path | None, check_only: bool) -> None:
    """Re-hash every file; repair orphans, missing files and checksum mismatches.

    Exits 1 with --check-only when a problem was found.
    """
    from rich.progress import Progress

    with _open(cache_dir) as opened, Progress(transient=True) as progress:
        task = progress.add_task("hashing", total=None)
        report = opened.verify(
            repair=not check_only,
            progress=lambda _stage, done, total: progress.update(task, completed=done, total=total),
        )
    click.echo(
        f"checked {report.files_checked} file(s): {report.orphan_files} orphan, "
        f"{report.missing_files} missing, {report.corrupt_files} corrupt, "
        f"{report.dropped_variants} variant(s) affected, {report.temp_files} temporary file(s)"
    )
    if report.clean:
        click.echo("cache is clean")
    elif check_only:
        raise click.ClickException("cache has problems (run without --check-only to repair)")
    else:
        click.echo("repaired: damaged variants will be generated again when next needed")


@cache.command()
@CACHE_OPTION
@click.option(
    "--budget-mb", type=float, default=None, help="Shrink to this size (default: the budget)."
)
def gc(cache_dir: Path | None, budget_mb: float | None) -> None:
    """Evict least-recently-used unpinned sets until the cache fits its budget."""
    with _open(cache_dir) as opened:
        if budget_mb is not None and budget_mb < 0:
            raise click.BadParameter("must be >= 0", param_hint="--budget-mb")
        budget = None if budget_mb is None else int(budget_mb * 1024**2)
        swept = opened.sweep_orphans()
        report = opened.evict(budget)
    click.echo(
        f"evicted {report.sets_evicted} set(s) ({report.variants_evicted} variants, "
        f"{size_text(report.bytes_freed)}); {size_text(report.size_bytes)} left; "
        f"{swept} orphan file(s) removed"
    )
    if report.over_budget:
        click.echo("still over budget: everything left is pinned")


@cache.command()
@CACHE_OPTION
@click.option("--all", "everything", is_flag=True, help="Remove pinned sets and pins too.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def clear(cache_dir: Path | None, everything: bool, yes: bool) -> None:
    """Remove every cached set (pinned sets are kept unless --all)."""
    with _open(cache_dir) as opened:
        if not yes:
            click.confirm(f"Remove every cached set in {opened.root}?", abort=True)
        removed = opened.clear(keep_pinned=not everything)
    click.echo(f"removed {removed} set(s)")
