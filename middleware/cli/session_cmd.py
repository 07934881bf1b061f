"""`ostinato render-session PACK SCRIPT.toml --out session.wav`: audition an event log.

Plays a scripted session (time -> state, intensity and stinger events, see
`middleware.director.session`) through the director, exactly as the service would, and
writes the audio plus a PNG timeline (waveform, state bands, transitions, beat grid,
intensity) next to it. Variant sets come from the cache; missing ones are generated (and
cached) first. `--synthetic` swaps the music for sine-and-click loops on each template's
beat grid: no model, instant, for checking timing and transitions.
"""

from __future__ import annotations

from pathlib import Path

import click

from middleware.cli.cache_cmd import CACHE_OPTION
from middleware.cli.progress import stage_progress


def _file_stinger_set(stinger, sample_rate: int):  # -> VariantSet
    """A designer-supplied stinger file as a one-variant set (one 'mix' stem)."""
    import numpy as np
    import soundfile

    from engine_core.variant import Variant, VariantMeta, VariantSet
    from middleware.director.errors import SessionScriptError

    try:
        audio, rate = soundfile.read(str(stinger.file), dtype="float32", always_2d=True)
    except (OSError, RuntimeError) as error:
        raise SessionScriptError(
            f"stinger {stinger.name!r}: cannot read {stinger.file}: {error}",
            {"stinger": stinger.name},
        ) from None
    if rate != sample_rate:
        raise SessionScriptError(
            f"stinger {stinger.name!r}: {stinger.file} is {rate} Hz, the pack plays at "
            f"{sample_rate} Hz (resample the file)",
            {"stinger": stinger.name, "sample_rate": rate},
        )
    stereo = np.ascontiguousarray(
        np.repeat(audio, 2, axis=1) if audio.shape[1] == 1 else audio[:, :2]
    )
    frames = stereo.shape[0]
    meta = VariantMeta(
        state=stinger.name, index=0, sample_rate=rate, bpm=120.0, meter="4/4", key="C major",
        bars=1, is_loop=False, loop_start=0, loop_end=frames, beat_samples=(0,),
        bar_samples=(0, frames), stem_intensity={"mix": (0.0, 1.0)}, loudness_lufs=0.0,
        true_peak_db=0.0, generation_hash="file", seed=0, engine_version="file",
        weights_version="file",
    )  # fmt: skip
    variant = Variant(meta=meta, stems={"mix": stereo}, mix=stereo, midi=b"")
    return VariantSet(stinger.name, "file", 0, (variant,))


def synthetic_sets(pack, names: list[str]) -> dict:
    """Sine-and-click variant sets with each template's tempo, meter, bars and stem ranges."""
    from middleware.bridges.requests import bridge_requests
    from middleware.director.synthetic import synthetic_variant_set
    from middleware.templates.renditions import find as find_rendition

    rate = pack.defaults.sample_rate
    bridges = {bridge.name: bridge for bridge in bridge_requests(pack)}
    sets = {}
    for name in names:
        template = (
            pack.states.get(name)
            or pack.stingers.get(name)
            or bridges.get(name)
            or find_rendition(pack, name)
        )
        if template.spec is None:
            sets[name] = _file_stinger_set(template, rate)
            continue
        spec = template.spec
        sets[name] = synthetic_variant_set(
            name,
            bpm=spec.bpm,
            meter=spec.meter,
            bars=spec.bars,
            variants=getattr(template, "variants", 1),
            sample_rate=spec.sample_rate,
            stems={stem.name: stem.intensity for stem in spec.stems},
            one_shot=spec.one_shot,
            tail_samples=spec.sample_rate // 2 if spec.one_shot else 0,
        )
    return sets


def generated_sets(pack, names: list[str], cache_dir: Path | None, progress) -> dict:
    """Variant sets from the cache; missing ones are generated with the engine and cached."""
    from middleware.cache import VariantCache
    from middleware.cache.engine import resolve_engine_key
    from middleware.scheduler import pack_requests

    items = {item.name: item for item, _ in pack_requests(pack)}
    sets = {}
    engine = None
    with VariantCache(cache_dir) if cache_dir else VariantCache() as cache:
        engine_key = resolve_engine_key(cache, load=True)
        for name in names:
            item = items.get(name)
            if item is None:  # a designer-supplied stinger file
                sets[name] = _file_stinger_set(pack.stingers[name], pack.defaults.sample_rate)
                continue
            found = cache.get_set(item, engine_key)
            if found is None:
                if engine is None:
                    from engine_core.generate import Engine

                    engine = Engine()
                from middleware.bridges.generate import cached_scores, generate_item

                found = generate_item(
                    engine,
                    item,
                    name=name,
                    scores=cached_scores(cache, engine_key),
                    progress=lambda stage, done, total, n=name: progress(
                        f"{n}: {stage}", done, total
                    ),
                )
                cache.put_set(item, engine_key, found)
            sets[name] = found
    return sets


@click.command("render-session")
@click.argument("pack_path", metavar="PACK", type=click.Path(exists=True, path_type=Path))
@click.argument("script_path", metavar="SCRIPT.toml", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help="Output WAV (16-bit); the timeline PNG is written beside it.")  # fmt: skip
@click.option("--plot/--no-plot", default=True, show_default=True, help="Write the timeline PNG.")
@click.option(
    "--synthetic",
    is_flag=True,
    help="Use sine-and-click loops on each template's beat grid instead of generated music.",
)
@CACHE_OPTION
def render_session(
    pack_path: Path,
    script_path: Path,
    out_path: Path,
    plot: bool,
    synthetic: bool,
    cache_dir: Path | None,
) -> None:
    """Play the event log in SCRIPT.toml through PACK's director into --out.

    \b
    Examples:
      ostinato render-session templates/fantasy_rpg session.toml --out out/session.wav
    """
    import soundfile

    from middleware.bridges.requests import bridge_requests
    from middleware.director import events as ev
    from middleware.director.session import load_script
    from middleware.director.session import render_session as run
    from middleware.templates.loader import load_pack

    pack = load_pack(pack_path)
    script = load_script(script_path, pack)
    names = script.states(pack) + script.stingers(pack) + script.renditions(pack)
    names += [  # the bridges between the states the script visits
        bridge.name
        for bridge in bridge_requests(pack)
        if set(bridge.connects) <= set(script.states(pack))
    ]
    with stage_progress(label_width=28) as progress:
        if synthetic:
            sets = synthetic_sets(pack, names)
        else:
            sets = generated_sets(pack, names, cache_dir, progress)
        result = run(pack, script, sets.get, progress=progress)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(out_path), result.audio, result.sample_rate, subtype="PCM_16")
    for event in result.of_kind(ev.TRANSITION_STARTED):
        data = event.data
        click.echo(
            f"{event.sample / result.sample_rate:8.3f} s  transition {data['from']} -> "
            f"{data['to']} ({data['fade']}) at sample {event.sample}, bar {data['bar']}"
        )
    for event in result.of_kind(ev.STINGER_PLANNED):
        fallback = event.data.get("fallback")
        click.echo(
            f"{event.data['at_sample'] / result.sample_rate:8.3f} s  stinger "
            f"{event.data['name']} at sample {event.data['at_sample']}"
            f" ({event.data.get('rendition', event.data['name'])}"
            f"{', ' + fallback if fallback else ''})"
        )
    click.echo(f"wrote {out_path} ({result.duration_s:.1f} s)")
    if plot:
        from middleware.director.timeline import plot_session

        png = plot_session(
            result, out_path.with_suffix(".png"), title=f"{pack.name}: {script_path.name}"
        )
        click.echo(f"wrote {png}")
