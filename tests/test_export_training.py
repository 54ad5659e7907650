"""Training exports (issue 15): openai-chat and ShareGPT JSONL, a Hugging Face dataset folder.

Each is read back with ``datasets``, as its users would; splits are by goal content, so
the same goal run twice (two run ids) lands in one split and no goal spans two splits.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import duckdb
import pytest

from goalconvo.core.goals import builtin_goals
from goalconvo.core.settings import Settings
from goalconvo.sinks.export import export_corpus
from goalconvo.sinks.export_training import (
    SPLITS, SYSTEM_PROMPT, chat_turns, goal_content_key, parse_ratios, split_of,
)
from goalconvo.sinks.store import CorpusStore

from conftest import TEST_SESSION_TIMEOUT_S

datasets = pytest.importorskip("datasets")


def test_goal_key_is_content_not_id():
    g = builtin_goals()[0].model_dump(mode="json")
    other = {**g, "goal_id": "something-else", "run_id": "run-2", "message": ["another text"]}
    assert goal_content_key(g) == goal_content_key(other)
    # Order and case of slots do not make another goal; a changed constraint does.
    dom = next(iter(g["domains"]))
    shuffled = json.loads(json.dumps(g))
    shuffled["domains"][dom]["reqt"] = list(reversed(shuffled["domains"][dom].get("reqt") or []))
    assert goal_content_key(shuffled) == goal_content_key(g)
    changed = json.loads(json.dumps(g))
    changed["domains"][dom].setdefault("info", {})["area"] = "nowhere-in-particular"
    assert goal_content_key(changed) != goal_content_key(g)


def test_ratios_and_split_of():
    assert parse_ratios(None) == (0.8, 0.1, 0.1)
    assert parse_ratios("60/20/20") == pytest.approx((0.6, 0.2, 0.2))
    assert parse_ratios("1,0,0") == (1.0, 0.0, 0.0)
    for bad in ("80/20", "a/b/c", "-1/1/1", "0/0/0"):
        with pytest.raises(ValueError):
            parse_ratios(bad)
    keys = [goal_content_key({"domains": {"taxi": {"info": {"n": str(i)}}}}) for i in range(2000)]
    got = [split_of(k) for k in keys]
    assert abs(got.count("train") / 2000 - 0.8) < 0.04 and got.count("test") > 100
    assert {split_of(k, (1.0, 0.0, 0.0)) for k in keys} == {"train"}


def test_chat_turns_alternate_and_end_with_the_assistant():
    turns = [{"speaker": "user", "text": "hi"}, {"speaker": "user", "text": "a taxi please"},
             {"speaker": "bot", "text": "where to?"}, {"speaker": "bot", "text": " "},
             {"speaker": "user", "text": "thanks, bye"}]
    assert chat_turns(turns) == [("user", "hi\na taxi please"), ("bot", "where to?")]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 built-in goals in one run, then 4 of them again under a second run id."""
    import uuid

    from goalconvo.commands.runner import run_goals

    tmp = tmp_path_factory.mktemp("training")
    tag = uuid.uuid4().hex[:8]
    # The exports, not the templates: without the sense check, which rejects some template dialogues by their
    # faults (chosen by the run id), so that most of the 12 are accepted and exported.
    s = Settings(db=tmp / "corpus.duckdb", app_id=f"gc-test-{tag}", topic_prefix=f"t{tag}.", llm="scripted",
                 partitions=4, session_timeout_s=TEST_SESSION_TIMEOUT_S, concurrency=4, sense_check=False)
    goals = builtin_goals()[:12]
    first = asyncio.run(run_goals(s, 12, goals=goals, timeout_s=240))
    assert first.finished and first.accepted >= 8, first
    second = asyncio.run(run_goals(s, 4, goals=goals[:4], timeout_s=180))
    assert second.finished, second
    return s.db


def _goal_keys(db: Path) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {did: goal_content_key(json.loads(g)) for did, g in con.execute("select dialogue_id, goal from dialogues").fetchall()}
    finally:
        con.close()


