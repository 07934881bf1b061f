// The state editor: a form for a state's fields and stems. Saving sends only what changed;
// the server validates with the pack loader and answers with its problems (shown beside
// each field) or writes the TOML (comments kept) and regenerates the state.

// the meters a template may use (engine_core.spec.SUPPORTED_METERS; docs/templates.md)
const METERS = ["4/4", "3/4", "6/8", "2/4", "12/8", "5/4", "7/8"];
const BARS = [1, 2, 4, 8, 16];

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

export class StateEditor {
  constructor(page, root) {
    this.page = page;
    this.root = root;
    this.view = null;
    this.lastSave = null;
    this.regenerating = null; // state name whose new set is on its way
  }

  async open(name) {
    const ticket = (this.ticket = (this.ticket || 0) + 1); // only the latest open renders
    const response = await fetch(`/api/state/${encodeURIComponent(name)}`);
    const data = await response.json();
    if (ticket !== this.ticket) return;
    if (!response.ok) throw new Error(data.error.message);
    this.view = data;
    this.render();
  }

  field(label, key, input, source) {
    const row = el("label", { class: "field", "data-key": key });
    row.appendChild(el("span", { class: "label" }, label));
    row.appendChild(input);
    if (source) row.appendChild(el("span", { class: "source", title: source.evidence || "" }, source.source));
    row.appendChild(el("span", { class: "problem" }));
    return row;
  }

  inferred(key) {
    return (this.view.inferred || []).find((value) => value.key === key);
  }

  render() {
    const view = this.view;
    const form = this.root;
    form.innerHTML = "";
    form.appendChild(el("h3", {}, `${view.name} · ${view.file}`));
    form.appendChild(el("div", { class: "hash" }, `generation hash ${view.generation_hash.slice(0, 12)} · seed ${view.seed}`));
    const prompt = el("textarea", { name: "prompt", rows: "3" });
    prompt.value = view.prompt;
    form.appendChild(this.field("prompt", "prompt", prompt));
    const tags = el("input", { name: "tags" });
    tags.value = view.tags.join(", ");
    form.appendChild(this.field("tags", "tags", tags, this.inferred("tags")));
    const bpm = el("input", { name: "bpm", type: "number", step: "any" });
    bpm.value = view.bpm;
    form.appendChild(this.field("bpm", "bpm", bpm, this.inferred("bpm")));
    const key = el("input", { name: "key" });
    key.value = view.key;
    form.appendChild(this.field("key", "key", key, this.inferred("key")));
    const meter = el("select", { name: "meter" });
    for (const m of METERS) meter.appendChild(el("option", { value: m }, m));
    meter.value = view.meter;
    form.appendChild(this.field("meter", "meter", meter, this.inferred("meter")));
    const bars = el("select", { name: "bars" });
    for (const b of BARS) bars.appendChild(el("option", { value: String(b) }, String(b)));
    bars.value = String(view.bars);
    form.appendChild(this.field("bars", "bars", bars, this.inferred("bars")));
    const energy = el("input", { name: "energy", type: "number", step: "0.05", placeholder: "from the prompt" });
    energy.value = view.energy === null ? "" : view.energy;
    form.appendChild(this.field("energy", "energy", energy, this.inferred("energy")));

    const table = el("table", { class: "stems" });
    const head = el("tr");
    for (const title of ["stem", "instrument", "register", "", "intensity", ""]) head.appendChild(el("th", {}, title));
    table.appendChild(head);
    for (const stem of view.stems) {
      const row = el("tr", { "data-stem": stem.name });
      row.appendChild(el("td", {}, `${stem.name} (${stem.role})`));
      const cells = [
        ["instrument", stem.instrument || "", "text"],
        ["register.0", stem.register[0], "text"],
        ["register.1", stem.register[1], "text"],
        ["intensity.0", stem.intensity[0], "number"],
        ["intensity.1", stem.intensity[1], "number"],
      ];
      for (const [name, value, type] of cells) {
        const cell = el("td", { "data-key": `stems.${stem.name}.${name.split(".")[0]}` });
        const input = el("input", { name: `stem:${stem.name}:${name}`, type, step: "0.05", size: "8" });
        input.value = value;
        if (name === "instrument") input.placeholder = `program ${stem.program}`;
        cell.appendChild(input);
        row.appendChild(cell);
      }
      const problem = el("td", { class: "problem", "data-key": `stems.${stem.name}` });
      row.appendChild(problem);
      table.appendChild(row);
    }
    form.appendChild(table);
    const actions = el("div", { class: "actions" });
    const save = el("button", { type: "submit", id: "save" }, "Save & regenerate");
    const reroll = el("button", { type: "button", id: "reroll" }, "Re-roll (new seed)");
    reroll.onclick = () => this.reroll();
    actions.appendChild(save);
    actions.appendChild(reroll);
    actions.appendChild(el("progress", { id: "regen-progress", value: "0", max: "1", hidden: "" }));
    actions.appendChild(el("span", { id: "save-status" }));
    form.appendChild(actions);
    form.appendChild(el("div", { class: "problem general" }));
    form.onsubmit = (event) => {
      event.preventDefault();
      this.save();
    };
  }

