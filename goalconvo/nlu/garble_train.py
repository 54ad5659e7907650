"""Rebuild the garble model (``goalconvo.nlu.garble``) from blind readers' ratings, run by hand.

    .venv/bin/python -m goalconvo.nlu.garble_train --reading benchmarks/reading \\
        --multiwoz ../shared/data/multiwoz/val.json.zip --templates run.duckdb --out goalconvo/data/garble.json

Turns marked broken by any reader (roles or facts) of the LLM-phrased dialogues on the reading
sheets are the positives; the negatives are the sheets' template turns, every template turn of
the ``--templates`` corpora, and the human turns of half of MultiWOZ's dialogues (seeded).
The other half is held out: the threshold is the score that at most ``--human-reject`` of its
dialogues reach on any turn, and the report prints each figure on data the model never saw
(leave one sheet out for the readers' dialogues).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import zipfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from goalconvo.nlu.garble import MODEL_KIND, GarbleModel, features

Turn = tuple[str, str]


def read_sheets(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Per reading folder: its generated dialogues (turns, who phrased each, turns marked, kept by all)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for sheet in sorted(p for p in folder.iterdir() if (p / "key.json").exists()):
        key = json.loads((sheet / "key.json").read_text())
        export = next((sheet / n for n in ("runs-export.json", "run-export.json") if (sheet / n).exists()), None)
        if export is None:
            continue
        dialogues = json.loads(export.read_text())
        ratings: dict[int, list[dict[str, Any]]] = {}
        for f in sorted((sheet / "ratings").glob("*.jsonl")):
            for line in f.read_text().splitlines():
                r = json.loads(line) if line.strip() else {}
                if "item" in r:
                    ratings.setdefault(int(r["item"]), []).append(r)
        items = []
        for it in key["items"]:
            d = dialogues.get(it.get("dialogue_id", "")) if it["source"] == "generated" else None
            if d is None:
                continue
            rs = ratings.get(int(it["item"]), [])
            marked = {int(m) - 1 for r in rs for m in (r.get("roles_turns") or []) + (r.get("facts_turns") or [])}
            turns = [("user" if i % 2 == 0 else "bot", t["text"], t.get("goalconvo_phrased_by") or "") for i, t in enumerate(d["log"])]
            items.append({"turns": turns, "marked": marked, "kept": bool(rs) and all(r.get("keep") == "yes" for r in rs)})
        out[sheet.name] = items
    return out


def read_multiwoz(path: Path) -> list[list[Turn]]:
    with zipfile.ZipFile(path) if path.suffix == ".zip" else open(path, "rb") as f:  # type: ignore[attr-defined]
        raw = f.read(f.namelist()[0]) if isinstance(f, zipfile.ZipFile) else f.read()
    data = json.loads(raw)
    return [[("user" if i % 2 == 0 else "bot", t["text"]) for i, t in enumerate(data[k]["log"])] for k in sorted(data)]


def read_templates(path: Path) -> list[Turn]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return [(s, t) for s, t in con.execute("select speaker, text from turns where phrased_by = 'template'").fetchall()]
    finally:
        con.close()


def examples(sheets: dict[str, list[dict[str, Any]]], skip: str | None) -> tuple[list[Turn], list[int]]:
    X: list[Turn] = []
    y: list[int] = []
    for name, items in sheets.items():
        if name == skip:
            continue
        for d in items:
            for i, (speaker, text, by) in enumerate(d["turns"]):
                if by == "llm" and i in d["marked"]:
                    X.append((speaker, text))
                    y.append(1)
                elif by != "llm":
                    X.append((speaker, text))
                    y.append(0)
    return X, y


def fit(X: list[Turn], y: list[int], min_df: int = 2, c: float = 4.0) -> GarbleModel:
    """Vocabulary, idf and weights as scikit-learn's TfidfVectorizer (smooth idf, sublinear tf) and a logistic regression."""
    import numpy as np
    from scipy.sparse import csr_matrix, hstack
    from sklearn.linear_model import LogisticRegression

    grams = [features(s, t) for s, t in X]
    blocks = []
    mats = []
    n = len(X)
    for b in range(2):
        df = Counter(g for f in grams for g in set(f[b]))
        vocab = {g: i for i, g in enumerate(sorted(g for g, c_ in df.items() if c_ >= min_df))}
        idf = np.array([math.log((1 + n) / (1 + df[g])) + 1.0 for g in vocab])
        rows, cols, vals = [], [], []
        for r, f in enumerate(grams):
            counts = Counter(g for g in f[b] if g in vocab)
            v = {vocab[g]: (1.0 + math.log(k)) * idf[vocab[g]] for g, k in counts.items()}
            norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
            for j, x in v.items():
                rows.append(r)
                cols.append(j)
                vals.append(x / norm)
        mats.append(csr_matrix((vals, (rows, cols)), shape=(n, len(vocab))))
        blocks.append((vocab, idf))
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(hstack(mats).tocsr(), y)
    coef = model.coef_[0]
    out = []
    offset = 0
    for vocab, idf in blocks:
        out.append({g: (float(idf[i]), float(coef[offset + i])) for g, i in vocab.items()})
        offset += len(vocab)
    return GarbleModel(blocks=(out[0], out[1]), intercept=float(model.intercept_[0]), threshold=0.5, version="")