def _assert_chat(messages: list[dict], role: str = "role", text: str = "content",
                 names: tuple[str, str, str] = ("system", "user", "assistant")) -> None:
    assert messages[0][role] == names[0] and messages[0][text] == SYSTEM_PROMPT
    rest = [m[role] for m in messages[1:]]
    assert len(rest) >= 2 and rest[-1] == names[2]
    assert rest == [names[1] if i % 2 == 0 else names[2] for i in range(len(rest))], rest
    assert all(m[text].strip() for m in messages)


def test_the_same_goal_content_twice_is_in_the_corpus(corpus: Path):
    keys = _goal_keys(corpus)
    assert len(keys) == 16 and len(set(keys.values())) == 12


def test_sharegpt_and_openai_chat_read_back_with_datasets(corpus: Path, tmp_path: Path):
    store = CorpusStore(corpus)
    try:
        n = export_corpus(store, tmp_path / "sg", "sharegpt", sets=None, include_rejected=True, split_ratios="50/25/25")
        m = export_corpus(store, tmp_path / "oa", "openai-chat", sets=None, include_rejected=True, split_ratios="50/25/25")
        one = export_corpus(store, tmp_path / "train.jsonl", "openai-chat", sets=None, include_rejected=True,
                            split="train", split_ratios="50/25/25")
        accepted = export_corpus(store, tmp_path / "acc", "sharegpt", sets=None, include_rejected=False)
    finally:
        store.close()
    keys = _goal_keys(corpus)
    assert n == m == len(keys) and accepted <= n
    split_keys: dict[str, set[str]] = {}
    for name in SPLITS:
        path = tmp_path / "sg" / f"{name}.jsonl"
        assert path.exists()
        if not path.read_text().strip():
            split_keys[name] = set()
            continue
        sg = datasets.load_dataset("json", data_files=str(path), split="train")
        oa = datasets.load_dataset("json", data_files=str(tmp_path / "oa" / f"{name}.jsonl"), split="train")
        assert sg.column_names == ["id", "conversations"] and oa.column_names == ["messages"]
        assert len(sg) == len(oa)
        for s_row, o_row in zip(sg, oa):
            _assert_chat(s_row["conversations"], "from", "value", ("system", "human", "gpt"))
            _assert_chat(o_row["messages"])
            assert [c["value"] for c in s_row["conversations"]] == [c["content"] for c in o_row["messages"]]
        split_keys[name] = {keys[i] for i in sg["id"]}
        if name == "train":
            assert len(datasets.load_dataset("json", data_files=str(tmp_path / "train.jsonl"), split="train")) == len(oa) == one
    assert sum(1 for s in split_keys.values() if s) >= 2, "a dozen goals at 50/25/25 fill more than one split"
    a, b, c = (split_keys[s] for s in SPLITS)
    assert not (a & b) and not (a & c) and not (b & c), "a goal spans two splits"
    assert set().union(a, b, c) == set(keys.values())


def test_hf_folder_reads_back_with_load_dataset(corpus: Path, tmp_path: Path):
    out = tmp_path / "hf"
    store = CorpusStore(corpus)
    try:
        n = export_corpus(store, out, "hf", sets=None, include_rejected=True, split_ratios="50/25/25")
        # Written again over itself: replaced whole.
        assert export_corpus(store, out, "hf", sets=None, include_rejected=True, split_ratios="50/25/25") == n
        with pytest.raises(ValueError):
            export_corpus(store, out, "hf", sets=None, include_rejected=True, split="train")
    finally:
        store.close()
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "configs:" in card and "license: mit" in card
    for fig in ("acceptance", "LLM calls per accepted dialogue", "tokens per accepted dialogue", "distinct-1",
                "exchanges", "models", "modes", "MultiWOZ"):
        assert fig in card, fig
    shards = sorted(p.name for p in (out / "data").glob("*.parquet"))
    assert shards and all(p.endswith("-00000-of-00001.parquet") for p in shards)
    ds = datasets.load_dataset(str(out))
    assert set(ds) <= set(SPLITS) and "train" in ds and sum(len(ds[s]) for s in ds) == n
    seen: dict[str, set[str]] = {}
    for name in ds:
        split = ds[name]
        assert set(split["split"]) == {name}
        for row in split:
            _assert_chat(row["messages"])
            assert goal_content_key(json.loads(row["goal"])) == row["goal_key"]
        seen[name] = set(split["goal_key"])
    names = list(seen)
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            assert not (seen[x] & seen[y]), f"a goal spans {x} and {y}"
    # The same goal run twice is in one split, twice.
    keys = _goal_keys(corpus)
    repeated = {k for k in keys.values() if list(keys.values()).count(k) == 2}
    assert len(repeated) == 4
    for name in ds:
        got = list(ds[name]["goal_key"])
        assert all(got.count(k) == 2 for k in repeated if k in got)


