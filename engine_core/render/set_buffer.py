"""Where a variant set's audio is written while it renders: one slot per stem and per mix.

Render workers write their stems straight into a `FileSetBuffer`, a file mapped into
memory by every process (in `/dev/shm` when it has room, else the temporary directory),
so the audio is never pickled through a pipe: sending a 34 s stereo stem back costs more
CPU than folding its tail. The serial path uses an `ArraySetBuffer` of ordinary arrays.
Both hand stems back through `take_stem`, which applies the variant's normalising gain
with the same multiplication either way, so the audio is the same bit for bit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FRAME_BYTES = 2 * np.dtype(np.float32).itemsize  # float32 stereo
SHM_DIRECTORY = "/dev/shm"
#: /dev/shm is used only when it has this many times the buffer's size free.
SHM_HEADROOM = 2


@dataclass(frozen=True)
class Slot:
    """A (frames, 2) float32 array at `offset` bytes into the buffer."""

    offset: int
    frames: int

    @property
    def size(self) -> int:
        return self.frames * FRAME_BYTES


@dataclass(frozen=True)
class SetLayout:
    """Slots for each variant's stems and for its mix, packed one after another."""

    stems: tuple[tuple[Slot, ...], ...]
    mixes: tuple[Slot, ...]
    size: int

    @classmethod
    def of(cls, frames: Sequence[int], stem_counts: Sequence[int]) -> SetLayout:
        """Variant `v` has `stem_counts[v]` stems and a mix, each `frames[v]` long."""
        offset = 0
        stems: list[tuple[Slot, ...]] = []
        mixes: list[Slot] = []
        for length, count in zip(frames, stem_counts, strict=True):
            slots = []
            for _ in range(count + 1):
                slots.append(Slot(offset, length))
                offset += length * FRAME_BYTES
            stems.append(tuple(slots[:-1]))
            mixes.append(slots[-1])
        return cls(tuple(stems), tuple(mixes), offset)


def _check_shape(slot: Slot, audio: np.ndarray) -> None:
    if audio.shape != (slot.frames, 2):
        raise ValueError(f"audio of shape {audio.shape} does not fit {slot.frames} frames")


class ArraySetBuffer:
    """Ordinary arrays in this process (the serial path)."""

    def __init__(self, layout: SetLayout) -> None:
        self.layout = layout
        self._arrays: dict[Slot, np.ndarray] = {}

    def put(self, slot: Slot, audio: np.ndarray) -> None:
        """Keep `audio` (as float32, copied only if it is not) for `slot`."""
        _check_shape(slot, audio)
        self._arrays[slot] = audio.astype(np.float32, copy=False)

    def put_scaled(self, slot: Slot, audio: np.ndarray, scale: float) -> None:
        """Keep `audio * scale`, rounded to float32 (one pass, no intermediate copy)."""
        _check_shape(slot, audio)
        scaled = np.empty(audio.shape, np.float32)
        np.multiply(audio, scale, out=scaled, casting="same_kind")
        self._arrays[slot] = scaled

    def view(self, slot: Slot) -> np.ndarray:
        return self._arrays[slot]

    def take_stem(self, slot: Slot, scale: np.float32) -> np.ndarray:
        """The stem at `slot` times `scale` (in place: the array is this buffer's own)."""
        audio = self._arrays.pop(slot)
        np.multiply(audio, scale, out=audio)
        return audio

    def take_mix(self, slot: Slot) -> np.ndarray:
        return self._arrays.pop(slot)

    def close(self) -> None:
        self._arrays.clear()


class FileSetBuffer:
    """A file mapped into memory by the parent and by each worker task that writes to it.

    Only the path and layout are pickled to workers; each task maps the slot it needs
    and unmaps it when done, so no worker keeps the set's memory after the call. The
    parent maps the whole file and hands out views of it: the stems it returns share
    that mapping (no copy), which stays alive while any of them does, after `close`
    has removed the file's name.
    """

    def __init__(self, path: str, layout: SetLayout, *, parent: bool = False) -> None:
        self.path = path
        self.layout = layout
        self._whole: np.ndarray | None = None
        if parent and layout.size:
            self._whole = np.memmap(path, dtype=np.float32, mode="r+", shape=(layout.size // 4,))

    def __reduce__(self) -> tuple[type[FileSetBuffer], tuple[str, SetLayout]]:
        return (FileSetBuffer, (self.path, self.layout))

    @classmethod
    def create(cls, layout: SetLayout) -> FileSetBuffer:
        roomy = (
            os.path.isdir(SHM_DIRECTORY)
            and shutil.disk_usage(SHM_DIRECTORY).free >= SHM_HEADROOM * layout.size
        )
        directory = SHM_DIRECTORY if roomy else None
        handle, path = tempfile.mkstemp(prefix="ostinato-render-", suffix=".f32", dir=directory)
        try:
            os.ftruncate(handle, max(layout.size, 1))
        except OSError:
            os.close(handle)
            os.unlink(path)
            raise
        os.close(handle)
        return cls(path, layout, parent=True)

    def put(self, slot: Slot, audio: np.ndarray) -> None:
        """Write `audio` (converted to float32) into `slot`."""
        _check_shape(slot, audio)
        view = self.view(slot)
        view[...] = audio

    def put_scaled(self, slot: Slot, audio: np.ndarray, scale: float) -> None:
        """Write `audio * scale`, rounded to float32, into `slot` (one pass)."""
        _check_shape(slot, audio)
        np.multiply(audio, scale, out=self.view(slot), casting="same_kind")

    def view(self, slot: Slot) -> np.ndarray:
        """A writable (frames, 2) view of `slot`."""
        if self._whole is not None:
            start = slot.offset // 4
            return np.asarray(self._whole[start : start + 2 * slot.frames]).reshape(-1, 2)
        # a worker: map only this slot, unmapped when the view is dropped
        return np.memmap(
            self.path, dtype=np.float32, mode="r+", offset=slot.offset, shape=(slot.frames, 2)
        )

    def take_stem(self, slot: Slot, scale: np.float32) -> np.ndarray:
        """The stem at `slot` times `scale`, scaled in place in the parent's mapping."""
        audio = self.view(slot)
        np.multiply(audio, scale, out=audio)
        return audio

    def take_mix(self, slot: Slot) -> np.ndarray:
        return self.view(slot)

    def close(self) -> None:
        """Remove the file's name (views already handed out keep the memory)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


SetBuffer = ArraySetBuffer | FileSetBuffer
