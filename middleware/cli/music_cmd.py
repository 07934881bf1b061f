"""`ostinato eval-music`: musical measures of whole loops (every stem, rendered).

    ostinato eval-music [PACK ...] [--set dev|heldout|packs|all] [--variants 3] [--json]

Generates the fixed DEV and HELD-OUT spec lists (engine_core/evaluation/music_specs.toml)
and every state of the given packs (default: the bundled fantasy_rpg and neon_runner)
end to end, measures each variant and stem (silent stems, holes, metric accents, melody
intervals, figuration, per-stem variant overlap, seam and mode gates) and prints the
groups side by side with the goals (docs/engine.md, "Arrangement rules").
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import click

from middleware.cli.progress import stage_progress

BUNDLED_PACKS = ("templates/fantasy_rpg", "templates/neon_runner")


def _pack_items(paths: tuple[Path, ...], variants: int):  # -> list[SweepItem]
    from engine_core.evaluation.music_sweep import SweepItem
    from middleware.templates.loader import load_pack

    items = []
    for path in paths:
        pack = load_pack(path)
        for name, state in pack.states.items():
            if state.one_shot:
                continue  # stingers and one-shots have no loop to measure
            items.append(
                SweepItem(
                    f"pack:{path.name}", f"{path.name}/{name}", state.spec, state.seed, variants
                )
            )
    return items


@click.command("eval-music")
@click.argument("packs", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--set",
    "which",
    type=click.Choice(["dev", "heldout", "packs", "all"]),
    default="all",
    show_default=True,
    help="Which specs to measure.",
)
@click.option("--variants", type=click.IntRange(2, 8), default=3, show_default=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=None, help="First N per list.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option(
    "--symbolic",
    is_flag=True,
    help="Measure the arrangements only (no rendering: silence and holes are not measured).",
)
def eval_music(
    packs: tuple[Path, ...],
    which: str,
    variants: int,
    limit: int | None,
    as_json: bool,
    symbolic: bool,
) -> None:
    """Measure arranged, rendered loops of the fixed spec lists and the packs.

    \b
    Examples:
      ostinato eval-music
      ostinato eval-music --set heldout --variants 4 --json
      ostinato eval-music templates/fantasy_rpg --set packs
      ostinato eval-music --symbolic --json
    """
    import torch

    from engine_core.evaluation.music_sweep import format_table, run_sweep, spec_lists, summarise
    from engine_core.generate import Engine

    torch.set_num_threads(1)
    started = time.perf_counter()
    lists = spec_lists(variants)
    items = []
    if which in ("dev", "all"):
        items += lists["dev"][:limit]
    if which in ("heldout", "all"):
        items += lists["heldout"][:limit]
    if which in ("packs", "all"):
        paths = packs or tuple(Path(p) for p in BUNDLED_PACKS if Path(p).is_dir())
        items += _pack_items(paths, variants)[:limit] if limit else _pack_items(paths, variants)
    with Engine() as engine, stage_progress(transient=True) as progress:
        results = run_sweep(items, engine, progress=progress, render=not symbolic)
    summaries = {group: summarise(result) for group, result in results.items()}
    seconds = time.perf_counter() - started
    if as_json:
        payload = {
            "summaries": {
                g: {
                    k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in s.items()
                }
                for g, s in summaries.items()
            },
            "silent": [
                [s.spec, s.variant, s.stem, s.role]
                for r in results.values()
                for v in r.variants
                for s in v.stems
                if s.silent
            ],
            "seconds": round(seconds, 1),
        }
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(format_table(summaries))
    for result in results.values():
        for variant in result.variants:
            for stem in variant.stems:
                if stem.silent and not stem.optional:
                    click.echo(f"silent: {stem.spec} #{stem.variant} {stem.stem} ({stem.role})")
    click.echo(f"{len(items)} specs x {variants} variants measured in {seconds:.1f} s")
