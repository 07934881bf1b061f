"""Training-data terms as a whole: per source and per class, in the data manifest and the
weights, and the one-line notice the CLI, bake and the service give.

`classify_sources` classifies every file of a data set's sources (`engine_core.data.terms`);
`terms_summary` turns the classes and the parsed pieces' bar counts into the data
manifest's ``terms`` section, which `make train` copies into the checkpoint's
``ostinato.json`` (``data.terms``). `DataTerms` reads it back; `weights_data_terms` reads
it from a checkpoint folder without loading the model (no torch).

The ``terms`` section::

    {"format": 1,
     "selection": "all" | "commercial_ok",       # --only-commercial-ok
     "bars": int, "bars_by_class": {class: int}, "share_by_class": {class: float},
     "files_by_class": {class: int},             # every file selected, parsed or skipped
     "corpus_notice": {"where": str, "text": str} | null,
     "sources": {name: {"bars": int, "bars_by_class": {...}, "files_by_class": {...},
                        "statements": [{"where", "text", "class", "files", "example"}],
                        "statements_left_off": int}}}
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine_core.data.terms import (
    CLASS_LABELS,
    COMMERCIAL_OK,
    RESTRICTED,
    TERMS_CLASSES,
    UNSTATED,
    FileTerms,
    LicenceFiles,
    Statement,
    TermsError,
    TermsManifest,
    classify_file,
    licence_statement,
    read_terms_manifest,
)

TERMS_FORMAT = 1
#: the checkpoint's config file (`engine_core.model.checkpoint.CONFIG_FILE`, read here
#: without importing torch)
WEIGHTS_CONFIG_FILE = "ostinato.json"
MAX_STATEMENTS_PER_SOURCE = 12


@dataclass(frozen=True)
class SourceTerms:
    """Every file's terms, plus what speaks for the sources as a whole."""

    files: dict[str, FileTerms]  # file id -> terms
    corpus_notice: Statement | None = None
    manifest: TermsManifest | None = None


def music21_corpus_root() -> Path:
    import music21

    return Path(music21.__file__).resolve().parent / "corpus"


def classify_sources(paths: Iterable[tuple[str, str, str]], data_dir: Path | None) -> SourceTerms:
    """Classify (path, collection, file id) triples: music21's corpus when `data_dir` is
    None (its corpus-wide licence is the notice, not a classifier), else a studio folder
    (its licence files and ``ostinato-terms.toml`` apply)."""
    if data_dir is None:
        root = music21_corpus_root()
        licences = LicenceFiles(root, skip_root=True)
        notice_path = root / "license.txt"
        notice = licence_statement(notice_path, root.parent) if notice_path.is_file() else None
        manifest = None
    else:
        root = data_dir.resolve()
        licences = LicenceFiles(root, skip_root=False)
        notice = None
        manifest = read_terms_manifest(root)
    files = {}
    for path, collection, file_id in paths:
        files[file_id] = classify_file(
            Path(path).resolve(), file_id, collection, licences, manifest
        )
    return SourceTerms(files, notice, manifest)


def select_commercial_ok(source_terms: SourceTerms) -> set[str]:
    """File ids whose terms permit commercial use (`--only-commercial-ok`)."""
    chosen = {fid for fid, t in source_terms.files.items() if t.terms_class == COMMERCIAL_OK}
    if not chosen:
        counts = Counter(t.terms_class for t in source_terms.files.values())
        raise TermsError(
            f"no source file permits commercial use ({dict(counts)} by class): declare the "
            f"terms you hold in an ostinato-terms.toml at the folder's root "
            "(see docs/model_card.md, 'Training on your own music')",
            {"files_by_class": dict(counts)},
        )
    return chosen


def file_id_of(piece_id: str) -> str:
    """The source file of a piece (an opus's pieces are ``file#index``)."""
    return piece_id.split("#", 1)[0]


def terms_summary(
    source_terms: SourceTerms, bars_by_file: dict[str, int], *, selection: str = "all"
) -> dict[str, Any]:
    """The data manifest's ``terms`` section (format in the module docstring)."""
    total = sum(bars_by_file.values())
    bars_by_class: Counter[str] = Counter()
    files_by_class: Counter[str] = Counter()
    sources: dict[str, dict[str, Any]] = {}
    statements: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for file_id, terms in sorted(source_terms.files.items()):
        bars = bars_by_file.get(file_id, 0)
        bars_by_class[terms.terms_class] += bars
        files_by_class[terms.terms_class] += 1
        source = sources.setdefault(
            terms.source, {"bars": 0, "bars_by_class": Counter(), "files_by_class": Counter()}
        )
        source["bars"] += bars
        source["bars_by_class"][terms.terms_class] += bars
        source["files_by_class"][terms.terms_class] += 1
        seen = statements.setdefault(terms.source, {})
        for statement in dict.fromkeys(terms.statements):
            entry = seen.setdefault(
                (statement.where, statement.text),
                {
                    "where": statement.where,
                    "text": statement.text,
                    "class": statement.terms_class,
                    "files": 0,
                    "example": file_id,
                },
            )
            entry["files"] += 1
    for name, source in sources.items():
        ranked = sorted(
            statements[name].values(), key=lambda e: (-e["files"], e["where"], e["text"])
        )
        source["bars_by_class"] = _ordered(source["bars_by_class"])
        source["files_by_class"] = _ordered(source["files_by_class"])
        source["statements"] = ranked[:MAX_STATEMENTS_PER_SOURCE]
        source["statements_left_off"] = max(0, len(ranked) - MAX_STATEMENTS_PER_SOURCE)
    notice = source_terms.corpus_notice
    return {
        "format": TERMS_FORMAT,
        "selection": selection,
        "bars": total,
        "bars_by_class": _ordered(bars_by_class),
        "share_by_class": {
            c: round(bars_by_class[c] / total, 4) if total else 0.0 for c in TERMS_CLASSES
        },
        "files_by_class": _ordered(files_by_class),
        "corpus_notice": {"where": notice.where, "text": notice.text} if notice else None,
        "sources": dict(sorted(sources.items(), key=lambda kv: -kv[1]["bars"])),
    }


