"""Play the PCM stream like a game would: in real time, granting one credit per block.

`StreamPlayer` keeps `buffer_blocks` blocks in flight, pulls one block every block period
from its buffer (counting an *underrun* when none has arrived), grants a credit for each
block consumed, and records what it played (for a WAV file or analysis).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from middleware.client.aio import AsyncClient
from middleware.client.results import StreamInfo
from middleware.protocol import codec


@dataclass
class PlaybackStats:
    blocks_received: int = 0
    blocks_played: int = 0
    underruns: int = 0
    seq_gaps: int = 0
    max_buffered: int = 0
    headers: list[codec.PcmHeader] = field(default_factory=list)


class StreamPlayer:
    def __init__(
        self,
        client: AsyncClient,
        *,
        pcm_format: str = "s16",
        block_frames: int = 1024,
        buffer_blocks: int = 8,
        realtime: bool = True,
        record: bool = True,
    ) -> None:
        self.client = client
        self.pcm_format = pcm_format
        self.block_frames = block_frames
        self.buffer_blocks = buffer_blocks
        self.realtime = realtime
        self.record = record
        self.stats = PlaybackStats()
        self.info: StreamInfo | None = None
        self._buffer: asyncio.Queue[tuple[codec.PcmHeader, bytes]] = asyncio.Queue()
        self._played: list[np.ndarray] = []
        self._task: asyncio.Task | None = None
        self._next_seq = 0
        self._filled = asyncio.Event()

    def _on_block(self, header: codec.PcmHeader, data: bytes) -> None:
        if self.info is not None and header.stream != self.info.stream:
            return
        if header.seq != self._next_seq:
            self.stats.seq_gaps += 1
        self._next_seq = header.seq + 1
        self.stats.blocks_received += 1
        self._buffer.put_nowait((header, data))
        self.stats.max_buffered = max(self.stats.max_buffered, self._buffer.qsize())
        if self._buffer.qsize() >= self.buffer_blocks:
            self._filled.set()

    async def start(self) -> StreamInfo:
        self.info = await self.client.stream_start(
            self._on_block,
            pcm_format=self.pcm_format,
            block_frames=self.block_frames,
            credits=self.buffer_blocks,
        )
        self._task = asyncio.create_task(self._play())
        return self.info

    @property
    def block_period_s(self) -> float:
        rate = self.info.sample_rate if self.info else 48000
        return self.block_frames / rate

    async def _play(self) -> None:
        """Consume one block per block period (real time) or as soon as one arrives."""
        await self._filled.wait()
        started = time.perf_counter()
        played = 0
        while True:
            if not self.realtime:
                header, data = await self._buffer.get()
                self._consume(header, data)
                continue
            deadline = started + played * self.block_period_s
            delay = deadline - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            played += 1
            if self._buffer.empty():
                self.stats.underruns += 1
                if self.record:
                    self._played.append(np.zeros((self.block_frames, 2), np.float32))
                continue
            header, data = self._buffer.get_nowait()
            self._consume(header, data)

    def _consume(self, header: codec.PcmHeader, data: bytes) -> None:
        self.stats.blocks_played += 1
        self.stats.headers.append(header)
        if self.record:
            self._played.append(codec.pcm_from_bytes(data, header.format))
        self.client.credit_nowait(1, header.stream)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.client.stream_stop()

    def audio(self) -> np.ndarray:
        """Everything played so far, float32 (frames, 2) (underruns as silence)."""
        if not self._played:
            return np.zeros((0, 2), np.float32)
        return np.concatenate(self._played)

    def write_wav(self, path: Path) -> Path:
        import soundfile

        rate = self.info.sample_rate if self.info else 48000
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(str(path), self.audio(), rate, subtype="PCM_16")
        return path
