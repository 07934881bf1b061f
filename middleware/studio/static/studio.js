// Ostinato Studio: the page's main module (plain ES modules, no build step, no network
// beyond the studio's own loopback server).
import { LiveAudio } from "./audio.js";
import { StateEditor } from "./editor.js";
import { Gallery } from "./gallery.js";
import { Link, RemoteError } from "./link.js";
import { renderMatrix } from "./matrix.js";
import { TimelineModel, drawTimeline } from "./timeline.js";

const params = new URLSearchParams(location.search);

// Gain of a stem active on [low, high) at an intensity: the director's `stem_gain`
// (middleware/director/intensity.py), with the pack's edge width.
export function stemGain(intensity, low, high, edge) {
  let gain = 1.0;
  if (low > 0.0) gain = Math.min(gain, Math.max(0.0, Math.min(1.0, (intensity - low) / edge + 0.5)));
  if (high < 1.0) gain = Math.min(gain, Math.max(0.0, Math.min(1.0, (high - intensity) / edge + 0.5)));
  return gain;
}

class StudioPage {
  constructor() {
    this.pack = null;
    this.link = null;
    this.audio = null;
    this.timeline = null;
    this.where = null; // the last PCM header: what the service rendered last
    this.target = null;
    this.errors = [];
    this.notes = 0;
    this.stemGains = {};
  }

  // Interactive as soon as the pack's view and the session are there: both are asked
  // for at once (the socket opens while the view loads). `bootMarks` (ms since the
  // navigation started) shows where the time went; the tests and the benchmark read it.
  async boot() {
    this.bootMarks = { script: performance.now() };
    const opened = this.openLink();
    this.pack = await (await fetch("/api/pack", { credentials: "same-origin" })).json();
    this.bootMarks.pack = performance.now();
    document.getElementById("pack-name").textContent = this.pack.pack;
    this.timeline = new TimelineModel(this.pack.sample_rate, this.pack.states.map((s) => s.name));
    this.buildControls();
    this.editor = new StateEditor(this, document.getElementById("editor"));
    this.gallery = new Gallery(this, document.getElementById("gallery"));
    this.buildTabs();
    await opened;
    this.bootMarks.socket = performance.now();
    await this.connect();
    this.bootMarks.session = performance.now();
    this.bindKeys();
    requestAnimationFrame((time) => this.frame(time));
    this.bootMarks.ready = performance.now();
    document.body.dataset.ready = "true";
  }

