// The dashboard: polls the JSON API every few seconds and redraws.
const FIGURES = [
  ["dialogues", "dialogues"], ["acceptance", "acceptance"], ["goal_completion", "goal completion"],
  ["exchanges", "exchanges / dialogue"], ["distinct1_mean", "distinct-1 (mean)"], ["distinct1_corpus", "distinct-1 (corpus)"],
  ["distinct2_mean", "distinct-2 (mean)"], ["distinct2_corpus", "distinct-2 (corpus)"], ["bertscore_f1", "BERTScore F1"],
  ["tokens_per_dialogue", "tokens / dialogue"], ["seconds_per_dialogue", "seconds / dialogue"],
  ["llm_calls_per_accepted", "LLM calls / accepted"], ["tokens_per_accepted", "tokens / accepted"], ["model", "model"],
];
const CHARTED = ["acceptance", "goal_completion", "distinct1_mean", "distinct2_corpus", "bertscore_f1"];
let last = null;

function fmt(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(3);
  return String(v);
}

function table(container, head, rows) {
  const t = document.createElement("table");
  const tr = t.createTHead().insertRow();
  head.forEach(h => { const th = document.createElement("th"); th.textContent = h; tr.append(th); });
  const body = t.createTBody();
  rows.forEach(r => {
    const row = body.insertRow();
    r.forEach(c => { const td = row.insertCell(); td.textContent = fmt(c); });
  });
  container.replaceChildren(t);
  return t;
}

function renderSets(sets) {
  const names = sets.map(s => s.set_name);
  const t = table(document.getElementById("sets-table"), ["figure", ...names],
    FIGURES.map(([k, label]) => [label, ...sets.map(s => s[k])]));
  t.id = "sets";
  groupedBars(document.getElementById("sets-chart"),
    CHARTED.map(k => ({ label: FIGURES.find(f => f[0] === k)[1], values: sets.map(s => s[k]) })), names, 1);
  const sel = document.getElementById("f-set");
  const have = new Set([...sel.options].map(o => o.value));
  names.forEach(n => { if (!have.has(n)) sel.append(new Option(n, n)); });
}

function renderTrend(trend) {
  const metric = document.getElementById("trend-metric").value;
  const lines = {};
  trend.forEach(r => { if (r[metric] !== null && r[metric] !== undefined) (lines[r.set_name] ||= []).push([r.t, r[metric]]); });
  lineChart(document.getElementById("trend-chart"), lines);
}

function renderThroughput(rows) {
  const lines = {};
  rows.forEach(r => (lines[r.set_name] ||= []).push([r.minute, r.n]));
  lineChart(document.getElementById("throughput-chart"), lines);
}

function renderDomains(domains) {
  table(document.getElementById("domains-table"),
    ["set", "domain set", "dialogues", "acceptance", "goal completion", "exchanges", "distinct-1", "BERTScore"],
    domains.map(d => [d.set_name, d.domain_set, d.dialogues, d.acceptance, d.goal_completion, d.exchanges,
                      d.distinct1_mean, d.bertscore_f1]));
}

// Cost per model: every dialogue's generation calls and tokens (rejected ones too) per accepted dialogue.
function renderModels(models) {
  table(document.getElementById("models-table"),
    ["set", "model", "dialogues", "acceptance", "LLM calls / accepted", "tokens / accepted", "tokens / dialogue",
     "seconds / dialogue"],
    (models || []).map(m => [m.set_name, m.model, m.dialogues, m.acceptance, m.llm_calls_per_accepted,
                             m.tokens_per_accepted, m.tokens_per_dialogue, m.seconds_per_dialogue]));
}

function renderReasons(reasons, dead) {
  hbars(document.getElementById("reasons-chart"), reasons.slice(0, 14).map(r => ({ label: `${r.set_name} · ${r.check_name}`, value: r.n })));
  const d = document.getElementById("dead");
  d.textContent = dead.length ? "dead letters: " + dead.map(x => `${x.stage} ${x.n}`).join(", ") : "no dead letters";
}

async function getJSON(url) {
  const r = await fetch(url);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

async function loadList() {
  const set = document.getElementById("f-set").value, acc = document.getElementById("f-acc").value;
  const rows = await getJSON(`/api/dialogues?limit=100&set=${encodeURIComponent(set)}&accepted=${acc}`);
  const t = table(document.getElementById("dlg-list"), ["set", "domains", "exch.", "verdict"],
    rows.map(r => [r.set_name, r.domain_set, r.exchanges, r.accepted ? "accepted" : "rejected"]));
  [...t.tBodies[0].rows].forEach((tr, i) => {
    tr.title = rows[i].reasons || "accepted";
    tr.cells[3].className = rows[i].accepted ? "ok" : "bad";
    tr.onclick = () => showDialogue(rows[i].dialogue_id);
  });
}

async function showDialogue(id) {
  const d = await getJSON(`/api/dialogues/${encodeURIComponent(id)}`);
  const v = document.getElementById("dlg-view");
  v.replaceChildren();
  const h = document.createElement("h3");
  h.textContent = `${d.domain_set} · ${d.model} · ${d.accepted ? "accepted" : "rejected"} (${d.judge_version})`;
  h.className = d.accepted ? "ok" : "bad";
  v.append(h);
  d.turns.forEach(t => {
    const p = document.createElement("div");
    p.className = `turn ${t.speaker}`;
    p.textContent = `${t.speaker === "user" ? "User" : "SupportBot"}: ${t.text}`;
    v.append(p);
  });
  const checks = document.createElement("div");
  table(checks, ["check", "passed", "reason"], d.checks.map(c => [c.name, c.passed ? "yes" : "no", c.reason || ""]));
  v.append(checks);
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    last = await getJSON("/api/summary");
    renderSets(last.sets);
    renderTrend(last.trend);
    renderThroughput(last.throughput);
    renderDomains(last.domains);
    renderModels(last.models);
    renderReasons(last.reasons, last.dead_letters);
    await loadList();
    status.textContent = `updated ${new Date().toLocaleTimeString()} · ${last.sets.reduce((a, s) => a + s.dialogues, 0)} dialogues`;
    document.body.dataset.loaded = "1";
  } catch (e) {
    status.textContent = `cannot read the corpus: ${e.message}`;
  }
}

document.getElementById("trend-metric").onchange = () => last && renderTrend(last.trend);
document.getElementById("f-set").onchange = loadList;
document.getElementById("f-acc").onchange = loadList;
refresh();
setInterval(refresh, 3000);
