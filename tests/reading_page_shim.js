// Runs the reading sheet page's script against a small model of the DOM it uses (no browser here):
// forms with radio groups and text fields, the header's reader field, local storage, the download.
// Usage: node reading_page_shim.js SCRIPT.js SPEC.json  -> prints JSON of what happened.
"use strict";
const fs = require("fs");
const vm = require("vm");
const script = fs.readFileSync(process.argv[2], "utf8");
const spec = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const storage = {};

class RadioNodeList { constructor() { this._v = ""; } get value() { return this._v; } set value(v) { this._v = String(v); } }

function page() {
  const listeners = {};
  const classList = () => { const s = new Set(); return { toggle: (c, on) => (on ? s.add(c) : s.delete(c)), has: c => s.has(c) }; };
  const forms = spec.items.map(item => {
    const elements = {};
    for (const q of spec.questions) elements[q.name] = q.radio ? new RadioNodeList() : { value: "" };
    return { dataset: { item: String(item) }, elements, parentElement: { classList: classList() } };
  });
  const byId = { progress: { textContent: "" }, reader: { value: "" }, csv: { value: "" }, fallback: { hidden: true } };
  const out = { alerts: [], confirms: [], download: null, blob: null };
  const saves = [];
  const sandbox = {
    RadioNodeList, JSON, Object, Number, String, Array, console,
    localStorage: { getItem: k => (k in storage ? storage[k] : null), setItem: (k, v) => { storage[k] = String(v); } },
    document: {
      querySelectorAll: sel => (sel === "form.rating" ? forms : sel === "button.save" ? [{ addEventListener: (e, f) => saves.push(f) }] : []),
      getElementById: id => byId[id],
      addEventListener: (e, f) => (listeners[e] = listeners[e] || []).push(f),
      createElement: () => ({ click() { out.download = this.download; }, remove() {} }),
      body: { dataset: {}, appendChild() {} },
    },
    Blob: class { constructor(parts) { out.blob = parts.join(""); } },
    URL: { createObjectURL: () => "blob:x" },
    alert: m => out.alerts.push(m),
    confirm: m => { out.confirms.push(m); return true; },
  };
  vm.createContext(sandbox);
  vm.runInContext(script, sandbox);
  const fire = e => (listeners[e] || []).forEach(f => f());
  fire("DOMContentLoaded");
  return { forms, byId, out, saves, fire, ready: sandbox.document.body.dataset.ready };
}

const result = {};
// First visit: save with no name (refused), give answers and a name, save.
let p = page();
result.ready = p.ready;
p.saves[0]();
result.refused = p.out.alerts.slice();
for (const [item, answers] of Object.entries(spec.answers)) {
  const f = p.forms.find(x => x.dataset.item === item);
  for (const [k, v] of Object.entries(answers)) f.elements[k].value = v;
}
p.byId.reader.value = spec.reader;
p.fire("input");
result.progress = p.byId.progress.textContent;
result.done = p.forms.map(f => f.parentElement.classList.has("done"));
result.part = p.forms.map(f => f.parentElement.classList.has("part"));
p.saves[0]();
result.confirms = p.out.confirms;
result.download = p.out.download;
result.csv = p.out.blob;
result.shown = p.byId.csv.value;
// A reload: the answers and the name come back from local storage.
p = page();
result.restored_reader = p.byId.reader.value;
result.restored = p.forms.map(f => f.elements.coherence.value);
result.restored_progress = p.byId.progress.textContent;
process.stdout.write(JSON.stringify(result));
