"""Where a belief tracker trained on a generated set loses against one trained on the same goals' human dialogues.

    .venv/bin/python benchmarks/dst_gap.py --db dst.duckdb --set run-...     # a set made by `assess dst ratio`

Trains both trackers on every paired goal of val's first half (seed 0), tests them on the
second half, and prints, run by hand:

1. per slot: accuracy of each tracker, and the gold changes (a turn that sets a slot) the
   generated-trained one misses where the real-trained one makes them, by kind: the gold
   value was *said* in the turn or the system turn before (the words were there), it is
   *unknown* to the generated tracker (never a value of that slot in the generated states:
   a spelling or coverage gap, with the generated spelling when one differs only by
   spaces, apostrophes or a leading "the"), or it was *meant, not said* (dontcare, yes,
   "center", "just me"); and its *inventions* (a change to a value the gold state lacks);
2. labelling conventions, in the training states of the same goals: how a slot's changes
   relate to the words of the turn (said by the user / only by the system / not said),
   dontcare shares, spellings only one side uses, time formats;
3. user wording: the words of human user turns the generated tracker misses that no
   generated user turn ever says, most frequent first; and examples per slot.
"""

from __future__ import annotations

import argparse
import copy
import re
from collections import Counter, defaultdict
from pathlib import Path

from goalconvo.assess.dst.examples import examples, load_file, load_set, reference_id, split_sorted
from goalconvo.assess.dst.features import ngrams, turn_texts, words
from goalconvo.assess.dst.model import BeliefTracker, changes
from goalconvo.assess.dst.normalize import DONTCARE
from goalconvo.sinks.store import CorpusStore

ROOT = Path(__file__).resolve().parents[1]
VAL = ROOT.parent / "shared" / "data" / "multiwoz" / "val.json.zip"


def squeeze(v: str) -> str:
    """A value without spaces, apostrophes, hyphens or a leading "the": spellings that differ only so meet."""
    return re.sub(r"[\s'\-]", "", re.sub(r"^the ", "", v))


def said_in(value: str, text: str) -> bool:
    w, v = words(text), words(value)
    return bool(v) and any(tuple(w[i : i + len(v)]) == v for i in range(len(w) - len(v) + 1))


def where_said(ex, slot: str, value: str) -> str:
    user, system = turn_texts(ex)
    if value == DONTCARE:
        return "dontcare"
    if said_in(value, user):
        return "user"
    if said_in(value, system):
        return "system"
    return "not said"


def conventions(train_gen: list, train_real: list) -> None:
    print("\n== labelling conventions in the training states (the same goals) ==")
    rows = {}
    for name, exs in (("human", train_real), ("generated", train_gen)):
        per: dict[str, Counter] = defaultdict(Counter)
        values: dict[str, Counter] = defaultdict(Counter)
        for ex, ch in zip(exs, changes(exs)):
            for slot, value in ch.items():
                per[slot][where_said(ex, slot, value)] += 1
                values[slot][value] += 1
        rows[name] = (per, values)
    (hp, hv), (gp, gv) = rows["human"], rows["generated"]
    print(f"{'slot':24} {'human changes':>13}  {'user/system/not said/dontcare':>30}   {'generated':>9}  {'user/system/not said/dontcare':>30}")
    for slot in sorted(set(hp) | set(gp)):
        def cell(c: Counter) -> str:
            n = sum(c.values()) or 1
            return "/".join(f"{c[k] / n:.2f}" for k in ("user", "system", "not said", "dontcare"))
        print(f"{slot:24} {sum(hp[slot].values()):>13}  {cell(hp[slot]):>30}   {sum(gp[slot].values()):>9}  {cell(gp[slot]):>30}")
    print("\nspellings only the generated states use (value: changes; the human spelling that meets it):")
    for slot in sorted(gv):
        human_sq = {squeeze(v): v for v in hv.get(slot, {})}
        odd = [(v, n) for v, n in gv[slot].most_common() if v not in hv.get(slot, {})]
        if odd:
            print(f"  {slot:22} " + "; ".join(f"{v}: {n}" + (f" (human: {human_sq[squeeze(v)]})" if squeeze(v) in human_sq else "")
                                               for v, n in odd[:6]))
    times = [v for slot in gv for v in gv[slot] if re.match(r"^\d{1,2}:\d\d$", v) and len(v) == 4]
    print(f"\ntimes without a leading zero in the generated states: {len(times)}")


