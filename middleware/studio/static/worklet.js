// The studio's AudioWorklet: a ring buffer of interleaved stereo float32 PCM, fed by the
// page from the WebSocket, read by the audio thread 128 frames at a time. It counts what
// it received and played and every render quantum it had to fill with silence (an
// underrun) once playing, and reports these counters to the page.

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
    this.port.onmessage = (event) => this.receive(event.data);
  }

  buffered() {
    return this.writeFrame - this.readFrame;
  }

  receive(message) {
    if (message.type === "pcm") {
      const samples = message.samples;
      const frames = samples.length / 2;
      if (this.buffered() + frames > this.capacity) {
        this.overflows += 1;
        return;
      }
      let at = (this.writeFrame % this.capacity) * 2;
      const first = Math.min(samples.length, this.ring.length - at);
      this.ring.set(samples.subarray(0, first), at);
      if (first < samples.length) this.ring.set(samples.subarray(first), 0);
      this.writeFrame += frames;
      this.framesReceived += frames;
    } else if (message.type === "prime") {
      this.primeFrames = message.frames;
    } else if (message.type === "flush") {
      this.readFrame = this.writeFrame;
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
        time: currentTime,
      });
      this.lowWater = null;
    }
    return true;
  }
}

registerProcessor("studio-pcm-player", StudioPcmPlayer);
