// Live audio: the session's PCM stream into the AudioWorklet, with credit flow control.
// The page grants the service one credit per block the worklet has played, so the
// service renders ahead by the credits outstanding and never more (as a game client
// does). Everything rendered ahead is heard before a change made now: the look-ahead
// *is* the click-to-audible latency of an `immediate` rule, and the margin that keeps the
// worklet playing through a stall. So the look-ahead is an adaptive jitter buffer
// (`JitterBuffer`): it follows the longest gap between two blocks reaching the page in
// the last 60 s (×1.3, plus a block), grows at once when the worklet ran dry or nearly
// did, and gives back one block every half second once it is larger than that, down to
// its floor. Growing grants extra credits; shrinking withholds a payback.
//
// The look-ahead does not delay the designer's clicks: the stream is started with
// `rewind: true`, and each event carries `replace_from`, the session sample the ear will
// reach a safety margin from now (`replaceFrom()`). The service plans the change from
// there and takes back the audio it had rendered past it (a `rewind` notice, then the
// new audio from that sample: docs/protocol.md, "Rewind"), which the worklet writes over
// what it holds. So a deep buffer costs no latency, and the buffer may stay deep.

//: ring level (in blocks) below which a playing worklet counts as a near miss
const NEAR_MISS_BLOCKS = 1;
//: how far back block gaps count, in one-second buckets
const GAP_WINDOW_S = 60;
//: the look-ahead's start, floor and ceiling when clicks rewind (latency no longer
//: depends on it; the service's 320 credits allow 3.4 s)
export const REWIND_BUFFER = { startMs: 1500, minMs: 1000, maxMs: 3000 };

export class JitterBuffer {
  constructor({ blockFrames, sampleRate, minMs = 50, startMs = 600, maxMs = 1800, maxBlocks = 60, quietMs = 10000, afterUnderrunMs = 60000, shrinkEveryMs = 500 }) {
    const blockMs = (1000 * blockFrames) / sampleRate;
    this.blockMs = blockMs;
    this.minBlocks = Math.max(2, Math.ceil(minMs / blockMs));
    this.maxBlocks = Math.max(this.minBlocks, Math.min(maxBlocks, Math.ceil(maxMs / blockMs)));
    this.target = this.clamp(Math.ceil(startMs / blockMs));
    this.quietMs = quietMs;
    this.afterUnderrunMs = afterUnderrunMs;
    this.lastUnderrun = -Infinity;
    this.shrinkEveryMs = shrinkEveryMs;
    this.lastTrouble = -Infinity;
    this.lastShrink = -Infinity;
    this.gaps = new Map(); // second -> longest gap between blocks that second (ms)
    this.lastArrival = null;
    this.grown = 0;
    this.shrunk = 0;
    this.peak = this.target;
    this.maxGapMs = 0;
  }

  clamp(blocks) {
    return Math.min(this.maxBlocks, Math.max(this.minBlocks, blocks));
  }

  // a stream (re)starts: its first block is no gap; hold the look-ahead for a while
  restart(now) {
    this.lastArrival = null;
    this.lastTrouble = now;
  }

  // a block reached the page while the worklet plays (a gap while it primes is no stall)
  arrival(now, playing) {
    if (this.lastArrival !== null && playing) {
      const gap = now - this.lastArrival;
      const second = Math.floor(now / 1000);
      this.gaps.set(second, Math.max(this.gaps.get(second) || 0, gap));
      this.maxGapMs = Math.max(this.maxGapMs, gap);
      for (const old of this.gaps.keys()) if (old <= second - GAP_WINDOW_S) this.gaps.delete(old);
    }
    this.lastArrival = now;
  }

  // the look-ahead the recent gaps ask for
  wanted() {
    let gap = 0;
    for (const value of this.gaps.values()) gap = Math.max(gap, value);
    return this.clamp(Math.ceil((1.3 * gap + this.blockMs) / this.blockMs));
  }

