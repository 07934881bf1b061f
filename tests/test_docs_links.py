"""Every relative link in the project's Markdown resolves: the file exists, and a
`#fragment` names a heading of the target (GitHub's anchor rules)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {".venv", ".git", "out", ".pytest_cache", "node_modules", "ostinato.egg-info"}
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def markdown_files() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*.md")
        if not SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts)
    )


def prose_lines(path: Path) -> list[tuple[int, str]]:
    """Lines outside fenced code blocks, with inline code spans blanked."""
    lines, fenced = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, re.sub(r"`[^`]*`", "``", line)))
    return lines


def github_anchor(heading: str) -> str:
    text = re.sub(r"[`*]|<[^>]+>", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors_of(path: Path) -> set[str]:
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in prose_lines(path):
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            slug = github_anchor(match.group(1))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    broken = []
    for number, line in prose_lines(path):
        for match in LINK.finditer(line):
            target = match.group(1)
            if SCHEME.match(target):
                continue
            file_part, _, fragment = target.partition("#")
            resolved = (path.parent / file_part) if file_part else path
            where = f"{path.relative_to(root)}:{number}: {target}"
            if not resolved.exists():
                broken.append(f"{where} (no such file)")
            elif fragment and resolved.suffix == ".md" and fragment not in anchors_of(resolved):
                broken.append(f"{where} (no heading #{fragment})")
    return broken


def test_the_checker_finds_the_docs() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in markdown_files()}
    assert {"README.md", "docs/protocol.md", "docs/templates.md"} <= names


def test_the_checker_reports_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    doc = ROOT / "docs" / "protocol.md"
    bad = tmp_path / "bad.md"
    bad.write_text(
        "# Top\n[ok](#top) [gone](nowhere.md) `[code](nowhere.md)`\n"
        f"[no anchor]({doc}#no-such-heading) [anchor]({doc}#test-vectors)\n"
        "```\n[fenced](nowhere.md)\n```\n[web](https://example.org/x.md)\n",
        encoding="utf-8",
    )
    problems = [p.split(": ", 1)[1] for p in broken_links(bad, root=tmp_path)]
    assert problems == ["nowhere.md (no such file)", f"{doc}#no-such-heading (no heading "
                        "#no-such-heading)"]  # fmt: skip


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(path: Path) -> None:
    assert broken_links(path) == []
