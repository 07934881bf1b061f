"""What the note renderer needs to know about a SoundFont 2 bank, read from its `pdta` list.

- `BankLayout.sends(...)`: the reverb and chorus send, and the exclusive class, of the
  voices a (bank, program, key, velocity) note starts, computed as RustySynth does
  (channel send + the sum of the preset and instrument zones' effect-send generators,
  clamped to [0, 1]);
- `BankLayout.dry_bank()`: the same bank with every reverb and chorus send generator set
  to 0, so a note played with CC 91 and CC 93 at 0 comes out of the synthesiser dry;
  `reverb_only_bank()`: only the chorus sends set to 0, so a note played with CC 93 at 0
  comes out with its own reverb and no chorus.

Only the hydra (a few hundred kB) is parsed; sample data is never copied except by
`dry_bank`, which returns the whole file with its generator amounts rewritten in place.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from engine_core.errors import SoundFontError

CHORUS_SEND = 15
REVERB_SEND = 16
INSTRUMENT = 41
KEY_RANGE = 43
VELOCITY_RANGE = 44
SAMPLE_ID = 53
EXCLUSIVE_CLASS = 57
#: RustySynth's channel defaults: CC 91 (reverb) 40, CC 93 (chorus) 0.
DEFAULT_REVERB_CC = 40
DEFAULT_CHORUS_CC = 0


@dataclass(frozen=True)
class Zone:
    """One zone: its key and velocity ranges and its generators (global ones merged in)."""

    keys: tuple[int, int]
    velocities: tuple[int, int]
    generators: dict[int, int]

    def holds(self, key: int, velocity: int) -> bool:
        return (
            self.keys[0] <= key <= self.keys[1]
            and self.velocities[0] <= velocity <= self.velocities[1]
        )


@dataclass(frozen=True)
class VoiceSends:
    """The effect sends (fractions) and exclusive class of one voice a note starts."""

    reverb: float
    chorus: float
    exclusive_class: int


@dataclass(frozen=True)
class SampleHeader:
    """One `shdr` record: positions are sample indices into the bank's `smpl` data."""

    start: int
    end: int
    start_loop: int
    end_loop: int
    sample_rate: int
    original_pitch: int
    pitch_correction: int


@dataclass
class BankLayout:
    """Presets -> zones, instruments -> zones, and where the generators lie in the file."""

    data: bytes
    presets: dict[tuple[int, int], list[Zone]]
    instruments: list[list[Zone]]
    generator_offsets: list[int] = field(default_factory=list)  # pgen + igen amounts to zero
    chorus_offsets: list[int] = field(default_factory=list)  # the chorus sends among them
    default_preset: tuple[int, int] = (0, 0)
    samples: list[SampleHeader] = field(default_factory=list)
    wave_offset: int = 0  # byte offset of the `smpl` chunk's 16-bit samples
    wave_count: int = 0

    def wave(self) -> np.ndarray:
        """The bank's 16-bit sample data, a view of `data` (no copy)."""
        return np.frombuffer(self.data, dtype="<i2", count=self.wave_count, offset=self.wave_offset)

    @classmethod
    def parse(cls, data: bytes, path: str = "") -> BankLayout:
        try:
            return _parse(data)
        except (KeyError, struct.error, IndexError, ValueError) as error:
            raise SoundFontError(
                f"SoundFont {path} has a malformed preset table: {error}", {"path": path}
            ) from None

    def _preset_zones(self, bank: int, program: int) -> list[Zone]:
        """The synthesiser's lookup: exact, else bank 0 (melodic) / 128:0 (drums), else default."""
        for key in ((bank, program), (0, program) if bank < 128 else (128, 0)):
            if key in self.presets:
                return self.presets[key]
        return self.presets[self.default_preset]

    def sends(
        self,
        program: int,
        key: int,
        velocity: int,
        *,
        drums: bool,
        reverb_cc: int = DEFAULT_REVERB_CC,
        chorus_cc: int = DEFAULT_CHORUS_CC,
    ) -> list[VoiceSends]:
        """One entry per voice the note starts (empty when no zone holds it)."""
        voices: list[VoiceSends] = []
        for preset, instrument in self.regions(program, key, velocity, drums=drums):
            reverb = instrument.get(REVERB_SEND, 0) + preset.get(REVERB_SEND, 0)
            chorus = instrument.get(CHORUS_SEND, 0) + preset.get(CHORUS_SEND, 0)
            voices.append(
                VoiceSends(
                    reverb=_clamp(reverb_cc / 127.0 + reverb / 1000.0),
                    chorus=_clamp(chorus_cc / 127.0 + chorus / 1000.0),
                    exclusive_class=instrument.get(EXCLUSIVE_CLASS, 0),
                )
            )
        return voices

    def regions(
        self, program: int, key: int, velocity: int, *, drums: bool
    ) -> list[tuple[dict[int, int], dict[int, int]]]:
        """(preset zone generators, instrument zone generators) of each voice the note
        starts, in the synthesiser's order (global zones merged in)."""
        found: list[tuple[dict[int, int], dict[int, int]]] = []
        for preset_zone in self._preset_zones(128 if drums else 0, program):
            if not preset_zone.holds(key, velocity):
                continue
            instrument = preset_zone.generators.get(INSTRUMENT)
            if instrument is None or instrument >= len(self.instruments):
                continue
            for zone in self.instruments[instrument]:
                if zone.holds(key, velocity):
                    found.append((preset_zone.generators, zone.generators))
        return found

    def velocity_layer(self, program: int, key: int, velocity: int, *, drums: bool) -> range:
        """The velocities at which a note of `key` starts the same voices as at `velocity`
        (the bank's velocity layer it falls in): no zone that could hold the key has a
        velocity range edge inside it."""
        low, high = 1, 127
        for preset_zone in self._preset_zones(128 if drums else 0, program):
            if not preset_zone.keys[0] <= key <= preset_zone.keys[1]:
                continue
            zones = [preset_zone]
            instrument = preset_zone.generators.get(INSTRUMENT)
            if instrument is not None and instrument < len(self.instruments):
                zones += [z for z in self.instruments[instrument] if z.keys[0] <= key <= z.keys[1]]
            for zone in zones:
                for edge in (zone.velocities[0], zone.velocities[1] + 1):
                    if low < edge <= velocity:
                        low = edge
                    elif velocity < edge <= high:
                        high = edge - 1
        return range(low, high + 1)

    def dry_bank(self) -> bytes:
        """The bank with every reverb and chorus send generator's amount set to 0."""
        return self._zeroed(self.generator_offsets)

    def reverb_only_bank(self) -> bytes:
        """The bank with every chorus send generator's amount set to 0 (reverb kept)."""
        return self._zeroed(self.chorus_offsets)

    def _zeroed(self, offsets: list[int]) -> bytes:
        data = bytearray(self.data)
        for offset in offsets:
            data[offset : offset + 2] = b"\x00\x00"
        return bytes(data)


