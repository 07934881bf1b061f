"""What each training file says about its terms of use, read from the files themselves.

Every score file is put in one of three classes:

- ``commercial_ok``: a statement that covers it permits commercial use (CC0, a public
  domain dedication, CC-BY, CC-BY-SA, GPL, MIT, BSD, Apache, ...);
- ``restricted``: a statement that covers it limits use to non-commercial purposes or
  reserves rights ("non-commercial", "all rights reserved", "rights to all derivative
  electronic formats reserved", an -NC Creative Commons licence);
- ``unstated``: nothing that covers it states terms. Copyright notices and credits
  without terms ("PDF (c) 2004 ...", "used by permission", "Copyright (c)") are kept as
  statements but do not move a file out of this class.

Where statements come from:

- the file: Humdrum reference records (``!!!YEC``, ``!!!YEM`` and any ``!!!`` record that
  speaks of rights), MusicXML ``<rights>`` and ``<credit-words>`` that speak of rights
  (``.mxl`` archives are opened), ABC comments (``%``) and ``Z:``/``N:`` fields that speak
  of rights, MIDI copyright and text meta events that speak of rights;
- a licence file (``license*``, ``licence*``, ``copying*``, ``copyright*``) in the file's
  folder or a folder above it, up to the source root. music21's corpus-wide
  ``corpus/license.txt`` is the exception: it says only that *some* encodings carry
  restrictions, so it is recorded as the corpus notice and classifies nothing;
- a studio folder's terms manifest, ``ostinato-terms.toml`` at the folder's root (see
  `read_terms_manifest`). It speaks for the files it covers: their class is the one it
  declares, and the files' own statements are still listed beside it.

When statements disagree, ``restricted`` wins over ``commercial_ok``. This module reads
and sorts statements; it gives no legal advice.
"""

from __future__ import annotations

import fnmatch
import html
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from engine_core.errors import OstinatoError

COMMERCIAL_OK = "commercial_ok"
RESTRICTED = "restricted"
UNSTATED = "unstated"
TERMS_CLASSES: tuple[str, ...] = (COMMERCIAL_OK, RESTRICTED, UNSTATED)
CLASS_LABELS: dict[str, str] = {
    COMMERCIAL_OK: "permits commercial use",
    RESTRICTED: "non-commercial or rights reserved",
    UNSTATED: "no terms stated",
}
TERMS_MANIFEST = "ostinato-terms.toml"
LICENCE_PREFIXES = ("license", "licence", "copying", "copyright")

_RESTRICTED_PATTERNS = [
    r"non[- ]?commercial",
    r"\bnot\b[^.]{0,40}\bcommercial",
    r"\bCC[- ]?BY[- ]NC",
    r"\bBY[- ]NC\b",
    # "No rights reserved" (CC0) and "Some rights reserved" (the CC licences) say nothing
    # restrictive by themselves
    r"(?<!\bno )(?<!\bsome )\brights?\b[^.]{0,60}\breserved\b",
    r"personal use only",
    r"\b(?:research|educational|evaluation) (?:use|purposes) only\b",
]
_PERMISSIVE_PATTERNS = [
    r"\bCC0\b",
    r"public[- ]domain",
    r"\bP\.D\.",
    r"creative commons",
    r"\bCC[- ](?:BY|SA)\b",
    r"\bGPL\b|GNU General Public",
    r"\bMIT licen[cs]e\b",
    r"\bBSD\b",
    r"\bApache licen[cs]e\b",
    r"commercial use (?:is )?(?:permitted|allowed)",
]
#: a line that speaks of rights at all (kept as a statement even when it states no terms)
_RIGHTS_WORDS = re.compile(
    r"©|\(c\)|copyright|licen[cs]e|\brights\b|permission|public[- ]domain|creative commons"
    r"|\bCC[- ]?(?:0|BY|SA)\b|commercial|\bGPL\b",
    re.IGNORECASE,
)
_RESTRICTED = [re.compile(p, re.IGNORECASE) for p in _RESTRICTED_PATTERNS]
_PERMISSIVE = [re.compile(p, re.IGNORECASE) for p in _PERMISSIVE_PATTERNS]