def relabel(dialogues: dict, what: set[str], human_values: dict[str, set[str]]) -> dict:
    """What-if copies of generated dialogues with MultiWOZ's labelling conventions (for estimates only):

    - ``names``: a venue the system names (``D-Recommend``/``D-Inform`` Name) becomes the state's
      ``D-name`` once the User's next turn stays in that domain (asks about it, books it), as
      MultiWOZ's annotators record an offer the user takes up;
    - ``spellings``: a value whose spelling differs from the human states' only by spaces,
      apostrophes, hyphens or a leading "the" takes the human spelling.
    """
    out = {}
    for did, raw in dialogues.items():
        d = copy.deepcopy(raw)
        log = d["log"]
        offered: dict[str, str] = {}
        taken: dict[str, str] = {}
        for i, t in enumerate(log):
            acts = t.get("dialog_act") or {}
            if i % 2 == 1:
                meta = t.get("metadata") or {}
                for dom, name in taken.items():
                    if meta.get(dom, {}).get("semi", {}).get("name") in ("", "not mentioned"):
                        meta[dom]["semi"]["name"] = name
                if "spellings" in what:
                    for dom, parts in meta.items():
                        for part in ("semi", "book"):
                            for slot, v in (parts.get(part) or {}).items():
                                if slot == "booked" or not isinstance(v, str):
                                    continue
                                key = f"{dom}-book {slot}" if part == "book" else f"{dom}-{slot}"
                                sq = {squeeze(h): h for h in human_values.get(key, ())}
                                if v not in human_values.get(key, ()) and squeeze(v) in sq:
                                    parts[part][slot] = sq[squeeze(v)]
                for key, pairs in acts.items():
                    dom, _, intent = key.partition("-")
                    if intent in ("Recommend", "Inform") and dom.lower() in ("hotel", "restaurant", "attraction"):
                        for slot, v in pairs:
                            if slot == "Name":
                                offered[dom.lower()] = str(v).lower()
            elif "names" in what:
                doms = {k.partition("-")[0].lower() for k in acts}
                for dom in list(offered):
                    if dom in doms:
                        taken[dom] = offered.pop(dom)
        out[did] = d
    return out


def _jga(gold: list, predicted: list) -> float:
    return sum(dict(g) == dict(p) for g, p in zip(gold, predicted)) / len(gold)


def _pred_changes(test: list, predicted: list) -> list[dict[str, str]]:
    out, prev, last = [], {}, None
    for e, p in zip(test, predicted):
        if e.dialogue_id != last:
            prev, last = {}, e.dialogue_id
        out.append({s: v for s, v in p.items() if prev.get(s) != v})
        prev = p
    return out


