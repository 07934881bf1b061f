// Live audio: the session's PCM stream into the AudioWorklet, with credit flow control.
// The page grants the service one credit per block the worklet has played, so the
// service renders ahead by `credits` blocks and never more (as a game client does).

export class LiveAudio {
  constructor(link, { blockFrames = 1024, credits = 6, sampleRate = 48000 } = {}) {
    this.link = link;
    this.blockFrames = blockFrames;
    this.credits = credits;
    this.sampleRate = sampleRate;
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
    };
    this.granted = 0; // blocks' worth of play already paid back with credit
    this.onBlock = null;
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
      processorOptions: { bufferSeconds: 4, primeFrames: 4 * this.blockFrames },
    });
    this.node.port.onmessage = (event) => this.workletReport(event.data);
    this.node.connect(this.context.destination);
    if (this.context.state !== "running") await this.context.resume();
  }

  async start() {
    await this.ensureContext();
    this.link.onPcm = (header, samples) => this.receive(header, samples);
    const result = await this.link.request("stream_start", {
      format: "f32",
      block_frames: this.blockFrames,
      credits: this.credits,
    });
    this.stream = result.stream;
    this.startSample = result.sample;
    this.playedAtStart = this.stats.framesPlayed;
    this.granted = 0;
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
    // other two-part messages (a "stopping" notice, say) are not audio
    if (header.type !== "pcm" || this.stream === null || header.stream !== this.stream) return;
    this.stats.blocksReceived += 1;
    const now = performance.now();
    if (this.lastBlockAt !== undefined) this.stats.maxBlockGapMs = Math.max(this.stats.maxBlockGapMs || 0, now - this.lastBlockAt);
    this.lastBlockAt = now;
    this.stats.framesReceived += header.frames;
    const copy = new Float32Array(samples); // the message's buffer is transferred
    this.node.port.postMessage({ type: "pcm", samples: copy }, [copy.buffer]);
    if (this.onBlock) this.onBlock(header);
  }

  workletReport(report) {
    Object.assign(this.stats, {
      framesPlayed: report.framesPlayed,
      underruns: report.underruns,
      overflows: report.overflows,
      buffered: report.buffered,
      playing: report.playing,
      underrunTimes: report.underrunTimes,
      audioTime: report.time,
    });
    if (this.stream === null) return;
    const played = Math.floor((report.framesPlayed - this.playedAtStart) / this.blockFrames);
    const owed = played - this.granted;
    if (owed > 0) {
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
}
