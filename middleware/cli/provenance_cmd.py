"""`ostinato model info` and `ostinato model census`: what the model was learned from.

    ostinato model info [--weights DIR] [--json]
    ostinato model census [--data DIR] [--files-only] [--json]

`info` prints a checkpoint's full provenance: its data hash, its training bars per terms
class and per source, and what each source's files state (quoted, with an example file).
It reads ``ostinato.json`` only (no torch). `census` classifies every score file of
music21's corpus (every collection, not only the training ones), or of a studio folder,
and prints Markdown tables: files per class per source, then the training bars per class
per source of the data set `make train` builds from it (built or read from the cache;
``--files-only`` skips it).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import click

from middleware.cli.options import weights_option
from middleware.cli.progress import stage_progress


@click.group("model")
def model() -> None:
    """The model's weights: where their training data came from.

    \b
    Examples:
      ostinato model info
      ostinato model census
    """


@model.command("info")
@weights_option
@click.option("--json", "as_json", is_flag=True, help="Print the data manifest's terms as JSON.")
def info(weights_dir: Path | None, as_json: bool) -> None:
    """Print the weights' training-data provenance: terms per class and per source."""
    from engine_core.data.provenance import (
        WEIGHTS_CONFIG_FILE,
        DataTerms,
        shipped_weights_dir,
        terms_notice,
    )
    from engine_core.data.terms import TermsError

    folder = weights_dir or shipped_weights_dir()
    try:
        config = json.loads((folder / WEIGHTS_CONFIG_FILE).read_text())
    except (OSError, ValueError) as error:
        raise TermsError(f"cannot read {folder / WEIGHTS_CONFIG_FILE}: {error}") from error
    data = config.get("data", {})
    terms = DataTerms.from_manifest(data)
    if as_json:
        click.echo(
            json.dumps({"data_hash": data.get("hash"), "terms": data.get("terms")}, indent=2)
        )
        return
    version = config.get("format_version", "?")
    weights_file = folder / "ostinato.safetensors"
    sha = _sha256(weights_file)[:12] if weights_file.is_file() else "missing"
    click.echo(f"weights ostinato-{version}-{sha} in {folder}")
    click.echo(
        f"trained on {data.get('source', '?')}: data hash {data.get('hash', '?')}, "
        f"{data.get('pieces', '?')} pieces, {data.get('bars', '?')} bars"
    )
    notice = terms_notice(terms)
    cleared = "data terms: every training bar comes from a file whose terms permit commercial use"
    click.echo(notice or cleared)
    if terms is None:
        return
    if terms.selection != "all":
        click.echo(f"selection: only files of class {terms.selection} (--only-commercial-ok)")
    for line in provenance_lines(terms.raw):
        click.echo(line)


