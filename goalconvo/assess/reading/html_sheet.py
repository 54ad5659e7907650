"""The sheet as one self-contained HTML page: the rubric, each dialogue with a rating form, and a CSV to save.

Nothing is fetched (no network, no external script or style): the page works from a file on a
laptop with no connection. Answers are kept in the browser's local storage as they are given,
so a reload loses nothing; "Save ratings" downloads them as a CSV (the columns of
``rubric.CSV_COLUMNS``) that ``goalconvo assess score`` reads, and shows the same text to copy
where a download is blocked. The CSV writer is a pure function between ``csv:begin`` and
``csv:end`` markers, so a test can run it alone.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

from goalconvo.assess.reading.rubric import CSV_COLUMNS, QUESTIONS, SPEAKERS, intro_for, question_text
from goalconvo.assess.reading.sheet import SheetItem

_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f4f2;color:#222}
header{position:sticky;top:0;background:#fff;border-bottom:1px solid #ccc;padding:.6em 1em;display:flex;
 gap:1em;align-items:center;flex-wrap:wrap;z-index:2}
header h1{font-size:1.1em;margin:0}
main{max-width:58em;margin:0 auto;padding:1em}
section.rubric,article{background:#fff;border:1px solid #ccc;border-radius:6px;padding:.8em 1.2em;margin:1em 0}
article.done{border-left:6px solid #3a7}
article.part{border-left:6px solid #e90}
.goal{background:#eef3f8;padding:.4em .7em;border-radius:4px}
ol.turns{padding-left:2.6em}
ol.turns li{margin:.25em 0}
.who{font-weight:600}
fieldset{border:1px solid #ddd;border-radius:4px;margin:.4em 0;padding:.3em .7em}
legend{font-weight:600}
label{margin-right:.9em;white-space:nowrap}
input[type=text]{width:12em}
textarea{width:100%;min-height:3em}
.hint{color:#555;font-size:.9em}
#csv{width:100%;min-height:8em;font-family:monospace}
button{font-size:1em;padding:.3em .9em}
"""

_SCRIPT = """
const SHEET = %(sheet)s, ITEMS = %(items)s, COLUMNS = %(columns)s, NAMES = %(names)s;
/* csv:begin */
function csvCell(v) {
  const s = v === undefined || v === null ? "" : String(v);
  return /[",\\r\\n]|^\\s|\\s$/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}
function ratingsCsv(sheet, reader, rows, columns) {
  const lines = [columns.join(",")];
  for (const r of rows) {
    const full = Object.assign({}, r, {sheet: sheet, reader: reader});
    lines.push(columns.map(c => csvCell(full[c])).join(","));
  }
  return lines.join("\\r\\n") + "\\r\\n";
}
/* csv:end */
const STORE = "goalconvo-reading-" + SHEET;
function answers(form) {
  const r = {item: Number(form.dataset.item)};
  for (const n of NAMES) {
    const el = form.elements[n];
    if (!el) continue;
    r[n] = (el instanceof RadioNodeList) ? el.value : el.value.trim();
  }
  for (const n of ["roles_turns", "facts_turns"]) r[n] = (r[n] || "").split(/[^0-9]+/).filter(Boolean).join(" ");
  return r;
}
function filled(r) {
  return NAMES.filter(n => n !== "why" && !n.endsWith("_turns")).filter(n => r[n]).length;
}
function refresh() {
  let done = 0;
  const all = {};
  for (const form of document.querySelectorAll("form.rating")) {
    const r = answers(form), n = filled(r), need = NAMES.filter(x => x !== "why" && !x.endsWith("_turns")).length;
    form.parentElement.classList.toggle("done", n === need);
    form.parentElement.classList.toggle("part", n > 0 && n < need);
    if (n === need) done += 1;
    all[r.item] = r;
  }
  document.getElementById("progress").textContent = done + " of " + ITEMS + " rated";
  const reader = document.getElementById("reader").value.trim();
  try { localStorage.setItem(STORE, JSON.stringify({reader: reader, answers: all})); } catch (e) {}
  return {done: done, all: all, reader: reader};
}
function restore() {
  let saved = null;
  try { saved = JSON.parse(localStorage.getItem(STORE) || "null"); } catch (e) {}
  if (!saved) return;
  document.getElementById("reader").value = saved.reader || "";
  for (const form of document.querySelectorAll("form.rating")) {
    const r = (saved.answers || {})[form.dataset.item];
    if (!r) continue;
    for (const n of NAMES) {
      const el = form.elements[n];
      if (el && r[n] !== undefined) el.value = r[n];
    }
  }
}
function save() {
  const state = refresh();
  if (!state.reader) { alert("Please give your name or initials first (top of the page)."); return; }
  if (state.done < ITEMS && !confirm((ITEMS - state.done) + " dialogues are not fully rated. Save anyway?")) return;
  const rows = Object.values(state.all).sort((a, b) => a.item - b.item).filter(r => filled(r) > 0 || r.why);
  const text = ratingsCsv(SHEET, state.reader, rows, COLUMNS);
  document.getElementById("csv").value = text;
  document.getElementById("fallback").hidden = false;
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], {type: "text/csv"}));
  a.download = "ratings-" + SHEET + "-" + state.reader.replace(/[^A-Za-z0-9_-]+/g, "_") + ".csv";
  document.body.appendChild(a); a.click(); a.remove();
}
document.addEventListener("DOMContentLoaded", () => {
  restore(); refresh();
  document.addEventListener("input", refresh);
  document.addEventListener("change", refresh);
  for (const b of document.querySelectorAll("button.save")) b.addEventListener("click", save);
  document.body.dataset.ready = "1";
});
"""


