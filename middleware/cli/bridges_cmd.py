"""`ostinato eval-bridges`: the seam measure at both joins of every bridge of the packs.

    ostinato eval-bridges [PACK ...] [--candidates 6] [--json]

For each (source, target) pair whose transition rule asks for a bridge (default packs: the
bundled fantasy_rpg and neon_runner), the shipped model writes the bridge exactly as
pre-generation does (`engine_core.bridge.compose_bridge`, same seeds) and its two joins
(source's last bar -> bridge, bridge -> target's first bar) are compared with the
interquartile range of the inner joins of both loops (docs/director.md, "Bridges").
Score level only: nothing is rendered, so it takes seconds.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

BUNDLED_PACKS = ("templates/fantasy_rpg", "templates/neon_runner")
RECIPE_NAMES = {0: "inpainted", 1: "sequence a step up", -1: "sequence a step down"}


@click.command("eval-bridges")
@click.argument("packs", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--candidates",
    type=click.IntRange(1, 32),
    default=None,
    help="Inpainting candidates per bridge (default: what pre-generation uses).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def eval_bridges(packs: tuple[Path, ...], candidates: int | None, as_json: bool) -> None:
    """Measure both joins of every bridge the packs' transition rules can play.

    \b
    Examples:
      ostinato eval-bridges
      ostinato eval-bridges templates/fantasy_rpg --json
    """
    from engine_core.bridge import compose_bridge
    from engine_core.bridge.compose import CANDIDATES, RECIPES
    from engine_core.model.composer import DiffusionComposer
    from middleware.bridges.requests import bridge_requests
    from middleware.templates.loader import load_pack

    paths = packs or tuple(Path(p) for p in BUNDLED_PACKS if Path(p).is_dir())
    composer = DiffusionComposer.load()
    rows = []
    for path in paths:
        pack = load_pack(path)
        for request in bridge_requests(pack):
            source, target, bars = request.bridge
            started = time.process_time()
            composed = compose_bridge(
                composer, source, target, bars, seed=request.seed,
                candidates=candidates or CANDIDATES,
            )  # fmt: skip
            rows.append(
                {
                    "pack": pack.name,
                    "bridge": request.name,
                    "bars": bars,
                    **composed.joins.to_json(),
                    "chosen": composed.chosen,
                    "recipe": RECIPE_NAMES[
                        RECIPES[composed.chosen % len(RECIPES)] if bars > 1 else 0
                    ],
                    "candidates_passing": sum(j.passed for j in composed.candidates),
                    "candidates": len(composed.candidates),
                    "cpu_s": round(time.process_time() - started, 2),
                }
            )
    if as_json:
        click.echo(json.dumps({"bridges": rows}, indent=2))
        return
    click.echo(
        "| pack | bridge | bars | source -> bridge | bridge -> target | inner joins IQR "
        "| both inside |"
    )
    click.echo("|" + " --- |" * 7)
    for row in rows:
        ref = row["reference"]
        click.echo(
            f"| {row['pack']} | {row['bridge']} | {row['bars']} | {row['source_join']:.3f} | "
            f"{row['target_join']:.3f} | [{ref['q1']:.3f}, {ref['q3']:.3f}] | "
            f"{'yes' if row['passed'] else 'NO'} ({row['candidates_passing']}/"
            f"{row['candidates']} candidates) |"
        )
    passed = sum(row["passed"] for row in rows)
    click.echo(f"{passed} of {len(rows)} bridges have both joins inside the inner-join IQR")