def dialogue_max(model: GarbleModel, turns: Iterable[Turn]) -> float:
    return max((model.score(s, t) for s, t in turns), default=0.0)


def threshold_for(model: GarbleModel, held_out: list[list[Turn]], reject: float) -> float:
    scores = sorted(dialogue_max(model, d) for d in held_out)
    return scores[min(len(scores) - 1, int(math.ceil((1.0 - reject) * len(scores))))]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reading", type=Path, required=True, help="Folder of reading sheets (key.json, an export, ratings/).")
    ap.add_argument("--multiwoz", type=Path, required=True, help="MultiWOZ dialogues (val.json.zip): human negatives.")
    ap.add_argument("--templates", type=Path, action="append", default=[], help="A corpus whose template turns are negatives.")
    ap.add_argument("--human-reject", type=float, default=0.02, help="Share of held-out human dialogues the threshold may flag.")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    sheets = read_sheets(a.reading)
    human = read_multiwoz(a.multiwoz)
    random.Random(a.seed).shuffle(human)
    train_h, held_h = human[: len(human) // 2], human[len(human) // 2:]
    extra = [t for p in a.templates for t in read_templates(p)]
    base_X = [t for d in train_h for t in d] + extra
    print(f"{len(sheets)} sheets, {len(human)} human dialogues ({len(held_h)} held out), {len(extra)} template turns")
    # Leave one sheet out: what the model catches on readers' dialogues it never saw.
    for name in sheets:
        X, y = examples(sheets, name)
        if not sum(y):
            print(f"  held out {name}: the other sheets mark no turn, nothing to learn from")
            continue
        m = fit(X + base_X, y + [0] * len(base_X))
        t = threshold_for(m, held_h, a.human_reject)
        rejected = [d for d in sheets[name] if not d["kept"] and any(by == "llm" for _, _, by in d["turns"])]
        templ = [d for d in sheets[name] if not any(by == "llm" for _, _, by in d["turns"])]
        caught = sum(1 for d in rejected if dialogue_max(m, [(s, x) for s, x, _ in d["turns"]]) >= t)
        flagged = sum(1 for d in templ if dialogue_max(m, [(s, x) for s, x, _ in d["turns"]]) >= t)
        print(f"  held out {name}: readers' rejected LLM dialogues caught {caught}/{len(rejected)}, template dialogues flagged {flagged}/{len(templ)}")
    X, y = examples(sheets, None)
    if not sum(y):
        raise SystemExit(f"{a.reading}: no reader marked a turn of an LLM-phrased dialogue (roles_turns, facts_turns): nothing to learn")
    m = fit(X + base_X, y + [0] * len(base_X))
    t = threshold_for(m, held_h, a.human_reject)
    flagged = sum(1 for d in held_h if dialogue_max(m, d) >= t)
    version = f"garble-1:{len(y)}:{sum(y)}"
    data = {"kind": MODEL_KIND, "version": version, "threshold": t, "intercept": m.intercept,
            "trained_on": {"sheets": sorted(sheets), "positives": sum(y), "negatives": len(y) - sum(y) + len(base_X),
                           "human_held_out_flagged": f"{flagged}/{len(held_h)}", "seed": a.seed},
            "blocks": [{g: [round(v[0], 5), round(v[1], 5)] for g, v in b.items()} for b in m.blocks]}
    a.out.write_bytes(orjson.dumps(data))
    print(f"wrote {a.out}: threshold {t:.3f}, held-out human dialogues flagged {flagged}/{len(held_h)}, "
          f"{sum(len(b) for b in m.blocks)} n-grams, {a.out.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