def _question(q, item: int) -> str:
    name = html.escape(q.name)
    hint = f'<div class="hint">{html.escape(q.text)}</div>'
    if q.kind in ("score", "choice"):
        opts = "".join(
            f'<label><input type="radio" name="{name}" value="{html.escape(c)}"> {html.escape(c)}</label>' for c in q.choices)
        return f"<fieldset><legend>{name}</legend>{opts}{hint}</fieldset>"
    if q.kind == "turns":
        return (f'<fieldset><legend>{name}</legend><input type="text" name="{name}" inputmode="numeric" '
                f'placeholder="e.g. 3 5" aria-label="{name} of dialogue {item}">{hint}</fieldset>')
    return f'<fieldset><legend>{name}</legend><textarea name="{name}"></textarea>{hint}</fieldset>'


def sheet_html(items: Sequence[SheetItem], sheet_id: str, setting: str | None = None) -> str:
    """The whole page (see the module docstring)."""
    rubric = "".join(
        f"<li><b>{html.escape(q.name)}</b> ({'1–5' if q.kind == 'score' else ' / '.join(q.choices) or q.kind}): "
        f"{html.escape(question_text(q, setting))}</li>" for q in QUESTIONS)
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Dialogue reading sheet {html.escape(sheet_id)}</title><style>{_STYLE}</style></head><body>",
        f"<header><h1>Dialogue reading sheet {html.escape(sheet_id)}</h1>",
        '<label>Your name or initials: <input type="text" id="reader" autocomplete="off"></label>',
        '<span id="progress"></span><button type="button" class="save">Save ratings (CSV)</button></header><main>',
        f'<section class="rubric"><p>{html.escape(intro_for(setting))}</p><ul>{rubric}</ul>',
        "<p>Your answers stay in this browser as you go. When you are done, press <b>Save ratings</b> and send "
        "back the CSV file it saves.</p></section>",
    ]
    for it in items:
        turns = "".join(
            f'<li value="{t.turn}"><span class="who">{SPEAKERS[t.speaker]}:</span> {html.escape(t.text)}</li>'
            for t in it.turns)
        form = "".join(_question(q, it.item) for q in QUESTIONS)
        parts.append(
            f'<article id="d{it.item}"><h2>Dialogue {it.item} of {len(items)}</h2>'
            f'<p class="goal"><b>Goal:</b> {html.escape(it.goal)}</p><ol class="turns">{turns}</ol>'
            f'<form class="rating" data-item="{it.item}" onsubmit="return false">{form}</form></article>')
    parts += [
        '<section class="rubric"><button type="button" class="save">Save ratings (CSV)</button>',
        '<div id="fallback" hidden><p>If no file was saved, copy this text into a file named '
        f'<code>ratings-{html.escape(sheet_id)}.csv</code>:</p><textarea id="csv" readonly></textarea></div></section>',
        "</main><script>",
        _SCRIPT % {"sheet": json.dumps(sheet_id), "items": len(items), "columns": json.dumps(list(CSV_COLUMNS)),
                   "names": json.dumps([q.name for q in QUESTIONS])},
        "</script></body></html>",
    ]
    return "\n".join(parts) + "\n"


def csv_writer_js(page: str) -> str:
    """The page's CSV writer alone (between its markers), for running it outside a browser."""
    start, end = page.index("/* csv:begin */"), page.index("/* csv:end */")
    return page[start:end]
