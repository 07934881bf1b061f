"""`ostinato compose "PROMPT"`: loops from a sentence, no template pack needed.

    ostinato compose "calm ambient music with gentle harp, suitable for main menu" \\
        --variants 4 --out out/menu --save-template menu/menu.toml

Prints the inferred state (every value beside where it came from), renders the loops with
a progress bar, writes them like `ostinato generate` does, and with `--save-template`
writes the state as TOML a designer can keep editing (it regenerates the same audio).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from middleware.cli.options import audio_format_option, jobs_option, plot_option
from middleware.cli.progress import stage_progress


def print_inference(inference: Any, spec: Any, *, title: str = "Inferred state") -> None:
    """Two rich tables: the state's values and its stems, each with its source."""
    from rich.console import Console
    from rich.table import Table

    from middleware.prompt.names import instrument_label, note_name

    console = Console()
    values = Table(title=f"{title} (generation hash {spec.generation_hash()})")
    for column in ("value", "resolved", "source", "from"):
        values.add_column(column)
    for item in inference.values:
        if item.key.startswith("stems."):
            continue
        shown = ", ".join(item.value) if isinstance(item.value, list) else str(item.value)
        values.add_row(item.key, shown, item.source.value, item.evidence)
    console.print(values)
    stems = Table(title="Stems")
    for column in ("stem", "role", "instrument", "register", "intensity", "source", "from"):
        stems.add_column(column)
    sources = {v.key: v for v in inference.values}
    for stem in spec.stems:
        item = sources.get(f"stems.{stem.name}")
        low, high = stem.register
        stems.add_row(
            stem.name,
            stem.role + (" (optional)" if stem.optional else ""),
            f"{instrument_label(stem)} ({stem.program})",
            "-" if stem.is_drums else f"{note_name(low)}-{note_name(high)}",
            f"{stem.intensity[0]:g}-{stem.intensity[1]:g}",
            item.source.value if item else "",
            item.evidence if item else "",
        )
    console.print(stems)


@click.command("compose")
@click.argument("prompt")
@click.option("--bars", type=int, default=None, help="Loop length in bars (1, 2, 4, 8, 16).")
@click.option(
    "--seconds",
    type=float,
    default=None,
    help="Loop length in seconds: the nearest whole loop length in bars at the inferred tempo.",
)
@click.option("--variants", type=click.IntRange(1, 16), default=4, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("out/compose"),
    show_default=True,
    help="Output folder.",
)
@audio_format_option
@plot_option
@click.option(
    "--save-template",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the state as TOML (<state>.toml; pack.toml is added if the folder has none).",
)
@click.option(
    "--melody",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A MIDI sketch to evolve: the loops quote it (in the state's key and mode) and "
    "continue it.",
)
@jobs_option
def compose(
    prompt: str,
    bars: int | None,
    seconds: float | None,
    variants: int,
    seed: int,
    out_dir: Path,
    audio_format: str,
    plot: bool,
    save_template: Path | None,
    jobs: int | None,
    melody: Path | None,
) -> None:
    """Compose loops from PROMPT: infer tempo, key, meter, groove and instruments, render.

    \b
    Examples:
      ostinato compose "calm ambient music with gentle harp" --out out/menu
      ostinato compose "slow waltz in G minor" --seconds 30 --save-template p/waltz.toml
      ostinato compose "evolve this melody into an orchestral theme" --melody sketch.mid
    """
    from dataclasses import replace

    from engine_core.motif import MotifUse
    from middleware.compose import compose as run
    from middleware.compose import infer_composition, melody_motif
    from middleware.prompt.similarity import PromptScorer

    if bars is not None and seconds is not None:
        raise click.UsageError("give --bars or --seconds, not both")
    scorer = PromptScorer()
    motif = melody_motif(melody) if melody is not None else None
    inference = infer_composition(prompt, bars=bars, seconds=seconds, scorer=scorer, melody=motif)
    spec = inference.spec()
    if motif is not None:
        spec = replace(spec, motif=MotifUse(motif))
    print_inference(inference, spec)
    if motif is not None:
        click.echo(
            f"melody: {len(motif.notes)} notes ({motif.length_steps} sixteenths) in "
            f"{motif.key}, quoted in {spec.key}"
        )
    with stage_progress() as progress:
        composition = run(
            prompt,
            out=out_dir,
            bars=bars,
            seconds=seconds,
            variants=variants,
            seed=seed,
            audio_format=audio_format,
            plot=plot,
            save_template=save_template,
            jobs=jobs,
            progress=progress,
            scorer=scorer,
            melody=melody,
        )
    click.echo(
        f"{len(composition.variant_set.variants)} loops of {spec.bars} bars "
        f"({composition.duration_s:.2f} s at {spec.bpm:g} bpm, {spec.meter}, {spec.key})"
    )
    for path in composition.files:
        click.echo(f"wrote {path}")
    from engine_core.data.provenance import shipped_weights_notice

    notice = shipped_weights_notice()  # compose always uses the shipped weights
    if notice:
        click.echo(notice, err=True)
