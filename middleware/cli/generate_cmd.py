"""`ostinato generate`: render one state of a template pack into a folder of loops.

    ostinato generate templates/fantasy_rpg --state battle --variants 4 --seed 7 --out out/

Writes `variants.json` (manifest with timing metadata and seam reports), each variant's
mix and stems (WAV with smpl loop points, FLAC or OGG) and MIDI, and with `--plot` a PNG
per variant (waveform, bar grid, seam, piano roll per stem) plus `summary.png`, every
stem's piano roll side by side for all variants of the state.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from middleware.cli.options import (
    audio_format_option,
    jobs_option,
    plot_option,
    renderer_option,
)
from middleware.cli.progress import stage_progress


def default_render_workers() -> int:
    """One render worker per core this process may run on."""
    return max(1, len(os.sched_getaffinity(0)))


def _item_for(pack, name: str, seed: int | None):  # -> (item, variants, kind)
    """The cacheable item a set name stands for (a state, generated stinger, rendition
    `<stinger>@<state>` or bridge `bridge:<a>-><b>`), with `seed` when given."""
    from types import SimpleNamespace

    from middleware.errors import UnknownStingerError
    from middleware.set_names import resolve_set

    named = resolve_set(pack, name)  # unknown_state, with what kind of name and why
    if not named.generated:
        raise UnknownStingerError(
            f"stinger {name!r} is a designer's file: there is nothing to generate",
            {"stinger": name, "stingers": sorted(pack.stingers)},
        )
    item = named.item
    if seed is not None and seed != item.seed:
        fields = {"name": item.name, "spec": item.spec, "seed": seed}
        if getattr(item, "bridge", None) is not None:
            fields["bridge"] = item.bridge
        item = SimpleNamespace(**fields)
    return item, getattr(named.item, "variants", 1), named.kind


@click.command("generate")
@click.argument("pack_path", metavar="PACK", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--state",
    "state_name",
    required=True,
    help="Set to generate: a state, a stinger, a rendition `<stinger>@<state>` or a bridge "
    "`bridge:<source>-><target>`.",
)
@click.option(
    "--variants",
    type=click.IntRange(1, 16),
    default=None,
    help="Number of variants (default: the template's).",
)
@click.option("--seed", type=int, default=None, help="Seed (default: the template's).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option(
    "--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Output folder."
)
@audio_format_option
@plot_option
@click.option(
    "--soundfont",
    type=click.Path(path_type=Path),
    default=None,
    help="A .sf2 bank to use instead of the default General MIDI bank.",
)
@jobs_option
@renderer_option
def generate(
    pack_path: Path,
    state_name: str,
    variants: int | None,
    seed: int | None,
    out_dir: Path,
    audio_format: str,
    plot: bool,
    soundfont: Path | None,
    jobs: int | None,
    renderer: str,
    as_json: bool,
) -> None:
    """Generate the variants of one state of PACK into --out.

    \b
    Examples:
      ostinato generate templates/fantasy_rpg --state town --out out/town
      ostinato generate templates/fantasy_rpg --state battle --variants 2 --plot --out out/b
      ostinato generate templates/neon_runner --state run --format ogg --json --out out/run
      ostinato generate templates/fantasy_rpg --state town --renderer notes --out out/n
      ostinato generate templates/fantasy_rpg --state level_up@battle --out out/lu
      ostinato generate templates/fantasy_rpg --state 'bridge:town->explore' --out out/br
    """

    from engine_core.arrange.coverage import empty_stem_warnings, silent_stem_warnings
    from engine_core.export.plot import plot_state_summary, plot_variant
    from engine_core.export.variant_files import write_variant_set
    from engine_core.generate import Engine
    from middleware.bridges.generate import generate_item
    from middleware.cli.paths import writable_folder
    from middleware.templates.loader import load_pack

    pack = load_pack(pack_path)
    item, template_variants, kind = _item_for(pack, state_name, seed)
    spec = item.spec
    if kind in ("rendition", "bridge") and variants not in (None, 1):
        click.echo(f"warning: {state_name}: a {kind} has one variant", err=True)
        variants = 1
    for warning in empty_stem_warnings(spec):
        click.echo(f"warning: {state_name}: {warning}", err=True)
    writable_folder(out_dir)  # before minutes of generation, not after
    count = template_variants if variants is None else variants
    engine = Engine(
        soundfont=soundfont, render_workers=jobs or default_render_workers(), renderer=renderer
    )
    with engine, stage_progress() as progress:
        variant_set = generate_item(engine, item, variants=count, progress=progress)
        manifest = write_variant_set(
            variant_set, out_dir, audio_format=audio_format, progress=progress
        )
        if plot:
            for variant in variant_set.variants:
                plot_variant(variant, out_dir / f"variant_{variant.meta.index}" / "plot.png")
                progress("plot", variant.meta.index + 1, len(variant_set.variants))
            plot_state_summary(variant_set.variants, out_dir / "summary.png")
    for variant in variant_set.variants:
        for warning in silent_stem_warnings(spec, variant.meta.index, variant.stems):
            click.echo(f"warning: {state_name}: {warning}", err=True)
    if as_json:
        import json

        variants_json = [
            {
                "index": v.meta.index, "samples": v.meta.loop_end,
                "sample_rate": v.meta.sample_rate,
                "loudness_lufs": round(float(v.meta.loudness_lufs), 2),
                "true_peak_db": round(float(v.meta.true_peak_db), 2),
            }
            for v in variant_set.variants
        ]  # fmt: skip
        summary = {"state": state_name, "manifest": str(manifest), "variants": variants_json}
        click.echo(json.dumps(summary, indent=2))
        return
    for variant in variant_set.variants:
        meta = variant.meta
        click.echo(
            f"{state_name} #{meta.index}: {meta.loop_end} samples at {meta.sample_rate} Hz, "
            f"{meta.loudness_lufs:.1f} LUFS, {meta.true_peak_db:.1f} dBTP"
        )
    click.echo(f"wrote {manifest}")
    _print_terms_notice(engine)


def _print_terms_notice(engine) -> None:
    """The weights' data terms in one line (stderr), when they are not all cleared."""
    from engine_core.data.provenance import engine_terms_notice

    notice = engine_terms_notice(engine)
    if notice:
        click.echo(notice, err=True)
