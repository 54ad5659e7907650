"""The corpus as training data: OpenAI chat JSONL, ShareGPT JSONL, a Hugging Face dataset folder.

Every format splits the dialogues into ``train`` / ``validation`` / ``test`` by
*goal content*: a stable hash of the goal's domains and their ``info``,
``reqt``, ``book``, ``fail_info`` and ``fail_book`` (never its id, run or set),
so the same goal generated twice — in two runs, or under two ids — always lands
in one split and no goal leaks from train into test.

Input columns (``dialogues``, ``turns``, ``current_verdicts``): dialogue id, set,
model, mode, goal, domains, exchanges, LLM calls and tokens, each turn's speaker
and text, the verdict. Output: one chat per dialogue; a system turn states the
assistant's task, user turns are ``user``/``human``, bot turns ``assistant``/``gpt``.
Consecutive turns of one speaker are joined, a trailing user turn (nobody
answers it) is dropped, so roles alternate and every chat ends with the assistant.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb

from goalconvo.core.goals import goal_content_key as core_goal_content_key
from goalconvo.core.records import Goal
from goalconvo.packs.model import Pack
from goalconvo.sinks.export_source import BUILT_IN, BUILT_IN_SYSTEM_PROMPT, DatasetSource, pack_filter, source_of
from goalconvo.sinks.metrics import distinct_report
from goalconvo.sinks.store import CorpusStore

SPLITS = ("train", "validation", "test")
TRAINING_FORMATS = ("openai-chat", "sharegpt", "hf")
DEFAULT_RATIOS = (0.8, 0.1, 0.1)
#: Dialogues per Parquet shard in the Hugging Face folder.
SHARD_ROWS = 100_000

#: The built-in domains' system turn (``export_source`` holds it beside a pack's).
SYSTEM_PROMPT = BUILT_IN_SYSTEM_PROMPT

_GOAL_PARTS = ("info", "reqt", "book", "fail_info", "fail_book")
_ROLES = {"openai-chat": ("system", "user", "assistant"), "sharegpt": ("system", "human", "gpt")}

_HF_COLUMNS = {
    "dialogue_id": "VARCHAR", "goal_key": "VARCHAR", "split": "VARCHAR", "set_name": "VARCHAR",
    "model": "VARCHAR", "mode": "VARCHAR", "domains": "VARCHAR[]", "goal": "VARCHAR",
    "messages": "STRUCT(role VARCHAR, content VARCHAR)[]", "accepted": "BOOLEAN", "exchanges": "INTEGER",
    "llm_calls": "INTEGER", "prompt_tokens": "INTEGER", "completion_tokens": "INTEGER",
}


def _norm(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k).strip().lower(): _norm(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return sorted(_norm(x) for x in v)
    return str(v).strip().lower()


def goal_content(goal: dict[str, Any]) -> dict[str, Any]:
    """What makes two goals the same goal: each domain's info/reqt/book/fail_*, normalised (case, order)."""
    domains = goal.get("domains") or {}
    out: dict[str, Any] = {}
    for name, g in domains.items():
        g = g or {}
        out[str(name).lower()] = {k: _norm(g[k]) for k in _GOAL_PARTS if g.get(k)}
    return out


def goal_content_key(goal: dict[str, Any]) -> str:
    """A stable hash (SHA-256, hex) of the goal's content as the goal generator and the near-duplicate
    filter define it (``core.goals.goal_content_key``); a stored goal that is no valid Goal record
    falls back to :func:`goal_content`'s canonical JSON."""
    try:
        canon = core_goal_content_key(Goal.model_validate({**goal, "goal_id": goal.get("goal_id") or "-"}))
    except ValueError:
        canon = json.dumps(goal_content(goal), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


def parse_ratios(spec: str | tuple[float, ...] | list[float] | None) -> tuple[float, float, float]:
    """``"80/10/10"`` (or ``"0.8,0.1,0.1"``, or three numbers) as three fractions summing to 1."""
    if spec is None:
        return DEFAULT_RATIOS
    parts = spec.replace(",", "/").split("/") if isinstance(spec, str) else list(spec)
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"--split-ratios must be three numbers like 80/10/10, not {spec!r}") from None
    if len(nums) != 3 or any(n < 0 or not math.isfinite(n) for n in nums) or sum(nums) <= 0:
        raise ValueError(f"--split-ratios must be three non-negative numbers like 80/10/10, not {spec!r}")
    total = sum(nums)
    return (nums[0] / total, nums[1] / total, nums[2] / total)


