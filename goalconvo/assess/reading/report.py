"""The score report as text: sources side by side, agreement, per-turn marks, the judge beside the readers."""

from __future__ import annotations

from typing import Any

from goalconvo.assess.reading.rubric import SCORES


def _f(v: Any, digits: int = 2) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return [fmt(head), fmt(["-" * w for w in widths]), *map(fmt, rows)]


def report_text(rep: dict[str, Any]) -> str:
    groups = rep["groups"]
    readers = [r["reader"] for r in rep["readers"]]
    lines = [f"sheet {rep['sheet']}: " + ", ".join(f"{g['dialogues']} {g['group']}" for g in groups),
             "readers: " + ", ".join(f"{r['reader']} ({r['rated']} rated)" for r in rep["readers"]), ""]
    rows: list[list[str]] = [
        ["dialogues rated", *[f"{g['rated_dialogues']} of {g['dialogues']}" for g in groups]],
        ["ratings", *[_f(g["ratings"]) for g in groups]],
        ["keep rate", *[_f(g["keep"]) for g in groups]],
        *[[f"  kept by {who}", *[f"{g['per_reader'][who]['kept']} of {g['per_reader'][who]['rated']}" for g in groups]]
          for who in readers],
        *[[s, *[_f(g[s]) for g in groups]] for s in SCORES],
        ["roles broken", *[_f(g["roles_broken"]) for g in groups]],
        ["facts broken", *[_f(g["facts_broken"]) for g in groups]],
        ["goal reached", *[_f(g["goal"]) for g in groups]],
        ["keep kappa (mean pairwise)", *[_f(g["agreement"]["keep_kappa"]) if g["agreement"]["keep_kappa"] is not None
                                         else "undefined" for g in groups]],
        *[[f"{s} mean abs. difference", *[_f(g["agreement"]["score_mad"][s]) for g in groups]] for s in SCORES],
    ]
    lines += _table(["", *[g["group"] for g in groups]], rows)
    # Each reader's own figures: what one reader's judgement says, compared within that reader.
    lines += ["", "each reader's figures (kept, coherence / fluency / natural means, dialogues with roles / facts broken):"]
    per = [[who, *[(lambda x: f"{x['kept']}/{x['rated']} kept, {_f(x['coherence'])} / {_f(x['fluency'])} / "
                    f"{_f(x['natural'])}, broken {x['roles_broken']} / {x['facts_broken']}")(g["per_reader"][who])
                   for g in groups]] for who in readers]
    lines += ["  " + x for x in _table(["reader", *[g["group"] for g in groups]], per)]
    for g in groups:
        note = g["agreement"]["keep_kappa_note"]
        if g["agreement"]["keep_kappa"] is None and note:
            lines.append(f"  kappa, {g['group']}: {note}")
    ag = rep["agreement"]
    lines += ["", "agreement over the whole sheet: keep kappa "
              + (_f(ag["keep_kappa"]) if ag["keep_kappa"] is not None else "undefined") + f" ({ag['keep_kappa_note']}); "
              + "mean abs. difference " + ", ".join(f"{s} {_f(ag['score_mad'][s])}" for s in SCORES)]
    for p in ag["keep_kappa_pairs"]:
        lines.append(f"  {p['readers'][0]} / {p['readers'][1]}: kappa {_f(p['kappa']) if p['kappa'] is not None else 'undefined'}"
                     f" over {p['dialogues']} dialogues" + (f" ({p['note']})" if p["note"] else ""))
    t = rep["turns"]
    if t["rows"]:
        lines += ["", "turns marked broken, by who phrased the turn (share = marks / (turns x ratings)):"]
        lines += ["  " + x for x in _table(
            ["phrased by", "speaker", "turn ratings", "roles marked", "share", "facts marked", "share"],
            [[r["phrased_by"], r["speaker"], str(r["turn_ratings"]), str(r["roles_marked"]), _f(r["roles_share"], 3),
              str(r["facts_marked"]), _f(r["facts_share"], 3)] for r in t["rows"]])]
        lost = t["broken_without_turns"]
        if lost["roles"] or lost["facts"]:
            lines.append(f"  ratings saying broken without naming a turn: roles {lost['roles']}, facts {lost['facts']}")
    j = rep["judge"]
    if j["judged_and_rated"]:
        lines += ["", f"the judge beside the readers ({j['judged_and_rated']} generated dialogues rated; "
                  f"the judge accepted {j['judge_accepted_overall']}):",
                  f"  kept by every reader: {j['all_readers_kept']}; the judge accepted {j['judge_accepted_of_those']}"
                  + (f" ({_f(j['judge_accept_share'])})" if j["judge_accept_share"] is not None else ""),
                  f"  rejected by every reader: {j['all_readers_rejected']}; the judge rejected {j['judge_rejected_of_those']}"
                  + (f" ({_f(j['judge_reject_share'])})" if j["judge_reject_share"] is not None else "")]
    warn = [(r["reader"], w) for r in rep["readers"] for w in r["warnings"]]
    if warn:
        lines += ["", *[f"note, {who}: {w}" for who, w in warn]]
    return "\n".join(lines) + "\n"