class TermsError(OstinatoError):
    """A terms manifest is malformed, or no source is left after selecting by terms."""

    code = "data_terms_error"
    exit_code = 6


@dataclass(frozen=True)
class Statement:
    """One thing a source says about its rights, quoted, and where it says it."""

    where: str  # "!!!YEM", "<rights>", "<credit-words>", "ABC comment", "MIDI copyright",
    # or a licence/manifest file's path relative to the source root
    text: str
    terms_class: str | None  # None: a notice or credit that states no terms


@dataclass(frozen=True)
class FileTerms:
    file_id: str  # the file's id in the data set (collection/relative path)
    source: str  # the collection (music21) or "custom" (a studio folder)
    terms_class: str
    reason: str  # the statement that decided, or why nothing did
    statements: tuple[Statement, ...] = ()


@dataclass(frozen=True)
class ManifestRule:
    pattern: str  # glob over the path relative to the folder ("*" = every file)
    terms_class: str
    statement: str


@dataclass(frozen=True)
class TermsManifest:
    """A studio folder's declaration of the terms it holds its scores under."""

    path: Path
    source: str
    rules: tuple[ManifestRule, ...]  # the last matching rule wins
    extra: dict[str, str] = field(default_factory=dict)

    def rule_for(self, relative: str) -> ManifestRule | None:
        found = None
        for rule in self.rules:
            if fnmatch.fnmatch(relative, rule.pattern):
                found = rule
        return found


def classify_text(text: str) -> str | None:
    """The class a statement's words put a file in; None for a notice without terms."""
    if any(p.search(text) for p in _RESTRICTED):
        return RESTRICTED
    if any(p.search(text) for p in _PERMISSIVE):
        return COMMERCIAL_OK
    return None


def _clean(text: str) -> str:
    return " ".join(html.unescape(text).split())


def _statement(where: str, text: str) -> Statement:
    text = _clean(text)
    return Statement(where, text, classify_text(text))


def humdrum_statements(text: str) -> list[Statement]:
    found = []
    for line in text.splitlines():
        if not line.startswith("!!!"):
            continue
        key, _, value = line[3:].partition(":")
        key = key.strip()
        if key in ("YEC", "YEM") or _RIGHTS_WORDS.search(value):
            found.append(_statement(f"!!!{key}", value))
    return found


def musicxml_statements(text: str) -> list[Statement]:
    found = []
    for body in re.findall(r"<rights\b[^>]*>(.*?)</rights>", text, re.DOTALL):
        found.append(_statement("<rights>", body))
    for body in re.findall(r"<credit-words\b[^>]*>(.*?)</credit-words>", text, re.DOTALL):
        if _RIGHTS_WORDS.search(body):
            found.append(_statement("<credit-words>", body))
    return found


def abc_statements(text: str) -> list[Statement]:
    """Runs of consecutive ``%`` comment lines (one statement per run: a licence notice
    spans lines) and ``Z:``/``N:`` fields, where they speak of rights."""
    found: list[Statement] = []
    run: list[str] = []

    def close_run() -> None:
        block = " ".join(run)
        if run and _RIGHTS_WORDS.search(block):
            found.append(_statement("ABC comment", block))
        run.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("%") and not stripped.startswith("%%"):
            run.append(stripped.lstrip("%"))
            continue
        close_run()
        if stripped[:2] in ("Z:", "N:") and _RIGHTS_WORDS.search(stripped[2:]):
            found.append(_statement(f"ABC {stripped[:2]}", stripped[2:]))
    close_run()
    return found


def midi_statements(path: Path) -> list[Statement]:
    import mido

    try:
        midi = mido.MidiFile(str(path))
    except (OSError, ValueError, EOFError, KeyError, IndexError):
        return []
    found = []
    for track in midi.tracks:
        for message in track:
            if message.type == "copyright":
                found.append(_statement("MIDI copyright", message.text))
            elif message.type == "text" and _RIGHTS_WORDS.search(message.text):
                found.append(_statement("MIDI text", message.text))
    return found


