"""Readers' ratings joined with the key: figures per source, agreement, per turn by who phrased it, the judge beside.

Definitions (the README's):

- per source (each generated set, and the human dialogues of the reference file), over every
  rating of its dialogues: mean coherence, fluency and naturalness; shares of ratings with roles
  broken, facts broken, goal reached, keep (the keep rate); per reader, how many of the source's
  dialogues they kept.
- agreement, per source and over the whole sheet: Cohen's kappa on keep for each pair of readers
  over the dialogues both rated, averaged over the pairs where it is defined. It is undefined for a
  pair that gave every shared dialogue one same answer (chance agreement is then 1: nothing to
  correct for); it is 0 whenever one of the two gave one answer throughout (a reader who keeps
  everything agrees by chance alone), which the report says. Scores: mean absolute difference per
  pair over shared dialogues, averaged over pairs.
- per turn: each rating marks the sheet turns it names in roles_turns / facts_turns; a turn's
  class is who phrased it (the key's ``phrased_by``: llm, template, human; unmarked where the
  key has none). Share = marks / (turns x ratings) of the class. Ratings that say broken but
  name no turn are counted apart.
- the judge beside the readers, over generated dialogues with a verdict: of those every reader
  who rated them kept, the share the judge accepted; of those every reader rejected, the share
  the judge rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from goalconvo.assess.reading.ratings_file import Rating, RatingsFile
from goalconvo.assess.reading.rubric import SCORES
from goalconvo.assess.reading.sheet import KeyItem, ReadingKey


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa of two readers' keep answers over the dialogues both rated."""

    a: str
    b: str
    n: int
    kappa: float | None  #: None: undefined (both gave every shared dialogue the same one answer)
    note: str = ""


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float | None:
    """(p_o - p_e) / (1 - p_e) over paired yes/no answers; None where p_e = 1 (undefined)."""
    n = len(a)
    if n == 0 or n != len(b):
        raise ValueError("kappa needs two equally long, non-empty answer lists")
    ya, yb = sum(a), sum(b)
    if (ya == yb == 0) or (ya == yb == n):
        return None
    po = sum(x == y for x, y in zip(a, b)) / n
    pe = (ya / n) * (yb / n) + (1 - ya / n) * (1 - yb / n)
    return (po - pe) / (1 - pe)


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def _pairs(ratings: Sequence[Rating]) -> list[tuple[str, str, list[tuple[Rating, Rating]]]]:
    by_reader: dict[str, dict[int, Rating]] = {}
    for r in ratings:
        by_reader.setdefault(r.reader, {})[r.item] = r
    out = []
    for a, b in combinations(sorted(by_reader), 2):
        shared = sorted(set(by_reader[a]) & set(by_reader[b]))
        out.append((a, b, [(by_reader[a][i], by_reader[b][i]) for i in shared]))
    return out


def agreement(ratings: Sequence[Rating]) -> dict[str, Any]:
    """Mean pairwise kappa on keep (with each pair's, and why one is undefined or 0) and mean absolute score differences."""
    pairs: list[Kappa] = []
    mad: dict[str, list[float]] = {s: [] for s in SCORES}
    for a, b, shared in _pairs(ratings):
        if not shared:
            continue
        ka, kb = [x.keep for x, _ in shared], [y.keep for _, y in shared]
        k = cohen_kappa(ka, kb)
        constant = [f"{who} {'kept' if ans[0] else 'rejected'} every one" for who, ans in ((a, ka), (b, kb))
                    if len(set(ans)) == 1]
        if k is None:
            note = f"undefined: both gave all {len(shared)} shared dialogues the same answer ({'keep' if ka[0] else 'reject'})"
        elif constant:
            note = "0 by definition: " + "; ".join(constant)
        else:
            note = ""
        pairs.append(Kappa(a, b, len(shared), k, note))
        for s in SCORES:
            mad[s].append(sum(abs(getattr(x, s) - getattr(y, s)) for x, y in shared) / len(shared))
    defined = [p.kappa for p in pairs if p.kappa is not None]
    if not pairs:
        summary = "no two readers rated the same dialogue"
    elif not defined:
        summary = f"undefined for every pair ({len(pairs)}): each pair gave every shared dialogue the same answer"
    else:
        summary = f"mean of {len(defined)} pair(s)" + (f"; undefined for {len(pairs) - len(defined)}" if len(defined) < len(pairs) else "")
    return {
        "keep_kappa": _r(_mean(defined)),
        "keep_kappa_note": summary,
        "keep_kappa_pairs": [{"readers": [p.a, p.b], "dialogues": p.n, "kappa": _r(p.kappa), "note": p.note} for p in pairs],
        "score_mad": {s: _r(_mean(v)) for s, v in mad.items()},
    }


def _figures(ratings: Sequence[Rating]) -> dict[str, Any]:
    n = len(ratings)
    out: dict[str, Any] = {"ratings": n}
    for s in SCORES:
        out[s] = _r(_mean([getattr(r, s) for r in ratings]))
    for name, attr in (("roles_broken", "roles_broken"), ("facts_broken", "facts_broken"), ("goal", "goal"),
                       ("keep", "keep")):
        out[name] = _r(_mean([float(getattr(r, attr)) for r in ratings]))
    return out