def _ordered(counts: Counter[str]) -> dict[str, int]:
    return {c: int(counts.get(c, 0)) for c in TERMS_CLASSES}


@dataclass(frozen=True)
class DataTerms:
    """The ``terms`` section of a data manifest (a checkpoint's ``data.terms``)."""

    bars: int
    bars_by_class: dict[str, int]
    share_by_class: dict[str, float]
    files_by_class: dict[str, int]
    sources: dict[str, dict[str, Any]]
    selection: str = "all"
    corpus_notice: dict[str, str] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_manifest(cls, data_manifest: dict[str, Any]) -> DataTerms | None:
        """The terms of a data manifest; None when it predates terms (nothing recorded)."""
        terms = data_manifest.get("terms")
        if not isinstance(terms, dict):
            return None
        return cls(
            bars=int(terms.get("bars", 0)),
            bars_by_class={c: int(terms["bars_by_class"].get(c, 0)) for c in TERMS_CLASSES},
            share_by_class={c: float(terms["share_by_class"].get(c, 0.0)) for c in TERMS_CLASSES},
            files_by_class={c: int(terms["files_by_class"].get(c, 0)) for c in TERMS_CLASSES},
            sources=dict(terms.get("sources", {})),
            selection=str(terms.get("selection", "all")),
            corpus_notice=terms.get("corpus_notice"),
            raw=terms,
        )

    @property
    def cleared(self) -> bool:
        """Every training bar comes from a file whose stated terms permit commercial use."""
        return self.bars > 0 and self.bars_by_class[COMMERCIAL_OK] == self.bars

    def class_shares_text(self) -> str:
        parts = [
            f"{self.share_by_class[c] * 100:.1f}% {CLASS_LABELS[c]}"
            for c in (RESTRICTED, UNSTATED, COMMERCIAL_OK)
            if self.bars_by_class[c]
        ]
        return ", ".join(parts)

    def notice(self) -> str | None:
        """One line when any training bar is not cleared for commercial use, else None."""
        if self.cleared:
            return None
        return (
            "data terms: the weights' training bars are "
            f"{self.class_shares_text()}: not cleared for commercial use "
            "(`ostinato model info` lists what each source says)"
        )

    def to_wire(self) -> dict[str, Any]:
        """The short form the service's hello reply and a bake manifest carry."""
        return {
            "cleared": self.cleared,
            "notice": self.notice(),
            "share_by_class": dict(self.share_by_class),
            "sources": sorted(self.sources),
        }


UNRECORDED_NOTICE = (
    "data terms: these weights do not record their training data's terms; find out what "
    "they were trained on before shipping what they make (`ostinato model info`)"
)


def shipped_weights_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "weights"


def weights_data_terms(weights_dir: Path | None = None) -> DataTerms | None:
    """The data terms recorded in a checkpoint folder's ``ostinato.json`` (no torch).

    Raises `TermsError` when the folder has no readable config."""
    folder = Path(weights_dir) if weights_dir is not None else shipped_weights_dir()
    path = folder / WEIGHTS_CONFIG_FILE
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise TermsError(f"cannot read {path}: {error}", {"path": str(folder)}) from error
    return DataTerms.from_manifest(config.get("data", {}))


def terms_notice(terms: DataTerms | None) -> str | None:
    """The notice for weights with these terms (None: every bar permits commercial use)."""
    return UNRECORDED_NOTICE if terms is None else terms.notice()


def terms_wire(terms: DataTerms | None) -> dict[str, Any]:
    if terms is None:
        return {"cleared": False, "notice": UNRECORDED_NOTICE, "share_by_class": {}, "sources": []}
    return terms.to_wire()


def engine_data_terms(engine: Any) -> tuple[bool, DataTerms | None]:
    """(has learned weights, their data terms) of an engine or a composer (duck-typed: a
    composer with a ``checkpoint``; a composer without one has no training data)."""
    composer = getattr(engine, "composer", engine)
    checkpoint = getattr(composer, "checkpoint", None)
    if checkpoint is None:
        return False, None
    return True, checkpoint.data_terms


def engine_terms_notice(engine: Any) -> str | None:
    """The one-line notice for an engine's weights (None: no weights, or all cleared)."""
    learned, terms = engine_data_terms(engine)
    return terms_notice(terms) if learned else None


def engine_terms_wire(engine: Any) -> dict[str, Any] | None:
    """The short form for a bake manifest (None: the engine has no learned weights)."""
    learned, terms = engine_data_terms(engine)
    return terms_wire(terms) if learned else None


def shipped_weights_notice() -> str | None:
    """The notice for the weights the default engine loads (read without torch)."""
    return terms_notice(weights_data_terms())


def shipped_weights_wire() -> dict[str, Any]:
    """The short form for the weights the default engine loads (the service's hello)."""
    try:
        terms = weights_data_terms()
    except TermsError:
        terms = None
    return terms_wire(terms)
