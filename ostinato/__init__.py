"""Ostinato in one call: a prompt in, seamless game-music loops out.

    import ostinato

    result = ostinato.compose("calm ambient music with gentle harp, suitable for main menu",
                              out="out/menu")
    result.spec            # the GenerationSpec the prompt resolved to (tempo, key, stems...)
    result.inference       # each value with where it came from
    result.files           # variants.json, loops, stems, MIDI
    result.save_template("menu/menu.toml")   # keep editing it as a template

Everything else lives in `engine_core` (the engine) and `middleware` (templates, cache,
director, service, bake, CLI). Importing this package is cheap: the engine loads on the
first call.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from middleware.compose import Composition

__all__ = ["compose"]


def compose(
    prompt: str,
    out: str | Path | None = None,
    *,
    bars: int | None = None,
    seconds: float | None = None,
    variants: int = 4,
    seed: int = 0,
    audio_format: str = "wav",
    plot: bool = False,
    save_template: str | Path | None = None,
    progress: Any = None,
    melody: str | Path | None = None,
) -> Composition:
    """Infer a state from `prompt`, generate `variants` loops and (with `out`) write them.

    `melody` (a MIDI sketch) becomes the loops' motif: quoted in the state's key and mode
    and continued. See `middleware.compose.compose` for every option; `ostinato compose`
    is the same on the command line.
    """
    from middleware.compose import compose as run

    return run(
        prompt,
        out=out,
        bars=bars,
        seconds=seconds,
        variants=variants,
        seed=seed,
        audio_format=audio_format,
        plot=plot,
        save_template=save_template,
        progress=progress,
        melody=melody,
    )