  // one worklet report: did it run dry (underrun) or nearly (low water below a block)?
  update({ underran, lowWater, playing }, blockFrames, now) {
    const wanted = this.wanted();
    if (underran) {
      this.target = this.clamp(Math.max(wanted, Math.ceil(this.target * 1.5) + 1));
      this.lastTrouble = now;
      this.lastUnderrun = now;
      this.grown += 1;
    } else if (playing && lowWater !== null && lowWater < NEAR_MISS_BLOCKS * blockFrames) {
      this.target = this.clamp(Math.max(wanted, this.target + 1));
      this.lastTrouble = now;
      this.grown += 1;
    } else if (wanted > this.target) {
      this.target = wanted;
      this.grown += 1;
    } else if (
      wanted < this.target &&
      now - this.lastTrouble > this.quietMs &&
      now - this.lastUnderrun > this.afterUnderrunMs &&
      now - this.lastShrink > this.shrinkEveryMs
    ) {
      this.target -= 1;
      this.lastShrink = now;
      this.shrunk += 1;
    }
    this.peak = Math.max(this.peak, this.target);
    return this.target;
  }
}

export class LiveAudio {
  constructor(link, { blockFrames = 512, credits = null, sampleRate = 48000, adaptive = true, maxCredits = 64, rewind = true, rewindMs = 40 } = {}) {
    this.link = link;
    this.blockFrames = blockFrames;
    this.sampleRate = sampleRate;
    this.adaptive = adaptive && credits === null;
    this.maxCredits = maxCredits;
    this.fixedCredits = credits;
    this.rewind = rewind;
    this.rewindMs = rewindMs;
    this.heard = []; // the last replacements heard: {n, sample, at, now} (session sample, audio time)
    this.heardCount = 0;
    this.newBuffer();
    this.context = null;
    this.node = null;
    this.stream = null;
    this.startSample = 0;
    this.stats = {
      blocksReceived: 0,
      framesReceived: 0,
      framesPlayed: 0,
      underruns: 0,
      overflows: 0,
      buffered: 0,
      creditsGranted: 0,
      playing: false,
      rewinds: 0,
      framesTakenBack: 0,
      lateFrames: 0,
    };
    this.granted = 0; // credits granted since the stream started (beyond the first)
    this.onBlock = null;
  }

  newBuffer() {
    this.jitter = new JitterBuffer({
      blockFrames: this.blockFrames,
      sampleRate: this.sampleRate,
      maxBlocks: this.maxCredits - 2,
      // clicks replace the queued audio (rewind), so a deep buffer costs them nothing:
      // it starts at 1.5 s and stays within 1..3 s (without rewind: 600 ms, 53 ms..1.8 s)
      ...(this.rewind ? REWIND_BUFFER : {}),
    });
    if (this.fixedCredits !== null) this.jitter.target = this.fixedCredits;
    this.credits = this.jitter.target; // what the stream starts with
  }

  // the worklet starts (and restarts after running dry) with the ring nearly full: with
  // nothing played no credit is paid back, so all `target` blocks arrive
  primeFrames() {
    return Math.max(2, this.jitter.target - 1) * this.blockFrames;
  }

  async ensureContext() {
    if (this.context) {
      if (this.context.state !== "running") await this.context.resume();
      return;
    }
    this.context = new AudioContext({ sampleRate: this.sampleRate, latencyHint: "interactive" });
    await this.context.audioWorklet.addModule("/static/worklet.js");
    this.node = new AudioWorkletNode(this.context, "studio-pcm-player", {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [2],
      processorOptions: { bufferSeconds: 6, primeFrames: this.primeFrames() },
    });
    this.node.port.onmessage = (event) => this.workletReport(event.data);
    this.node.connect(this.context.destination);
    if (this.context.state !== "running") await this.context.resume();
  }

  async start() {
    await this.ensureContext();
    this.link.onPcm = (header, samples) => this.receive(header, samples);
    this.credits = this.jitter.target; // a new stream starts with the look-ahead learnt so far
    const result = await this.link.request("stream_start", {
      format: "f32",
      block_frames: this.blockFrames,
      credits: this.credits,
      rewind: this.rewind,
    });
    this.stream = result.stream;
    this.rewinding = Boolean(result.rewind);
    this.startSample = result.sample;
    this.streamFrames = 0; // frames received in this stream, rewinds taken back
    this.playedAtStart = this.stats.framesPlayed;
    this.granted = 0;
    this.startTarget = this.credits;
    this.jitter.restart(performance.now());
    return result;
  }