def split_of(key: str, ratios: tuple[float, float, float] = DEFAULT_RATIOS) -> str:
    """The split a goal content key falls in: its first 64 bits as a fraction of 2**64 against the ratios."""
    x = int(key[:16], 16) / 2.0**64
    if x < ratios[0]:
        return "train"
    if x < ratios[0] + ratios[1]:
        return "validation"
    return "test" if ratios[2] > 0 else ("validation" if ratios[1] > 0 else "train")


def chat_turns(turns: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(``user``|``bot``, text) with one speaker's consecutive turns joined and a trailing user turn dropped."""
    out: list[tuple[str, str]] = []
    for t in turns:
        text = (t.get("text") or "").strip()
        if not text:
            continue
        who = "bot" if t.get("speaker") == "bot" else "user"
        if out and out[-1][0] == who:
            out[-1] = (who, out[-1][1] + "\n" + text)
        else:
            out.append((who, text))
    while out and out[-1][0] == "user":
        out.pop()
    return out


def _rows(store: CorpusStore, where: str, params: list[Any]) -> list[dict[str, Any]]:
    res = store.query(
        f"""select d.dialogue_id, d.set_name, d.model, coalesce(d.mode, 'free') as mode, d.domains, d.goal,
                   v.accepted, d.exchanges, d.llm_calls, d.prompt_tokens, d.completion_tokens,
                   (select list(struct_pack(speaker := t.speaker, text := t.text) order by t.idx)
                      from turns t where t.dialogue_id = d.dialogue_id) as turns
            from dialogues d join current_verdicts v using (dialogue_id) {where} order by d.dialogue_id""",
        params,
    )
    return [dict(zip(res.columns, r)) for r in res.rows]


def training_records(
    store: CorpusStore, where: str, params: list[Any], ratios: tuple[float, float, float], system_prompt: str,
) -> list[dict[str, Any]]:
    """One record per stored dialogue (filtered by ``where``): its goal key, split and chat (OpenAI roles)."""
    out = []
    for r in _rows(store, where, params):
        goal = json.loads(r["goal"]) if isinstance(r["goal"], str) else (r["goal"] or {})
        key = goal_content_key(goal)
        chat = chat_turns(r["turns"] or [])
        if not chat:
            continue
        messages = [{"role": "system", "content": system_prompt}]
        messages += [{"role": "assistant" if who == "bot" else "user", "content": text} for who, text in chat]
        out.append({
            "dialogue_id": r["dialogue_id"], "goal_key": key, "split": split_of(key, ratios),
            "set_name": r["set_name"], "model": r["model"], "mode": r["mode"], "domains": list(r["domains"] or []),
            "goal": json.dumps(goal, sort_keys=True), "messages": messages, "accepted": bool(r["accepted"]),
            "exchanges": r["exchanges"], "llm_calls": r["llm_calls"], "prompt_tokens": r["prompt_tokens"],
            "completion_tokens": r["completion_tokens"],
        })
    return out


def chat_line(rec: dict[str, Any], fmt: str) -> dict[str, Any]:
    """A record as one JSONL line: ``{"messages": [...]}`` or ShareGPT's ``{"id", "conversations": [...]}``."""
    if fmt == "openai-chat":
        return {"messages": rec["messages"]}
    names = dict(zip(_ROLES["openai-chat"], _ROLES["sharegpt"]))
    return {"id": rec["dialogue_id"],
            "conversations": [{"from": names[m["role"]], "value": m["content"]} for m in rec["messages"]]}


def _write_atomic(path: Path, lines: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w") as fh:
        for line in lines:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def write_chat_jsonl(records: list[dict[str, Any]], out: Path, fmt: str, split: str) -> dict[str, int]:
    """``--split all``: ``out`` is a folder with ``train.jsonl``, ``validation.jsonl``, ``test.jsonl``
    (each written, empty ones too); one split: ``out`` is that split's file."""
    out = Path(out)
    if split == "all":
        counts = {}
        for name in SPLITS:
            lines = [chat_line(r, fmt) for r in records if r["split"] == name]
            _write_atomic(out / f"{name}.jsonl", lines)
            counts[name] = len(lines)
        return counts
    lines = [chat_line(r, fmt) for r in records if r["split"] == split]
    _write_atomic(out, lines)
    return {split: len(lines)}


def _card(records: list[dict[str, Any]], counts: dict[str, int], shards: dict[str, int],
          ratios: tuple[float, float, float], system_prompt: str, figures: dict[str, Any],
          source: DatasetSource = BUILT_IN) -> str:
    splits = [s for s in SPLITS if counts.get(s)]
    yaml = ["---", f"license: {source.license_id}", "language:", "- en", "task_categories:", "- text-generation",
            "tags:", *[f"- {t}" for t in source.tags],
            f"pretty_name: {source.pretty_name}", "size_categories:",
            f"- {_size_category(len(records))}", "configs:", "- config_name: default", "  data_files:"]
    for s in splits:
        yaml += [f"  - split: {s}", f"    path: data/{s}-*.parquet"]
    yaml += ["dataset_info:", "  splits:"]
    for s in splits:
        yaml += [f"  - name: {s}", f"    num_examples: {counts[s]}"]
    yaml.append("---")
    rows = [("dialogues in this export", figures["dialogues"]),
            ("dialogues judged in these sets (accepted and rejected)", figures["judged"]),
            ("accepted", figures["accepted"]), ("acceptance", figures["acceptance"]),
            ("exchanges per dialogue (mean)", figures["exchanges"]),
            ("distinct-1 / distinct-2 (per-dialogue mean)", f"{figures['distinct1_mean']} / {figures['distinct2_mean']}"),
            ("distinct-1 / distinct-2 (corpus)", f"{figures['distinct1_corpus']} / {figures['distinct2_corpus']}"),
            ("LLM calls per accepted dialogue", figures["llm_calls_per_accepted"]),
            ("tokens per accepted dialogue", figures["tokens_per_accepted"]),
            ("models", ", ".join(f"{k} ({v})" for k, v in figures["models"].items())),
            ("modes", ", ".join(f"{k} ({v})" for k, v in figures["modes"].items())),
            ("sets (runs)", ", ".join(f"{k} ({v})" for k, v in figures["sets"].items()))]
    split_line = " / ".join(f"{s} {counts.get(s, 0)}" for s in SPLITS)
    body = f"""
# GoalConvo synthetic dialogues

{source.about}

## Splits

Split by **goal content**: a SHA-256 of each goal's domains and their `info`, `reqt`, `book`,
`fail_info` and `fail_book` (not its id), so one goal never spans two splits.
Ratios {ratios[0]:.2f} / {ratios[1]:.2f} / {ratios[2]:.2f}; dialogues: {split_line}
(an empty split has no shard). Shards: {", ".join(f"{s} {shards[s]}" for s in splits) or "none"}.

## Columns

- `messages`: the chat (`system`, then `user` / `assistant` alternating, ending with the assistant);
  apply a chat template to it directly.
- `dialogue_id`, `goal_key` (the split's hash), `split`, `set_name` (the run), `model`, `mode`
  (`guided`: planned dialogue acts phrased by the model; `free`: role-play), `domains`, `goal`
  (JSON: MultiWOZ's goal structure, or a pack goal's tasks), `accepted`, `exchanges`, `llm_calls`, `prompt_tokens`,
  `completion_tokens` (generation calls of this dialogue).

The system turn of every chat:

> {system_prompt}

## Figures of this export

| figure | value |
| --- | --- |
""" + "\n".join(f"| {k} | {v} |" for k, v in rows) + """

Acceptance, LLM calls and tokens are over every judged dialogue of the exported sets, accepted or
not: acceptance = accepted / judged; LLM calls (tokens: prompt + completion) per accepted dialogue =
all those dialogues' generation calls (tokens) / accepted ones, so the cost of the rejected ones is
counted. Exchanges and distinct-n (unique n-grams / all n-grams of lower-cased `[a-z0-9']+` words)
are over the exported dialogues.

## License

""" + source.license_text + "\n"
    return "\n".join(yaml) + "\n" + body


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def export_figures(records: list[dict[str, Any]], corpus: dict[str, Any]) -> dict[str, Any]:
    """The dataset card's figures: ``corpus`` (see :func:`corpus_accounting`) and the exported records'."""
    n = len(records)
    texts = [[m["content"] for m in r["messages"] if m["role"] != "system"] for r in records]
    dist = distinct_report(texts)
    return {
        "dialogues": n, **corpus,
        "exchanges": round(sum(r["exchanges"] or 0 for r in records) / n, 2) if n else None,
        **{k: round(v, 4) for k, v in dist.items()},
        "models": dict(Counter(r["model"] for r in records).most_common()),
        "modes": dict(Counter(r["mode"] for r in records).most_common()),
        "sets": dict(Counter(r["set_name"] for r in records).most_common()),
    }


def corpus_accounting(store: CorpusStore, sets: list[str] | None) -> dict[str, Any]:
    """Over every judged dialogue of ``sets`` (all when None), accepted or not: judged, accepted,
    acceptance, LLM calls and tokens (prompt + completion) per accepted dialogue."""
    where, params = ("where d.set_name in (select unnest(?))", [list(sets)]) if sets else ("", [])
    judged, accepted, calls, toks = store.query(
        f"""select count(*), count(*) filter (where v.accepted), coalesce(sum(d.llm_calls), 0),
                   coalesce(sum(coalesce(d.prompt_tokens, 0) + coalesce(d.completion_tokens, 0)), 0)
            from dialogues d join current_verdicts v using (dialogue_id) {where}""",
        params,
    ).rows[0]
    return {
        "judged": judged, "accepted": accepted, "acceptance": round(accepted / judged, 4) if judged else None,
        "llm_calls_per_accepted": round(calls / accepted, 2) if accepted else None,
        "tokens_per_accepted": round(toks / accepted, 1) if accepted else None,
    }


def write_hf_folder(records: list[dict[str, Any]], out: Path, ratios: tuple[float, float, float],
                    system_prompt: str, corpus: dict[str, Any], shard_rows: int = SHARD_ROWS,
                    source: DatasetSource = BUILT_IN) -> dict[str, int]:
    """A Hugging Face dataset folder: ``data/<split>-0000i-of-0000n.parquet`` written by DuckDB, ``README.md``.

    ``datasets.load_dataset(out)`` reads it (the card's ``configs`` name each split's shards).
    Written beside ``out`` and moved into place, so a reader never sees half a folder.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--format hf writes a folder; {out} is a file")
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=out.name + ".", suffix=".part", dir=out.parent))
    counts = {s: sum(1 for r in records if r["split"] == s) for s in SPLITS}
    shards: dict[str, int] = {}
    try:
        (stage / "data").mkdir()
        src = stage / "records.jsonl"
        with src.open("w") as fh:
            for r in records:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        con = duckdb.connect()
        try:
            rel = con.read_json(str(src), format="newline_delimited", columns=_HF_COLUMNS)
            for s in SPLITS:
                n = counts[s]
                if not n:
                    continue
                shards[s] = k = max(1, math.ceil(n / shard_rows))
                part = rel.filter(duckdb.ColumnExpression("split") == duckdb.ConstantExpression(s)).order("dialogue_id")
                for i in range(k):
                    # Paths go through the relation API, never spliced into SQL.
                    part.limit(shard_rows, i * shard_rows).write_parquet(
                        str(stage / "data" / f"{s}-{i:05d}-of-{k:05d}.parquet"), compression="zstd")
        finally:
            con.close()
        src.unlink()
        (stage / "README.md").write_text(_card(records, counts, shards, ratios, system_prompt, export_figures(records, corpus), source))
        if out.exists():
            old = out.with_name(out.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(stage, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return counts


def export_training(
    store: CorpusStore, out: Path, fmt: str, *, sets: list[str] | None = None, include_rejected: bool = False,
    split: str = "all", ratios: str | tuple[float, ...] | None = None, system_prompt: str | None = None,
    shard_rows: int = SHARD_ROWS, pack: Pack | None = None,
) -> dict[str, int]:
    """Write ``openai-chat`` / ``sharegpt`` JSONL or an ``hf`` folder; returns the dialogues written per split.

    Accepted dialogues only unless ``include_rejected``; only ``sets`` when given; only ``pack``'s
    dialogues when given (its setting in the system turn, its licence on the card), else only the
    built-in domains' (a selection holding a pack's is refused: ``export_source.pack_filter``).
    """
    if fmt not in TRAINING_FORMATS:
        raise ValueError(f"training formats are {', '.join(TRAINING_FORMATS)}")
    if split not in (*SPLITS, "all"):
        raise ValueError("--split must be train, validation, test or all")
    if fmt == "hf" and split != "all":
        raise ValueError("--format hf writes every split into one folder: leave --split at all")
    r = parse_ratios(ratios)
    source = source_of(pack)
    prompt = system_prompt or source.system_prompt
    conds = [] if include_rejected else ["v.accepted"]
    params: list[Any] = []
    if sets:
        conds.append("d.set_name in (select unnest(?))")
        params.append(list(sets))
    where = ("where " + " and ".join(conds)) if conds else ""
    where, params = pack_filter(store.query, where, params, pack, one_source=True)
    records = training_records(store, where, params, r, prompt)
    if fmt == "hf":
        return write_hf_folder(records, out, r, prompt, corpus_accounting(store, sets), shard_rows, source)
    return write_chat_jsonl(records, out, fmt, split)
