"""`python -m sample_game.demo` (`make demo`): a headless game session against the service.

1. Starts `ostinato serve` on the bundled fantasy_rpg pack (a real process, real sockets).
2. Waits until every state's variants are ready, with a progress bar: on an empty cache
   the model writes them now (the scheduler's worker processes); on a warm cache it is
   instant.
3. Plays the scripted session (sample_game/script.py) through the Python client, streaming
   the music in real time with credit flow control, and records what the game heard.
4. Writes out/demo_session.wav and out/demo_timeline.png, prints a summary (event->ack
   latency, transitions and the bar each landed on, cache hits, underruns) and shuts the
   service down cleanly. Exits non-zero if anything was wrong (an underrun, a transition
   off its plan, an unclean shutdown).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engine_core.errors import OstinatoError
from middleware.client import AsyncClient
from sample_game.session import (
    SessionReport,
    cached_variants,
    on_plan,
    percentile_ms,
    play_session,
    session_render,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PACK = ROOT / "templates" / "fantasy_rpg"
START_TIMEOUT_S = 120.0


class DemoError(OstinatoError):
    code = "demo_failed"
    exit_code = 1


async def start_service(
    pack: Path, cache: Path | None, workers: int | None, state_dir: Path
) -> tuple[asyncio.subprocess.Process, dict]:
    command = [
        sys.executable,
        "-m",
        "middleware.cli",
        "serve",
        str(pack),
        "--bind",
        "tcp://127.0.0.1:*",
        "--pub-bind",
        "tcp://127.0.0.1:*",
        "--state-dir",
        str(state_dir),
    ]
    if cache is not None:
        command += ["--cache", str(cache)]
    if workers is not None:
        command += ["--workers", str(workers)]
    log_path = state_dir.parent / "service.log"
    with log_path.open("wb") as log:  # the child keeps its own handle
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=log
        )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        raise DemoError("the service did not start in time") from None
    if not line:
        await process.wait()
        raise DemoError(f"the service failed to start:\n{log_path.read_text()[-4000:]}")
    return process, json.loads(line)


async def wait_until_ready(client: AsyncClient, console: Console) -> dict[str, Any]:
    """Poll `status` (and listen to `pregen.progress`) until every set is ready."""
    latest: dict[str, Any] = {}
    failures: list[dict[str, Any]] = []
    client.on("pregen.progress", lambda note: latest.update(note.body))
    client.on("error", lambda note: failures.append(note.body))
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[what]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("pre-generating music", total=None, what="")
        while True:
            status = await client.status()
            pregen = status["pregen"]
            total = latest.get("variants_total") or pregen["total"]
            done = latest.get("variants_done") if "variants_total" in latest else pregen["done"]
            what = f"{pregen['done']}/{pregen['total']} states"
            if latest.get("state") and not status["ready"]:
                stage = f" · {latest['state']}"
                if latest.get("stage"):
                    stage += (
                        f" ({latest['stage']} {latest.get('step', 0)}/{latest.get('steps', 0)})"
                    )
                what += stage
            bar.update(task, total=total, completed=done, what=what)
            if status["ready"]:
                bar.update(
                    task, total=total, completed=total, what=f"{pregen['total']} states ready"
                )
                return status
            if failures:
                raise DemoError(
                    f"pre-generation failed: {failures[0].get('message')}",
                    {"detail": failures[0].get("detail")},
                )
            await asyncio.sleep(0.25)


def summary_table(report: SessionReport, status: dict, ready_s: float, shutdown: dict) -> Table:
    table = Table(title="Ostinato demo session", show_header=True, header_style="bold")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("music recorded", f"{report.audio.shape[0] / report.sample_rate:.1f} s")
    table.add_row(
        "event->ack latency p50 / p99",
        f"{percentile_ms(report.ack_latencies_s, 50):.2f} / "
        f"{percentile_ms(report.ack_latencies_s, 99):.2f} ms (n={len(report.ack_latencies_s)})",
    )
    table.add_row(
        "ping round trip p50 / p99",
        f"{percentile_ms(report.ping_latencies_s, 50):.2f} / "
        f"{percentile_ms(report.ping_latencies_s, 99):.2f} ms (n={len(report.ping_latencies_s)})",
    )
    for row in on_plan(report):
        source = row.get("from") or "(start)"
        verdict = "on plan" if row["planned"] else "automatic"
        table.add_row(
            f"transition {source} -> {row['to']}",
            f"bar {row['bar']} @ sample {row['sample']} ({row['fade']}, {verdict})",
        )
    for stinger in report.stingers:
        table.add_row(
            f"stinger {stinger['name']}", f"sample {stinger['at_sample']} ({stinger['sync']})"
        )
    pregen = status["pregen"]
    table.add_row(
        "cache hits (sets found / generated now)",
        f"{pregen.get('cached', 0)} / {pregen.get('generated', 0)} of {pregen['total']}",
    )
    table.add_row("time to ready", f"{ready_s:.1f} s")
    table.add_row("beats heard on PUB", str(report.beats_heard))
    table.add_row("underruns", str(report.underruns))
    table.add_row(
        "service shutdown", f"exit {shutdown['exit_code']} in {shutdown['seconds']:.2f} s"
    )
    return table


async def run_demo(args: argparse.Namespace, console: Console) -> int:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    console.rule("[bold]Ostinato demo: a headless game session")
    began = time.perf_counter()
    process, listening = await start_service(args.pack, args.cache, args.workers, out / "sessions")
    console.print(
        f"service listening on {listening['endpoint']} (PUB {listening['pub_endpoint']}),"
        f" {listening['sets_ready']}/{listening['sets_total']} states already cached"
    )
    shutdown = {"exit_code": None, "seconds": float("nan")}
    try:
        async with AsyncClient(listening["endpoint"], name="sample-game/demo") as client:
            await client.hello()
            status = await wait_until_ready(client, console)
            ready_s = time.perf_counter() - began
            console.print(
                "playing the scripted session (menu -> town -> explore -> battle -> "
                "victory -> explore), streaming in real time..."
            )
            columns = (
                TextColumn("[bold]session"),
                BarColumn(),
                TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
            )
            with Progress(*columns, console=console) as bar:
                task = bar.add_task("session", total=args.length)
                report = await play_session(
                    client, length_s=args.length, progress=lambda s: bar.update(task, completed=s)
                )
            status = await client.status()
            await client.bye()
    finally:
        stopping = time.perf_counter()
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        try:
            shutdown["exit_code"] = await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            shutdown["exit_code"] = await process.wait()
        shutdown["seconds"] = time.perf_counter() - stopping
    from middleware.director.timeline import plot_session

    wav = _write_wav(report, out / "demo_session.wav")
    render = session_render(report, cached_variants(args.pack, args.cache))
    png = plot_session(
        render,
        out / "demo_timeline.png",
        title="Ostinato demo: what the headless game heard, over real sockets",
    )
    console.print(summary_table(report, status, ready_s, shutdown))
    for line in report.log:
        console.print(f"  {line}")
    heard = sorted({mark.state for mark in render.motif_marks})
    console.print(
        f"motif entries heard: {len(render.motif_marks)}"
        + (f" (in {', '.join(heard)}; marked on the timeline)" if heard else "")
    )
    console.print(f"wrote {wav} and {png}")
    problems = []
    if report.underruns:
        problems.append(f"{report.underruns} underruns")
    if shutdown["exit_code"] != 0:
        problems.append(f"service exited with {shutdown['exit_code']}")
    if not all(row["planned"] or row.get("from") in (None, "victory") for row in on_plan(report)):
        problems.append("a transition did not land where it was planned")
    if problems:
        console.print("[red]demo finished with problems: " + "; ".join(problems))
        return 1
    console.print(
        "[green]demo finished: 0 underruns, every transition on its planned sample, clean shutdown"
    )
    return 0


def _write_wav(report: SessionReport, path: Path) -> Path:
    import soundfile

    soundfile.write(str(path), report.audio, report.sample_rate, subtype="PCM_16")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, default=DEFAULT_PACK)
    parser.add_argument("--cache", type=Path, default=None, help="variant cache root")
    parser.add_argument("--workers", type=int, default=None, help="generation processes")
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--length", type=float, default=None, help="seconds of music")
    args = parser.parse_args(argv)
    if args.length is None:
        from sample_game.script import SESSION_LENGTH_S

        args.length = SESSION_LENGTH_S
    console = Console()
    try:
        return asyncio.run(run_demo(args, console))
    except OstinatoError as error:
        console.print(f"[red]error \\[{error.code}]: {escape(error.message)}")
        cause = error.detail.get("detail", {}).get("error") if error.detail else None
        if cause:
            console.print(escape(str(cause)))
        return error.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
