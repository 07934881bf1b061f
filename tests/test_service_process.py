"""`ostinato serve` as a real process: fast start, clean shutdown, resume after a restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from middleware.client import Client
from middleware.protocol.errors import RemoteError

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "templates" / "fantasy_rpg"


def _start(
    tmp_path: Path, bind: str = "tcp://127.0.0.1:*", *options: str
) -> tuple[subprocess.Popen, dict]:
    command = [
        sys.executable,
        "-m",
        "middleware.cli",
        "serve",
        str(PACK),
        "--bind",
        bind,
        "--pub-bind",
        "tcp://127.0.0.1:*",
        "--cache",
        str(tmp_path / "cache"),
        "--state-dir",
        str(tmp_path / "sessions"),
        "--no-pregen",
        *options,
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    line = process.stdout.readline()
    if not line:
        raise AssertionError(f"serve did not start: {process.stderr.read()}")
    return process, json.loads(line)


def _stop(process: subprocess.Popen) -> tuple[int, dict]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert "Warning" not in err, err
    return process.returncode, json.loads(out.strip().splitlines()[-1])


def test_serving_modules_do_not_import_the_model() -> None:
    code = (
        "import sys, middleware.cli.serve_cmd, middleware.service.server, "
        "middleware.service.cached_library, middleware.service.director_player, "
        "middleware.client; print(sorted(m for m in ('torch', 'music21', "
        "'sentence_transformers') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_service_process_restarts_and_its_clients_resume(tmp_path: Path) -> None:
    process, listening = _start(tmp_path)
    assert listening["event"] == "listening"
    assert listening["sets_total"] == 11 + 28 + 2  # states, stingers, renditions, bridges
    endpoint = listening["endpoint"]
    with Client(endpoint, timeout_s=3.0) as client:
        hello = client.hello(heartbeat=False)
        ack = client.event("battle", intensity=0.8)
        assert ack.transition is not None
        code, stopped = _stop(process)
        assert code == 0 and stopped["event"] == "stopped"

        process, listening = _start(tmp_path, bind=endpoint)
        try:
            status = client.status()  # the client notices the new process and resumes
            assert status["session"] == hello.session
            assert status["state"] == "battle"
        finally:
            code, _ = _stop(process)
        assert code == 0


def test_service_refuses_a_public_bind_without_keys(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "middleware.cli",
            "serve",
            str(PACK),
            "--bind",
            "tcp://0.0.0.0:5599",
            "--no-pregen",
            "--cache",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 2
    assert "service_config" in result.stderr and "CurveZMQ" in result.stderr


def test_serve_caps_the_sessions_of_one_peer(tmp_path: Path) -> None:
    """`--max-sessions-per-peer 2`: a third connection from this host (one peer on
    loopback) gets `too_many_sessions` with `scope: "peer"`; a `bye` makes room."""
    process, listening = _start(tmp_path, "tcp://127.0.0.1:*", "--max-sessions-per-peer", "2")
    clients = [Client(listening["endpoint"], timeout_s=5.0) for _ in range(3)]
    try:
        clients[0].hello(heartbeat=False)
        clients[1].hello(heartbeat=False)
        with pytest.raises(RemoteError) as refused:
            clients[2].hello(heartbeat=False)
        assert refused.value.code == "too_many_sessions"
        assert refused.value.detail == {"limit": 2, "scope": "peer"}
        clients[0].bye()
        assert clients[2].hello(heartbeat=False).session
    finally:
        for client in clients:
            client.close()
        code, _ = _stop(process)
    assert code == 0


def test_serve_refuses_a_negative_session_cap(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "middleware.cli", "serve", str(PACK), "--no-pregen",
         "--cache", str(tmp_path), "--max-sessions-per-peer", "-1"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "service_config" in result.stderr and "max_sessions_per_peer" in result.stderr
