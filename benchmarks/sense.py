"""Calibration of the sense check (judges/sense.py), run by hand: what it rejects, per source, and why.

    .venv/bin/python benchmarks/sense.py                                   # MultiWOZ val (999 human dialogues)
    .venv/bin/python benchmarks/sense.py --corpus run.duckdb --corpus scripted.duckdb --examples 3
    .venv/bin/python benchmarks/sense.py --sgd ../shared/data/sgd --json

Reads only each dialogue's speakers and texts (as the judge does), through the same
``goalconvo.nlu.dialogue_faults`` and the ``Settings.sense_max_faults`` budget. Prints per
source: dialogues, the share rejected (wanted on MultiWOZ val: <= 5%, aimed at 2-3%),
faults by category (role, fact, coherence), and each kind of fault with its count and
examples (dialogue, turn, the fault, the turn's text).

- MultiWOZ val: ``--multiwoz`` (default ``../shared/data/multiwoz/val.json.zip``), judged against
  the venue databases beside it (``db/``) when there;
- ``--corpus FILE``: the dialogues of a GoalConvo corpus (copied first: DuckDB locks a file its
  writer holds), ``--set NAME`` to keep one set;
- ``--templates GOALS``: the guided planner and its templates (no LLM, no broker, in this process) on
  each goal of a MultiWOZ file (``--templates ../shared/data/multiwoz/val.json.zip``; ``--templates
  builtin`` for the built-in goals), under ``--run-id`` (the templates are chosen by the dialogue id),
  also judged whole (rules, sense, goal check) to give the acceptance a run would see;
- ``--sgd FOLDER``: SGD's doctors, dentists and bank dialogues (other domains, another crowd):
  what the role cues (domain-general words) say of human text they were not written on; facts
  and coherence need the domain's values, which the Cambridge lexicon does not have, so they
  are left out there.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.nlu import Lexicon, dialogue_faults, lexicon_for

Turns = list[tuple[str, str]]


def multiwoz_dialogues(path: Path) -> Iterator[tuple[str, Turns]]:
    with zipfile.ZipFile(path) if path.suffix == ".zip" else None as z:  # type: ignore[union-attr]
        raw = json.loads(z.read(z.namelist()[0])) if z else json.loads(path.read_text())
    for did, d in raw.items():
        yield did, [("user" if i % 2 == 0 else "bot", str(t.get("text", ""))) for i, t in enumerate(d.get("log", []))]


def corpus_dialogues(path: Path, set_name: str | None) -> Iterator[tuple[str, Turns]]:
    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        shutil.copy(path, copy)
        con = duckdb.connect(str(copy), read_only=True)
        where, args = ("where d.set_name = ?", [set_name]) if set_name else ("", [])
        rows = con.execute(
            f"select t.dialogue_id, t.speaker, t.text from turns t join dialogues d using (dialogue_id) {where} "
            "order by t.dialogue_id, t.idx", args).fetchall()
        con.close()
    current, turns = None, []
    for did, speaker, text in rows:
        if did != current and current is not None:
            yield current, turns
            turns = []
        current = did
        turns.append((speaker, text))
    if current is not None:
        yield current, turns


def template_dialogues(source: str, run_id: str, judged: dict) -> Iterator[tuple[str, Turns]]:
    """Planner + templates on each goal; ``judged`` collects the whole judge's verdicts (accepted, sense passed)."""
    import asyncio

    from goalconvo.agents.guided.engine import GuidedEngine
    from goalconvo.core.goals import builtin_goals, multiwoz_goals
    from goalconvo.judges.judge import Judge

    settings = Settings(llm="scripted", judge_llm=False, phrasing_tries=0)
    venues = VenueDB.load(settings.multiwoz_db)
    engine, judge = GuidedEngine(None, venues, settings), Judge(settings, venues)
    goals = builtin_goals() if source == "builtin" else multiwoz_goals(Path(source))

    async def drive(goal):  # type: ignore[no-untyped-def]
        state = await engine.start(goal, run_id)
        while True:
            state = await engine.user_turn(state)
            step = await engine.bot_turn(state)
            if step.finished is not None:
                return step.finished
            state = step.state

    for goal in goals:
        d = asyncio.run(drive(goal))
        v = asyncio.run(judge.judge(d)).verdict
        judged[d.dialogue_id] = (v.accepted, next(c.passed for c in v.checks if c.name == "sense"))
        yield d.dialogue_id, [(t.speaker, t.text) for t in d.turns]


def sgd_dialogues(folder: Path) -> Iterator[tuple[str, Turns]]:
    for service in sorted(p for p in folder.iterdir() if (p / "dialogues.json").is_file()):
        for d in json.loads((service / "dialogues.json").read_text()):
            yield f"{service.name}:{d['dialogue_id']}", [
                ("user" if t["speaker"] == "USER" else "bot", t["utterance"]) for t in d["turns"]]


def _kind(message: str) -> str:
    """A fault's message without its particulars: what the counts group by."""
    kind = re.sub(r"\(.*\)$", "", message)
    kind = re.sub(r"'[^']*'|\"[^\"]*\"|\b[A-Z0-9]{8}\b|\bturn \d+\b|\b\d+\b", "…", kind)
    return kind.strip(" ;")


