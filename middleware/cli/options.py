"""Click options that several commands share (rendering, serving, model reports)."""

from __future__ import annotations

from pathlib import Path

import click

from engine_core import DEFAULT_RENDERER

#: --format: the audio files' format
audio_format_option = click.option(
    "--format",
    "audio_format",
    type=click.Choice(["wav", "flac", "ogg"]),
    default="wav",
    show_default=True,
)
#: --plot: piano rolls and spectrograms beside the audio
plot_option = click.option("--plot", is_flag=True, help="Also write a PNG per variant.")
#: --jobs: render worker processes
jobs_option = click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=None,
    help="Cores that render stems (default: one per core).",
)
#: --renderer: which renderer synthesises the stems (see docs/engine.md, "Renderers")
renderer_option = click.option(
    "--renderer",
    type=click.Choice(["synth", "reference", "notes"]),
    default=DEFAULT_RENDERER,
    show_default=True,
    help="synth: each distinct note played once from the bank's samples, effects per "
    "stem (the default); reference: each stem synthesised whole by the SoundFont "
    "synthesiser; notes: stems built from notes the synthesiser renders once "
    "(experimental, slower).",
)
#: --cache: the variant cache a serving process reads and fills (`serve`, `studio`)
service_cache_option = click.option(
    "--cache",
    "cache_root",
    type=click.Path(path_type=Path),
    default=None,
    help="variant cache root [default: the per-user cache]",
)
#: --workers: generation worker processes of a serving process (`serve`, `studio`)
generation_workers_option = click.option(
    "--workers", type=int, default=None, help="generation worker processes"
)
#: --weights: the model checkpoint folder a report reads (`model info`, `eval-model`)
weights_option = click.option(
    "--weights",
    "weights_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Checkpoint folder (default: the installed engine_core/weights).",
)