def _musicxml_text(path: Path) -> str:
    if path.suffix.lower() != ".mxl":
        return path.read_text(encoding="utf-8", errors="replace")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        root = None
        if "META-INF/container.xml" in names:
            container = archive.read("META-INF/container.xml").decode("utf-8", "replace")
            match = re.search(r'full-path="([^"]+)"', container)
            root = match.group(1) if match else None
        if root not in names:
            root = next(
                n
                for n in names
                if not n.startswith("META-INF") and n.endswith((".xml", ".musicxml"))
            )
        return archive.read(root).decode("utf-8", "replace")


def file_statements(path: Path) -> list[Statement]:
    """What one score file says about its rights (empty when it says nothing)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".krn":
            return humdrum_statements(path.read_text(encoding="utf-8", errors="replace"))
        if suffix in (".mxl", ".xml", ".musicxml"):
            return musicxml_statements(_musicxml_text(path))
        if suffix == ".abc":
            return abc_statements(path.read_text(encoding="utf-8", errors="replace"))
        if suffix in (".mid", ".midi"):
            return midi_statements(path)
    except (OSError, zipfile.BadZipFile, StopIteration, KeyError):
        return []  # an unreadable file states nothing (the parser reports it unreadable)
    return []


def is_licence_file(path: Path) -> bool:
    name = path.name.lower()
    return (
        path.is_file() and name.startswith(LICENCE_PREFIXES) and path.suffix in ("", ".txt", ".md")
    )


def licence_statement(path: Path, root: Path) -> Statement:
    """A licence file as one statement: its class from its whole text, quoted in full."""
    text = path.read_text(encoding="utf-8", errors="replace")
    body = [line for line in text.splitlines() if not line.startswith("#")]
    return _statement(str(path.relative_to(root)), "\n".join(body))


class LicenceFiles:
    """Licence files of the folders between a file and its source root, read once each."""

    def __init__(self, root: Path, *, skip_root: bool) -> None:
        self.root = root
        self.skip_root = skip_root
        self._by_folder: dict[Path, list[Statement]] = {}

    def _folder(self, folder: Path) -> list[Statement]:
        if folder not in self._by_folder:
            self._by_folder[folder] = [
                licence_statement(p, self.root)
                for p in sorted(folder.iterdir())
                if is_licence_file(p)
            ]
        return self._by_folder[folder]

    def covering(self, path: Path) -> list[Statement]:
        found: list[Statement] = []
        folder = path.parent
        while folder != self.root and self.root in folder.parents:
            found.extend(self._folder(folder))
            folder = folder.parent
        if not self.skip_root and folder == self.root:
            found.extend(self._folder(self.root))
        return found


def decide(statements: Iterable[Statement]) -> tuple[str, str]:
    """(class, reason) from statements: restricted beats commercial_ok beats unstated."""
    statements = list(statements)
    for wanted in (RESTRICTED, COMMERCIAL_OK):
        for statement in statements:
            if statement.terms_class == wanted:
                return wanted, f"{statement.where}: {_short(deciding_sentence(statement))}"
    if statements:
        return UNSTATED, "only notices or credits without terms"
    return UNSTATED, "nothing stated"


def deciding_sentence(statement: Statement) -> str:
    """The sentence of a statement that gave it its class (a licence file is long)."""
    patterns = _RESTRICTED if statement.terms_class == RESTRICTED else _PERMISSIVE
    for sentence in _sentences(statement.text):
        if any(p.search(sentence) for p in patterns):
            return sentence
    return statement.text


_ABBREVIATIONS = ("dr.", "prof.", "habil.", "mr.", "mrs.", "st.", "e.g.", "i.e.", "no.", "vol.")


def _sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for piece in re.split(r"(?<=[.;!?])\s+", text):
        last = sentences[-1].split()[-1].lower() if sentences else ""
        if sentences and (last in _ABBREVIATIONS or re.fullmatch(r"[a-z]\.", last)):
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    return sentences


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_terms_manifest(folder: Path) -> TermsManifest | None:
    """``ostinato-terms.toml`` of a studio folder, or None when the folder has none.

    The file::

        source = "Studio X sketches"          # a name for the collection (optional)
        terms = "commercial_ok"                # commercial_ok | restricted | unstated
        statement = "Composed in-house; owned by Studio X."

        [[files]]                              # optional, for parts of the folder
        glob = "licensed/*.mid"                # relative to the folder; last match wins
        terms = "restricted"
        statement = "Licensed from Y for prototypes only."

    Every rule needs a statement (what the studio holds, in words): it is what the
    weights' provenance quotes.
    """
    import tomllib

    path = folder / TERMS_MANIFEST
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise TermsError(f"{path}: cannot read: {error}", {"path": str(path)}) from error
    allowed = {"source", "terms", "statement", "files"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise TermsError(
            f"{path}: unknown key(s) {unknown}; allowed: {sorted(allowed)}",
            {"path": str(path), "keys": unknown},
        )
    rules: list[ManifestRule] = []
    if "terms" in data or "statement" in data:
        rules.append(_rule(path, "<top level>", "*", data))
    files = data.get("files", [])
    if not isinstance(files, list):
        raise TermsError(
            f"{path}: 'files' must be an array of tables ([[files]])", {"path": str(path)}
        )
    for index, entry in enumerate(files):
        where = f"files[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("glob"), str):
            raise TermsError(
                f"{path}: {where} needs a 'glob' string", {"path": str(path), "key": where}
            )
        extra = sorted(set(entry) - {"glob", "terms", "statement"})
        if extra:
            raise TermsError(
                f"{path}: {where} has unknown key(s) {extra}", {"path": str(path), "key": where}
            )
        rules.append(_rule(path, where, entry["glob"], entry))
    if not rules:
        raise TermsError(
            f"{path}: declares no terms: give 'terms' and 'statement' (or [[files]] entries)",
            {"path": str(path)},
        )
    source = data.get("source", "custom")
    if not isinstance(source, str) or not source.strip():
        raise TermsError(f"{path}: 'source' must be a non-empty string", {"path": str(path)})
    return TermsManifest(path=path, source=source.strip(), rules=tuple(rules))


def _rule(path: Path, where: str, pattern: str, entry: dict) -> ManifestRule:
    terms = entry.get("terms")
    if terms not in TERMS_CLASSES:
        raise TermsError(
            f"{path}: {where}: 'terms' is {terms!r}; allowed: {list(TERMS_CLASSES)}",
            {"path": str(path), "key": where, "allowed": list(TERMS_CLASSES)},
        )
    statement = entry.get("statement")
    if not isinstance(statement, str) or not statement.strip():
        raise TermsError(
            f"{path}: {where}: 'statement' must say, in words, what the studio holds",
            {"path": str(path), "key": where},
        )
    return ManifestRule(pattern, terms, " ".join(statement.split()))


def classify_file(
    path: Path,
    file_id: str,
    source: str,
    licences: LicenceFiles,
    manifest: TermsManifest | None = None,
) -> FileTerms:
    """One file's class from its own statements, its folders' licence files and the
    studio's terms manifest (which decides for the files it covers)."""
    statements = licences.covering(path) + file_statements(path)
    if manifest is not None:
        relative = str(path.relative_to(licences.root))
        rule = manifest.rule_for(relative)
        if rule is not None:
            declared = Statement(TERMS_MANIFEST, rule.statement, rule.terms_class)
            return FileTerms(
                file_id,
                manifest.source,
                rule.terms_class,
                f"declared in {TERMS_MANIFEST}: {_short(rule.statement)}",
                (declared, *statements),
            )
    terms_class, reason = decide(statements)
    return FileTerms(file_id, source, terms_class, reason, tuple(statements))
