// The live timeline: beat and bar grid, state bands, intensity curve, transitions as they
// are planned and then happen (with their rule), stingers. Everything is placed by session
// sample; the playhead is the sample the listener hears now. The model (plain arrays) is
// what the page's tests read; `draw` paints it on a canvas.

const STATE_COLOURS = [
  "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
];

export class TimelineModel {
  constructor(sampleRate, stateNames) {
    this.sampleRate = sampleRate;
    this.stateNames = stateNames;
    this.blocks = []; // {sample, frames, state, variant, intensity}
    this.beats = []; // {sample, beat, bar}
    this.bars = []; // {sample, bar, state}
    this.transitions = []; // {at_sample, bar, from, to, leave_at, fade, fade_samples, stinger, status}
    this.stingers = []; // {name, at_sample, sync, status}
    this.keepSeconds = 60;
  }

  colour(state) {
    const index = this.stateNames.indexOf(state);
    return STATE_COLOURS[(index < 0 ? 0 : index) % STATE_COLOURS.length];
  }

  block(header) {
    this.blocks.push({
      sample: header.sample,
      frames: header.frames,
      state: header.state,
      variant: header.variant,
      intensity: header.intensity,
    });
    this.trim(header.sample);
  }

  note(topic, body) {
    if (topic === "beat") this.beats.push({ sample: body.sample, beat: body.beat, bar: body.bar });
    else if (topic === "bar") this.bars.push({ sample: body.sample, bar: body.bar, state: body.state });
    else if (topic === "transition.planned") this.planned(body);
    else if (topic === "transition.started") this.started(body);
    else if (topic === "transition.cancelled") this.mark(body, "cancelled");
    else if (topic === "stinger.planned")
      this.stingers.push({ name: body.name, at_sample: body.at_sample, sync: body.sync, status: "planned" });
  }

  find(body) {
    return this.transitions.find(
      (t) => t.at_sample === body.at_sample && t.to === body.to && t.status !== "cancelled",
    );
  }

  planned(plan) {
    if (this.find(plan)) return;
    this.transitions.push({ ...plan, status: "planned" });
  }

  started(body) {
    const known = this.find(body) || this.transitions.find((t) => t.to === body.to && t.status === "planned");
    if (known) {
      known.status = "started";
      known.started_sample = body.sample;
    } else {
      this.transitions.push({ ...body, at_sample: body.sample, status: "started" });
    }
  }

  // the service took back the audio from `sample` on (a rewind): what was drawn from
  // there is drawn again as the new audio arrives
  rewind(sample) {
    for (const list of [this.blocks, this.beats, this.bars]) {
      let keep = list.length;
      while (keep > 0 && list[keep - 1].sample >= sample) keep--;
      list.length = keep;
    }
    for (const t of this.transitions) {
      if (t.status === "started" && t.started_sample >= sample) {
        t.status = "planned";
        delete t.started_sample;
      }
    }
  }

  mark(body, status) {
    const known = this.find(body);
    if (known) known.status = status;
  }

  trim(now) {
    const oldest = now - this.keepSeconds * this.sampleRate;
    for (const list of [this.blocks, this.beats, this.bars]) {
      let drop = 0;
      while (drop < list.length && list[drop].sample < oldest) drop++;
      if (drop) list.splice(0, drop);
    }
  }
}

