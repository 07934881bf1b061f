"""Shared set-up for the studio's browser tests: a real `ostinato studio` process and the
system's headless Chromium driven by selenium through Debian's chromedriver.

The studio serves a copy of the bundled `fantasy_rpg` pack (tests edit it) from a fresh
variant cache that its scheduler fills with the tone engine of `test_cache_support` (real
worker processes, real cache, the templates' exact timing; no diffusion model to wait
for). Nothing here downloads a browser or a driver: selenium gets both paths.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACK_DIR = ROOT / "templates" / "fantasy_rpg"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TONE = "test_cache_support:make_tone_engine"
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1400,900",
)


#: CPU priority (nice value) for the studio and the browser when the OS allows it (root, as
#: in CI). A desktop gives an audio application's threads such priority (Chromium asks for
#: real-time audio threads); on a shared build machine, without it, other jobs can starve
#: the audio path for longer than any sensible buffer. Not allowed: the tests run as-is.
AUDIO_NICE = -10


def raise_priority() -> None:
    """`preexec_fn` for the studio's and chromedriver's processes (children inherit it)."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, AUDIO_NICE)


@dataclass
class StudioProcess:
    process: subprocess.Popen
    url: str
    endpoint: str
    pack_dir: Path
    started_s: float  # when the listening line was read (time.monotonic)
    started_wall_s: float = 0.0  # the same moment, time.time() (to compare with a page's)

    def pack(self) -> dict:
        with urllib.request.urlopen(self.url + "api/pack", timeout=10) as response:
            return json.loads(response.read())

    def wait_ready(self, timeout_s: float = 120.0) -> dict:
        """Wait until every state has all its variants (the scheduler filled the cache)."""
        deadline = time.monotonic() + timeout_s
        while True:
            view = self.pack()
            if all(s["ready_variants"] >= s["variants"] for s in view["states"]):
                return view
            if time.monotonic() > deadline:
                raise AssertionError(f"studio not ready: {view['states']}")
            time.sleep(0.25)


def copy_pack(root: Path) -> Path:
    target = root / "fantasy_rpg"
    shutil.copytree(PACK_DIR, target)
    return target


@contextlib.contextmanager
def studio_process(root: Path, pack_dir: Path) -> Iterator[StudioProcess]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests"), str(ROOT)])
    command = [
        sys.executable, "-m", "middleware.cli", "studio", str(pack_dir), "--port", "0",
        "--cache", str(root / "cache"), "--workers", "1", "--engine-factory", TONE,
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
        preexec_fn=raise_priority,
    )
    try:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"studio did not start: {process.stderr.read()}")
        listening = json.loads(line)
        yield StudioProcess(
            process, listening["url"], listening["endpoint"], pack_dir, time.monotonic(),
            time.time(),
        )  # fmt: skip
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@contextlib.contextmanager
def chromium() -> Iterator[object]:  # -> selenium.webdriver.Chrome
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="ostinato-chromium-")
    for flag in (*HEADLESS_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(str(CHROMEDRIVER), popen_kw={"preexec_fn": raise_priority})
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_until(predicate, timeout_s: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout_s} s")
        time.sleep(0.05)


def screenshot_dir(fallback: Path) -> Path:
    """Where screenshots go: $STUDIO_SCREENSHOTS (docs/images for the docs) or `fallback`."""
    chosen = os.environ.get("STUDIO_SCREENSHOTS")
    path = Path(chosen) if chosen else fallback
    path.mkdir(parents=True, exist_ok=True)
    return path
