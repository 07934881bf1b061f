// The transition matrix: source × target states, each cell the rule the pack resolves
// for that pair (when to leave, fade, filler, and where it was written). "edit" changes
// the pair's rule in pack.toml (the server validates it and keeps the file's comments);
// "try it" plays the transition now: go to the source, then, once there, to the target.
// The filler (a stinger, or a bridge of N bars) is edited as the template's own field:
// filler = "<stinger>" / { stinger = ... } / { bridge_bars = N }, or none.

const LEAVE_AT = ["immediate", "next_beat", "next_bar", "next_phrase", "loop_end"];
const FADES = ["cross", "out", "in", "none", "auto"];

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

function ruleText(rule) {
  const filler = rule.filler
    ? rule.filler.stinger
      ? ` + ${rule.filler.stinger}`
      : ` + bridge ${rule.filler.bridge_bars} bars`
    : "";
  return `${rule.leave_at} · ${rule.fade} ${rule.fade_length}${filler}`;
}

function fillerValue(rule) {
  if (!rule.filler) return "none";
  return rule.filler.stinger ? `stinger:${rule.filler.stinger}` : "bridge";
}

function fillerChange(choice, bars) {
  if (choice === "none") return null;
  if (choice === "bridge") return { bridge_bars: Number(bars) };
  return { stinger: choice.slice("stinger:".length) };
}

function select(name, choices, value) {
  const node = el("select", { name });
  for (const choice of choices) node.appendChild(el("option", { value: choice }, choice));
  node.value = value;
  return node;
}

export function renderMatrix(page, root) {
  const pack = page.pack;
  const names = pack.states.map((s) => s.name);
  root.innerHTML = "";
  const table = el("table", { class: "matrix" });
  const head = el("tr");
  head.appendChild(el("th", {}, "from \\ to"));
  for (const name of names) head.appendChild(el("th", {}, name));
  table.appendChild(head);
  pack.transitions.forEach((row, i) => {
    const tr = el("tr");
    tr.appendChild(el("th", {}, names[i]));
    row.forEach((rule, j) => {
      const td = el("td", { "data-from": names[i], "data-to": names[j], title: `written in ${rule.origin}` });
      if (i === j) td.textContent = "·";
      else fillCell(page, td, names[i], names[j], rule);
      tr.appendChild(td);
    });
    table.appendChild(tr);
  });
  root.appendChild(table);
}

function fillCell(page, td, source, target, rule) {
  td.innerHTML = "";
  td.appendChild(el("div", { class: "rule" }, ruleText(rule)));
  const tryIt = el("button", { type: "button", class: "try" }, "try it");
  tryIt.onclick = () => page.tryTransition(source, target);
  const edit = el("button", { type: "button", class: "edit" }, "edit");
  edit.onclick = () => editCell(page, td, source, target, rule);
  td.appendChild(tryIt);
  td.appendChild(edit);
}

function editCell(page, td, source, target, rule) {
  td.innerHTML = "";
  const form = el("form", { class: "rule-form" });
  form.appendChild(select("leave_at", LEAVE_AT, rule.leave_at));
  form.appendChild(select("fade", FADES, rule.fade));
  const length = el("input", { name: "fade_length", size: "8" });
  length.value = rule.fade_length;
  form.appendChild(length);
  const stingers = page.pack.stingers.map((s) => `stinger:${s.name}`);
  const filler = select("filler", ["none", "bridge", ...stingers], fillerValue(rule));
  filler.title = "filler: played between leaving and entering";
  form.appendChild(filler);
  const bars = el("input", { name: "bridge_bars", type: "number", min: "1", size: "3", title: "bridge bars" });
  bars.value = rule.filler && rule.filler.bridge_bars ? rule.filler.bridge_bars : 2;
  bars.hidden = filler.value !== "bridge";
  filler.onchange = () => (bars.hidden = filler.value !== "bridge");
  form.appendChild(bars);
  form.appendChild(el("button", { type: "submit", class: "save-rule" }, "save"));
  const problem = el("div", { class: "problem" });
  form.appendChild(problem);
  form.onsubmit = async (event) => {
    event.preventDefault();
    const change = {};
    for (const name of ["leave_at", "fade", "fade_length"]) {
      const value = form.querySelector(`[name=${name}]`).value.trim();
      if (value !== String(rule[name])) change[name] = value;
    }
    const newFiller = fillerChange(filler.value, bars.value);
    if (JSON.stringify(newFiller) !== JSON.stringify(rule.filler || null)) change.filler = newFiller;
    if (!Object.keys(change).length) return fillCell(page, td, source, target, rule);
    const response = await fetch("/api/transition", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ from: source, to: target, change }),
    });
    const result = await response.json();
    page.lastRuleSave = result;
    if (!result.ok) {
      const problems = (result.error.detail && result.error.detail.problems) || [result.error];
      problem.textContent = problems
        .map((p) => `${p.key ? p.key.split(".").pop() + ": " : ""}${p.message}${p.allowed ? ` (allowed: ${p.allowed})` : ""}`)
        .join(" · ");
      return;
    }
    await page.renewSession(); // the live director follows the new rules from now on
  };
  td.appendChild(form);
}