def _clamp(value: float) -> float:
    return min(max(value, 0.0), 1.0)


def _chunks(data: bytes, start: int, end: int):
    while start + 8 <= end:
        name = data[start : start + 4]
        size = struct.unpack_from("<I", data, start + 4)[0]
        yield name, start + 8, size
        start += 8 + size + (size & 1)


def _parse(data: bytes) -> BankLayout:
    hydra: tuple[int, int] | None = None
    wave = (0, 0)
    for name, offset, size in _chunks(data, 12, len(data)):
        if name == b"LIST" and data[offset : offset + 4] == b"pdta":
            hydra = (offset + 4, offset + size)
        if name == b"LIST" and data[offset : offset + 4] == b"sdta":
            for inner, at, length in _chunks(data, offset + 4, offset + size):
                if inner == b"smpl":
                    wave = (at, length // 2)
    if hydra is None:
        raise ValueError("no pdta list")
    chunks = {name: (offset, size) for name, offset, size in _chunks(data, *hydra)}

    def records(name: bytes, width: int) -> tuple[int, int]:
        offset, size = chunks[name]
        return offset, size // width

    generator_offsets: list[int] = []
    chorus_offsets: list[int] = []

    def generators(chunk: bytes, first: int, last: int) -> dict[int, int]:
        offset, _ = chunks[chunk]
        found: dict[int, int] = {}
        for index in range(first, last):
            at = offset + 4 * index
            operator = struct.unpack_from("<H", data, at)[0]
            if operator in (KEY_RANGE, VELOCITY_RANGE):
                low, high = data[at + 2], data[at + 3]
                found[operator] = (low << 8) | high
            else:
                found[operator] = struct.unpack_from("<h", data, at + 2)[0]
                if operator in (REVERB_SEND, CHORUS_SEND):
                    generator_offsets.append(at + 2)
                if operator == CHORUS_SEND:
                    chorus_offsets.append(at + 2)
        return found

    def zones(bag_chunk: bytes, gen_chunk: bytes, first_bag: int, last_bag: int, terminal: int):
        bag_offset, _ = chunks[bag_chunk]
        result: list[Zone] = []
        global_generators: dict[int, int] = {}
        for bag in range(first_bag, last_bag):
            start = struct.unpack_from("<H", data, bag_offset + 4 * bag)[0]
            stop = struct.unpack_from("<H", data, bag_offset + 4 * bag + 4)[0]
            found = generators(gen_chunk, start, stop)
            if terminal not in found:
                if bag == first_bag:
                    global_generators = found
                continue
            merged = {**global_generators, **found}
            keys = merged.pop(KEY_RANGE, 127)  # absent: 0-127 (0x007F)
            velocities = merged.pop(VELOCITY_RANGE, 127)
            result.append(
                Zone((keys >> 8, keys & 0xFF), (velocities >> 8, velocities & 0xFF), merged)
            )
        return result

    inst_offset, inst_count = records(b"inst", 22)
    instruments = []
    for index in range(inst_count - 1):  # the last record is the terminal one
        first = struct.unpack_from("<H", data, inst_offset + 22 * index + 20)[0]
        last = struct.unpack_from("<H", data, inst_offset + 22 * (index + 1) + 20)[0]
        instruments.append(zones(b"ibag", b"igen", first, last, SAMPLE_ID))

    phdr_offset, phdr_count = records(b"phdr", 38)
    presets: dict[tuple[int, int], list[Zone]] = {}
    default: tuple[int, int] | None = None
    for index in range(phdr_count - 1):
        at = phdr_offset + 38 * index
        program, bank, first = struct.unpack_from("<HHH", data, at + 20)
        last = struct.unpack_from("<H", data, at + 38 + 24)[0]
        presets[(bank, program)] = zones(b"pbag", b"pgen", first, last, INSTRUMENT)
        if default is None or (bank << 16 | program) < (default[0] << 16 | default[1]):
            default = (bank, program)
    if default is None:
        raise ValueError("no presets")
    shdr_offset, shdr_count = records(b"shdr", 46)
    samples = [
        SampleHeader(*struct.unpack_from("<iiiiiBb", data, shdr_offset + 46 * index + 20))
        for index in range(shdr_count - 1)
    ]
    return BankLayout(
        data,
        presets,
        instruments,
        sorted(set(generator_offsets)),
        sorted(set(chorus_offsets)),
        default,
        samples,
        *wave,
    )
