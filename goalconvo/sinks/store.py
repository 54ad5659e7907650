"""The DuckDB corpus opened for writing: idempotent batch writes and the reads a writer answers.

One process writes a DuckDB file (DuckDB's lock forbids a second, even a
read-only one), so the running sink also answers queries for other processes
(see ``query_server.py``). Kafka's at-least-once delivery can replay, and a
dialogue id can be generated twice (progress lost): the first generation stored
keeps its row, turns and verdict, whole; a later one is ignored and listed in
``ignored_generations``. Other records insert by primary key and ignore duplicates.
The tables are in ``schema.py``, the read-only guard in ``sql.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from goalconvo.core.dead_letters import DeadLetter
from goalconvo.core.records import Goal, JudgedDialogue, Verdict
from goalconvo.core.settings import SECRET_FILES
from goalconvo.sinks import figures, ratings, schema, tallies
from goalconvo.sinks.sql import READ_CONFIG, QueryResult, insert_columns, run_read

#: How a secret reads wherever settings are stored or shown (pydantic's SecretStr shows the same).
REDACTED = "**********"


def redact(settings: dict[str, Any]) -> dict[str, Any]:
    """A settings dump with every secret replaced by ``REDACTED`` (the ones ``SECRET_FILES`` names, and
    anything named like a password, passphrase, API key or token), so that none reaches the corpus."""
    return {k: REDACTED if v is not None and _is_secret(k) else v for k, v in settings.items()}


def _is_secret(name: str) -> bool:
    return name in SECRET_FILES or name.lower().endswith(("password", "api_key", "secret", "passphrase", "_token"))


def generation_of(started_at: float | None, turns: Sequence[tuple[str, str]]) -> str:
    """Fingerprint of one generation of a dialogue: its start time and its turns (a replay has the same)."""
    return hashlib.sha1(json.dumps([started_at, [list(t) for t in turns]]).encode()).hexdigest()[:16]


@dataclass
class WriteResult:
    """What one write did with the judged dialogues it was given."""

    new: int = 0  #: dialogues stored for the first time
    replayed: int = 0  #: the generation already stored, sent again: nothing changed
    regenerated: int = 0  #: another generation of a stored id: ignored whole, listed in ignored_generations


class CorpusStore:
    """A DuckDB corpus file opened for writing by this process (thread-safe).

    ``file_access=False`` (a running sink, whose endpoint answers others' queries): the database
    reads and writes no file but its own, and its configuration is locked (``sql.READ_CONFIG``).
    DuckDB applies this to the whole database, so it also holds for ``query --write`` through the
    endpoint: ``COPY ... TO`` a file needs the file free (stop the pipeline) or ``goalconvo export``.
    """

    def __init__(self, path: Path | str, *, file_access: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(str(self.path), config={} if file_access else READ_CONFIG)
        self._lock = threading.Lock()
        self.migrate()

    # -- schema ------------------------------------------------------------
    def migrate(self) -> None:
        with self._lock:
            schema.migrate(self._con)
            tallies.backfill(self._con)
            self._redact_runs()

    def _redact_runs(self) -> None:
        """Settings stored with runs by older versions kept secrets (the LLM API key) in plain text: redact them."""
        rows = self._con.execute("select run_id, settings from runs where settings is not null").fetchall()
        changed = []
        for run_id, text in rows:
            try:
                stored = json.loads(text)
            except ValueError:
                continue
            if isinstance(stored, dict) and redact(stored) != stored:
                changed.append([run_id, json.dumps(redact(stored))])
        for run_id, text in changed:
            self._con.execute("update runs set settings = ? where run_id = ?", [text, run_id])

    def close(self) -> None:
        with self._lock:
            self._con.close()

    # -- writes ------------------------------------------------------------
    def write_batch(
        self,
        judged: Sequence[JudgedDialogue],
        dead: Sequence[tuple[str, DeadLetter]] = (),
        goals: Sequence[Goal] = (),
    ) -> int:
        """Store a batch in one transaction (see ``write``); returns how many dialogues were new."""
        return self.write(judged, dead, goals).new

    def write(
        self,
        judged: Sequence[JudgedDialogue],
        dead: Sequence[tuple[str, DeadLetter]] = (),
        goals: Sequence[Goal] = (),
    ) -> WriteResult:
        """Store a batch in one transaction, one insert per table; says what was new, replayed, regenerated.

        First wins, whole: a dialogue id already stored keeps its row, turns and verdict.
        A replay of the same generation changes nothing; a later generation of the id
        (regenerated after lost progress) is ignored as a whole and listed in
        ``ignored_generations``. Dead letters and goals insert by key and ignore duplicates.
        """
        now = time.time()
        result = WriteResult()
        with self._transaction() as (con, new):
            if judged:
                first = self._first_generations(con, judged, now, result)
                self._insert_dialogues(con, first, now)
                self._insert_verdicts(con, [jd.verdict for jd in first])
            if dead:
                insert_columns(con, "dead_letters", [
                    [dl_id, dl.source_topic, dl.stage, dl.reason, dl.error_type, dl.key, dl.payload,
                     dl.run_id, dl.goal_id, dl.dialogue_id, dl.at]
                    for dl_id, dl in dict(dead).items()
                ])
            if goals:
                rows = {(g.goal_id, g.run_id or ""): g for g in goals}
                insert_columns(con, "goals", [
                    [gid, rid, g.source, g.domain_names, g.model_dump_json(), now] for (gid, rid), g in rows.items()
                ])
        result.new = new[0]
        return result

    @staticmethod
    def _first_generations(
        con: duckdb.DuckDBPyConnection, judged: Sequence[JudgedDialogue], now: float, result: WriteResult
    ) -> list[JudgedDialogue]:
        """The judged dialogues whose id is not stored yet (the first of each id in the batch).

        The rest is counted in ``result``: the same generation again is a replay; another
        generation of a stored id is recorded in ``ignored_generations`` and not stored.
        """
        ids = list({jd.dialogue.dialogue_id for jd in judged})
        # Which ids are stored already; only their turns are read (usually none: a scan of every turn per
        # write would make the write's cost grow with the corpus).
        started = dict(con.execute(
            "select dialogue_id, started_at from dialogues where dialogue_id in (select unnest(?))", [ids]).fetchall())
        turns: dict[str, list[tuple[str, str]]] = {did: [] for did in started}
        if started:
            for did, said in con.execute(
                """select dialogue_id, list(struct_pack(s := speaker, x := text) order by idx) from turns
                   where dialogue_id in (select unnest(?)) group by 1""",
                [list(started)],
            ).fetchall():
                turns[did] = [(t["s"], t["x"]) for t in said]
        stored = {did: generation_of(started[did], turns[did]) for did in started}
        first: list[JudgedDialogue] = []
        later = []
        for jd in judged:
            d = jd.dialogue
            gen = generation_of(d.started_at, [(t.speaker, t.text) for t in d.turns])
            kept = stored.get(d.dialogue_id)
            if kept is None:
                stored[d.dialogue_id] = gen
                first.append(jd)
            elif kept == gen:
                result.replayed += 1
            else:
                result.regenerated += 1
                later.append([d.dialogue_id, gen, d.run_id, d.goal.goal_id, d.model, d.started_at, now])
        insert_columns(con, "ignored_generations", later)
        return first

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[tuple[duckdb.DuckDBPyConnection, list[int]]]:
        """One transaction under the lock; ``new[0]`` holds how many dialogues it added, after commit."""
        with self._lock:
            con = self._con
            con.execute("begin")
            new = [0]
            try:
                before = con.execute("select count(*) from dialogues").fetchone()[0]
                yield con, new
                new[0] = con.execute("select count(*) from dialogues").fetchone()[0] - before
                con.execute("commit")
            except Exception:
                # A failed commit has already ended the transaction: keep its error, not rollback's.
                with contextlib.suppress(duckdb.Error):
                    con.execute("rollback")
                raise

    @staticmethod
    def _insert_dialogues(con: duckdb.DuckDBPyConnection, judged: Sequence[JudgedDialogue], now: float, set_name: str | None = None) -> None:
        rows, turns = [], []
        for jd in judged:
            d = jd.dialogue
            domains = d.goal.domain_names
            rows.append([
                d.dialogue_id, d.run_id, set_name or d.run_id, d.goal.goal_id, domains, "+".join(domains),
                d.goal.model_dump_json(), d.scenario.model_dump_json(), d.model, d.prompt_version, d.stop_reason,
                d.exchanges, d.llm_calls, d.prompt_tokens, d.completion_tokens, d.started_at, d.ended_at, now,
                d.mode, d.goal.pack or "",
            ])
            turns.extend(
                [d.dialogue_id, t.index, t.speaker, t.text, json.dumps(t.meta), json.dumps(t.acts) if t.acts else None,
                 json.dumps(t.belief) if t.belief is not None else None, t.phrased_by, json.dumps(t.refusals)]
                for t in d.turns
            )
        insert_columns(con, "dialogues", rows)
        insert_columns(con, "turns", turns)
        tallies.store_new(con, [
            figures.Stored(r[0], r[2], r[5], r[8], r[9], r[18], r[19],
                           figures.figures_of([t.text for t in jd.dialogue.turns], [t.phrased_by for t in jd.dialogue.turns]),
                           figures.DialogueFacts.of(jd.dialogue), figures.VerdictFacts.of(jd.verdict))
            for r, jd in zip(rows, judged)
        ])

    @staticmethod
    def _insert_verdicts(con: duckdb.DuckDBPyConnection, verdicts: Sequence[Verdict]) -> None:
        insert_columns(con, "verdicts (dialogue_id, judge_version, accepted, scores, judge_model, judged_at, judge_error)", [
            [v.dialogue_id, v.judge_version, v.accepted, json.dumps(v.scores), v.judge_model, v.judged_at, v.judge_error]
            for v in verdicts
        ])
        insert_columns(con, "verdict_checks", [
            [v.dialogue_id, v.judge_version, c.name, c.passed, c.reason, c.score] for v in verdicts for c in v.checks
        ])

    def record_run(self, run_id: str, goals: int, llm: str, model: str, settings: dict[str, Any]) -> None:
        """The run's row, with the settings it ran under (secrets redacted: ``redact``)."""
        with self._lock:
            self._con.execute(
                "insert into runs values (?,?,?,?,?,?) on conflict do nothing",
                [run_id, time.time(), goals, llm, model, json.dumps(redact(settings), default=str)],
            )
            self._con.execute(
                "insert into dialogue_sets values (?, 'run', ?, ?, ?) on conflict do nothing",
                [run_id, f"{goals} goals, {llm} {model}", llm, time.time()],
            )

    def import_set(self, judged: Sequence[JudgedDialogue], set_name: str, source: str, description: str = "") -> int:
        """Store an imported corpus (e.g. MultiWOZ) as a dialogue set; returns how many dialogues were new."""
        now = time.time()
        with self._transaction() as (con, new):
            con.execute(
                "insert into dialogue_sets values (?, 'import', ?, ?, ?) on conflict do nothing",
                [set_name, description, source, now],
            )
            first = self._first_generations(con, judged, now, WriteResult())
            self._insert_dialogues(con, first, now, set_name=set_name)
            self._insert_verdicts(con, [jd.verdict for jd in first])
        return new[0]

    def probe(self) -> None:
        """One small committed write; raises when the file takes no writes at all (disk full, file gone)."""
        with self._transaction() as (con, _):
            con.execute("insert or replace into sink_state values ('probe', ?, ?)", [str(os.getpid()), time.time()])

    def add_verdicts(self, verdicts: Sequence[Verdict]) -> None:
        """New verdicts beside the old ones (a verdict of the same version is kept as it was).

        A dialogue whose current verdict changes moves its tallies (``tallies.move``): a flip moves
        its n-grams between accepted and rejected counts.
        """
        with self._transaction() as (con, _):
            ids = list({v.dialogue_id for v in verdicts})
            before = figures.current_verdicts(con, ids)
            self._insert_verdicts(con, verdicts)
            after = figures.current_verdicts(con, ids)
            changed = [did for did in ids if did in before and after.get(did) != before[did]]
            if changed:
                moved = figures.load_stored(con, "d.dialogue_id in (select unnest(?))", [changed], after)
                tallies.move(con, [(st, before[st.dialogue_id]) for st in moved])

    def list_sets(self) -> list[dict[str, Any]]:
        """Every dialogue set: kind, dialogues, accepted, description (sets with dialogues but no record too).

        Counted from the sets' cell sums (``tallies.py``), not from every verdict."""
        res = self.query(
            """with c as (select c.set_name, sum(s.dialogues) as dialogues,
                                 coalesce(sum(s.dialogues) filter (where c.accepted), 0) as accepted
                          from cell_sums s join ngram_cells c using (cell_id) group by 1 having sum(s.dialogues) > 0)
               select coalesce(s.set_name, c.set_name) as set_name, coalesce(s.kind, 'run') as kind,
                      coalesce(c.dialogues, 0) as dialogues, coalesce(c.accepted, 0) as accepted,
                      s.description, s.source, s.created_at
               from dialogue_sets s full join c using (set_name) order by 1"""
        )
        return [dict(zip(res.columns, r)) for r in res.rows]

    def delete_set(self, set_name: str) -> int:
        """Remove a dialogue set whole: its dialogues, turns, verdicts, scores, figures, counts, snapshots and
        readers' ratings (a reference file's name, whose human dialogues were rated, takes its ratings too)."""
        with self._transaction() as (con, _):
            n = con.execute("select count(*) from dialogues where set_name = ?", [set_name]).fetchone()[0]
            known = con.execute("select count(*) from dialogue_sets where set_name = ?", [set_name]).fetchone()[0]
            if not n and not known and not ratings.has_ratings(con, set_name):
                raise KeyError(f"no dialogue set {set_name!r}")
            ratings.delete_set(con, set_name)
            ids = "(select dialogue_id from dialogues where set_name = $1)"
            for table in ("turns", "verdict_checks", "verdicts", "similarity", "dialogue_figures", "ignored_generations"):
                con.execute(f"delete from {table} where dialogue_id in {ids}", [set_name])
            tallies.delete_set(con, set_name)
            for table in ("metric_snapshots", "dialogues", "dialogue_sets"):
                con.execute(f"delete from {table} where set_name = ?", [set_name])
            con.execute("delete from runs where run_id = ?", [set_name])
        return n

    def write_ratings(self, sheet_id: str, readers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Readers' ratings of a sheet (``ratings.COLUMNS`` per row), replacing what those readers had on it."""
        with self._transaction() as (con, _):
            ratings.replace(con, sheet_id, readers, rows)

    def write_similarity(self, rows: Sequence[Sequence[Any]]) -> None:
        """Rows of (dialogue_id, reference_id, reference_set, f1, precision, recall, model, layer, rescaled, candidates, scored_at)."""
        with self._lock:
            insert_columns(self._con, "similarity", rows)

    def snapshot(self, rows: Sequence[Sequence[Any]]) -> None:
        """Rows of (computed_at, set_name, group_kind, group_value, metrics json), in one statement.

        ``executemany`` binds row by row: 300 rows (20 sets and their domain sets) held the writer 0.2 s.
        """
        with self._lock:
            insert_columns(self._con, "metric_snapshots", rows, skip_existing=False)

    def sink_start_offsets(self, group_id: str, now: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        """Where each partition stood when this file's sink of ``group_id`` first started: ``now`` the
        first time (then kept in ``sink_state``), the kept offsets on every later start. A sink killed
        before its first commit restarts from there, not from the topics' end, which would skip what
        was judged in between."""
        key = f"sink_start:{group_id}"
        with self._lock:
            row = self._con.execute("select value from sink_state where key = ?", [key]).fetchone()
            kept = {(t, int(p)): int(o) for t, p, o in json.loads(row[0])} if row is not None else {}
            # A topic first seen now (another topic prefix on this file) starts where it ends now.
            known = {t for t, _ in kept}
            new = {tp: o for tp, o in now.items() if tp[0] not in known}
            if new or row is None:
                kept.update(new)
                self._con.execute("insert or replace into sink_state values (?, ?, ?)",
                                  [key, json.dumps([[t, p, o] for (t, p), o in sorted(kept.items())]), time.time()])
        return kept

    # -- reads -------------------------------------------------------------
    @property
    def corpus_id(self) -> str:
        """A random id the file got when it was created (a copy keeps it; see ``consumer.sink_group``)."""
        return self.query("select value from sink_state where key = 'corpus_id'").rows[0][0]

    def ignored_generations(self, run_id: str | None = None) -> int:
        """Later generations of stored dialogue ids that were ignored (of one run, or all)."""
        return self.query(
            "select count(*) from ignored_generations where ? is null or run_id = ?", [run_id, run_id]
        ).rows[0][0]

    def query(self, sql: str, params: Iterable[Any] | None = None, *, allow_write: bool = False,
              timeout_s: float | None = None, max_rows: int | None = None) -> QueryResult:
        """A read (guarded, in a read-only transaction rolled back: ``sql.run_read``), or with ``allow_write``
        any statement; a write is followed by ``tallies.reconcile``, so figures never count deleted rows."""
        if not allow_write:
            return run_read(self._con, sql, params, timeout_s=timeout_s, max_rows=max_rows)
        with self._lock:
            result = run_read(self._con, sql, params, timeout_s=timeout_s, max_rows=max_rows, write=True)
            tallies.reconcile(self._con)
        return result

    def run_progress(self, run_id: str) -> dict[str, int]:
        """Dialogues stored (accepted / rejected) and goals dead-lettered for a run.

        A run's dialogues are its own set; their counts come from the set's cell sums
        (``tallies.py``), so the half-second progress poll of ``goalconvo run`` does not
        read every verdict of a large corpus. A dead-lettered goal whose dialogue was
        stored later (its event replayed after an outage) counts once, as stored.
        """
        r = self.query(
            """select
                 coalesce(sum(s.dialogues) filter (where c.accepted), 0),
                 coalesce(sum(s.dialogues) filter (where not c.accepted), 0),
                 (select count(distinct coalesce(goal_id, dead_letter_id)) from dead_letters x
                   where x.run_id = $1 and (x.goal_id is null or x.goal_id not in
                     (select goal_id from dialogues s where s.run_id = x.run_id)))
               from cell_sums s join ngram_cells c using (cell_id)
               where c.set_name = $1""",
            [run_id],
        ).rows[0]
        return {"accepted": int(r[0]), "rejected": int(r[1]), "dead_lettered": r[2]}

    def run_stranded(self, run_id: str) -> int:
        """Of a run's dead-lettered goals, those the watchdog found stranded (and never stored since)."""
        return self.query(
            """select count(distinct coalesce(goal_id, dead_letter_id)) from dead_letters x
               where x.run_id = ? and x.stage = 'watchdog' and (x.goal_id is null or x.goal_id not in
                 (select goal_id from dialogues s where s.run_id = x.run_id))""",
            [run_id],
        ).rows[0][0]
