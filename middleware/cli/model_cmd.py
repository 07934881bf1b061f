"""`ostinato build-data` and `ostinato eval-model`: the model's data and its evaluation.

    ostinato build-data [--data PATH] [--tiny] [--workers N] [--force] [--only-commercial-ok]
    ostinato eval-model [--weights DIR] [--loops 200] [--json] [--seed N] [--data PATH | --tiny]

`build-data` parses the corpus (music21's, or a folder of scores) into the cached bar
dataset and prints its manifest. `eval-model` generates loops with the weights over a
spread of conditions and prints the metrics beside held-out corpus windows, an untrained
model and shuffled notes, then the seam, adherence, diversity and originality checks
(docs/evaluation.md). Progress goes to stderr; stdout carries only the table or the JSON.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from middleware.cli.options import weights_option
from middleware.cli.progress import stage_progress

DATA_OPTION = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A folder of MIDI/MusicXML/ABC/Humdrum scores instead of music21's corpus.",
)
TINY_OPTION = click.option(
    "--tiny", is_flag=True, help="The small development corpus (a few dozen pieces)."
)


def _check_corpus_choice(data_dir: Path | None, tiny: bool) -> None:
    if data_dir is not None and tiny:
        raise click.UsageError("--data and --tiny name different corpora: pass one")


@click.command("build-data")
@DATA_OPTION
@TINY_OPTION
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Parse processes.")
@click.option("--force", is_flag=True, help="Rebuild even when a cached copy exists.")
@click.option(
    "--only-commercial-ok",
    is_flag=True,
    help="Only files whose stated terms permit commercial use.",
)
def build_data(
    data_dir: Path | None, tiny: bool, workers: int | None, force: bool, only_commercial_ok: bool
) -> None:
    """Build (or read from the cache) the training data and print its manifest.

    \b
    Examples:
      ostinato build-data --tiny
      ostinato build-data --data ~/scores
      ostinato build-data --data ~/scores --only-commercial-ok
    """
    from engine_core.data.dataset import DEFAULT_COLLECTIONS, TINY_COLLECTIONS, build_dataset

    _check_corpus_choice(data_dir, tiny)
    with stage_progress(transient=True) as progress:
        dataset = build_dataset(
            data_dir=data_dir,
            collections=TINY_COLLECTIONS if tiny else DEFAULT_COLLECTIONS,
            workers=workers,
            force=force,
            only_commercial_ok=only_commercial_ok,
            progress=progress,
        )
    click.echo(json.dumps(dataset.manifest, indent=2))


@click.command("eval-model")
@weights_option
@click.option(
    "--loops",
    type=click.IntRange(4, 10_000),
    default=200,
    show_default=True,
    help="Loops in the main spread (the sweeps scale with it).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Evaluation seed.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@DATA_OPTION
@TINY_OPTION
def eval_model(
    weights_dir: Path | None,
    loops: int,
    seed: int,
    as_json: bool,
    data_dir: Path | None,
    tiny: bool,
) -> None:
    """Evaluate the model's loops against held-out, untrained and shuffled baselines.

    \b
    Examples:
      ostinato eval-model
      ostinato eval-model --json
    """
    import torch

    from engine_core.evaluation.corpus import corpus_for
    from engine_core.evaluation.report import format_table, json_safe
    from engine_core.evaluation.suite import EvaluationSettings, run_evaluation
    from engine_core.model.composer import DiffusionComposer

    _check_corpus_choice(data_dir, tiny)
    # Batches here are a few loops of a few bars: a second intra-op thread gains little, and
    # on a busy machine its spin-waits made sampling ~19x slower (measured, 2 cores).
    torch.set_num_threads(1)
    started = time.perf_counter()
    composer = DiffusionComposer.load(weights_dir)
    with stage_progress(transient=True) as progress:
        dataset = corpus_for(composer.checkpoint, data_dir=data_dir, tiny=tiny, progress=progress)
        report = run_evaluation(
            composer, dataset, EvaluationSettings(loops=loops, seed=seed), progress=progress
        )
    seconds = time.perf_counter() - started
    if as_json:
        payload = report.to_json()
        payload["info"] = {**report.info, "command_seconds": round(seconds, 1)}
        click.echo(json.dumps(json_safe(payload), indent=2, allow_nan=False))
        return
    info = report.info
    click.echo(
        f"weights {info['weights_version']} (data {info['weights_data_hash']}), "
        f"corpus {info['corpus_hash']}, {loops} loops, seed {seed}"
    )
    click.echo(format_table(report))
    click.echo(f"{info['generated_loops']} loops generated, evaluated in {seconds:.1f} s")
