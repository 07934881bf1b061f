"""How long a stem takes to synthesise, estimated before it is: for ordering render tasks
longest first, so the last tasks left for the workers are the short ones and the cores
finish together.

The reference synthesiser's cost has two parts (measured with FluidR3_GM on the project's
2-core machine): its effects run on every sample of the stem, sounding or not (about
3.8 ms of CPU per second of audio), and each voice costs about 0.25 ms per second it
sounds. A note starts one voice per matching zone of the bank (the bank's own tables:
`SoundFont.layout`) and sounds for its length plus its release. Only the order of the
estimates matters, not their scale.
"""

from __future__ import annotations

from engine_core.arrange.arranger import Arrangement
from engine_core.errors import SoundFontError
from engine_core.render.soundfont import SoundFont

#: CPU seconds per second of stem audio (the synthesiser's effects) ...
EFFECTS_PER_SECOND = 3.8e-3
#: ... per second a voice sounds ...
VOICE_PER_SECOND = 2.5e-4
#: ... and per synthesiser call (reading the bank).
PER_CALL = 0.02
#: Releases are counted up to this long (a voice that quiet costs little more).
RELEASE_CAP_SECONDS = 3.0
#: The volume envelope's release generator (timecents) and its default.
RELEASE_VOL_ENV = 38
DEFAULT_RELEASE_TIMECENTS = -12000


def stem_cost(
    arrangement: Arrangement, index: int, soundfont: SoundFont, tail_seconds: float
) -> float:
    """Estimated CPU seconds to synthesise stem `index` of `arrangement` alone."""
    stem = arrangement.stems[index]
    seconds_per_beat = 60.0 / arrangement.bpm
    audio_seconds = arrangement.loop_beats * seconds_per_beat + tail_seconds
    voices: dict[tuple[int, int], tuple[int, float]] = {}
    voice_seconds = 0.0
    for note in stem.notes:
        key = (note.pitch, note.velocity)
        if key not in voices:
            voices[key] = _voices(soundfont, stem.stem.program, stem.is_drum, *key)
        count, release = voices[key]
        voice_seconds += count * (note.duration_beats * seconds_per_beat + release)
    return PER_CALL + EFFECTS_PER_SECOND * audio_seconds + VOICE_PER_SECOND * voice_seconds


def _voices(
    soundfont: SoundFont, program: int, drums: bool, pitch: int, velocity: int
) -> tuple[int, float]:
    """(voices a note starts, their mean release in seconds, capped); a bank whose tables
    cannot be read counts one voice with a one-second release."""
    try:
        regions = soundfont.layout.regions(program, pitch, velocity, drums=drums)
    except SoundFontError:
        return 1, 1.0
    if not regions:
        return 0, 0.0
    releases = [
        min(
            2.0
            ** (
                (
                    instrument.get(RELEASE_VOL_ENV, DEFAULT_RELEASE_TIMECENTS)
                    + preset.get(RELEASE_VOL_ENV, 0)
                )
                / 1200.0
            ),
            RELEASE_CAP_SECONDS,
        )
        for preset, instrument in regions
    ]
    return len(regions), sum(releases) / len(releases)