export function drawTimeline(canvas, model, playhead, { pastSeconds = 8, futureSeconds = 4 } = {}) {
  const ctx = canvas.getContext("2d");
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== width * devicePixelRatio) {
    canvas.width = width * devicePixelRatio;
    canvas.height = height * devicePixelRatio;
  }
  ctx.setTransform(devicePixelRatio, 0, 0, devicePixelRatio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#14161c";
  ctx.fillRect(0, 0, width, height);
  if (playhead === null) return;
  const rate = model.sampleRate;
  const left = playhead - pastSeconds * rate;
  const span = (pastSeconds + futureSeconds) * rate;
  const x = (sample) => ((sample - left) / span) * width;
  const bandTop = 22;
  const bandHeight = 26;
  const curveTop = bandTop + bandHeight + 8;
  const curveHeight = height - curveTop - 30;

  // state bands, one rectangle per run of blocks in the same state
  let run = null;
  const flush = () => {
    if (!run) return;
    ctx.fillStyle = model.colour(run.state);
    ctx.fillRect(x(run.start), bandTop, x(run.end) - x(run.start), bandHeight);
    ctx.fillStyle = "#fff";
    ctx.font = "12px sans-serif";
    ctx.fillText(`${run.state} v${run.variant}`, Math.max(2, x(run.start) + 4), bandTop + 17);
  };
  for (const block of model.blocks) {
    if (block.sample + block.frames < left) continue;
    if (run && run.state === block.state && run.variant === block.variant && run.end === block.sample) {
      run.end = block.sample + block.frames;
    } else {
      flush();
      run = { state: block.state, variant: block.variant, start: block.sample, end: block.sample + block.frames };
    }
  }
  flush();

  // beat and bar grid
  for (const beat of model.beats) {
    if (beat.sample < left) continue;
    ctx.strokeStyle = "#2c313c";
    ctx.beginPath();
    ctx.moveTo(x(beat.sample), curveTop);
    ctx.lineTo(x(beat.sample), curveTop + curveHeight);
    ctx.stroke();
  }
  ctx.font = "10px sans-serif";
  for (const bar of model.bars) {
    if (bar.sample < left) continue;
    ctx.strokeStyle = "#596173";
    ctx.beginPath();
    ctx.moveTo(x(bar.sample), bandTop);
    ctx.lineTo(x(bar.sample), curveTop + curveHeight);
    ctx.stroke();
    ctx.fillStyle = "#8a93a6";
    ctx.fillText(String(bar.bar), x(bar.sample) + 2, curveTop + curveHeight + 12);
  }

  // intensity curve (the director's smoothed value at each block)
  ctx.strokeStyle = "#f6c945";
  ctx.lineWidth = 2;
  ctx.beginPath();
  let first = true;
  for (const block of model.blocks) {
    if (block.sample + block.frames < left) continue;
    const y = curveTop + curveHeight * (1 - block.intensity);
    if (first) ctx.moveTo(x(block.sample), y);
    else ctx.lineTo(x(block.sample), y);
    first = false;
  }
  ctx.stroke();
  ctx.lineWidth = 1;

  // transitions: dashed while planned, solid once started, with the rule
  for (const t of model.transitions) {
    if (t.status === "cancelled") continue;
    const at = Math.min(x(t.at_sample), width - 4);
    if (at < 0) continue;
    ctx.strokeStyle = model.colour(t.to);
    ctx.lineWidth = 3;
    ctx.setLineDash(t.status === "planned" ? [6, 4] : []);
    ctx.beginPath();
    ctx.moveTo(at, 4);
    ctx.lineTo(at, height - 16);
    ctx.stroke();
    if (t.fade_samples) {
      ctx.globalAlpha = 0.25;
      ctx.fillStyle = model.colour(t.to);
      ctx.fillRect(at, bandTop, x(t.at_sample + t.fade_samples) - x(t.at_sample), bandHeight);
      ctx.globalAlpha = 1;
    }
    ctx.setLineDash([]);
    ctx.lineWidth = 1;
    ctx.fillStyle = "#e8eaf0";
    ctx.font = "11px sans-serif";
    const rule = `→ ${t.to} · ${t.leave_at || ""} · ${t.fade || ""}${t.stinger ? " + " + t.stinger : ""}`;
    ctx.fillText(rule, Math.min(at + 4, width - 180), 14);
  }

  // stingers
  for (const s of model.stingers) {
    const at = x(s.at_sample);
    if (at < 0 || at > width) continue;
    ctx.fillStyle = "#ff6b6b";
    ctx.beginPath();
    ctx.moveTo(at, curveTop + curveHeight);
    ctx.lineTo(at - 6, curveTop + curveHeight + 10);
    ctx.lineTo(at + 6, curveTop + curveHeight + 10);
    ctx.fill();
    ctx.fillText(s.name, at + 8, curveTop + curveHeight + 10);
  }

  // playhead
  const now = x(playhead);
  ctx.strokeStyle = "#ffffff";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(now, 0);
  ctx.lineTo(now, height);
  ctx.stroke();
  ctx.lineWidth = 1;
}
