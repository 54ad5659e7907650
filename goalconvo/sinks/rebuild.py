"""Stored dialogues rebuilt as records (for re-judging them), from the corpus's rows."""

from __future__ import annotations

import json

from goalconvo.core.records import Dialogue, Goal, Scenario, Turn
from goalconvo.sinks.sql import check_read_only
from goalconvo.sinks.store import CorpusStore


def load_dialogues(store: CorpusStore, where: str | None = None, limit: int | None = None) -> list[Dialogue]:
    """Stored dialogues rebuilt as records; ``where`` is an SQL condition on the dialogues table."""
    cond = f"where {where}" if where else ""
    check_read_only(f"select dialogue_id from dialogues {cond}")
    lim = f"limit {int(limit)}" if limit else ""
    rows = store.query(
        f"""select d.dialogue_id, d.run_id, d.goal, d.scenario, d.model, d.prompt_version, d.stop_reason,
                   d.llm_calls, d.prompt_tokens, d.completion_tokens, d.started_at, d.ended_at,
                   list(struct_pack(i := t.idx, s := t.speaker, x := t.text, m := t.meta, a := t.acts, b := t.belief,
                                    p := t.phrased_by, r := t.refusals) order by t.idx),
                   d.mode
            from (select * from dialogues {cond} order by dialogue_id {lim}) d
            join turns t using (dialogue_id)
            group by all order by d.dialogue_id"""
    ).rows
    out = []
    for r in rows:
        out.append(Dialogue(
            dialogue_id=r[0], run_id=r[1], goal=Goal.model_validate_json(r[2]),
            scenario=Scenario.model_validate_json(r[3]), model=r[4], prompt_version=r[5] or "",
            stop_reason=r[6] or "", llm_calls=r[7] or 0, prompt_tokens=r[8] or 0, completion_tokens=r[9] or 0,
            started_at=r[10] or 0.0, ended_at=r[11] or 0.0,
            turns=[_turn(t) for t in r[12]], mode=r[13] or "free",
        ))
    return out


def _turn(t: dict) -> Turn:
    return Turn(
        index=t["i"], speaker=t["s"], text=t["x"], meta=json.loads(t["m"] or "{}"), acts=json.loads(t["a"] or "{}"),
        belief=json.loads(t["b"]) if t["b"] else None, phrased_by=t["p"] or "role-play", refusals=json.loads(t["r"] or "[]"),
    )
