"""`ostinato bake`: turn template packs into shipping assets (see docs/bake.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from middleware.bake.plan import BakeOptions

if TYPE_CHECKING:
    from middleware.bake.baker import BakeReport


@click.command()
@click.argument("packs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_root",
    type=click.Path(path_type=Path),
    default=Path("baked"),
    show_default=True,
    help="Output root; each pack is written to <out>/<pack name>/.",
)
@click.option(
    "--format",
    "audio_format",
    type=click.Choice(["ogg", "wav", "flac"]),
    default="ogg",
    show_default=True,
    help="Audio format (Godot resources need ogg).",
)
@click.option("--variants", type=int, default=None, help="Override every state's variant count.")
@click.option("--no-stems", is_flag=True, help="Do not write stems for layered states.")
@click.option("--no-godot", is_flag=True, help="Do not write Godot resources.")
@click.option("--workers", type=int, default=2, show_default=True, help="Local worker processes.")
@click.option(
    "--scheduler",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Run the jobs on this Dask distributed scheduler instead of a local pool.",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Variant cache folder the workers read and fill [default: the user cache].",
)
@click.option("--no-cache", is_flag=True, help="Generate without reading or filling a cache.")
@click.option(
    "--engine",
    "engine_factory",
    default="engine_core.generate:Engine",
    show_default=True,
    metavar="MODULE:CALLABLE",
    help="What makes the engine in every worker.",
)
@click.option("--dry-run", is_flag=True, help="List what would be generated, then stop.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report per pack (no tables).")
def bake(
    packs: tuple[Path, ...],
    out_root: Path,
    audio_format: str,
    variants: int | None,
    no_stems: bool,
    no_godot: bool,
    workers: int,
    scheduler: str | None,
    cache_dir: Path | None,
    no_cache: bool,
    engine_factory: str,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Bake template PACKS (folders) into audio, manifest.json and Godot resources.

    \b
    Examples:
      ostinato bake templates/fantasy_rpg --out baked
      ostinato bake templates/fantasy_rpg --dry-run
      ostinato bake templates/* --format wav --no-godot --json
      ostinato bake templates/fantasy_rpg --scheduler tcp://render-01:8786
    """
    from rich.console import Console

    from middleware.bake.baker import bake_pack
    from middleware.bake.plan import plan_bake
    from middleware.bake.progress import BakeProgressView, dry_run_table, summary_table
    from middleware.templates.loader import load_pack

    console = Console(stderr=False, quiet=as_json)
    if no_cache:
        cache_dir = None
    elif cache_dir is None:
        from middleware.cache import default_root

        cache_dir = default_root()
    options = BakeOptions(
        audio_format=audio_format,
        stems=not no_stems,
        godot=not no_godot,
        variants=variants,
        workers=workers,
        scheduler=scheduler,
        cache_dir=cache_dir,
        engine_factory=engine_factory,
    )
    loaded = [load_pack(path) for path in packs]
    plans = [plan_bake(pack, options) for pack in loaded]  # every pack checked before any work
    from middleware.cli.templates_cmd import pack_warnings

    for pack in loaded:
        for warning in pack_warnings(pack):
            click.echo(f"warning: {pack.name}: {warning}", err=True)
    if not dry_run:
        from middleware.cli.paths import writable_folder

        writable_folder(out_root)
    for pack, plan in zip(loaded, plans, strict=True):
        if dry_run:
            report = bake_pack(pack, out_root, options, dry_run=True)
            console.print(dry_run_table(report))
        else:
            with BakeProgressView(console, plan) as view:
                report = bake_pack(pack, out_root, options, progress=view.update)
            console.print(summary_table(report))
            for note in report.notes:
                console.print(f"[yellow]note:[/] {note}")
            terms = report.versions.data_terms if report.versions else None
            if terms and terms.get("notice"):
                console.print(
                    f"note: {terms['notice']}", style="yellow", markup=False, highlight=False
                )
        if as_json:
            click.echo(json.dumps(_report_json(report)))


def _report_json(report: BakeReport) -> dict[str, Any]:
    """A bake (or dry run) as JSON: where, which jobs, how each was obtained, the notes."""
    origins = {(r.kind, r.name): r.origin for r in report.results}
    return {
        "pack": report.pack,
        "out": str(report.out_dir),
        "dry_run": report.dry_run,
        "elapsed_s": round(report.elapsed_s, 3),
        "music_seconds": round(report.music_seconds, 3),
        "jobs": [
            {
                "kind": job.kind,
                "name": job.name,
                "variants": job.variants,
                "origin": origins.get((job.kind, job.name), "planned"),
            }
            for job in report.plan.jobs
        ],
        "notes": list(report.notes),
        "data_terms": report.versions.data_terms if report.versions else None,
    }
