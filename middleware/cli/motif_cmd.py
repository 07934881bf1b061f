"""`ostinato eval-motifs`: is each state's motif heard in every variant?

    ostinato eval-motifs [PACK ...] [--variants 4] [--json]

For every looping state of the packs (default: the bundled fantasy_rpg and neon_runner)
that quotes a motif, generates `--variants` variants with the real composer, arranges them
and searches the stem the motif was asked in for its degree steps
(`engine_core.evaluation.motifs`: transposition-invariant, rhythm-tolerant). The other
looping states are searched for the pack's first motif too: the chance baseline.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

BUNDLED_PACKS = ("templates/fantasy_rpg", "templates/neon_runner")


@click.command("eval-motifs")
@click.argument("packs", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--variants", type=click.IntRange(1, 16), default=4, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def eval_motifs(packs: tuple[Path, ...], variants: int, as_json: bool) -> None:
    """Motif presence in generated loops, against the chance rate in states without one.

    \b
    Examples:
      ostinato eval-motifs
      ostinato eval-motifs templates/fantasy_rpg --variants 6 --json
    """
    import torch

    from engine_core.evaluation.motifs import MotifEvaluation, evaluate_state, format_table
    from engine_core.model.composer import DiffusionComposer
    from middleware.templates.loader import load_pack

    torch.set_num_threads(1)
    started = time.perf_counter()
    composer = DiffusionComposer.load()
    paths = packs or tuple(Path(p) for p in BUNDLED_PACKS if Path(p).is_dir())
    results = []
    for path in paths:
        pack = load_pack(path)
        if not pack.motifs:
            click.echo(f"{path}: declares no motif, skipped", err=True)
            continue
        default = next(iter(pack.motifs.values()))
        for name, state in pack.states.items():
            motif = state.spec.motif.motif if state.spec.motif is not None else default
            click.echo(f"{pack.name}/{name} ...", err=True)
            results.append(
                evaluate_state(
                    composer,
                    state.spec,
                    motif,
                    name=f"{pack.name}/{name}",
                    seed=state.seed,
                    variants=variants,
                )
            )
    evaluation = MotifEvaluation(tuple(results))
    seconds = time.perf_counter() - started
    if as_json:
        payload = {
            "asked_rate": evaluation.rate(True),
            "asked_variants": evaluation.count(True),
            "baseline_rate": evaluation.rate(False),
            "baseline_variants": evaluation.count(False),
            "asked_head_rate": evaluation.rate(True, head=True),
            "baseline_head_rate": evaluation.rate(False, head=True),
            "states": [
                {
                    "state": s.name,
                    "asks": s.asks,
                    "voice": s.voice,
                    "found": list(s.found),
                    "head_found": list(s.head_found),
                }
                for s in evaluation.states
            ],
            "seconds": round(seconds, 1),
        }
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(format_table(evaluation))
    click.echo(f"{len(results)} states x {variants} variants in {seconds:.1f} s")
