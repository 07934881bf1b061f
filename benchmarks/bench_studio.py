"""Studio figures in headless Chromium: page interactive after `studio` prints its URL
(warm cache), click -> audible change, and a long stream's underruns and memory.

A real `ostinato studio` process serves a copy of fantasy_rpg from a cache the tone test
engine fills first (a cold run), then is restarted on that warm cache for the figures.
Baselines measured in the same run: loading one static file of the same server (what any
page load costs here), the musical wait the rule asks for (the floor of any click), and
the memory at the start of the stream. `--seconds` sets the streaming length (the goal
is 600 s; the default keeps `make bench` short). The studio and the browser run at the
raised priority of the browser tests (`tests/studio_support.py`) when the OS allows it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:.0f} ms"


def _private(process) -> int:  # psutil.Process -> bytes
    """Resident memory not backed by files: the cache's variants are memory-mapped files,
    resident as the loop first plays through them (bounded by their size, not a leak)."""
    info = process.memory_info()
    return info.rss - info.shared


#: click a state the way the page's button does (with `replace_from`); what the ear
#: hears at that moment, the reply's plan and rewind, and the click's wall-clock time
PROBE = (
    "const audio = studio.audio, context = audio.context;"
    "const probe = {heard: audio.audibleSample(), buffered: audio.stats.buffered,"
    " target_ms: audio.stats.targetMs || 0, t0: performance.now(),"
    " heard_before: audio.heardCount,"
    " output_s: (context.baseLatency || 0) + (context.outputLatency || 0)};"
    "return studio.goTo('TARGET').then(() => Object.assign(probe,"
    " {plan: studio.lastEvent.transition, rewind: studio.lastEvent.rewind}));"
)


def _heard_state(js) -> str | None:
    return js("return studio.heardState()")


def _click(js, target: str, rate: int) -> dict[str, float]:
    """One click; waits until the changed audio is heard. `lag_s`: from the sample heard
    at the click to the first sample of the change heard (audio time, on the page's own
    playhead); `wall_s`: from the click to the worklet's report of that frame."""
    from studio_support import wait_until

    probe = js(PROBE.replace("TARGET", target))
    plan = probe["plan"]
    start = plan["at_sample"]
    if probe["rewind"] is not None:
        heard = wait_until(
            lambda: js(f"return studio.audio.heard.filter(h => h.n > {probe['heard_before']})"),
            30,
        )[0]
        first, wall_s = heard["sample"], (heard["now"] - probe["t0"]) / 1000
        first = max(first, start)  # a later musical point: the change sounds there
    else:  # no rewind: the change sounds when the playhead reaches the planned sample
        wait_until(lambda: js("return studio.audio.audibleSample()") >= start, 30)
        first, wall_s = start, (js("return performance.now()") - probe["t0"]) / 1000
    return {
        "lag_s": (first - probe["heard"]) / rate,
        "wall_s": wall_s,
        "ring_s": probe["buffered"] / rate,
        "output_s": probe["output_s"],
        "target_ms": probe["target_ms"],
        "rewound": probe["rewind"] is not None,
        "plan_heard_s": (start - probe["heard"]) / rate,
        "heard": probe["heard"],
        # where the change was made from (the rewind's sample, else the plan's decision)
        "from_s": ((probe["rewind"] or {}).get("sample", probe["heard"]) - probe["heard"]) / rate,
    }


def _immediate(js, rate: int, probes: int) -> list[dict[str, float]]:
    """`probes` clicks battle -> defeat (an `immediate` rule: no musical wait); back in
    battle between (defeat is a one-shot that leaves at its end)."""
    from studio_support import wait_until

    found = []
    underruns0 = js("return studio.audio.stats.underruns")
    for _ in range(probes):
        js("studio.goTo('battle')")
        wait_until(lambda: _heard_state(js) == "battle", 60)
        time.sleep(2.0)
        found.append(_click(js, "defeat", rate))
        time.sleep(1.0)
    for probe in found:
        probe["underruns"] = js("return studio.audio.stats.underruns") - underruns0
    return found


