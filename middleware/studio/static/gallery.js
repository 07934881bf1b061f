// The variant gallery of a state: each cached variant's waveform and per-stem piano roll,
// played solo in the page (an <audio> element on the studio's WAV route), with stems
// muted or soloed by asking for the mix of the chosen stems only.

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
    for (const variant of data.variants) this.root.appendChild(this.card(data.state, variant));
  }

  card(state, variant) {
    const card = el("div", { class: "variant", "data-variant": String(variant.index) });
    const title = el("div", { class: "variant-title" }, `variant ${variant.index} · ${variant.bars} bars · ${variant.duration_s.toFixed(1)} s · ${variant.loudness_lufs.toFixed(1)} LUFS`);
    const play = el("button", { type: "button" }, "▶ solo");
    play.onclick = () => this.play(state, variant.index);
    title.appendChild(play);
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
