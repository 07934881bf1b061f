// The variant gallery of a state: each cached variant's waveform and per-stem piano roll,
// played solo in the page (an <audio> element on the studio's WAV route), with stems
// muted or soloed by asking for the mix of the chosen stems only. A variant can be pinned
// (kept through re-rolls and restarts: the pack's studio-variants.json) and re-rolled
// alone, or every unpinned variant re-rolled at once; a progress bar runs while the
// scheduler makes the new set, and the gallery redraws when the studio serves it.

const ROLL_COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1"];

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

export class Gallery {
  constructor(page, root) {
    this.page = page;
    this.root = root;
    this.data = null;
    this.muted = new Set();
    this.audio = new Audio();
  }

  async open(name) {
    const ticket = (this.ticket = (this.ticket || 0) + 1); // only the latest open renders
    const response = await fetch(`/api/variants/${encodeURIComponent(name)}`);
    const data = await response.json();
    if (ticket !== this.ticket) return;
    this.root.innerHTML = "";
    if (!response.ok) {
      this.root.appendChild(el("div", { class: "problem" }, data.error.message));
      return;
    }
    this.data = data;
    this.root.appendChild(el("h3", {}, `${data.state} · seed ${data.seed} · hash ${data.generation_hash.slice(0, 12)}`));
    const stems = data.variants.length ? data.variants[0].stems : [];
    const toggles = el("div", { class: "stem-toggles" });
    for (const stem of stems) {
      const label = el("label", {});
      const box = el("input", { type: "checkbox", "data-stem": stem });
      box.checked = !this.muted.has(stem);
      box.onchange = () => (box.checked ? this.muted.delete(stem) : this.muted.add(stem));
      label.appendChild(box);
      label.appendChild(document.createTextNode(stem));
      toggles.appendChild(label);
    }
    this.root.appendChild(toggles);
    const actions = el("div", { class: "actions" });
    const all = el("button", { type: "button", id: "reroll-all" }, "Re-roll unpinned (new seed)");
    all.onclick = () => this.reroll(data.state, null);
    actions.appendChild(all);
    const bar = el("progress", { id: "reroll-progress" });
    bar.hidden = !this.rolling;
    actions.appendChild(bar);
    actions.appendChild(el("span", { id: "reroll-status" }, this.rolling ? this.rolling.text : ""));
    this.root.appendChild(actions);
    data.variants.forEach((variant, index) => {
      const slot = (data.slots && data.slots[index]) || { pinned: false };
      this.root.appendChild(this.card(data.state, variant, slot));
    });
  }