def test_split_options_are_checked(corpus: Path, tmp_path: Path):
    store = CorpusStore(corpus)
    try:
        for kw in ({"split": "train"}, {"split_ratios": "80/10/10"}):
            with pytest.raises(ValueError):
                export_corpus(store, tmp_path / "x.jsonl", "jsonl", sets=None, include_rejected=False, **kw)
        with pytest.raises(ValueError):
            export_corpus(store, tmp_path / "x", "sharegpt", sets=None, include_rejected=False, split="dev")
    finally:
        store.close()


def test_metrics_count_llm_calls_and_tokens_per_accepted_dialogue(corpus: Path):
    from goalconvo.sinks.dashboard.data import summary
    from goalconvo.sinks.metrics import compute_metrics

    store = CorpusStore(corpus)
    try:
        per_set = {r[0]: r[1:] for r in store.query(
            """select d.set_name, sum(d.llm_calls), sum(d.prompt_tokens + d.completion_tokens),
                      count(*) filter (where v.accepted)
               from dialogues d join current_verdicts v using (dialogue_id) group by 1""").rows}
        by_set = compute_metrics(store.query)
        by_model = compute_metrics(store.query, by="model")
    finally:
        store.close()
    assert len(by_set) == 2 and len(by_model) == 2  # two runs, one (scripted) model each
    for r in by_set:
        calls, toks, accepted = per_set[r["set_name"]]
        assert calls > 0 and toks > 0
        if not accepted:  # the second run may be all near-duplicates of the first
            assert r["llm_calls_per_accepted"] is None and r["tokens_per_accepted"] is None
            continue
        assert r["llm_calls_per_accepted"] == pytest.approx(calls / accepted, rel=1e-3)
        assert r["tokens_per_accepted"] == pytest.approx(toks / accepted, rel=1e-3)
    assert {r["model"] for r in by_model} == {"scripted"}
    assert any(r["llm_calls_per_accepted"] for r in by_model) and any(r["tokens_per_accepted"] for r in by_model)
    dash = summary(corpus)
    assert {m["model"] for m in dash["models"]} == {"scripted"}
    assert all("tokens_per_accepted" in s for s in dash["sets"])


def test_export_command_writes_one_split_and_refuses_bad_options(corpus: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from goalconvo.commands import app

    runner = CliRunner()
    db = str(corpus)
    out = runner.invoke(app, ["export", "--db", db, "--out", str(tmp_path / "t.jsonl"), "--format", "openai-chat",
                              "--split", "train", "--split-ratios", "1/0/0", "--include-rejected", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["written"] == len(_goal_keys(corpus))
    assert len((tmp_path / "t.jsonl").read_text().splitlines()) == len(_goal_keys(corpus))
    for bad in (["--format", "jsonl", "--split", "train"], ["--format", "hf", "--split", "test"],
                ["--format", "sharegpt", "--split-ratios", "80/20"]):
        out = runner.invoke(app, ["export", "--db", db, "--out", str(tmp_path / "bad"), *bad])
        assert out.exit_code != 0, bad
