"""`ostinato new`: start a pack from one of the template packs shipped with Ostinato.

The packs in the repository's `templates/` folder are installed with the package (to
`<prefix>/share/ostinato/templates/`), so after `pip install` the README's commands work
too: `ostinato new templates/fantasy_rpg` writes the pack there.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from engine_core.errors import OstinatoError

#: Where `pip install` puts the shipped packs (pyproject.toml [tool.setuptools.data-files]).
INSTALLED = Path("share") / "ostinato" / "templates"


class NewPackError(OstinatoError):
    code = "new_pack"
    exit_code = 2


def bundled_packs() -> dict[str, Path]:
    """The shipped packs by name: installed ones, else a checkout's templates/ folder."""
    for root in (Path(sys.prefix) / INSTALLED, Path(__file__).resolve().parents[2] / "templates"):
        if root.is_dir():
            packs = {p.name: p for p in sorted(root.iterdir()) if (p / "pack.toml").is_file()}
            if packs:
                return packs
    return {}


@click.command()
@click.argument("dest", type=click.Path(path_type=Path))
@click.option(
    "--from",
    "source",
    default="fantasy_rpg",
    show_default=True,
    help="Shipped pack to start from (see --list).",
)
@click.option("--list", "list_only", is_flag=True, help="List the shipped packs and stop.")
def new(dest: Path, source: str, list_only: bool) -> None:
    """Write a new pack folder DEST, a copy of a pack shipped with Ostinato.

    \b
    Examples:
      ostinato new templates/fantasy_rpg
      ostinato new my_game_music --from neon_runner
      ostinato new . --list
    """
    packs = bundled_packs()
    if list_only:
        for name in packs:
            click.echo(name)
        return
    if source not in packs:
        raise NewPackError(
            f"no shipped pack {source!r} (shipped: {', '.join(packs)})",
            {"value": source, "packs": list(packs)},
        )
    if dest.exists() and any(dest.iterdir()):
        raise NewPackError(f"{dest} exists and is not empty", {"path": str(dest)})
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(packs[source], dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__*"))
    click.echo(f"wrote {dest} (from {source}); try: ostinato validate {dest}")
