"""`ostinato bake`: turn template packs into shipping assets (see docs/bake.md)."""

from __future__ import annotations

from pathlib import Path

import click

from middleware.bake.plan import BakeOptions


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
) -> None:
    """Bake template PACKS (folders) into audio, manifest.json and Godot resources."""
    from rich.console import Console

    from middleware.bake.baker import bake_pack
    from middleware.bake.plan import plan_bake
    from middleware.bake.progress import BakeProgressView, dry_run_table, summary_table
    from middleware.templates.loader import load_pack

    console = Console(stderr=False)
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
    for pack, plan in zip(loaded, plans, strict=True):
        if dry_run:
            console.print(dry_run_table(bake_pack(pack, out_root, options, dry_run=True)))
            continue
        with BakeProgressView(console, plan) as view:
            report = bake_pack(pack, out_root, options, progress=view.update)
        console.print(summary_table(report))
        for note in report.notes:
            console.print(f"[yellow]note:[/] {note}")
        terms = report.versions.data_terms if report.versions else None
        if terms and terms.get("notice"):
            console.print(f"note: {terms['notice']}", style="yellow", markup=False, highlight=False)
