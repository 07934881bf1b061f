"""`ostinato eval-prompts`: the prompt acceptance set's measures, as markdown tables.

ostinato eval-prompts                 # infer + render one 8-bar loop per prompt
ostinato eval-prompts --no-render     # inference measures only (seconds)
"""

from __future__ import annotations

from pathlib import Path

import click

from middleware.cli.progress import stage_progress


@click.command("eval-prompts")
@click.option(
    "--set",
    "set_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="An acceptance set TOML (default: the committed one).",
)
@click.option("--render/--no-render", default=True, show_default=True)
@click.option("--variants", type=click.IntRange(1, 16), default=1, show_default=True)
@click.option("--bars", type=click.Choice(["1", "2", "4", "8", "16"]), default="8")
@click.option("--prompts", "show_prompts", is_flag=True, help="Also print the per-prompt table.")
def eval_prompts(
    set_path: Path | None, render: bool, variants: int, bars: str, show_prompts: bool
) -> None:
    """Measure prompt inference (and the loops it makes) on the acceptance set.

    \b
    Examples:
      ostinato eval-prompts --no-render --prompts
      ostinato eval-prompts --variants 2 --bars 8
    """
    from middleware.prompt.acceptance import (
        ACCEPTANCE_PATH,
        evaluate,
        load_set,
        markdown_table,
        prompt_rows,
        summary_rows,
    )

    prompts = load_set(set_path or ACCEPTANCE_PATH)
    with stage_progress(transient=True) as progress:
        results = evaluate(
            prompts, render=render, variants=variants, bars=int(bars), progress=progress
        )
    click.echo(
        f"{len(prompts)} prompts" + (f", {variants} loop(s) of {bars} bars each" if render else "")
    )
    click.echo(markdown_table(("measure", "result", "goal"), summary_rows(results)))
    if show_prompts:
        click.echo("")
        click.echo(
            markdown_table(
                ("prompt", "tempo, meter, key", "tags", "stems (role: instrument)", "misses"),
                prompt_rows(results),
            )
        )
