"""The corpus written out: a MultiWOZ-like layout, MultiWOZ's and SGD's own, or for training."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from goalconvo.packs.model import Pack
from goalconvo.sinks.export_multiwoz import multiwoz_dialogues, write_multiwoz
from goalconvo.sinks.export_source import pack_filter
from goalconvo.sinks.export_sgd import sgd_dialogues, write_sgd
from goalconvo.sinks.export_training import TRAINING_FORMATS, export_training
from goalconvo.sinks.store import CorpusStore


def export_corpus(
    store: CorpusStore, out: Path, fmt: str, *, sets: list[str] | None, include_rejected: bool,
    split: str = "all", split_ratios: str | None = None, system_prompt: str | None = None,
    pack: Pack | None = None,
) -> int:
    """The corpus in a MultiWOZ-like layout (goal, log, domains, verdict), as JSON Lines or Parquet;
    or for training (``openai-chat``, ``sharegpt``, ``hf``: see ``export_training``, split by goal content)."""
    if fmt in TRAINING_FORMATS:
        counts = export_training(store, out, fmt, sets=sets, include_rejected=include_rejected, split=split,
                                 ratios=split_ratios, system_prompt=system_prompt, pack=pack)
        return sum(counts.values())
    if fmt not in ("jsonl", "parquet", "multiwoz", "sgd"):
        raise ValueError(f"--format must be jsonl, parquet, multiwoz, sgd, {', '.join(TRAINING_FORMATS)}")
    if split != "all" or split_ratios is not None:
        raise ValueError(f"--split and --split-ratios apply to {', '.join(TRAINING_FORMATS)} only")
    conds = [] if include_rejected else ["v.accepted"]
    params: list[Any] = []
    if sets:
        conds.append("d.set_name in (select unnest(?))")
        params.append(sets)
    where = ("where " + " and ".join(conds)) if conds else ""
    where, params = pack_filter(store.query, where, params, pack, one_source=False)
    if fmt == "multiwoz":
        dialogues = multiwoz_dialogues(store, where, params)
        write_multiwoz(dialogues, out)
        return len(dialogues)
    if fmt == "sgd":
        sgd = sgd_dialogues(store, where, params)
        write_sgd(sgd, out)
        return len(sgd)
    rows = store.query(
        f"""select d.dialogue_id, d.set_name, d.model, d.prompt_version, d.domains, d.goal, d.stop_reason,
                   v.accepted, v.judge_version, v.scores,
                   (select list(struct_pack(speaker := t.speaker, text := t.text) order by t.idx)
                      from turns t where t.dialogue_id = d.dialogue_id),
                   (select list(struct_pack(name := c.name, reason := c.reason)) from verdict_checks c
                      where c.dialogue_id = d.dialogue_id and c.judge_version = v.judge_version and not c.passed)
            from dialogues d join current_verdicts v using (dialogue_id) {where} order by d.dialogue_id""",
        params,
    ).rows
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    records = [
        {
            "dialogue_id": r[0], "set": r[1], "model": r[2], "prompt_version": r[3], "domains": r[4],
            "goal": json.loads(r[5]), "stop_reason": r[6],
            "verdict": {"accepted": r[7], "judge_version": r[8], "scores": json.loads(r[9] or "{}"), "failed": r[11] or []},
            "log": r[10] or [],
        }
        for r in rows
    ]
    if fmt == "jsonl":
        with out.open("w") as fh:
            for rec in records:
                fh.write(json.dumps(rec) + "\n")
        return len(records)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as tmp:
        for rec in records:
            tmp.write(json.dumps({**rec, "goal": json.dumps(rec["goal"]), "verdict": json.dumps(rec["verdict"])}) + "\n")
    con = duckdb.connect()
    try:
        # Paths go through the relation API, never spliced into SQL (a quote in a file name broke the COPY).
        if records:
            con.read_json(tmp.name, format="newline_delimited").write_parquet(str(out))
        else:
            con.sql("select null::varchar as dialogue_id where false").write_parquet(str(out))
    finally:
        con.close()
        Path(tmp.name).unlink(missing_ok=True)
    return len(records)
