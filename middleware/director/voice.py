"""Voices (one variant playing from a given session sample) and ducks (music gain dips).

A voice's gain is a product of pieces that are each either constant over a segment or a
function of the session sample (a table slice, or an equal-power curve evaluated for the
segment): its fade-in, its fade-outs, the ducks of stingers above it, and per stem the
intensity gain. The director cuts every
block into segments at the samples where one of these pieces changes (`next_break`), so
each segment is mixed with a few vectorised operations and no allocation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine_core.variant import Variant
from middleware.director.intensity import IntensityRamp, stem_gain, stem_gains_into
from middleware.director.tables import SHARED_TABLES, TableMemo
from middleware.mixer import BlockMixer
from middleware.mixer.curves import equal_power_into

NEVER = 1 << 62  # "no end yet": a sample no session reaches


@dataclass(frozen=True)
class Envelope:
    """A gain curve over session samples `start .. start + length - 1`.

    `shape` is "in" or "out" (an equal-power fade, computed block by block) or "table"
    (precomputed gains in `table`, interleaved for stereo: each gain twice). Gains are
    written interleaved so they multiply a flat view of a (frames, 2) block element by
    element: no broadcasting, which numpy would buffer.
    """

    start: int
    length: int
    shape: str
    table: np.ndarray | None = None

    @property
    def end(self) -> int:
        return self.start + self.length

    def covers(self, sample: int) -> bool:
        return self.start <= sample < self.end

    def gains(self, out: np.ndarray, mixer: BlockMixer, sample: int) -> np.ndarray:
        """Interleaved gains from `sample` on, as many as `out` holds (in `out` or a view)."""
        values = out.shape[0]
        if self.table is not None:
            first = 2 * (sample - self.start)
            return self.table[first : first + values]
        frames = values // 2
        mono = mixer.curve32[:frames]
        equal_power_into(
            mono, mixer.index32[:frames], sample - self.start, self.length,
            rising=self.shape == "in",
        )  # fmt: skip
        out[0::2] = mono
        out[1::2] = mono
        return out

    @classmethod
    def from_table(cls, start: int, table: np.ndarray, shape: str = "table") -> Envelope:
        return cls(start, len(table), shape, interleave(table))

    @classmethod
    def from_interleaved(cls, start: int, table: np.ndarray, shape: str = "table") -> Envelope:
        """An envelope over a table that is already interleaved (shared, never copied)."""
        return cls(start, len(table) // 2, shape, table)


def interleave(table: np.ndarray) -> np.ndarray:
    """A mono gain table as an interleaved stereo one (each gain twice)."""
    return np.repeat(table.astype(np.float32), 2)


@dataclass(frozen=True)
class Stem:
    audio: np.ndarray  # float32, flat interleaved view of (frames, 2)
    low: float
    high: float


def _flat(audio: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)


class Voice:
    """One variant of a state (or a stinger) playing in the session."""

    def __init__(
        self,
        *,
        state: str,
        index: int,
        variant: Variant,
        origin: int,
        start: int,
        looping: bool,
        music: bool = True,
        gain: float = 1.0,
    ) -> None:
        self.state = state
        self.index = index
        self.variant = variant
        self.origin = origin  # session sample of the variant's sample 0 (first loop)
        self.start = start  # first audible session sample
        self.looping = looping
        self.music = music  # music voices follow intensity and are ducked by stingers
        self.gain = gain
        self.filler = False  # a transition's filler stinger (cancelled with its transition)
        self.duck: Duck | None = None  # a stinger's dip of the music (laid with it)
        #: a stinger's rendition choice: {"rendition", "host", "fallback"} (stinger_renditions)
        self.rendition: dict[str, object] = {}
        self.length = variant.meta.loop_end if looping else variant.mix.shape[0]
        self.end = NEVER if looping else origin + self.length
        self.fade_in: Envelope | None = None
        self.fade_out: Envelope | None = None  # the fade-out that ends first
        self._envelopes: tuple[Envelope, ...] = ()  # all gain envelopes, multiplied
        self._memo_level: float | None = None
        self._memo_sources: list[tuple[np.ndarray, float]] = []
        ranges = variant.meta.stem_intensity
        if music and variant.stems:
            self.stems = tuple(
                Stem(_flat(audio), *ranges.get(name, (0.0, 1.0)))
                for name, audio in variant.stems.items()
            )
            self.mix: np.ndarray | None = _flat(variant.mix)
        else:
            self.stems = (Stem(_flat(variant.mix), 0.0, 1.0),)
            self.mix = None

    def clone(self) -> Voice:
        """A shallow copy (for the director's snapshots): the audio, envelopes and duck are
        shared (never changed in place); what `stop_with` changes is rebound, not mutated."""
        twin = Voice.__new__(Voice)
        twin.__dict__.update(self.__dict__)
        return twin

    def begin_with(self, envelope: Envelope) -> None:
        self.fade_in = envelope
        self._envelopes = (envelope, *self._envelopes)

    def stop_with(self, envelope: Envelope) -> None:
        """Fade out with `envelope` from the gain the voice has then.

        Envelopes multiply: a voice already fading in or out keeps its own curve and the
        new fade-out scales it down, so the gain never jumps. The voice ends when the
        first of its fade-outs reaches 0.
        """
        if envelope.start >= self.end:
            return
        for existing in self._envelopes:
            if existing is not self.fade_in and existing.start == envelope.start:
                # Two fade-outs from one sample (events while the clock stands still):
                # the shorter one wins, so a voice never collects envelopes without bound.
                if envelope.end >= existing.end:
                    return
                self._envelopes = tuple(e for e in self._envelopes if e is not existing)
                break
        self._envelopes = (*self._envelopes, envelope)
        if self.fade_out is None or envelope.end < self.fade_out.end:
            self.fade_out = envelope
        self.end = min(self.end, envelope.end)

    @property
    def stopping(self) -> bool:
        return self.fade_out is not None or not self.looping

    def next_break(self, sample: int) -> int:
        """First session sample after `sample` where this voice's gain pieces change."""
        best = self.end
        if sample < self.start < best:
            best = self.start
        for envelope in self._envelopes:
            for edge in (envelope.start, envelope.end):
                if sample < edge < best:
                    best = edge
        if self.looping and sample >= self.origin:
            wrap = self.origin + ((sample - self.origin) // self.length + 1) * self.length
            best = min(best, wrap)
        return best

    def audible(self, sample: int) -> bool:
        return self.start <= sample < self.end

    def render(
        self,
        out: np.ndarray,
        sample: int,
        mixer: BlockMixer,
        *,
        intensity: IntensityRamp,
        intensity_vector: np.ndarray | None,
        duck: float | np.ndarray,
    ) -> None:
        """Add this voice to `out`, the flat interleaved view of one segment's frames."""
        frames = out.shape[0] // 2
        offset = sample - self.origin
        if self.looping:
            offset %= self.length
        elif offset + frames > self.length:
            frames = max(0, self.length - offset)  # a one-shot ends inside the segment
            out = out[: 2 * frames]
        if frames == 0:
            return
        values = 2 * frames
        scalar = self.gain
        vector: np.ndarray | None = None
        for envelope in self._envelopes:
            if not envelope.covers(sample):
                continue
            if vector is None:
                vector = mixer.gain[:values]
                piece = envelope.gains(vector, mixer, sample)
                if piece is not vector:
                    np.copyto(vector, piece)
            else:
                piece = envelope.gains(mixer.gain_d[:values], mixer, sample)
                np.multiply(vector, piece, out=vector)
        if self.music:
            if not isinstance(duck, np.ndarray):
                scalar *= duck
            elif vector is None:
                vector = mixer.gain[:values]
                np.copyto(vector, duck[:values])
            else:
                np.multiply(vector, duck[:values], out=vector)
        if vector is not None and scalar != 1.0:
            np.multiply(vector, np.float32(scalar), out=vector)
            scalar = 1.0
        first = 2 * offset
        if self.music and intensity_vector is not None:
            self._render_ramping(out, first, mixer, intensity_vector, vector, scalar)
            return
        level = intensity.value_at(sample)
        sources = self._sources(level)
        if vector is None:
            for audio, layer in sources:
                mixer.add_scaled(out, audio[first : first + values], scalar * layer)
            return
        # Sum the layers once, then apply the per-sample gain once.
        voice = mixer.voice[:values]
        (audio, layer), rest = sources[0], sources[1:]
        if layer == 1.0:
            np.copyto(voice, audio[first : first + values])
        else:
            np.multiply(audio[first : first + values], np.float32(layer), out=voice)
        for audio, layer in rest:
            mixer.add_scaled(voice, audio[first : first + values], layer)
        mixer.add_enveloped(out, voice, vector)

    def _sources(self, level: float) -> list[tuple[np.ndarray, float]]:
        """(audio, gain) pairs at a constant intensity, whichever takes fewer operations:
        each audible stem, or the premixed mix corrected by the stems that are not fully on
        (the engine's stems sum to its mix, to 6e-8). Memoised for the last intensity (it
        is constant between intensity changes)."""
        if level == self._memo_level:
            return self._memo_sources
        if not self.music:
            sources = [(self.stems[0].audio, 1.0)]
        else:
            layers = [(s.audio, stem_gain(level, s.low, s.high)) for s in self.stems]
            audible = [pair for pair in layers if pair[1] != 0.0]
            changed = [(audio, layer - 1.0) for audio, layer in layers if layer != 1.0]
            if self.mix is not None and len(changed) + 1 < len(audible):
                # Fewer operations from the mix: mix + sum((gain - 1) * stem).
                sources = [(self.mix, 1.0), *changed]
            else:
                sources = audible or [(self.stems[0].audio, 0.0)]
        self._memo_level, self._memo_sources = level, sources
        return sources

    def _render_ramping(
        self,
        out: np.ndarray,
        first: int,
        mixer: BlockMixer,
        intensity_vector: np.ndarray,
        vector: np.ndarray | None,
        scalar: float,
    ) -> None:
        """Stems with per-sample gains while the intensity moves."""
        values = out.shape[0]
        for stem in self.stems:
            gains = mixer.gain_b[:values]
            stem_gains_into(
                gains, mixer.gain_c[:values], intensity_vector[:values], stem.low, stem.high
            )
            if vector is not None:
                np.multiply(gains, vector, out=gains)
            elif scalar != 1.0:
                np.multiply(gains, np.float32(scalar), out=gains)
            mixer.add_enveloped(out, stem.audio[first : first + values], gains)


class Duck:
    """A stinger's dip of the music: ramp down, hold, ramp back up (all in session samples)."""

    def __init__(
        self,
        start: int,
        hold_end: int,
        depth: float,
        ramp_samples: int,
        tables: TableMemo = SHARED_TABLES,
    ) -> None:
        self.depth = depth
        self.attack = Envelope.from_interleaved(start, tables.ramp(1.0, depth, ramp_samples))
        release_start = max(self.attack.end, hold_end)
        self.release = Envelope.from_interleaved(
            release_start, tables.ramp(depth, 1.0, ramp_samples)
        )

    @property
    def end(self) -> int:
        return self.release.end

    def edges(self) -> tuple[int, int, int, int]:
        return (self.attack.start, self.attack.end, self.release.start, self.release.end)

    def gain_at(self, sample: int) -> float | None:
        """The constant gain at `sample`, or None inside a ramp."""
        if sample < self.attack.start or sample >= self.release.end:
            return 1.0
        if self.attack.end <= sample < self.release.start:
            return self.depth
        return None

    def ramp_slice(self, sample: int, values: int) -> np.ndarray:
        """Interleaved gains of the ramp covering `sample` (a view of its table)."""
        envelope = self.attack if self.attack.covers(sample) else self.release
        first = 2 * (sample - envelope.start)
        return envelope.table[first : first + values]