  async reroll(state, index) {
    const body = index === null ? {} : { variant: index };
    const what = index === null ? "unpinned variants" : `variant ${index}`;
    this.rolling = { state, index, text: `re-rolling ${what}…` };
    this.showRolling();
    const response = await fetch(`/api/reroll/${encodeURIComponent(state)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const result = await response.json();
    this.lastReroll = result;
    if (!result.ok) {
      this.rolling = null;
      this.showRolling();
      this.page.showError({ code: result.error.code, message: result.error.message });
      return;
    }
    if (this.rolling) this.rolling.seed = result.seed;
  }

  async pin(state, index, pinned) {
    const response = await fetch(`/api/pin/${encodeURIComponent(state)}/${index}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ pinned }),
    });
    const result = await response.json();
    this.lastPin = result;
    if (!result.ok) this.page.showError({ code: result.error.code, message: result.error.message });
    else if (this.data && this.data.state === state) this.data.slots = result.slots;
  }

  showRolling() {
    const bar = document.getElementById("reroll-progress");
    const status = document.getElementById("reroll-status");
    if (bar) {
      bar.hidden = !this.rolling;
      bar.removeAttribute("value"); // indeterminate until the engine reports steps
    }
    if (status) status.textContent = this.rolling ? this.rolling.text : "";
    document.body.dataset.rerolling = this.rolling ? "true" : "false";
  }

  // the studio's notes: the scheduler's progress, a single re-roll's failure, a new set
  progress(topic, body) {
    if (!this.rolling || body.state !== this.rolling.state) return;
    if (topic === "pregen.progress") this.progressNotes = (this.progressNotes || 0) + 1;
    const bar = document.getElementById("reroll-progress");
    if (topic === "pregen.progress" && bar && body.steps) {
      bar.max = body.steps;
      bar.value = body.step;
    } else if (topic === "studio.reroll" && body.error) {
      this.rolling = null;
      this.showRolling();
      this.page.showError(body.error);
    } else if (topic === "studio.variants") {
      const state = this.rolling.state;
      this.rolling = null;
      this.showRolling();
      this.rerolls = (this.rerolls || 0) + 1;
      const playing = this.page.where && this.page.where.state === state;
      const renew = playing ? this.page.renewSession() : Promise.resolve();
      renew.then(() => this.open(state)).catch((error) => this.page.showError(error));
    }
  }

  card(state, variant, slot) {
    const card = el("div", { class: "variant", "data-variant": String(variant.index), "data-seed": String(variant.seed) });
    card.classList.toggle("pinned", slot.pinned);
    const title = el("div", { class: "variant-title" }, `variant ${variant.index} · seed ${variant.seed} · ${variant.bars} bars · ${variant.duration_s.toFixed(1)} s · ${variant.loudness_lufs.toFixed(1)} LUFS`);
    const play = el("button", { type: "button" }, "▶ solo");
    play.onclick = () => this.play(state, variant.index);
    title.appendChild(play);
    const label = el("label", { class: "pin" });
    const box = el("input", { type: "checkbox", class: "pin" });
    box.checked = slot.pinned;
    box.onchange = () => {
      card.classList.toggle("pinned", box.checked);
      reroll.disabled = box.checked;
      this.pin(state, variant.index, box.checked).catch((error) => this.page.showError(error));
    };
    label.appendChild(box);
    label.appendChild(document.createTextNode(" keep"));
    title.appendChild(label);
    const reroll = el("button", { type: "button", class: "reroll-one" }, "↻ re-roll");
    reroll.disabled = slot.pinned;
    reroll.onclick = () => this.reroll(state, variant.index).catch((error) => this.page.showError(error));
    title.appendChild(reroll);
    card.appendChild(title);
    const wave = el("canvas", { class: "wave", width: "480", height: "60" });
    this.drawWave(wave, variant.waveform);
    card.appendChild(wave);
    const roll = el("canvas", { class: "roll", width: "480", height: "120" });
    this.drawRoll(roll, variant);
    card.appendChild(roll);
    return card;
  }

  drawWave(canvas, wave) {
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#14161c";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "#8ab4f8";
    const mid = canvas.height / 2;
    wave.max.forEach((high, x) => {
      const low = wave.min[x];
      ctx.fillRect(x, mid - high * mid, 1, Math.max(1, (high - low) * mid));
    });
  }

  drawRoll(canvas, variant) {
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#14161c";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const all = Object.values(variant.notes).flat();
    if (!all.length) return;
    const low = Math.min(...all.map((n) => n[2]));
    const high = Math.max(...all.map((n) => n[2]));
    const rows = Math.max(12, high - low + 1);
    const scaleX = canvas.width / variant.duration_s;
    Object.entries(variant.notes).forEach(([stem, notes], index) => {
      if (this.muted.has(stem)) return;
      ctx.fillStyle = ROLL_COLOURS[index % ROLL_COLOURS.length];
      for (const [start, length, pitch] of notes) {
        const y = canvas.height - ((pitch - low + 1) / rows) * canvas.height;
        ctx.fillRect(start * scaleX, y, Math.max(1, length * scaleX), Math.max(1, canvas.height / rows - 1));
      }
    });
  }

  play(state, index) {
    const stems = this.data.variants[index].stems.filter((s) => !this.muted.has(s));
    const query = this.muted.size ? `?stems=${encodeURIComponent(stems.join(","))}` : "";
    this.audio.src = `/api/audio/${encodeURIComponent(state)}/${index}${query}`;
    this.audio.play().catch((error) => this.page.showError(error));
  }
}
