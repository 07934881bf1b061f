"""A picture of one variant: mix waveform with the bar grid, a close-up of the seam, and a
piano roll per stem (read back from the variant's MIDI file). Written with matplotlib's
Agg backend, so it works without a display.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from engine_core.export.midi import quarters_per_beat
from engine_core.spec import Meter
from engine_core.variant import Variant

SEAM_WINDOW_S = 0.05


def _envelope(mono: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    size = max(1, mono.shape[0] // points)
    usable = mono[: size * (mono.shape[0] // size)].reshape(-1, size)
    return usable.min(axis=1), usable.max(axis=1)


def _midi_notes(midi: bytes) -> dict[str, list[tuple[float, float, int]]]:
    """Track name -> (start beat, end beat, pitch), beats counted in quarter notes."""
    import mido

    midi_file = mido.MidiFile(file=io.BytesIO(midi))
    tracks: dict[str, list[tuple[float, float, int]]] = {}
    for track in midi_file.tracks[1:]:
        name = next((m.name for m in track if m.type == "track_name"), f"track {len(tracks)}")
        now, open_notes, notes = 0, {}, []
        for message in track:
            now += message.time
            if message.type == "note_on" and message.velocity > 0:
                open_notes[message.note] = now
            elif message.type in ("note_off", "note_on") and message.note in open_notes:
                start = open_notes.pop(message.note)
                notes.append(
                    (start / midi_file.ticks_per_beat, now / midi_file.ticks_per_beat, message.note)
                )
        tracks[name] = notes
    return tracks


def plot_variant(variant: Variant, path: str | Path) -> Path:
    """Write a PNG of `variant` to `path` and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.figure import Figure

    meta = variant.meta
    rate = meta.sample_rate
    mono = variant.mix.mean(axis=1)
    tracks = _midi_notes(variant.midi)
    rows = 2 + len(tracks)
    figure: Figure = pyplot.figure(figsize=(12, 2.0 * rows), constrained_layout=True)
    grid = figure.add_gridspec(rows, 4)

    wave = figure.add_subplot(grid[0, :3])
    low, high = _envelope(mono, 2000)
    seconds = np.linspace(0, mono.shape[0] / rate, low.shape[0])
    wave.fill_between(seconds, low, high, linewidth=0, color="tab:blue")
    for bar in meta.bar_samples:
        wave.axvline(bar / rate, color="black", linewidth=0.8, alpha=0.6)
    for beat in meta.beat_samples:
        wave.axvline(beat / rate, color="grey", linewidth=0.3, alpha=0.4)
    wave.set_title(
        f"{meta.state} #{meta.index}: {meta.bars} bars {meta.meter} at {meta.bpm:g} bpm, "
        f"{meta.key}, {meta.loudness_lufs:.1f} LUFS, peak {meta.true_peak_db:.1f} dBTP"
    )
    wave.set_xlabel("seconds")
    wave.set_xlim(0, mono.shape[0] / rate)

    seam = figure.add_subplot(grid[0, 3])
    window = int(SEAM_WINDOW_S * rate)
    around = np.concatenate([variant.mix[-window:], variant.mix[:window]])
    milliseconds = (np.arange(-window, window) / rate) * 1000
    seam.plot(milliseconds, around[:, 0], linewidth=0.6, label="left")
    seam.plot(milliseconds, around[:, 1], linewidth=0.6, label="right")
    seam.axvline(0, color="red", linewidth=1.0)
    seam.set_title("seam (end -> start)")
    seam.set_xlabel("ms")

    spectrum = figure.add_subplot(grid[1, :])
    spectrum.specgram(mono, NFFT=1024, Fs=rate, noverlap=512, cmap="magma")
    spectrum.set_ylim(0, 8000)
    spectrum.set_xlim(0, mono.shape[0] / rate)
    spectrum.set_ylabel("Hz")
    for bar in meta.bar_samples:
        spectrum.axvline(bar / rate, color="white", linewidth=0.6, alpha=0.5)

    quarter_s = 60.0 / meta.bpm / quarters_per_beat(Meter.parse(meta.meter))
    for row, (name, notes) in enumerate(tracks.items(), start=2):
        roll = figure.add_subplot(grid[row, :], sharex=wave)
        for start, end, pitch in notes:
            roll.broken_barh([(start * quarter_s, (end - start) * quarter_s)], (pitch - 0.4, 0.8))
        for bar in meta.bar_samples:
            roll.axvline(bar / rate, color="black", linewidth=0.6, alpha=0.5)
        roll.set_ylabel(name)
        if notes:
            pitches = [p for _, _, p in notes]
            roll.set_ylim(min(pitches) - 2, max(pitches) + 2)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=80)
    pyplot.close(figure)
    return target


def plot_state_summary(variants: list[Variant] | tuple[Variant, ...], path: str | Path) -> Path:
    """One PNG for a whole variant set: a piano roll per stem (rows) and variant (columns),
    each with its note count and mean velocity, and the bar grid, to compare variants."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rolls = [_midi_notes(v.midi) for v in variants]
    names = list(rolls[0]) if rolls else []
    meta = variants[0].meta
    beats_per_bar = 4 if meta.meter == "4/4" else 3  # quarter notes per bar in the MIDI
    figure, axes = pyplot.subplots(
        len(names),
        len(variants),
        figsize=(4.0 * len(variants), 1.4 * max(len(names), 1)),
        squeeze=False,
        constrained_layout=True,
    )
    figure.suptitle(f"{meta.state}: {len(variants)} variants, {meta.meter}, {meta.key}")
    for column, tracks in enumerate(rolls):
        for row, name in enumerate(names):
            axis = axes[row][column]
            notes = tracks.get(name, [])
            for start, end, pitch in notes:
                axis.broken_barh([(start, end - start)], (pitch - 0.4, 0.8), color="tab:blue")
            for bar in range(meta.bars + 1):
                axis.axvline(bar * beats_per_bar, color="black", linewidth=0.5, alpha=0.4)
            axis.set_xlim(0, meta.bars * beats_per_bar)
            axis.set_yticks([])
            axis.set_xticks([])
            if notes:
                pitches = [p for _, _, p in notes]
                axis.set_ylim(min(pitches) - 2, max(pitches) + 2)
            axis.set_title(f"#{column} {name}: {len(notes)} notes", fontsize=8)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=70)
    pyplot.close(figure)
    return target