  async stop() {
    if (this.stream === null) return;
    this.stream = null;
    this.node.port.postMessage({ type: "flush" });
    try {
      await this.link.request("stream_stop");
    } catch (error) {
      if (error.code !== "no_stream") throw error;
    }
  }

  receive(header, samples) {
    if (header.type === "rewind" && this.stream !== null && header.stream === this.stream) {
      // the service takes back what it sent from `sample` on: the next blocks replace it
      const keep = header.sample - this.startSample;
      const frames = Math.max(0, this.streamFrames - keep);
      this.streamFrames = Math.min(this.streamFrames, keep);
      this.stats.rewinds += 1;
      this.stats.framesTakenBack += frames;
      this.node.port.postMessage({ type: "rewind", frames });
      if (this.onRewind) this.onRewind(header);
      return;
    }
    // other two-part messages (a "stopping" notice, say) are not audio
    if (header.type !== "pcm" || this.stream === null || header.stream !== this.stream) return;
    this.streamFrames = header.sample + header.frames - this.startSample;
    this.stats.blocksReceived += 1;
    const now = performance.now();
    if (this.lastBlockAt !== undefined) this.stats.maxBlockGapMs = Math.max(this.stats.maxBlockGapMs || 0, now - this.lastBlockAt);
    this.lastBlockAt = now;
    this.jitter.arrival(now, this.stats.playing);
    this.stats.framesReceived += header.frames;
    const copy = new Float32Array(samples); // the message's buffer is transferred
    this.node.port.postMessage({ type: "pcm", samples: copy }, [copy.buffer]);
    if (this.onBlock) this.onBlock(header);
  }

  workletReport(report) {
    if (report.type === "heard") {
      // the first frame of replacing audio reached the output
      const sample = this.startSample + (report.framesPlayed - this.playedAtStart);
      this.heardCount += 1; // `n`: a serial number, so a caller finds the reports after its click
      this.heard.push({ n: this.heardCount, sample, at: report.time, now: performance.now() });
      if (this.heard.length > 16) this.heard.shift();
      return;
    }
    const underran = report.underruns > this.stats.underruns;
    Object.assign(this.stats, {
      framesPlayed: report.framesPlayed,
      underruns: report.underruns,
      overflows: report.overflows,
      buffered: report.buffered,
      playing: report.playing,
      underrunTimes: report.underrunTimes,
      audioTime: report.time,
      lateFrames: report.lateFrames,
    });
    if (this.stream === null) return;
    if (this.adaptive) {
      const before = this.jitter.target;
      const target = this.jitter.update({ underran, lowWater: report.lowWater, playing: report.playing }, this.blockFrames, performance.now());
      if (target !== before) this.node.port.postMessage({ type: "prime", frames: this.primeFrames() });
    }
    Object.assign(this.stats, {
      targetBlocks: this.jitter.target,
      targetMs: this.jitter.target * this.jitter.blockMs,
      peakTargetMs: this.jitter.peak * this.jitter.blockMs,
      bufferGrown: this.jitter.grown,
      bufferShrunk: this.jitter.shrunk,
      wantedMs: this.jitter.wanted() * this.jitter.blockMs,
    });
    // credits granted so far should equal blocks played plus the look-ahead's growth
    const played = Math.floor((report.framesPlayed - this.playedAtStart) / this.blockFrames);
    const owed = played + (this.jitter.target - this.startTarget) - this.granted;
    // two blocks at a time: half the requests on the service's loop for one block of lead
    if (owed >= 2 || (owed > 0 && report.buffered < 2 * this.blockFrames)) {
      this.granted += owed;
      this.stats.creditsGranted += owed;
      this.link.request("credit", { credits: owed, stream: this.stream }).catch(() => {});
    }
  }

  // The session sample the listener hears now (the stream's blocks are consecutive).
  audibleSample() {
    if (this.stream === null) return null;
    return this.startSample + (this.stats.framesPlayed - this.playedAtStart);
  }

  // For an event sent now: the first session sample whose audio may still be replaced
  // (what is heard now, plus the margin the request and the new audio need to arrive).
  // null when the stream cannot rewind (the change then waits for the buffered audio).
  replaceFrom() {
    if (this.stream === null || !this.rewinding) return null;
    const playing = this.audibleSample();
    return playing + Math.round((this.rewindMs / 1000) * this.sampleRate);
  }
}