def provenance_lines(terms: dict[str, Any]) -> list[str]:
    """Per source: bars and files per class, then each statement quoted with its count."""
    from engine_core.data.terms import TERMS_CLASSES, Statement, deciding_sentence

    lines = []
    notice = terms.get("corpus_notice")
    if notice:
        lines += [
            "",
            f"corpus-wide notice ({notice['where']}), which classifies no file:",
            f'  "{notice["text"]}"',
        ]
    total = max(int(terms.get("bars", 0)), 1)
    for name, source in terms.get("sources", {}).items():
        classes = ", ".join(
            f"{c} {source['bars_by_class'][c]} bars / {source['files_by_class'][c]} files"
            for c in TERMS_CLASSES
            if source["files_by_class"].get(c)
        )
        lines += ["", f"{name}: {source['bars']} bars ({source['bars'] / total:.1%}); {classes}"]
        if not source["statements"]:
            lines.append("  no file or licence file states anything about rights")
        for statement in source["statements"]:
            kind = statement["class"] or "no terms"
            text = statement["text"]
            if len(text) > 300 and statement["class"]:  # a licence file: the sentence that decided
                excerpt = deciding_sentence(Statement("", text, statement["class"]))
                text = f"… {excerpt} …"
            text = text if len(text) <= 300 else text[:299] + "…"
            lines.append(
                f'  [{kind}] {statement["where"]}: "{text}" '
                f"({statement['files']} file(s), e.g. {statement['example']})"
            )
        if source.get("statements_left_off"):
            lines.append(f"  … {source['statements_left_off']} more distinct statement(s)")
    return lines


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@model.command("census")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="A studio's folder of scores instead of music21's corpus.",
)
@click.option("--files-only", is_flag=True, help="Classify files only; do not build the data set.")
@click.option("--json", "as_json", is_flag=True, help="Print the census as JSON.")
def census(data_dir: Path | None, files_only: bool, as_json: bool) -> None:
    """Classify every score file by its stated terms; count files and training bars."""
    from engine_core.data.corpus import SCORE_SUFFIXES, folder_files
    from engine_core.data.dataset import DEFAULT_COLLECTIONS, build_dataset
    from engine_core.data.provenance import classify_sources, music21_corpus_root
    from engine_core.data.terms import TERMS_CLASSES

    if data_dir is None:
        root = music21_corpus_root()
        paths = [
            (str(p), p.relative_to(root).parts[0], str(p.relative_to(root)))
            for p in sorted(root.rglob("*"))
            if p.suffix.lower() in SCORE_SUFFIXES and len(p.relative_to(root).parts) > 1
        ]
    else:
        paths = [(f.path, f.collection, f.piece_id) for f in folder_files(data_dir)]
    source_terms = classify_sources(paths, data_dir)
    files: dict[str, Counter[str]] = {}
    for terms in source_terms.files.values():
        files.setdefault(terms.source, Counter())[terms.terms_class] += 1
    training: dict[str, Any] | None = None
    if not files_only:
        with stage_progress(transient=True) as progress:
            dataset = build_dataset(
                data_dir=data_dir, collections=DEFAULT_COLLECTIONS, progress=progress
            )
        training = dataset.manifest["terms"]
    if as_json:
        payload = {
            "files": {name: dict(counts) for name, counts in sorted(files.items())},
            "training": training,
        }
        click.echo(json.dumps(payload, indent=2))
        return
    header = "| source | files | " + " | ".join(TERMS_CLASSES) + " |"
    click.echo(f"Score files ({len(source_terms.files)}) by the terms they state:\n")
    click.echo(header)
    click.echo("| --- | ---: |" + " ---: |" * len(TERMS_CLASSES))
    totals: Counter[str] = Counter()
    for name, counts in sorted(files.items()):
        totals.update(counts)
        cells = " | ".join(str(counts.get(c, 0)) for c in TERMS_CLASSES)
        click.echo(f"| {name} | {sum(counts.values())} | {cells} |")
    cells = " | ".join(f"**{totals.get(c, 0)}**" for c in TERMS_CLASSES)
    click.echo(f"| **all** | **{sum(totals.values())}** | {cells} |")
    if training is None:
        return
    click.echo(f"\nTraining bars ({training['bars']}) of the data set `make train` builds:\n")
    click.echo("| source | bars | share | " + " | ".join(TERMS_CLASSES) + " |")
    click.echo("| --- | ---: | ---: |" + " ---: |" * len(TERMS_CLASSES))
    total = max(training["bars"], 1)
    for name, source in training["sources"].items():
        cells = " | ".join(str(source["bars_by_class"][c]) for c in TERMS_CLASSES)
        click.echo(f"| {name} | {source['bars']} | {source['bars'] / total:.1%} | {cells} |")
    cells = " | ".join(
        f"**{training['bars_by_class'][c]}** ({training['share_by_class'][c]:.1%})"
        for c in TERMS_CLASSES
    )
    click.echo(f"| **all** | **{training['bars']}** | 100% | {cells} |")
