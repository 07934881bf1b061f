"""Running a benchmark's child process on another source tree (the baseline's).

A benchmark that compares this tree with a baseline runs its own file again as a child
(`<file> --child ...`) with the engine imported from `root` (PYTHONPATH and working
directory), and reads the child's results back as its JSON lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run_child(script: str, root: Path, *arguments: str) -> list[dict]:
    """`python <script> --child <arguments>` with the engine from `root`: the JSON lines
    it printed (lines starting with "{"), in order."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("OSTINATO_BENCH_BASELINE_TREE", None)  # the child measures; it picks no tree
    out = subprocess.run(
        [sys.executable, script, "--child", *arguments],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]
