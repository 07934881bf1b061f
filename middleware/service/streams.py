"""The PCM streams of all sessions, rendered and sent round-robin in time slices.

The serving loop gives streams a *slice* of its time (`Streams.render_slice`) once the
requests waiting have been answered. A slice visits the running streams in turn, from
where the last slice stopped, and renders and sends at most `BURST_BLOCKS` blocks for
each that has credit (back to back, so ZeroMQ's I/O threads wake once for them), so one
stream with many credits cannot hold the loop while others wait, and a stream without
credit (a paused game, a client that stopped reading) costs nothing at all. The slice
ends at its deadline, as soon as a request is waiting once it has lasted `min_s`
(`interrupted()`, asked after every block: a request waits for `min_s` and one block's
mixing at most, and streams still get their share when requests never stop), or once a
whole turn of the streams found nothing to send.

A block the socket refuses (the client's queue is at its high-water mark) is kept, as
sent bytes, and offered again after `BLOCKED_RETRY_S`: the session clock has already
moved past it, so it is never rendered twice and never skipped. A stream whose player
fails to render is stopped (`on_failed`), never the loop.
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
#: blocks one stream may get in a row on its turn (while it has credit): its blocks then
#: go out back to back, so ZeroMQ's I/O threads (the service's and the client's) wake once
#: for them, not once per block
BURST_BLOCKS = 4

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
        # x 32767 then clipped to +-32767 is clip(x, -1, 1) x 32767 exactly (32767 is a
        # float32); plain ufuncs, no np.clip wrapper (this runs for every block sent)
        scaled = self._scratch[: block.shape[0]]
        np.multiply(block, _FULL_SCALE, out=scaled)
        np.minimum(scaled, _FULL_SCALE, out=scaled)
        np.maximum(scaled, _NEGATIVE_FULL_SCALE, out=scaled)
        np.rint(scaled, out=scaled)
        out = self._s16[: block.shape[0]]
        np.copyto(out, scaled, casting="unsafe")
        return out.tobytes()


_FULL_SCALE = np.float32(32767.0)
_NEGATIVE_FULL_SCALE = np.float32(-32767.0)


class Streams:
    """Every running stream, in the order they started."""

    def __init__(
        self,
        send: SendFn,
        publish_marks: PublishFn,
        on_gone: Callable[[Session], None],
        on_failed: Callable[[Session, Exception], None] | None = None,
    ) -> None:
        self._send = send
        self._publish_marks = publish_marks
        self._on_gone = on_gone
        self._on_failed = on_failed
        self._live: dict[str, Session] = {}
        self._order: list[Session] = []  # `_live` in turn order (rebuilt on changes)
        self._changed = False
        self._cursor = 0  # the next stream's place in `_order`
        self._headers = codec.PcmHeaderEncoder()
        self.stats = {"blocks": 0, "slices": 0, "failed": 0}

    def __len__(self) -> int:
        return len(self._live)

    def add(self, session: Session) -> None:
        self._live[session.session_id] = session
        self._changed = True

    def remove(self, session: Session) -> None:
        if self._live.pop(session.session_id, None) is not None:
            self._changed = True

    def next_retry_s(self, now: float) -> float | None:
        """Seconds until a refused block may be offered again, or None if none waits."""
        due = [
            s.stream.retry_at
            for s in self._live.values()
            if s.stream is not None and s.stream.unsent is not None
        ]
        return None if not due else max(0.0, min(due) - now)

    def render_slice(
        self, deadline: float, interrupted: Callable[[], bool], *, min_s: float = 0.0
    ) -> int:
        """Blocks for the streams in turn until `deadline` (time.perf_counter), until
        `interrupted()` (asked after each block sent once the slice has lasted `min_s`),
        or until a whole turn sent nothing. Returns the blocks sent."""
        if self._changed:
            self._order = list(self._live.values())
            self._changed = False
        order = self._order
        count = len(order)
        sent = idle = 0
        now = time.monotonic()
        clock = time.perf_counter
        patient_until = clock() + min_s
        visit = self._visit
        stop = False
        while idle < count and not stop:
            session = order[self._cursor % count]
            self._cursor = (self._cursor + 1) % count
            burst = 0
            while burst < BURST_BLOCKS and visit(session, now):
                burst += 1
                moment = clock()
                if moment >= deadline or (moment >= patient_until and interrupted()):
                    stop = True
                    break
                if self._changed:  # a stream went away (its client is gone)
                    stop = True
                    break
            sent += burst
            idle = 0 if burst else idle + 1
        self.stats["slices"] += 1
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

    def _visit(self, session: Session, now: float) -> bool:
        """One block for this stream if it has credit (or a refused block is due)."""
        stream = session.stream
        if stream is None or self._live.get(session.session_id) is not session:
            return False
        if stream.unsent is None:
            if stream.credits <= 0:
                return False
            try:
                stream.unsent = self._render(session, stream)
            except Exception as error:  # a player's bug stops its stream, not the loop
                self.stats["failed"] += 1
                self.remove(session)
                if self._on_failed is not None:
                    self._on_failed(session, error)
                return False
        elif stream.retry_at > now:
            return False
        return self._offer(session, stream)

    def _render(
        self, session: Session, stream: StreamState
    ) -> tuple[list[bytes], tuple[Mark, ...]]:
        if stream.rewind:
            snapshot = session.player.snapshot()  # type: ignore[attr-defined]
            stream.history.append((stream.seq, snapshot.sample, snapshot))
            if len(stream.history) > stream.history_limit:
                stream.history.popleft()
        block, info = session.player.render(stream.block_frames)
        if stream.encoder is None:
            stream.encoder = PcmEncoder(stream.pcm_format, stream.block_frames)
        header = self._headers.encode(
            stream.stream_id,
            stream.seq,
            info.sample,
            stream.block_frames,
            stream.pcm_format,
            info.state,
            info.variant,
            info.bar,
            info.beat,
            info.intensity,
        )
        return [header, stream.encoder.encode(block)], info.marks

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
