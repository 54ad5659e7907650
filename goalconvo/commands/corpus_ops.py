"""Whole-corpus operations on a DuckDB file: import a real corpus, re-judge, score similarity, export.

They open the file for writing, so they run while no pipeline holds it (DuckDB
allows one writing process); ``open_store`` says so plainly when one does.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from goalconvo.core.multiwoz import iter_multiwoz_dialogues
from goalconvo.core.records import JudgedDialogue
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.judges.judge import Judge
from goalconvo.llm import LLMBackend
from goalconvo.sinks.query_server import endpoint_file
from goalconvo.sinks.store import CorpusStore

Progress = Callable[[int, int], None]


class CorpusBusy(RuntimeError):
    """The corpus file is held by another process."""


def open_store(db: Path) -> CorpusStore:
    try:
        return CorpusStore(db)
    except duckdb.IOException as exc:
        where = f" (its sink answers at {endpoint_file(db).read_text().strip()})" if endpoint_file(db).exists() else ""
        raise CorpusBusy(
            f"{db} is open in another process{where}; stop that pipeline first, this command writes the file"
        ) from exc


async def import_multiwoz(
    store: CorpusStore, path: Path, set_name: str, settings: Settings, progress: Progress | None = None, batch: int = 200
) -> dict[str, Any]:
    """Load real MultiWOZ dialogues as a dialogue set, judged by the rules and goal check (no LLM)."""
    venues = VenueDB.load(settings.multiwoz_db)
    judge = Judge(settings.model_copy(update={"judge_llm": False}), venues)
    dialogues = list(iter_multiwoz_dialogues(path, set_name))
    loop = asyncio.get_running_loop()
    new = 0
    for i in range(0, len(dialogues), batch):
        chunk = [await judge.judge(d) for d in dialogues[i : i + batch]]
        new += await loop.run_in_executor(None, store.import_set, chunk, set_name, str(path), f"MultiWOZ {Path(path).name}")
        if progress:
            progress(min(i + batch, len(dialogues)), len(dialogues))
    return {"set": set_name, "dialogues": len(dialogues), "new": new, "judge_version": judge.version}


async def rejudge(
    store: CorpusStore,
    settings: Settings,
    *,
    where: str | None,
    version: str | None,
    llm: LLMBackend | None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Judge stored dialogues again; new verdicts go beside the old ones under ``version``."""
    judge = Judge(settings, VenueDB.load(settings.multiwoz_db), llm, version=version)
    loop = asyncio.get_running_loop()
    dialogues = await loop.run_in_executor(None, store.load_dialogues, where)
    if llm is not None:
        await llm.start()
    accepted = 0
    verdicts = []
    sem = asyncio.Semaphore(max(1, settings.concurrency))

    async def one(d: Any) -> None:
        nonlocal accepted
        async with sem:
            jd: JudgedDialogue = await judge.judge(d)
        verdicts.append(jd.verdict)
        accepted += jd.verdict.accepted
        if progress:
            progress(len(verdicts), len(dialogues))

    await asyncio.gather(*(one(d) for d in dialogues))
    await loop.run_in_executor(None, store.add_verdicts, verdicts)
    return {"judged": len(verdicts), "accepted": accepted, "judge_version": judge.version}


def score_similarity(
    store: CorpusStore, reference: Path, *, top_k: int = 3, limit: int | None = None, progress: Progress | None = None,
    chunk: int = 16, include_imported: bool = False, cache: dict | None = None,
) -> dict[str, Any]:
    """BERTScore every generated dialogue not yet scored against ``reference`` (blocking; run in a thread).

    ``cache`` keeps the reference index and the encoder between calls (the sink scores as records arrive).
    """
    from goalconvo.sinks.similarity import BertScorer, ReferenceIndex

    cache = cache if cache is not None else {}
    if cache.get("path") != str(reference):
        cache.update(path=str(reference), index=ReferenceIndex(reference), scorer=BertScorer())
    index, scorer = cache["index"], cache["scorer"]
    todo = store.unscored(index.name, scorer.model_label, scorer.layer, limit or 1_000_000, include_human=include_imported)
    t0 = time.monotonic()
    done = 0
    for i in range(0, len(todo), chunk):
        part = todo[i : i + chunk]
        # An imported real dialogue is compared with its nearest *other* reference dialogue.
        scores = scorer.nearest(index, part, top_k=top_k, exclude_self=include_imported)
        now = time.time()
        store.write_similarity([
            [s.dialogue_id, s.reference_id, index.name, s.f1, s.precision, s.recall, scorer.model_label, scorer.layer,
             scorer.rescaled, s.candidates, now]
            for s in scores
        ])
        done += len(scores)
        if progress:
            progress(done, len(todo))
    return {"scored": done, "reference_set": index.name, "model": scorer.model_label, "layer": scorer.layer,
            "rescaled": scorer.rescaled, "seconds": round(time.monotonic() - t0, 2)}


def export_corpus(store: CorpusStore, out: Path, fmt: str, *, sets: list[str] | None, include_rejected: bool) -> int:
    """The corpus in a MultiWOZ-like layout (goal, log, domains, verdict), as JSON Lines or Parquet."""
    if fmt not in ("jsonl", "parquet"):
        raise ValueError("--format must be jsonl or parquet")
    conds = [] if include_rejected else ["v.accepted"]
    params: list[Any] = []
    if sets:
        conds.append("d.set_name in (select unnest(?))")
        params.append(sets)
    where = ("where " + " and ".join(conds)) if conds else ""
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
        if records:
            con.execute(
                f"copy (select * from read_json('{tmp.name}', format='newline_delimited')) to '{out}' (format parquet)"
            )
        else:
            con.execute(f"copy (select null::varchar as dialogue_id where false) to '{out}' (format parquet)")
    finally:
        con.close()
        Path(tmp.name).unlink(missing_ok=True)
    return len(records)
