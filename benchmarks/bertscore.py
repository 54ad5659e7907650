"""BERTScore speed and the human-vs-human reference, run by hand.

    .venv/bin/python benchmarks/bertscore.py --reference ../shared/data/multiwoz/val.json.zip --dialogues 100

Imports the reference corpus as a set, then scores N of its dialogues against
their nearest *other* dialogue with the same domain set (TF-IDF retrieval of
``--top-k`` candidates, bert-score on each, best F1 kept): the figure a
generated set should be read beside. Prints pairs/s (model load excluded and
included) and the mean F1.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from goalconvo.commands.corpus_ops import import_multiwoz
from goalconvo.core.settings import Settings
from goalconvo.sinks.scoring import unscored
from goalconvo.sinks.similarity import BertScorer, ReferenceIndex
from goalconvo.sinks.store import CorpusStore


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", type=Path, required=True)
    ap.add_argument("--dialogues", type=int, default=100)
    ap.add_argument("--top-k", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args()

    store = CorpusStore(Path(tempfile.mkdtemp()) / "bench.duckdb")
    asyncio.run(import_multiwoz(store, args.reference, "reference", Settings()))
    t0 = time.monotonic()
    index = ReferenceIndex(args.reference)
    t_index = time.monotonic() - t0
    scorer = BertScorer(batch_size=args.batch_size)
    t0 = time.monotonic()
    scorer.score_pairs(["warm up"], ["warm up"])
    t_load = time.monotonic() - t0
    items = unscored(store, index.name, scorer.model_label, scorer.layer, args.dialogues, include_human=True)
    t0 = time.monotonic()
    scores = scorer.nearest(index, items, top_k=args.top_k, exclude_self=True)
    t_score = time.monotonic() - t0
    pairs = sum(s.candidates for s in scores)
    f1 = [s.f1 for s in scores]
    print(f"reference {index.name}: {len(index.refs)} dialogues, index built in {t_index:.1f}s; "
          f"encoder {scorer.model_label} layer {scorer.layer}, rescaled {scorer.rescaled}, loaded in {t_load:.1f}s")
    print(f"{'dialogues':>9} {'pairs':>6} {'seconds':>8} {'pairs/s':>8} {'pairs/s incl. load':>19} {'F1 mean':>8} {'F1 sd':>6}")
    print(f"{len(scores):>9} {pairs:>6} {t_score:>8.1f} {pairs / t_score:>8.2f} {pairs / (t_score + t_load):>19.2f} "
          f"{statistics.mean(f1):>8.4f} {statistics.pstdev(f1):>6.4f}")
    store.close()


if __name__ == "__main__":
    main()