  openLink() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.link = new Link(`${scheme}://${location.host}/ws`);
    this.link.onClose = () => this.setStatus("disconnected");
    this.link.on("*", (topic, body) => this.note(topic, body));
    return this.link.open();
  }

  async connect() {
    await this.link.helloFor(this.pack.pack);
    this.audio = new LiveAudio(this.link, {
      sampleRate: this.pack.sample_rate,
      blockFrames: Number(params.get("block_frames") || 512),
      credits: params.get("credits") ? Number(params.get("credits")) : null, // null: adaptive
      rewind: params.get("rewind") !== "0", // ?rewind=0: changes wait out the buffered audio
      rewindMs: Number(params.get("rewind_ms") || 40),
      maxCredits: (this.link.hello && this.link.hello.limits && this.link.hello.limits.max_credits) || 64,
    });
    this.audio.onBlock = (header) => this.block(header);
    this.audio.onRewind = (header) => this.timeline.rewind(header.sample);
    this.setStatus("connected");
    this.sessions = (this.sessions || 0) + 1;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (performance.now() - this.link.lastSent > 1000) this.link.request("ping", { t: null }).catch(() => {});
    }, 1000);
  }

  // A new session on the pack as it is now (after an edit or a re-roll): the new
  // director hears the new variants. Playback resumes in the state it was heading to.
  async renewSession() {
    const wasPlaying = this.audio && this.audio.stream !== null;
    const state = this.target || (this.where && this.where.state);
    if (wasPlaying) await this.audio.stop();
    await this.link.request("bye");
    this.pack = await (await fetch("/api/pack")).json();
    this.timeline = new TimelineModel(this.pack.sample_rate, this.pack.states.map((s) => s.name));
    this.where = null;
    await this.link.helloFor(this.pack.pack);
    this.sessions += 1;
    if (state) await this.link.request("event", { state, intensity: null, params: {} });
    if (wasPlaying) await this.audio.start();
    renderMatrix(this, document.getElementById("matrix"));
  }

  // The state the listener hears now (the rendered head, `where`, is ahead of it by the
  // look-ahead; a click acts on what is heard, since the service rewinds to it).
  heardState() {
    const heard = this.audio ? this.audio.audibleSample() : null;
    if (heard === null) return null;
    const blocks = this.timeline.blocks;
    for (let i = blocks.length - 1; i >= 0; i--) {
      if (blocks[i].sample <= heard) return blocks[i].state;
    }
    return null;
  }

  async tryTransition(source, target) {
    try {
      await this.play();
      if (this.heardState() !== source) {
        await this.goTo(source);
        const deadline = performance.now() + 30000;
        while (this.heardState() !== source && performance.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      await this.goTo(target);
    } catch (error) {
      this.showError(error);
    }
  }

  buildTabs() {
    const tabs = document.querySelectorAll("#tabs button");
    const show = (name) => {
      for (const button of tabs) button.classList.toggle("active", button.dataset.tab === name);
      for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== name;
      const state = (this.where && this.where.state) || this.pack.start_state;
      const chosen = document.getElementById("panel-state").value || state;
      if (name === "editor") this.editor.open(chosen).catch((error) => this.showError(error));
      if (name === "gallery") this.gallery.open(chosen).catch((error) => this.showError(error));
      if (name === "matrix") renderMatrix(this, document.getElementById("matrix"));
      this.tab = name;
    };
    for (const button of tabs) button.onclick = () => show(button.dataset.tab);
    const select = document.getElementById("panel-state");
    for (const state of this.pack.states) {
      const option = document.createElement("option");
      option.value = option.textContent = state.name;
      select.appendChild(option);
    }
    select.value = this.pack.start_state;
    select.onchange = () => {
      if (this.tab) show(this.tab);
    };
    this.showTab = show;
  }

  setStatus(text) {
    document.getElementById("status").textContent = text;
    document.body.dataset.status = text;
  }

  showError(error) {
    const wire = error instanceof RemoteError ? error.wire : { code: "page", message: String(error) };
    this.errors.push(wire);
    const box = document.getElementById("errors");
    box.textContent = `${wire.code}: ${wire.message}`;
    box.hidden = false;
  }

  // -- controls ------------------------------------------------------------------------

  buildControls() {
    const states = document.getElementById("states");
    this.pack.states.forEach((state, index) => {
      const button = document.createElement("button");
      button.className = "state";
      button.dataset.state = state.name;
      button.style.borderColor = this.timeline.colour(state.name);
      button.innerHTML = `<kbd>${index < 9 ? index + 1 : ""}</kbd> ${state.name}`;
      button.onclick = () => this.goTo(state.name);
      states.appendChild(button);
    });
    const stingers = document.getElementById("stingers");
    for (const stinger of this.pack.stingers) {
      const button = document.createElement("button");
      button.className = "stinger";
      button.dataset.stinger = stinger.name;
      button.textContent = stinger.name;
      button.onclick = () => this.stinger(stinger.name);
      stingers.appendChild(button);
    }
    const slider = document.getElementById("intensity");
    slider.oninput = () => this.setIntensity(Number(slider.value) / 100);
    document.getElementById("play").onclick = () => this.togglePlay();
  }

  bindKeys() {
    document.addEventListener("keydown", (event) => {
      if (event.target.closest && event.target.closest("input, textarea, select")) return;
      if (event.key === " ") {
        event.preventDefault();
        this.togglePlay();
      } else if (/^[1-9]$/.test(event.key)) {
        const state = this.pack.states[Number(event.key) - 1];
        if (state) this.goTo(state.name);
      }
    });
  }

  async play() {
    if (this.audio.stream !== null) return;
    await this.audio.start();
    document.getElementById("play").textContent = "■ Stop";
    document.body.dataset.playing = "true";
  }

  async stop() {
    await this.audio.stop();
    document.getElementById("play").textContent = "▶ Play";
    document.body.dataset.playing = "false";
  }

  async togglePlay() {
    try {
      if (this.audio.stream === null) await this.play();
      else await this.stop();
    } catch (error) {
      this.showError(error);
    }
  }

  async goTo(name) {
    try {
      await this.play();
      const reply = await this.link.request("event", {
        state: name, intensity: null, params: {}, replace_from: this.audio.replaceFrom(),
      });
      this.target = name;
      if (reply.transition) this.timeline.planned(reply.transition);
      this.lastEvent = reply;
      this.highlight();
    } catch (error) {
      this.showError(error);
    }
  }

  // One intensity request at a time, with the slider's latest value: a drag re-renders
  // the look-ahead once per reply, not once per pixel.
  async setIntensity(value) {
    document.getElementById("intensity-value").textContent = value.toFixed(2);
    this.intensityWanted = value;
    if (this.intensityBusy) return;
    this.intensityBusy = true;
    try {
      while (this.intensityWanted !== null) {
        const next = this.intensityWanted;
        this.intensityWanted = null;
        await this.link.request("intensity", { value: next, replace_from: this.intensityFrom() });
      }
    } catch (error) {
      this.showError(error);
    } finally {
      this.intensityBusy = false;
    }
  }

  // An intensity change replaces the queued audio too, but not before a state change
  // planned and not heard yet: entering a state sets its own intensity, which would
  // otherwise undo the slider the designer moved after clicking the state.
  intensityFrom() {
    const from = this.audio ? this.audio.replaceFrom() : null;
    if (from === null) return null;
    let after = from;
    for (const t of this.timeline.transitions) {
      if (t.status !== "cancelled" && t.at_sample > after && t.at_sample <= this.audioHead()) after = t.at_sample;
    }
    return after;
  }

  // the session sample the rendered audio reaches (the end of the last block received)
  audioHead() {
    return this.where ? this.where.sample + this.where.frames : 0;
  }

  async stinger(name) {
    try {
      await this.play();
      await this.link.request("stinger", { name, replace_from: this.audio.replaceFrom() });
    } catch (error) {
      this.showError(error);
    }
  }

  highlight() {
    const playing = this.where ? this.where.state : null;
    for (const button of document.querySelectorAll("button.state")) {
      button.classList.toggle("playing", button.dataset.state === playing);
      button.classList.toggle("target", button.dataset.state === this.target && playing !== this.target);
    }
  }

  // -- stream and notifications --------------------------------------------------------

  block(header) {
    this.where = header;
    this.timeline.block(header);
  }

  note(topic, body) {
    if (!this.gallery) return; // the page is still booting: nothing to show it in yet
    this.notes += 1;
    this.timeline.note(topic, body);
    if (topic === "variant.ready" || topic === "pregen.progress") {
      this.progress(topic, body);
      this.editor.progress(topic, body);
    }
    if (topic === "pregen.progress" || topic.startsWith("studio.")) this.gallery.progress(topic, body);
  }

  progress(topic, body) {
    const bar = document.getElementById("pregen");
    if (topic === "pregen.progress" && body.total) {
      bar.max = body.variants_total || body.total;
      bar.value = body.variants_done !== undefined ? body.variants_done : body.done;
    }
  }

  updateStems() {
    const list = document.getElementById("stems");
    const state = this.where && this.pack.states.find((s) => s.name === this.where.state);
    if (!state) return;
    if (list.dataset.state !== state.name) {
      list.dataset.state = state.name;
      list.innerHTML = "";
      for (const stem of state.stems) {
        const row = document.createElement("div");
        row.className = "stem";
        row.dataset.stem = stem.name;
        row.innerHTML = `<span class="name">${stem.name}</span><meter min="0" max="1"></meter>` +
          `<span class="range">${stem.intensity[0].toFixed(2)}–${stem.intensity[1].toFixed(2)}</span>`;
        list.appendChild(row);
      }
    }
    this.stemGains = {};
    for (const stem of state.stems) {
      const gain = stemGain(this.where.intensity, stem.intensity[0], stem.intensity[1], this.pack.stem_edge);
      this.stemGains[stem.name] = gain;
      const row = list.querySelector(`[data-stem="${stem.name}"]`);
      row.querySelector("meter").value = gain;
      row.classList.toggle("silent", gain === 0);
    }
  }

  frame(time) {
    requestAnimationFrame((next) => this.frame(next));
    // ~20 drawings a second: smooth enough to read, and leaves the CPU to the audio path
    if (this.lastDraw !== undefined && time - this.lastDraw < 45) return;
    this.lastDraw = time;
    const playhead = this.audio ? this.audio.audibleSample() : null;
    drawTimeline(document.getElementById("timeline"), this.timeline, playhead);
    this.updateStems();
    this.highlight();
    if (this.where) {
      document.getElementById("position").textContent =
        `${this.where.state} · variant ${this.where.variant} · bar ${this.where.bar} beat ${this.where.beat}`;
    }
    const stats = this.audio ? this.audio.stats : null;
    if (stats) {
      document.getElementById("audio-stats").textContent =
        `${stats.blocksReceived} blocks · ${(stats.framesPlayed / this.pack.sample_rate).toFixed(1)} s played · ` +
        `${stats.underruns} underruns · ${Math.round((1000 * stats.buffered) / this.pack.sample_rate)} ms buffered · ` +
        `look-ahead ${Math.round(stats.targetMs || 0)} ms`;
    }
  }
}

const page = new StudioPage();
window.studio = page; // read by the browser tests and handy in the console
window.studioStemGain = stemGain;
page.boot().catch((error) => page.showError(error));
