"""`ostinato eval-stingers`: do stinger renditions fit the music they are laid over?

    ostinato eval-stingers [PACK ...] [--json] [--cache DIR]

For every (generated stinger, state) pair of the given packs (default: the bundled
fantasy_rpg and neon_runner), with the real engine's audio (from the cache; missing sets
are generated and cached first): the rendition's pitched notes outside the host state's
scale (against the base stinger's, the behaviour before renditions), the director's
planned onset against the host's beat clock, and the stinger's beat lines against the
host's grid (rendition and base). See `middleware.director.stinger_measures`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from middleware.cli.cache_cmd import CACHE_OPTION
from middleware.cli.music_cmd import BUNDLED_PACKS
from middleware.cli.progress import stage_progress


def summary(rows: list) -> dict[str, float | int]:  # rows: list[PairMeasure]
    """Totals over pairs: the figures the README's table shows."""
    followed = [r for r in rows if not r.key_pinned]
    notes = sum(r.notes for r in followed)
    base_notes = sum(r.base_notes for r in followed)
    return {
        "pairs": len(rows),
        "pairs_key_pinned": len(rows) - len(followed),
        "outside_scale_pct": 100.0 * sum(r.outside for r in followed) / max(notes, 1),
        "base_outside_scale_pct": 100.0
        * sum(r.base_outside for r in followed)
        / max(base_notes, 1),
        "pairs_with_outside_notes": sum(1 for r in followed if r.outside),
        "base_pairs_with_outside_notes": sum(1 for r in followed if r.base_outside),
        "onset_error_max_samples": max((r.onset_error_samples for r in rows), default=0),
        "beat_error_max_samples": max((r.beat_error_samples for r in rows), default=0),
        "base_beat_error_max_samples": max((r.base_beat_error_samples for r in rows), default=0),
        "renditions_played": sum(1 for r in rows if r.played == f"{r.stinger}@{r.host}"),
    }


@click.command("eval-stingers")
@click.argument("packs", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print every pair and the totals as JSON.")
@CACHE_OPTION
def eval_stingers(packs: tuple[Path, ...], as_json: bool, cache_dir: Path | None) -> None:
    """Measure every stinger rendition over its host state (scale, onset, beat grid).

    \b
    Examples:
      ostinato eval-stingers
      ostinato eval-stingers templates/fantasy_rpg --json > stingers.json
    """
    from middleware.cli.session_cmd import generated_sets
    from middleware.director.stinger_measures import measure_pair
    from middleware.templates.loader import load_pack
    from middleware.templates.renditions import pack_renditions

    paths = packs or tuple(Path(p) for p in BUNDLED_PACKS)
    rows = []
    with stage_progress(label_width=28, transient=True) as progress:
        for path in paths:
            pack = load_pack(path)
            renditions = pack_renditions(pack)
            stingers = sorted({r.stinger for r in renditions})
            names = [*pack.states, *stingers, *(r.name for r in renditions)]
            sets = generated_sets(pack, names, cache_dir, progress)
            rows += [measure_pair(pack, sets, r.stinger, r.host) for r in renditions]
    totals = summary(rows)
    if as_json:
        click.echo(json.dumps({"pairs": [r.to_json() for r in rows], "summary": totals}, indent=2))
        return
    click.echo(
        f"{'pack':<12} {'stinger':<13} {'host':<10} {'key':<12} {'out/notes':>9} "
        f"{'base out':>9} {'onset':>5} {'beats':>5} {'base beats':>10}  played"
    )
    for r in rows:
        click.echo(
            f"{r.pack:<12} {r.stinger:<13} {r.host:<10} {r.rendition_key:<12} "
            f"{r.outside:>4}/{r.notes:<4} {r.base_outside:>4}/{r.base_notes:<4} "
            f"{r.onset_error_samples:>5} {r.beat_error_samples:>5} {r.base_beat_error_samples:>10}"
            f"  {r.played}{' (' + r.fallback + ')' if r.fallback else ''}"
        )
    click.echo("")
    for name, value in totals.items():
        click.echo(f"{name:<32} {value:.2f}" if isinstance(value, float) else f"{name:<32} {value}")