def domain_words(train_gen: list, train_real: list, top: int = 10) -> None:
    """How users name a domain in the turn that first sets one of its slots: human against generated."""
    print("\n== how the user names the domain in the turn that opens it (share of such turns holding the word) ==")
    for domain in ("hotel", "restaurant", "attraction", "train", "taxi"):
        shares = {}
        for name, exs in (("human", train_real), ("generated", train_gen)):
            seen, grams, n = set(), Counter(), 0
            for e, ch in zip(exs, changes(exs)):
                key = (e.dialogue_id, domain)
                if key in seen or not any(s.startswith(domain + "-") for s in ch):
                    continue
                seen.add(key)
                n += 1
                grams.update(ngrams(turn_texts(e)[0], 2))
            shares[name] = {g: c / max(n, 1) for g, c in grams.items()}
        h, g = shares["human"], shares["generated"]
        more_h = sorted(h, key=lambda w: -(h[w] - g.get(w, 0)))[:top]
        more_g = sorted(g, key=lambda w: -(g[w] - h.get(w, 0)))[:top]
        print(f"  {domain:10} human says more: " + ", ".join(f"{w} {h[w]:.2f}/{g.get(w, 0):.2f}" for w in more_h))
        print(f"  {'':10} generated says more: " + ", ".join(f"{w} {h.get(w, 0):.2f}/{g[w]:.2f}" for w in more_g))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--set", dest="set_name", required=True)
    ap.add_argument("--reference", type=Path, default=VAL)
    ap.add_argument("--slots", type=int, default=10, help="Slots to show examples for (largest gap first).")
    ap.add_argument("--examples", type=int, default=3)
    ap.add_argument("--what-if", action="store_true",
                    help="Only estimate: JGA of the generated-trained tracker with MultiWOZ's labelling conventions applied to its states.")
    args = ap.parse_args()

    ref = load_file(args.reference)
    first, rest = split_sorted(ref, len(ref) // 2)
    store = CorpusStore(args.db)
    try:
        got = load_set(store, args.set_name)
    finally:
        store.close()
    by_key = {}
    for did in sorted(got.dialogues):
        by_key.setdefault(reference_id(got.goal_ids[did]) or did, did)
    keys = sorted(set(by_key) & set(first))
    train_gen = examples(got.dialogues, [by_key[k] for k in keys])
    train_real = examples(ref, keys)
    test = examples(ref, rest)
    gold = [e.state for e in test]
    if args.what_if:
        human_values: dict[str, set[str]] = defaultdict(set)
        for e in train_real:
            for slot, v in e.state.items():
                human_values[slot].add(v)
        ids = [by_key[k] for k in keys]
        real_jga = _jga(gold, BeliefTracker(seed=0).fit(train_real).predict(test))
        for what in ((), ("spellings",), ("names",), ("names", "spellings")):
            dialogues = relabel({d: got.dialogues[d] for d in ids}, set(what), human_values) if what else got.dialogues
            train = examples(dialogues, ids)
            j = _jga(gold, BeliefTracker(seed=0).fit(train).predict(test))
            names = sum(1 for ch in changes(train) for s in ch if s.endswith("-name") and not s.startswith("taxi"))
            print(f"generated states {'+'.join(what) or 'as stored':20} JGA {j:.3f}  ratio to human-trained {j / real_jga:.2f}"
                  f"  (venue-name changes in training: {names})")
        return
    gen = BeliefTracker(seed=0).fit(train_gen)
    real = BeliefTracker(seed=0).fit(train_real)
    pg, pr = gen.predict(test), real.predict(test)
    jga = lambda p: sum(dict(g) == dict(x) for g, x in zip(gold, p)) / len(gold)  # noqa: E731
    print(f"{len(keys)} paired goals; test {len(rest)} dialogues, {len(test)} turns; "
          f"JGA generated-trained {jga(pg):.3f}, human-trained {jga(pr):.3f}")

    slots = sorted({s for g in gold for s in g})
    acc = {s: (sum(g.get(s) == p.get(s) for g, p in zip(gold, pr)) / len(test),
               sum(g.get(s) == p.get(s) for g, p in zip(gold, pg)) / len(test)) for s in slots}
    # Events, not turns: a miss is a turn whose gold *change* the tracker does not make (later turns only
    # carry it); an invention a turn where the tracker changes a slot to a value the gold state lacks.
    gold_ch, gen_ch, real_ch = changes(test), _pred_changes(test, pg), _pred_changes(test, pr)
    kinds: dict[str, Counter] = defaultdict(Counter)
    cases: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    gen_user = Counter()
    for e in train_gen:
        gen_user.update(ngrams(turn_texts(e)[0], 3))
    missed_grams: dict[str, Counter] = defaultdict(Counter)
    for i, e in enumerate(test):
        for slot, gv in gold_ch[i].items():
            if pg[i].get(slot) == gv or pr[i].get(slot) != gv:
                continue  # the generated-trained tracker made it, or the human-trained one missed it too
            known = set(gen.values.get(slot, ()))
            known_sq = {squeeze(v): v for v in known}
            if gv not in known and gv != DONTCARE:
                kind = "unknown value" + (f" (generated: {known_sq[squeeze(gv)]})" if squeeze(gv) in known_sq else "")
            elif where_said(e, slot, gv) in ("user", "system"):
                kind = "said in the turn"
            else:
                kind = "meant, not said"
                missed_grams[slot.split("-", 1)[1]].update(g for g in ngrams(turn_texts(e)[0], 2))
            kinds[slot][kind.split(" (")[0]] += 1
            cases[slot][kind].append((e, gv, pg[i].get(slot)))
        for slot, v in gen_ch[i].items():
            if gold[i].get(slot) != v and real_ch[i].get(slot) != v and gold[i].get(slot) is None:
                kinds[slot]["invented"] += 1
                cases[slot]["invented"].append((e, None, v))

    print("\n== per slot: gold changes the generated-trained tracker misses and the human-trained one makes, by kind;"
          " inventions (changes to a value the gold lacks) ==")
    print(f"{'slot':24} {'human':>6} {'gen':>6} {'gap':>6}  {'said':>5} {'unknown':>7} {'meant':>5} {'invented':>8}")
    order = sorted(slots, key=lambda s: acc[s][1] - acc[s][0])
    for s in order:
        k = kinds[s]
        print(f"{s:24} {acc[s][0]:>6.3f} {acc[s][1]:>6.3f} {acc[s][0] - acc[s][1]:>6.3f}  {k['said in the turn']:>5} "
              f"{k['unknown value']:>7} {k['meant, not said']:>5} {k['invented']:>8}")
    total = Counter()
    for k in kinds.values():
        total.update(k)
    print(f"{'all slots':24} {'':>6} {'':>6} {'':>6}  {total['said in the turn']:>5} {total['unknown value']:>7} "
          f"{total['meant, not said']:>5} {total['invented']:>8}")

    print("\n== user wording: words of human turns whose change the generated tracker missed, value not said "
          "(count there; count in all generated user turns) ==")
    for kind, grams in sorted(missed_grams.items(), key=lambda kv: -sum(kv[1].values())):
        top = [(g, n) for g, n in grams.most_common() if gen_user[g] <= 2][:12]
        if top:
            print(f"  {kind:14} " + "; ".join(f"{g} ({n}; {gen_user[g]})" for g, n in top))

    domain_words(train_gen, train_real)

    conventions(train_gen, train_real)


    print("\n== examples (gold -> generated-trained prediction; the human-trained one was right) ==")
    for s in order[: args.slots]:
        print(f"\n-- {s}")
        for kind, items in sorted(cases[s].items(), key=lambda kv: -len(kv[1])):
            print(f"  {kind}: {len(items)}")
            for e, gv, g_ in items[: args.examples]:
                user, system = turn_texts(e)
                print(f"    [{e.dialogue_id}:{e.turn}] system: {' '.join(system.split())[:110]!r}")
                print(f"      user: {' '.join(user.split())[:130]!r}  gold {gv!r}, predicted {g_!r}")


if __name__ == "__main__":
    main()
