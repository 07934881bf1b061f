// The transition matrix: source × target states, each cell the rule the pack resolves
// for that pair (when to leave, fade, filler, and where it was written), with a button
// that plays the transition now: go to the source, then, once there, to the target.

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text;
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
      if (i === j) {
        td.textContent = "·";
      } else {
        const filler = rule.filler ? (rule.filler.stinger ? ` + ${rule.filler.stinger}` : ` + bridge ${rule.filler.bridge_bars} bars`) : "";
        td.appendChild(el("div", { class: "rule" }, `${rule.leave_at} · ${rule.fade} ${rule.fade_length}${filler}`));
        const tryIt = el("button", { type: "button", class: "try" }, "try it");
        tryIt.onclick = () => page.tryTransition(names[i], names[j]);
        td.appendChild(tryIt);
      }
      tr.appendChild(td);
    });
    table.appendChild(tr);
  });
  root.appendChild(table);
}
