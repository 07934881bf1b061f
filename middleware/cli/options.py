"""Click options that several rendering commands share (`generate`, `compose`)."""

from __future__ import annotations

import click

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
    help="Processes that synthesise stems (default: one per core).",
)
#: --renderer: which renderer synthesises the stems (see docs/engine.md, "Renderers")
renderer_option = click.option(
    "--renderer",
    type=click.Choice(["reference", "notes", "synth"]),
    default="reference",
    show_default=True,
    help="reference: each stem synthesised whole (the default); notes: stems built from "
    "notes synthesised once and cached (experimental, slower today); synth: notes "
    "synthesised in numpy from the bank's samples, effects per stem (experimental).",
)
