"""Render an arrangement's stems: one synthesiser pass per stem, seam folded, at the spec rate.

Each stem is synthesised as if alone at 48 kHz (several stems share one synthesiser call,
bit-identically: `stem_batch`) with its notes running on past the loop end and
`TAIL_SECONDS` of audio after it (long enough for General MIDI releases to reach silence;
the last `TAIL_FADE_SECONDS` are faded as a guard). Loops then fold that tail onto their
head (`seam.fold_tail`); one-shots keep it. Stems are scaled by their `gain_db`, then
resampled to the spec's sample rate when it is not 48 kHz (see `resample`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from engine_core.arrange.arranger import Arrangement
from engine_core.render.loudness import db_to_gain
from engine_core.render.resample import resample_loop, resample_one_shot
from engine_core.render.seam import fold_tail
from engine_core.render.soundfont import PCM_SCALE, RENDER_SAMPLE_RATE, SoundFont
from engine_core.render.stem_batch import render_stems_pcm
from engine_core.spec import loop_length_samples

TAIL_SECONDS = 2.0
TAIL_FADE_SECONDS = 0.02
RENDERERS = ("reference", "notes", "synth")


def loop_frames(arrangement: Arrangement, sample_rate: int) -> int:
    return loop_length_samples(
        arrangement.bars, arrangement.meter_info, arrangement.bpm, sample_rate
    )


def _fit_tail(audio: np.ndarray, frames: int, loop: int) -> np.ndarray:
    """Exactly `frames` frames (padded or cut), the part past `loop` faded at its end."""
    fitted = np.zeros((frames, 2), dtype=np.float32)
    count = min(frames, audio.shape[0])
    fitted[:count] = audio[:count]
    _fade_out(fitted, frames - loop)
    return fitted


def _fade_out(audio: np.ndarray, tail: int) -> None:
    """Fade the last `TAIL_FADE_SECONDS` of `audio` (at most its last `tail` frames) in place."""
    fade = min(int(TAIL_FADE_SECONDS * RENDER_SAMPLE_RATE), tail)
    if fade > 0:
        audio[audio.shape[0] - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]


def stem_frames(arrangement: Arrangement, sample_rate: int, *, one_shot: bool = False) -> int:
    """How many frames `render_stem` returns for any stem of `arrangement`."""
    if not one_shot:
        return loop_frames(arrangement, sample_rate)
    frames = loop_frames(arrangement, RENDER_SAMPLE_RATE) + int(TAIL_SECONDS * RENDER_SAMPLE_RATE)
    if sample_rate == RENDER_SAMPLE_RATE:
        return frames
    return -(-frames * sample_rate // RENDER_SAMPLE_RATE)  # a polyphase filter's ceil


def mix_stems(stems: Iterable[np.ndarray]) -> np.ndarray:
    """The float64 sum of equally long stems (accumulated in place: stacking them first
    and reducing over the stack axis is several times slower)."""
    mix: np.ndarray | None = None
    for audio in stems:
        if mix is None:
            mix = audio.astype(np.float64)
        else:
            mix += audio
    if mix is None:
        raise ValueError("a variant has no stems")
    return mix


def render_stem(
    arrangement: Arrangement,
    index: int,
    soundfont: SoundFont,
    *,
    sample_rate: int,
    one_shot: bool = False,
    renderer: str = "reference",
) -> np.ndarray:
    """Stem `index` of `arrangement` as float32 (frames, 2) at `sample_rate`.

    Loops are exactly `loop_length_samples` long (tail folded onto the head); one-shots
    are the loop length plus the tail, at either rate. `renderer` "reference" synthesises
    the stem in one pass; "notes" builds it from cached notes (`note_renderer`), except a
    stem with a note whose voices have different chorus sends, which it synthesises whole.
    """
    return render_stem_group(
        arrangement,
        [index],
        soundfont,
        sample_rate=sample_rate,
        one_shot=one_shot,
        renderer=renderer,
    )[0]


def render_stem_group(
    arrangement: Arrangement,
    indices: Sequence[int],
    soundfont: SoundFont,
    *,
    sample_rate: int,
    one_shot: bool = False,
    renderer: str = "reference",
) -> list[np.ndarray]:
    """`render_stem` for each stem in `indices`, the reference ones synthesised in one
    call (`stem_batch`: the bank is parsed once, the audio is the same bit for bit)."""
    if renderer not in RENDERERS:
        raise ValueError(f"unknown renderer {renderer!r} (one of {', '.join(RENDERERS)})")
    loop_48k = loop_frames(arrangement, RENDER_SAMPLE_RATE)
    tail_frames = int(TAIL_SECONDS * RENDER_SAMPLE_RATE)
    audio: dict[int, np.ndarray] = {}
    synthesised = list(indices)
    if renderer == "notes":
        from engine_core.render.note_renderer import process_cache, render_stem_audio

        synthesised = [i for i in indices if not _from_notes(arrangement, i, soundfont)]
        for index in indices:
            if index in synthesised:
                continue
            wet = render_stem_audio(arrangement, index, soundfont, process_cache(), TAIL_SECONDS)
            fitted = _fit_tail(wet, loop_48k + tail_frames, loop_48k)
            audio[index] = fold_tail(fitted, loop_48k) if not one_shot else fitted
    if renderer == "synth":
        from engine_core.render import synth_renderer

        for index in indices:
            wet = synth_renderer.render_stem_audio(
                arrangement, index, soundfont, synth_renderer.process_cache(), TAIL_SECONDS
            )
            if not one_shot and tail_frames <= loop_48k:
                audio[index] = _folded_float_loop(wet, loop_48k, tail_frames, in_place=True)
            else:
                fitted = _fit_tail(wet, loop_48k + tail_frames, loop_48k)
                audio[index] = fold_tail(fitted, loop_48k) if not one_shot else fitted
        synthesised = []
    pcms = (
        render_stems_pcm(arrangement, synthesised, soundfont, TAIL_SECONDS) if synthesised else []
    )
    for index, pcm in zip(synthesised, pcms, strict=True):
        if not one_shot and tail_frames <= loop_48k:
            audio[index] = _folded_loop(pcm, loop_48k, tail_frames)
        else:
            fitted = _fit_tail(pcm.astype(np.float32) * PCM_SCALE, loop_48k + tail_frames, loop_48k)
            audio[index] = fold_tail(fitted, loop_48k) if not one_shot else fitted
    return [
        _finish(audio[i], arrangement, arrangement.stems[i].stem.gain_db, sample_rate, one_shot)
        for i in indices
    ]


def _from_notes(arrangement: Arrangement, index: int, soundfont: SoundFont) -> bool:
    from engine_core.render.note_renderer import from_notes

    return from_notes(arrangement, index, soundfont)


def _finish(
    audio: np.ndarray, arrangement: Arrangement, gain_db: float, sample_rate: int, one_shot: bool
) -> np.ndarray:
    """The stem's gain, then the spec's sample rate."""
    if gain_db:
        np.multiply(audio, np.float32(db_to_gain(gain_db)), out=audio)
    if sample_rate != RENDER_SAMPLE_RATE:
        if one_shot:
            audio = resample_one_shot(audio, RENDER_SAMPLE_RATE, sample_rate)
        else:
            audio = resample_loop(audio, loop_frames(arrangement, sample_rate))
    return np.ascontiguousarray(audio, dtype=np.float32)


def _folded_loop(pcm: np.ndarray, loop: int, tail: int) -> np.ndarray:
    """`fold_tail(_fit_tail(pcm * PCM_SCALE, loop + tail, loop), loop)`, bit for bit, for
    a tail no longer than the loop, without the padded and float64 copies.

    One fold is a single float32 addition per sample, and adding two float32 values in
    float64 and rounding gives that same addition's result. The head holds no -0.0
    (it is scaled int16), so starting the sum from +0.0 changes nothing either.
    """
    head = np.zeros((loop, 2), dtype=np.float32)
    count = min(loop, pcm.shape[0])
    np.multiply(pcm[:count], PCM_SCALE, out=head[:count])
    ringing = np.zeros((tail, 2), dtype=np.float32)
    count = min(tail, max(pcm.shape[0] - loop, 0))
    np.multiply(pcm[loop : loop + count], PCM_SCALE, out=ringing[:count])
    _fade_out(ringing, tail)
    head[:tail] += ringing
    return head


def _folded_float_loop(
    audio: np.ndarray, loop: int, tail: int, *, in_place: bool = False
) -> np.ndarray:
    """`fold_tail(_fit_tail(audio, loop + tail, loop), loop)`, bit for bit, for float32
    audio and a tail no longer than the loop, without the padded and float64 copies
    (the reasons are `_folded_loop`'s: one float32 addition per sample, from +0.0).

    `in_place` folds into `audio` itself when it holds the whole loop and returns its
    first `loop` frames (a view): no new 12 MB array (and its page faults) per stem.
    Adding +0.0 in place gives the bits adding to +0.0 gives (IEEE addition commutes,
    -0.0 + 0.0 is +0.0), and the ringing is copied out before the head is touched.
    """
    count = min(tail, max(audio.shape[0] - loop, 0))
    ringing = np.zeros((tail, 2), dtype=np.float32)
    ringing[:count] = audio[loop : loop + count]
    _fade_out(ringing, tail)
    if in_place and audio.shape[0] >= loop and audio.dtype == np.float32:
        head = audio[:loop]
        np.add(head, np.float32(0.0), out=head)
    else:
        head = np.zeros((loop, 2), dtype=np.float32)
        count = min(loop, audio.shape[0])
        np.add(head[:count], audio[:count], out=head[:count])
    head[:tail] += ringing
    return head


def render_stems(
    arrangement: Arrangement,
    soundfont: SoundFont,
    *,
    sample_rate: int,
    one_shot: bool = False,
    progress: Callable[[int, int], None] | None = None,
    renderer: str = "reference",
) -> dict[str, np.ndarray]:
    """Stem name -> float32 (frames, 2) at `sample_rate`, one stem after another."""
    stems: dict[str, np.ndarray] = {}
    total = len(arrangement.stems)
    for index, stem in enumerate(arrangement.stems):
        stems[stem.stem.name] = render_stem(
            arrangement,
            index,
            soundfont,
            sample_rate=sample_rate,
            one_shot=one_shot,
            renderer=renderer,
        )
        if progress is not None:
            progress(index + 1, total)
    return stems