  value(name) {
    return this.root.querySelector(`[name="${name}"]`).value;
  }

  change() {
    const view = this.view;
    const change = {};
    const text = (name, old) => {
      const value = this.value(name);
      if (value.trim() !== String(old).trim()) change[name] = value;
    };
    text("prompt", view.prompt);
    text("key", view.key);
    text("meter", view.meter);
    const tags = this.value("tags").split(",").map((t) => t.trim()).filter(Boolean);
    if (tags.join(",") !== view.tags.join(",")) change.tags = tags;
    const number = (value) => (value.trim() === "" || isNaN(Number(value)) ? value : Number(value));
    if (Number(this.value("bpm")) !== view.bpm) change.bpm = number(this.value("bpm"));
    if (Number(this.value("bars")) !== view.bars) change.bars = Number(this.value("bars"));
    const energy = this.value("energy");
    if ((energy === "" ? null : Number(energy)) !== view.energy) change.energy = energy === "" ? null : number(energy);
    const stems = {};
    for (const stem of view.stems) {
      const fields = {};
      const instrument = this.value(`stem:${stem.name}:instrument`).trim();
      if (instrument && instrument !== (stem.instrument || "")) fields.instrument = instrument;
      const register = [this.value(`stem:${stem.name}:register.0`), this.value(`stem:${stem.name}:register.1`)];
      if (register.join() !== stem.register.join()) fields.register = register;
      const intensity = [0, 1].map((i) => number(this.value(`stem:${stem.name}:intensity.${i}`)));
      if (intensity.join() !== stem.intensity.join()) fields.intensity = intensity;
      if (Object.keys(fields).length) stems[stem.name] = fields;
    }
    if (Object.keys(stems).length) change.stems = stems;
    return change;
  }

  clearProblems() {
    for (const node of this.root.querySelectorAll(".problem")) node.textContent = "";
    for (const node of this.root.querySelectorAll(".invalid")) node.classList.remove("invalid");
  }

  showProblems(error) {
    const problems = (error.detail && error.detail.problems) || [{ key: "", message: error.message }];
    for (const problem of problems) {
      const key = problem.key || "";
      let holder = this.root.querySelector(`.field[data-key="${key}"]`);
      if (!holder && key.startsWith("stems.")) {
        const stem = key.split(".")[1];
        const cell = this.root.querySelector(`td[data-key="${key}"]`);
        if (cell) cell.classList.add("invalid");
        holder = this.root.querySelector(`td.problem[data-key="stems.${stem}"]`);
      }
      const target = holder ? (holder.classList.contains("problem") ? holder : holder.querySelector(".problem")) : this.root.querySelector(".problem.general");
      if (holder && holder.classList.contains("field")) holder.classList.add("invalid");
      target.textContent = (target.textContent ? target.textContent + " · " : "") + problem.message + (problem.allowed ? ` (allowed: ${problem.allowed})` : "");
    }
  }

  async post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    return response.json();
  }

  async save() {
    this.clearProblems();
    const change = this.change();
    if (!Object.keys(change).length) {
      this.status("nothing changed");
      return;
    }
    this.status("saving…");
    this.finish(await this.post(`/api/state/${this.view.name}`, { change }));
  }

  async reroll() {
    this.clearProblems();
    this.status("re-rolling…");
    this.finish(await this.post(`/api/reroll/${this.view.name}`, {}));
  }

  finish(result) {
    this.lastSave = result;
    if (!result.ok) {
      this.showProblems(result.error);
      this.status(`not saved: ${result.error.code}`);
      return;
    }
    this.regenerating = result.state;
    this.status(`saved ${result.file.split("/").pop()} · hash ${result.old_hash.slice(0, 8)} → ${result.new_hash.slice(0, 8)} · regenerating…`);
    const bar = document.getElementById("regen-progress");
    bar.hidden = false;
    bar.value = 0;
    this.view = result.view;
  }

  status(text) {
    const node = document.getElementById("save-status");
    if (node) node.textContent = text;
  }

  // pregen.progress and variant.ready notes, while a saved state regenerates
  progress(topic, body) {
    if (!this.regenerating || body.state !== this.regenerating) return;
    const bar = document.getElementById("regen-progress");
    if (topic === "pregen.progress" && bar && body.steps) {
      bar.max = body.steps;
      bar.value = body.step;
    }
    if (topic === "variant.ready") {
      const name = this.regenerating;
      this.regenerating = null;
      if (bar) bar.hidden = true;
      this.status(`${name}: ${body.variants} new variants ready`);
      this.page.renewSession().then(() => this.open(name));
    }
  }
}
