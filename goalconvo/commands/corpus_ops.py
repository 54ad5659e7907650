"""Whole-corpus operations that need a judge: import a real corpus (judged by the rules), re-judge.

They write the file, so they run while no pipeline holds it (DuckDB allows one
writing process); ``sinks.opening.open_store`` says so plainly when one does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from goalconvo.core.multiwoz import iter_multiwoz_dialogues
from goalconvo.core.records import JudgedDialogue
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.judges.judge import Judge
from goalconvo.llm import LLMBackend
from goalconvo.sinks.rebuild import load_dialogues
from goalconvo.sinks.store import CorpusStore

Progress = Callable[[int, int], None]


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


async def import_sgd_set(
    store: CorpusStore, folder: Path, pack_name: str, set_name: str, settings: Settings,
    progress: Progress | None = None, batch: int = 200,
) -> dict[str, Any]:
    """Load real SGD dialogues of a pack's services as a dialogue set, judged by the pack's checks."""
    from goalconvo.core.sgd_dialogues import iter_sgd_dialogues
    from goalconvo.packs.registry import find_pack

    pack = find_pack(pack_name)
    judge = Judge(settings.model_copy(update={"judge_llm": False}), VenueDB.load(settings.multiwoz_db), pack=pack)
    dialogues = list(iter_sgd_dialogues(folder, pack, set_name))
    loop = asyncio.get_running_loop()
    new = 0
    for i in range(0, len(dialogues), batch):
        chunk = [await judge.judge(d) for d in dialogues[i : i + batch]]
        new += await loop.run_in_executor(None, store.import_set, chunk, set_name, str(folder), f"SGD {Path(folder).name}")
        if progress:
            progress(min(i + batch, len(dialogues)), len(dialogues))
    return {"set": set_name, "dialogues": len(dialogues), "new": new, "pack": pack.ref, "judge_version": judge.version}


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
    from goalconvo.packs.registry import find_pack

    judge = Judge(settings, VenueDB.load(settings.multiwoz_db), llm, version=version,
                  pack=find_pack(settings.pack) if settings.pack else None)
    loop = asyncio.get_running_loop()
    dialogues = await loop.run_in_executor(None, load_dialogues, store, where)
    held = judge.pack.ref if judge.pack is not None else None
    others = sorted({d.goal.pack for d in dialogues if d.goal.names_a_pack and d.goal.pack != held})
    if others:
        # Judged without their pack, every one would get a rejected verdict: refuse before writing any.
        raise ValueError(f"{sum(1 for d in dialogues if d.goal.pack in others)} of the dialogues name pack(s) "
                         f"{', '.join(others)}; this rejudge holds {held or 'no pack'}: give --pack with that pack, "
                         "or --where to leave them out")
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