def _immediate_row(name: str, found: list[dict[str, float]]) -> tuple[str, str, str]:
    def median(key: str) -> float:
        return statistics.median(probe[key] for probe in found)

    lags = sorted(probe["lag_s"] for probe in found)
    return (
        f"click -> audible change (battle -> defeat, immediate), {name}",
        f"{_ms(median('lag_s'))} median of {len(found)} ({_ms(lags[0])}..{_ms(lags[-1])})",
        f"audio queued in the page's ring at the click {_ms(median('ring_s'))} "
        f"(look-ahead {median('target_ms'):.0f} ms); click -> the worklet's report of the "
        f"first new frame (wall clock) {_ms(median('wall_s'))}; "
        f"the audio device's own latency on top: {_ms(median('output_s'))}; "
        f"rewound {sum(bool(p['rewound']) for p in found)}/{len(found)}; "
        f"underruns meanwhile: {found[-1]['underruns']}",
    )


def _interactive(js, studio, browser) -> tuple[float, dict[str, float]]:
    """ms from the URL being printed to the page's ready mark (both wall clocks of this
    machine), and where the page's time went (ms after its navigation started)."""
    from studio_support import wait_until

    browser.get(studio.url)
    wait_until(lambda: js("return document.body.dataset.ready"), 30)
    origin = js("return performance.timeOrigin")
    marks = js("return studio.bootMarks")
    ready_ms = origin + marks["ready"] - 1000 * studio.started_wall_s
    return ready_ms, {"navigation": origin - 1000 * studio.started_wall_s, **marks}


