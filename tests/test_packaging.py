"""Packaging: the licence, the shipped template packs, and a wheel that installs and runs
outside the checkout (built from the working tree, installed into a fresh venv)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_licence_file_matches_the_declared_licence() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text
    upm = ROOT / "bindings" / "unity" / "com.ostinato.client"
    assert (upm / "LICENSE.md").read_text(encoding="utf-8") == text


def test_every_template_pack_is_installed_with_the_package() -> None:
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "data-files"
    ]
    packs = sorted(p.name for p in (ROOT / "templates").iterdir() if (p / "pack.toml").is_file())
    assert data_files == {
        f"share/ostinato/templates/{name}": [f"templates/{name}/*"] for name in packs
    }


def _tracked_tree(destination: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    """The wheel (not the checkout) runs `ostinato new`, `validate`, `generate` and `compose`
    from another directory. Dependencies come from this environment's site-packages through a
    path entry (no network here); the editable install of the checkout is not on the path."""
    source = tmp_path / "src"
    _tracked_tree(source)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(source)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (wheel,) = wheels.glob("ostinato-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "-q", str(wheel)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    venv_site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    (venv_site / "ostinato_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "game"
    work.mkdir()

    def ostinato(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "ostinato"), *args],
            cwd=work, capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    where = subprocess.run(
        [str(python), "-c", "import middleware; print(middleware.__file__)"],
        cwd=work, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert where.startswith(str(venv)), where  # the wheel's copy, not the checkout
    made = ostinato("new", "templates/fantasy_rpg")
    assert made.returncode == 0, made.stderr
    assert (work / "templates" / "fantasy_rpg" / "pack.toml").is_file()
    checked = ostinato("validate", "templates/fantasy_rpg")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    generated = ostinato(
        "generate", "templates/fantasy_rpg", "--state", "menu", "--variants", "1",
        "--out", "out", "--jobs", "1",
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert list((work / "out").rglob("*.wav"))
    composed = ostinato(
        "compose", "a calm harp melody over soft strings, no drums", "--bars", "2",
        "--variants", "1", "--out", "composed", "--jobs", "1",
    )  # fmt: skip
    assert composed.returncode == 0, composed.stdout + composed.stderr
    assert list((work / "composed").rglob("*.wav"))
    size = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file())
    print(
        f"\nwheel {wheel.name}: {wheel.stat().st_size / 1e6:.1f} MB; installed {size / 1e6:.1f} MB"
    )
