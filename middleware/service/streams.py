"""The PCM streams of all sessions, rendered and sent round-robin by the serving loop.

A *round* visits every running stream once and renders and sends at most one block for
each that has credit, so one stream with many credits cannot hold the loop while
others wait, and a stream without credit (a paused game, a client that stopped reading)
costs nothing at all. Between every few blocks the serving loop reads requests (the
`between` callback), so a request never waits for a whole round of rendering.

A block the socket refuses (the client's queue is at its high-water mark) is kept, as
sent bytes, and offered again after `BLOCKED_RETRY_S`: the session clock has already
moved past it, so it is never rendered twice and never skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from middleware.protocol import codec
from middleware.service.player import Mark
from middleware.service.session import Session, StreamState
from middleware.service.wire import FULL, GONE, SENT

#: how long a stream waits before offering a refused block again (client not reading)
BLOCKED_RETRY_S = 0.005

SendFn = Callable[[bytes, list[bytes]], str]
PublishFn = Callable[[Session, Sequence[Mark]], None]


class PcmEncoder:
    """float32 (frames, 2) -> the wire bytes of one format, in buffers reused per stream.

    s16 is the float mix clipped to [-1, 1], x 32767, rounded (docs/protocol.md).
    """

    def __init__(self, pcm_format: str, block_frames: int) -> None:
        self.pcm_format = pcm_format
        self._scratch = np.zeros((block_frames, 2), dtype=np.float32)
        self._s16 = np.zeros((block_frames, 2), dtype="<i2")

    def encode(self, block: np.ndarray) -> bytes:
        if self.pcm_format != "s16":
            return block.astype("<f4", copy=False).tobytes()
        scaled = self._scratch[: block.shape[0]]
        np.clip(block, -1.0, 1.0, out=scaled)
        np.multiply(scaled, np.float32(32767.0), out=scaled)
        np.rint(scaled, out=scaled)
        out = self._s16[: block.shape[0]]
        np.copyto(out, scaled, casting="unsafe")
        return out.tobytes()


class Streams:
    """Every running stream, in the order they started."""

    def __init__(
        self, send: SendFn, publish_marks: PublishFn, on_gone: Callable[[Session], None]
    ) -> None:
        self._send = send
        self._publish_marks = publish_marks
        self._on_gone = on_gone
        self._live: dict[str, Session] = {}
        self.stats = {"blocks": 0, "rounds": 0}

    def __len__(self) -> int:
        return len(self._live)

    def add(self, session: Session) -> None:
        self._live[session.session_id] = session

    def remove(self, session: Session) -> None:
        self._live.pop(session.session_id, None)

    def next_retry_s(self, now: float) -> float | None:
        """Seconds until a refused block may be offered again, or None if none waits."""
        due = [
            s.stream.retry_at
            for s in self._live.values()
            if s.stream is not None and s.stream.unsent is not None
        ]
        return None if not due else max(0.0, min(due) - now)

    def round(self, between: Callable[[], object], every: int) -> int:
        """One block for each stream that has credit (or a refused block whose retry is
        due); `between()` after every `every` blocks. Returns the blocks sent."""
        sent = 0
        now = time.monotonic()
        for session in list(self._live.values()):
            stream = session.stream
            if stream is None or self._live.get(session.session_id) is not session:
                continue
            if stream.unsent is None:
                if stream.credits <= 0:
                    continue
                stream.unsent = self._render(session, stream)
            elif stream.retry_at > now:
                continue
            if self._offer(session, stream):
                sent += 1
                if sent % every == 0:
                    between()
        self.stats["rounds"] += 1
        self.stats["blocks"] += sent
        return sent

    def rewind(self, session: Session, replace_from: int) -> dict[str, int] | None:
        """Take back the blocks rendered from the first block boundary at or after
        `replace_from` on (the client has not played them): the player goes back to that
        block's snapshot, the client is told with a `rewind` notice (drop what you hold
        from `sample` on; the next block is `seq` again) and its credits for those blocks
        are given back. Returns `{seq, sample, blocks}`, or None when nothing was taken
        back (no rewindable stream, nothing rendered from there, or the notice could not
        be sent: the request then applies where rendering is, as without `replace_from`)."""
        stream = session.stream
        if stream is None or not stream.rewind:
            return None
        # never before a change already made (by a request without `replace_from`)
        replace_from = max(replace_from, stream.rewind_floor)
        target = next((entry for entry in stream.history if entry[1] >= replace_from), None)
        if target is None:
            return None
        seq, sample, snapshot = target
        notice = codec.encode_stream_notice("rewind", stream.stream_id, seq, sample=sample)
        if self._send(session.routing_id, notice) != SENT:
            return None
        self._publish_marks(session, session.player.drain())  # decided before the rewind
        taken_back = stream.seq - seq  # blocks sent from there on (not the unsent one)
        while stream.history and stream.history[-1][0] >= seq:
            stream.history.pop()
        stream.unsent = None
        stream.seq = seq
        stream.credits += taken_back
        stream.rewinds += 1
        session.player.restore(snapshot)  # type: ignore[attr-defined]
        return {"seq": seq, "sample": sample, "blocks": taken_back}

    def _render(
        self, session: Session, stream: StreamState
    ) -> tuple[list[bytes], tuple[Mark, ...]]:
        if stream.rewind:
            snapshot = session.player.snapshot()  # type: ignore[attr-defined]
            stream.history.append((stream.seq, snapshot.sample, snapshot))
            if len(stream.history) > stream.history_limit:
                stream.history.popleft()
        block, info = session.player.render(stream.block_frames)
        header = codec.PcmHeader(
            stream=stream.stream_id,
            seq=stream.seq,
            sample=info.sample,
            frames=stream.block_frames,
            format=stream.pcm_format,
            state=info.state,
            variant=info.variant,
            bar=info.bar,
            beat=info.beat,
            intensity=info.intensity,
        )
        if stream.encoder is None:
            stream.encoder = PcmEncoder(stream.pcm_format, stream.block_frames)
        frames = codec.encode_pcm(header, stream.encoder.encode(block))
        return frames, info.marks

    def _offer(self, session: Session, stream: StreamState) -> bool:
        assert stream.unsent is not None
        frames, marks = stream.unsent
        outcome = self._send(session.routing_id, frames)
        if outcome == FULL:
            stream.blocked_sends += 1
            stream.retry_at = time.monotonic() + BLOCKED_RETRY_S
            return False
        stream.unsent = None
        if outcome == GONE:
            self.remove(session)
            self._on_gone(session)
            return False
        stream.credits -= 1
        stream.sent += 1
        stream.seq += 1
        self._publish_marks(session, marks)
        return True