def main(argv: list[str] | None = None) -> None:
    import psutil
    from selenium.webdriver.common.by import By
    from studio_support import chromium, copy_pack, studio_process, wait_until

    parser = argparse.ArgumentParser(prog="bench_studio")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=30.0, help="s before the probes")
    parser.add_argument("--probes", type=int, default=5)
    args = parser.parse_args(argv or [])
    root = Path(tempfile.mkdtemp(prefix="ostinato-bench-studio-"))
    pack_dir = copy_pack(root)
    with studio_process(root, pack_dir) as cold:
        cold.wait_ready()
    rows: list[tuple[str, str, str]] = []
    # the browser starts first: its own launch is not the page's doing
    with contextlib.ExitStack() as stack:
        browser = stack.enter_context(chromium())
        # the driver's and the browser's own cost of a first navigation, no studio involved
        started = time.monotonic()
        browser.get("data:text/html,<p>warm-up</p>")
        first_navigation_s = time.monotonic() - started
        studio = stack.enter_context(studio_process(root, pack_dir))
        js = browser.execute_script
        # page interactive after the URL was printed (warm variant cache), from the page's
        # own ready mark; then a reload (the browser's cache warm too)
        interactive_ms, marks = _interactive(js, studio, browser)
        started = time.monotonic()
        browser.get(studio.url + "static/style.css")
        static_s = time.monotonic() - started
        browser.get(studio.url + "?reload")
        wait_until(lambda: js("return document.body.dataset.ready"), 30)
        reload_marks = js("return studio.bootMarks")
        steps = ", ".join(
            f"{name} {marks[name]:.0f}" for name in ("script", "pack", "socket", "session")
        )
        rows.append(
            (
                "page interactive after the URL (warm cache)",
                f"{interactive_ms:.0f} ms",
                f"navigation started {marks['navigation']:.0f} ms after the URL (the driver's "
                f"command; this browser's first navigation, to a data: page before the studio "
                f"started, took {_ms(first_navigation_s)}); then, ms after it: {steps}, "
                f"ready {marks['ready']:.0f}; a reload: "
                f"ready {reload_marks['ready']:.0f} ms after its navigation; one static file: "
                f"{_ms(static_s)}",
            )
        )

        # click -> audible change with a musical wait: town -> battle waits for the next bar
        # after the sample the change can be made on (heard + the page's margin)
        browser.find_element(By.CSS_SELECTOR, 'button.state[data-state="town"]').click()
        wait_until(lambda: _heard_state(js) == "town", 30)
        time.sleep(2.0)
        rate = studio.pack()["sample_rate"]
        margin = js("return studio.audio.rewindMs") / 1000 * rate
        probe = _click(js, "battle", rate)
        rows.append(
            (
                "click -> audible change (town -> battle, next_bar)",
                _ms(probe["lag_s"]),
                f"the change was made from {_ms(probe['from_s'])} after the sample heard at the "
                f"click (the page's {_ms(margin / rate)} margin, rounded up to a block); the "
                f"rule's musical wait from there to the next bar line: "
                f"{_ms(probe['plan_heard_s'] - probe['from_s'])}; audio queued at the click "
                f"{_ms(probe['ring_s'])}",
            )
        )

        # an immediate rule: no musical wait. The default page rewinds, so the audio queued
        # ahead of the ear (the adaptive look-ahead, 0.5..1.8 s) is replaced, not waited
        # out; then the same probes on a fresh page without rewind (the change waits for
        # everything queued: the page before), same studio, same run
        time.sleep(args.settle)
        adaptive = _immediate(js, rate, args.probes)
        rows.append(_immediate_row("default page (rewind, deep adaptive look-ahead)", adaptive))
        for query, name in (
            ("?rewind=0", "no rewind: the change waits out the queued audio (before)"),
        ):
            browser.get(studio.url + query)
            wait_until(lambda: js("return document.body.dataset.ready"), 30)
            js("studio.play()")
            fixed = _immediate(js, rate, args.probes)
            rows.append(_immediate_row(name, fixed))
        browser.get(studio.url)
        wait_until(lambda: js("return document.body.dataset.ready"), 30)
        js("studio.goTo('explore')")

        # a long stream: underruns, server RSS, the page's JS heap (from 10 s in, once
        # every set the session plays is mapped)
        time.sleep(10.0)
        process = psutil.Process(studio.process.pid)
        heap0 = js("return performance.memory ? performance.memory.usedJSHeapSize : 0")
        rss0 = _private(process)
        stats0 = js("return studio.audio.stats")
        cpu0 = sum(process.cpu_times()[:2])
        loads = []
        for _ in range(int(args.seconds // 10)):
            time.sleep(10.0)
            loads.append(os.getloadavg()[0])
        time.sleep(args.seconds % 10)
        cpu1 = sum(process.cpu_times()[:2])
        stats1 = js("return studio.audio.stats")
        heap1 = js("return performance.memory ? performance.memory.usedJSHeapSize : 0")
        rss1 = _private(process)
        played = (stats1["framesPlayed"] - stats0["framesPlayed"]) / rate
        rows.append(
            (
                f"streaming {args.seconds:.0f} s: underruns",
                str(stats1["underruns"] - stats0["underruns"]),
                f"{played:.1f} s played; longest gap between blocks "
                f"{stats1.get('maxBlockGapMs', 0):.0f} ms; look-ahead at the end "
                f"{stats1.get('targetMs', 0):.0f} ms (peak {stats1.get('peakTargetMs', 0):.0f} ms, "
                f"grown {stats1.get('bufferGrown', 0) - stats0.get('bufferGrown', 0)} times); "
                f"load average {min(loads or [0]):.1f}..{max(loads or [0]):.1f}",
            )
        )
        rows.append(
            (
                "server CPU time per second streamed",
                f"{1000 * (cpu1 - cpu0) / max(played, 1e-9):.0f} ms",
                "includes the service's mixing and the relay",
            )
        )
        rows.append(
            (
                "server private memory (RSS less shared) after the stream",
                f"{rss1 / 2**20:.1f} MiB",
                f"at its start: {rss0 / 2**20:.1f} MiB",
            )
        )
        rows.append(
            (
                "page JS heap after the stream",
                f"{heap1 / 2**20:.1f} MiB",
                f"at its start: {heap0 / 2**20:.1f} MiB",
            )
        )
    print("| studio | measured | baseline (same run) |")
    print("| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