def _group_of(k: KeyItem) -> str:
    return f"human {k.set_name}" if k.source == "human" else f"generated {k.set_name}"


def score(key: ReadingKey, files: Sequence[RatingsFile]) -> dict[str, Any]:
    """The whole report (see the module docstring) as plain data, for printing and ``--json``."""
    names = [f.reader for f in files]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"reader {', '.join(dup)} has more than one ratings file; name each NAME=FILE")
    ratings = [r for f in files for r in f.ratings]
    items = {k.item: k for k in key.items}
    groups: dict[str, list[KeyItem]] = {}
    for k in sorted(key.items, key=lambda k: (k.source == "human", k.set_name, k.item)):
        groups.setdefault(_group_of(k), []).append(k)
    per_group = []
    for name, ks in groups.items():
        wanted = {k.item for k in ks}
        rs = [r for r in ratings if r.item in wanted]
        readers = {}
        for f in files:
            mine = [r for r in f.ratings if r.item in wanted]
            readers[f.reader] = {"rated": len(mine), "kept": sum(r.keep for r in mine),
                                 "roles_broken": sum(r.roles_broken for r in mine),
                                 "facts_broken": sum(r.facts_broken for r in mine),
                                 **{s: _r(_mean([getattr(r, s) for r in mine])) for s in SCORES}}
        per_group.append({
            "group": name, "source": ks[0].source, "set": ks[0].set_name, "dialogues": len(ks),
            "rated_dialogues": len({r.item for r in rs}),
            **_figures(rs), "per_reader": readers, "agreement": agreement(rs),
        })
    return {
        "sheet": key.sheet_id,
        "readers": [{"reader": f.reader, "file": str(f.path), "sha256": f.sha256, "rated": len(f.ratings),
                     "warnings": f.warnings} for f in files],
        "groups": per_group,
        "agreement": agreement(ratings),
        "turns": per_turn(items, ratings),
        "judge": judge_beside(items, ratings),
    }


def per_turn(items: dict[int, KeyItem], ratings: Sequence[Rating]) -> dict[str, Any]:
    """Roles and facts marks per sheet turn, by who phrased the turn and who spoke it."""
    acc: dict[tuple[str, str], list[int]] = {}
    unplaced = {"roles": 0, "facts": 0}
    for r in ratings:
        k = items[r.item]
        for what in ("roles", "facts"):
            if getattr(r, f"{what}_broken") and not getattr(r, f"{what}_turns"):
                unplaced[what] += 1
        for t in k.turns:
            a = acc.setdefault((t.phrased_by or "unmarked", t.speaker), [0, 0, 0])
            a[0] += 1
            a[1] += t.turn in r.roles_turns
            a[2] += t.turn in r.facts_turns
    rows = [{"phrased_by": by, "speaker": sp, "turn_ratings": n, "roles_marked": ro, "roles_share": _r(ro / n),
             "facts_marked": fa, "facts_share": _r(fa / n)}
            for (by, sp), (n, ro, fa) in sorted(acc.items())]
    return {"rows": rows, "broken_without_turns": unplaced}


def judge_beside(items: dict[int, KeyItem], ratings: Sequence[Rating]) -> dict[str, Any]:
    """Of the generated dialogues every reader kept, the share the judge accepted; of those all rejected, the share it rejected."""
    keeps: dict[int, list[bool]] = {}
    for r in ratings:
        if items[r.item].source == "generated" and items[r.item].judge_accepted is not None:
            keeps.setdefault(r.item, []).append(r.keep)
    all_kept = [i for i, ks in keeps.items() if all(ks)]
    all_rejected = [i for i, ks in keeps.items() if not any(ks)]
    acc = sum(bool(items[i].judge_accepted) for i in all_kept)
    rej = sum(not items[i].judge_accepted for i in all_rejected)
    return {
        "judged_and_rated": len(keeps),
        "all_readers_kept": len(all_kept), "judge_accepted_of_those": acc,
        "judge_accept_share": _r(acc / len(all_kept)) if all_kept else None,
        "all_readers_rejected": len(all_rejected), "judge_rejected_of_those": rej,
        "judge_reject_share": _r(rej / len(all_rejected)) if all_rejected else None,
        "judge_accepted_overall": sum(bool(items[i].judge_accepted) for i in keeps),
    }


def storage_rows(key: ReadingKey, files: Sequence[RatingsFile], now: float) -> list[list[Any]]:
    """The ``ratings`` table's rows (``sinks.ratings.COLUMNS``) for these files."""
    items = {k.item: k for k in key.items}
    rows = []
    for f in files:
        for r in f.ratings:
            k = items[r.item]
            rows.append([
                key.sheet_id, f.reader, r.item, k.source, k.dialogue_id, k.set_name, k.domain_set, r.coherence,
                r.fluency, r.natural, r.roles_broken, list(r.roles_turns), r.facts_broken, list(r.facts_turns),
                r.goal, r.keep, r.why, k.judge_accepted, f.path.name, f.sha256, now,
            ])
    return rows
