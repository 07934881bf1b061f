// The studio's AudioWorklet: a ring buffer of interleaved stereo float32 PCM, fed by the
// page from the WebSocket, read by the audio thread 128 frames at a time. It counts what
// it received and played and every render quantum it had to fill with silence (an
// underrun) once playing, and reports these counters to the page.
//
// A `rewind` message (the service took back audio the page holds but has not played,
// docs/protocol.md "Rewind") makes the next PCM overwrite the last `frames` frames
// written instead of following them. The old frames stay playable until they are
// overwritten, so a late replacement never empties the ring: frames of the new audio
// that arrive for a place already played are skipped (counted as `lateFrames`). The
// first frame of new audio that reaches the output is reported (`heard`).

class StudioPcmPlayer extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const seconds = (options.processorOptions && options.processorOptions.bufferSeconds) || 4;
    this.capacity = Math.ceil(sampleRate * seconds);
    this.ring = new Float32Array(this.capacity * 2);
    this.readFrame = 0;
    this.writeFrame = 0;
    this.primeFrames = (options.processorOptions && options.processorOptions.primeFrames) || 2048;
    this.playing = false;
    this.framesReceived = 0;
    this.framesPlayed = 0;
    this.underruns = 0;
    this.overflows = 0;
    this.quanta = 0;
    this.underrunTimes = []; // audio-clock times of the last 16 underruns (for diagnosis)
    this.lowWater = null; // fewest frames left in the ring while playing, since the last report
    this.cursor = null; // where the next PCM goes while it replaces frames (after a rewind)
    this.newFrom = null; // first frame of replacing audio, until it is played
    this.rewinds = 0;
    this.replacedFrames = 0;
    this.lateFrames = 0;
    this.port.onmessage = (event) => this.receive(event.data);
  }

  buffered() {
    return this.writeFrame - this.readFrame;
  }

  receive(message) {
    if (message.type === "pcm") {
      let samples = message.samples;
      let start = this.cursor === null ? this.writeFrame : this.cursor;
      const frames = samples.length / 2;
      this.framesReceived += frames;
      if (start < this.readFrame) {
        // replacing audio for frames already played: skip them (the old ones were heard)
        const late = Math.min(frames, this.readFrame - start);
        this.lateFrames += late;
        samples = samples.subarray(2 * late);
        start += late;
      }
      const count = samples.length / 2;
      if (start + count - this.readFrame > this.capacity) {
        this.overflows += 1;
        return;
      }
      if (count > 0) {
        const at = (start % this.capacity) * 2;
        const first = Math.min(samples.length, this.ring.length - at);
        this.ring.set(samples.subarray(0, first), at);
        if (first < samples.length) this.ring.set(samples.subarray(first), 0);
        if (this.cursor !== null) {
          this.replacedFrames += Math.max(0, Math.min(this.writeFrame, start + count) - start);
          if (this.newFrom === null) this.newFrom = start;
        }
      }
      this.writeFrame = Math.max(this.writeFrame, start + count);
      if (this.cursor !== null) {
        this.cursor = start + count;
        if (this.cursor >= this.writeFrame) this.cursor = null; // caught up: append again
      }
    } else if (message.type === "rewind") {
      // the last `frames` frames written are to be replaced by what comes next
      const from = (this.cursor === null ? this.writeFrame : this.cursor) - message.frames;
      this.cursor = from;
      this.newFrom = null;
      this.rewinds += 1;
    } else if (message.type === "prime") {
      this.primeFrames = message.frames;
    } else if (message.type === "flush") {
      this.readFrame = this.writeFrame;
      this.cursor = this.newFrom = null;
      this.playing = false;
    } else if (message.type === "reset-counters") {
      this.framesReceived = this.framesPlayed = this.underruns = this.overflows = 0;
    }
  }

  process(inputs, outputs) {
    const out = outputs[0];
    const left = out[0];
    const right = out.length > 1 ? out[1] : out[0];
    const want = left.length;
    if (!this.playing && this.buffered() >= this.primeFrames) this.playing = true;
    let done = 0;
    if (this.playing) {
      const have = Math.min(want, this.buffered());
      if (this.newFrom !== null && this.newFrom < this.readFrame + have) {
        // the first replacing frame reaches the output in this quantum
        const offset = Math.max(0, this.newFrom - this.readFrame);
        this.port.postMessage({
          type: "heard",
          framesPlayed: this.framesPlayed + offset,
          time: currentTime + offset / sampleRate,
        });
        this.newFrom = null;
      }
      for (let i = 0; i < have; i++) {
        const at = ((this.readFrame + i) % this.capacity) * 2;
        left[i] = this.ring[at];
        right[i] = this.ring[at + 1];
      }
      this.readFrame += have;
      this.framesPlayed += have;
      done = have;
      if (have < want) {
        this.underruns += 1;
        this.underrunTimes.push([currentTime, this.framesPlayed, this.framesReceived]);
        if (this.underrunTimes.length > 16) this.underrunTimes.shift();
        this.playing = false; // wait to be primed again
      } else {
        const left = this.buffered();
        if (this.lowWater === null || left < this.lowWater) this.lowWater = left;
      }
    }
    for (let i = done; i < want; i++) {
      left[i] = 0;
      right[i] = 0;
    }
    this.quanta += 1;
    if (this.quanta % 4 === 0) {
      this.port.postMessage({
        type: "stats",
        framesReceived: this.framesReceived,
        framesPlayed: this.framesPlayed,
        underruns: this.underruns,
        overflows: this.overflows,
        buffered: this.buffered(),
        playing: this.playing,
        underrunTimes: this.underrunTimes.slice(),
        lowWater: this.lowWater,
        rewinds: this.rewinds,
        replacedFrames: this.replacedFrames,
        lateFrames: this.lateFrames,
        time: currentTime,
      });
      this.lowWater = null;
    }
    return true;
  }
}

registerProcessor("studio-pcm-player", StudioPcmPlayer);
