"""A PNG timeline of a recorded session: waveform, state bands, transitions, intensity."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from middleware.protocol.codec import PcmHeader

STATE_COLOURS = {
    "menu": "#8da0cb",
    "town": "#a6d854",
    "explore": "#66c2a5",
    "battle": "#fc8d62",
    "boss": "#e41a1c",
    "victory": "#ffd92f",
    "defeat": "#777777",
}


def plot_session(
    audio: np.ndarray,
    sample_rate: int,
    headers: Sequence[PcmHeader],
    transitions: Sequence[dict],
    stingers: Sequence[dict],
    path: Path,
) -> Path:
    """Draw what was played (from the stream's block headers) and when things happened."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = np.arange(audio.shape[0]) / sample_rate
    fig, (wave_ax, level_ax) = plt.subplots(
        2, 1, figsize=(13, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    step = max(1, audio.shape[0] // 20000)
    wave_ax.plot(seconds[::step], audio[::step, 0], lw=0.4, color="#333333")
    start = 0
    base = headers[0].sample if headers else 0
    for i in range(1, len(headers) + 1):
        if i == len(headers) or headers[i].state != headers[start].state:
            first = (headers[start].sample - base) / sample_rate
            end = (headers[i - 1].sample + headers[i - 1].frames - base) / sample_rate
            state = headers[start].state
            wave_ax.axvspan(first, end, color=STATE_COLOURS.get(state, "#cccccc"), alpha=0.35)
            wave_ax.text(first + 0.1, 0.9, state, fontsize=9, va="top")
            start = i
    for item in transitions:
        x = (item["sample"] - base) / sample_rate
        wave_ax.axvline(x, color="black", ls="--", lw=1)
        wave_ax.text(x, -0.95, f" bar {item['bar']}", fontsize=8)
    for item in stingers:
        x = (item["at_sample"] - base) / sample_rate
        wave_ax.axvline(x, color="purple", lw=1.5)
        wave_ax.text(x, 0.75, f" {item['name']}", fontsize=8, color="purple")
    wave_ax.set_ylim(-1, 1)
    wave_ax.set_ylabel("mix (left)")
    wave_ax.set_title("Ostinato demo session: what the game heard")
    times = [(h.sample - base) / sample_rate for h in headers]
    level_ax.step(times, [h.intensity for h in headers], where="post", color="#d95f02")
    level_ax.set_ylim(0, 1.05)
    level_ax.set_ylabel("intensity")
    level_ax.set_xlabel("seconds")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