def measure(name: str, dialogues: Iterator[tuple[str, Turns]], lex: Lexicon, max_faults: int, examples: int,
            categories_counted: tuple[str, ...] = ("role", "fact", "coherence", "garble")) -> dict:
    n = rejected = 0
    categories: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    shown: dict[str, list[dict]] = defaultdict(list)
    rejected_by: Counter[str] = Counter()
    seconds = 0.0
    for did, turns in dialogues:
        n += 1
        t0 = time.perf_counter()
        faults = [f for f in dialogue_faults(turns, lex, garble="garble" in categories_counted) if f.category in categories_counted]  # type: ignore[arg-type]
        seconds += time.perf_counter() - t0
        if len(faults) > max_faults:
            rejected += 1
            for c in sorted({f.category for f in faults}):
                rejected_by[c] += 1
        for f in faults:
            categories[f.category] += 1
            k = f"{f.category}: {_kind(f.message)}"
            kinds[k] += 1
            if len(shown[k]) < examples:
                shown[k].append({"dialogue": did, "turn": f.turn, "fault": f.message, "text": turns[f.turn or 0][1]})
    return {
        "source": name, "categories": list(categories_counted), "dialogues": n, "rejected": rejected, "share_rejected": round(rejected / max(1, n), 4),
        "rejected_with_a_fault_of": dict(rejected_by), "faults": dict(categories),
        "kinds": [{"kind": k, "count": c, "examples": shown[k]} for k, c in kinds.most_common()],
        "ms_per_dialogue": round(1000 * seconds / max(1, n), 2),
    }


def print_report(r: dict) -> None:
    print(f"\n## {r['source']}: {r['rejected']} of {r['dialogues']} rejected ({r['share_rejected']:.1%}); "
          f"{r['ms_per_dialogue']} ms a dialogue")
    print(f"   rejected dialogues with a fault of each category: {r['rejected_with_a_fault_of']}; faults: {r['faults']}")
    if "accepted_by_the_whole_judge" in r:
        print(f"   the whole judge (rules, sense, goal check; no near-duplicates) accepts {r['accepted_by_the_whole_judge']}"
              f" of {r['dialogues']}; without the sense check it would accept {r['accepted_without_the_sense_check']}")
    for k in r["kinds"]:
        print(f"   {k['count']:4d}  {k['kind']}")
        for e in k["examples"]:
            text = e["text"].replace("\n", " ")
            print(f"           {e['dialogue']} turn {e['turn']}: {text[:140]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--multiwoz", type=Path, default=Path("../shared/data/multiwoz/val.json.zip"),
                    help="MultiWOZ dialogues (.json or .json.zip); 'none' to skip")
    ap.add_argument("--multiwoz-db", type=Path, default=None, help="venue databases (default: db/ beside --multiwoz)")
    ap.add_argument("--corpus", type=Path, action="append", default=[], help="a GoalConvo corpus file (repeatable)")
    ap.add_argument("--set", dest="set_name", default=None, help="only this dialogue set of each corpus")
    ap.add_argument("--templates", default=None, help="goals for the planner + templates: a MultiWOZ file or 'builtin'")
    ap.add_argument("--run-id", default="sense-bench", help="run id of the template dialogues (it picks the templates)")
    ap.add_argument("--sgd", type=Path, default=None, help="folder of SGD services (dialogues.json each)")
    ap.add_argument("--examples", type=int, default=2, help="examples printed per kind of fault")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    settings = Settings()
    reports = []
    if str(args.multiwoz) != "none":
        if not args.multiwoz.exists():
            print(f"no MultiWOZ file at {args.multiwoz} (--multiwoz PATH, or --multiwoz none)", file=sys.stderr)
            return 2
        db_dir = args.multiwoz_db or (args.multiwoz.parent / "db")
        lex = lexicon_for(VenueDB.load(db_dir if db_dir.is_dir() else None))
        reports.append(measure(f"MultiWOZ {args.multiwoz.name}", multiwoz_dialogues(args.multiwoz), lex,
                               settings.sense_max_faults, args.examples))
    lex = lexicon_for(VenueDB.load(settings.multiwoz_db))
    for path in args.corpus:
        if not path.exists():
            print(f"no corpus at {path}", file=sys.stderr)
            return 2
        reports.append(measure(f"corpus {path}", corpus_dialogues(path, args.set_name), lex, settings.sense_max_faults,
                               args.examples))
    if args.templates is not None:
        judged: dict = {}
        r = measure(f"planner + templates on {args.templates} (run id {args.run_id})",
                    template_dialogues(args.templates, args.run_id, judged), lex, settings.sense_max_faults, args.examples)
        r["accepted_by_the_whole_judge"] = sum(a for a, _ in judged.values())
        r["accepted_without_the_sense_check"] = sum(a or not p for a, p in judged.values())
        reports.append(r)
    if args.sgd is not None:
        reports.append(measure(f"SGD {args.sgd} (role cues only)", sgd_dialogues(args.sgd), lex, settings.sense_max_faults,
                               args.examples, ("role",)))
    if args.json:
        print(json.dumps(reports, indent=1))
    else:
        print(f"sense check: at most {settings.sense_max_faults} faults a dialogue (GOALCONVO_SENSE_MAX_FAULTS)")
        for r in reports:
            print_report(r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
