"""The picture of a rendered session: waveform over state bands, transitions, stingers,
the bar/beat grid, and the intensity curve below. matplotlib is imported here only."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from middleware.director import events as ev
from middleware.director.session import SessionRender

_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948")
_MAX_BEAT_LINES = 400


def state_spans(render: SessionRender) -> list[tuple[float, float, str]]:
    """(start_s, end_s, state) from the `state` events: which state sounded when."""
    rate = render.sample_rate
    marks = [(e.sample, e.data["state"]) for e in render.of_kind(ev.STATE)]
    spans = []
    for i, (sample, name) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else render.audio.shape[0]
        spans.append((sample / rate, end / rate, name))
    return spans


def _envelope(audio: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mono = audio.astype(np.float32).mean(axis=1) / 32768.0
    per = max(1, len(mono) // columns)
    usable = (len(mono) // per) * per
    shaped = mono[:usable].reshape(-1, per)
    times = (np.arange(shaped.shape[0]) * per + per / 2) / 1.0
    return times, shaped.min(axis=1), shaped.max(axis=1)


def plot_session(render: SessionRender, path: Path, *, title: str = "") -> Path:
    """Write the timeline PNG to `path` and return it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rate = render.sample_rate
    figure, (wave, level) = plt.subplots(
        2, 1, figsize=(14, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    spans = state_spans(render)
    colours: dict[str, str] = {}
    for start, end, name in spans:
        colour = colours.setdefault(name, _PALETTE[len(colours) % len(_PALETTE)])
        wave.axvspan(start, end, color=colour, alpha=0.18, lw=0)
        level.axvspan(start, end, color=colour, alpha=0.18, lw=0)
    beats = render.of_kind(ev.BEAT)
    bars = {e.sample for e in render.of_kind(ev.BAR)}
    for event in beats if len(beats) <= _MAX_BEAT_LINES else []:
        if event.sample not in bars:
            wave.axvline(event.sample / rate, color="#999999", lw=0.3, alpha=0.5)
    for sample in bars:
        wave.axvline(sample / rate, color="#666666", lw=0.6, alpha=0.6)
    times, low, high = _envelope(render.audio, 4000)
    wave.fill_between(times / rate, low, high, color="#222222", lw=0)
    for event in render.of_kind(ev.TRANSITION_STARTED):
        x = event.sample / rate
        for axis in (wave, level):
            axis.axvline(x, color="#d62728", lw=1.6)
        wave.annotate(
            f"{event.data.get('from')} -> {event.data.get('to')}\n{event.data.get('fade')}",
            (x, 1.0), xytext=(3, -2), textcoords="offset points", va="top", fontsize=7,
            color="#d62728",
        )  # fmt: skip
    for event in render.of_kind(ev.TRANSITION_PLANNED):
        wave.plot(event.sample / rate, -1.02, marker="^", color="#d62728", ms=5, clip_on=False)
    planned = render.of_kind(ev.STINGER_PLANNED)
    moved = {(e.data["name"], e.data["replaces"]) for e in planned if "replaces" in e.data}
    for event in planned:
        if (event.data["name"], event.data["at_sample"]) in moved:
            continue  # laid again on the next state's grid (the later event)
        x = event.data["at_sample"] / rate
        wave.axvline(x, color="#9467bd", lw=1.2, ls="--")
        label = event.data.get("rendition") or event.data["name"]  # which rendition played
        if event.data.get("fallback"):
            label += f" ({event.data['fallback']})"
        wave.annotate(label, (x, -0.95), xytext=(3, 0), textcoords="offset points",
                      fontsize=7, color="#9467bd")  # fmt: skip
    for event in render.of_kind(ev.BRIDGE_START):  # a generated bridge: hatched, labelled
        start, end = event.sample / rate, event.data["ends_at"] / rate
        wave.axvspan(start, end, ymin=0.0, ymax=0.06, facecolor="none", edgecolor="#ff7f0e",
                     hatch="////", lw=0.8)  # fmt: skip
        wave.annotate(f"bridge {event.data['bars']} bars", (start, -0.88), xytext=(3, 0),
                      textcoords="offset points", fontsize=7, color="#ff7f0e")  # fmt: skip
    for event in render.of_kind(ev.BRIDGE_FALLBACK):
        wave.plot(event.sample / rate, 0.95, marker="v", color="#ff7f0e", ms=6)
    for mark in render.motif_marks:
        x = mark.sample / rate
        wave.plot(x, 1.02, marker="v", color="#e377c2", ms=6, clip_on=False)
        label = "motif" if mark.form == "original" else f"motif ({mark.form})"
        # below the transition labels: a motif often enters where a transition starts
        wave.annotate(label, (x, 0.72), xytext=(3, 0), textcoords="offset points", fontsize=6,
                      color="#e377c2")  # fmt: skip
    for event in render.of_kind(ev.WAITING_FOR_AUDIO):
        wave.plot(event.sample / rate, 0.95, marker="x", color="#7f7f7f", ms=6)
    wave.set_ylim(-1.05, 1.05)
    wave.set_ylabel("waveform")
    handles = [Patch(color=c, alpha=0.4, label=n) for n, c in colours.items()]
    handles.append(Patch(color="#d62728", label="transition started (^ = event planned it)"))
    if render.of_kind(ev.STINGER_PLANNED):
        handles.append(Patch(color="#9467bd", label="stinger"))
    if render.of_kind(ev.BRIDGE_START):
        handles.append(Patch(facecolor="none", edgecolor="#ff7f0e", hatch="////",
                             label="generated bridge"))  # fmt: skip
    if render.of_kind(ev.BRIDGE_FALLBACK):
        handles.append(Patch(color="#ff7f0e", label="bridge fallback (v)"))
    if render.motif_marks:
        handles.append(Patch(color="#e377c2", label="motif entry (v)"))
    wave.legend(
        handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7,
        ncol=len(handles), frameon=False,
    )  # fmt: skip
    # the legend is a row along the top edge: the title sits above it, not behind it
    wave.set_title(title or "session timeline", fontsize=10, loc="left", pad=18)
    level.step(render.block_starts / rate, render.intensity, where="post", color="#2ca02c")
    level.set_ylim(-0.05, 1.05)
    level.set_ylabel("intensity")
    level.set_xlabel("seconds")
    level.set_xlim(0, render.duration_s)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
