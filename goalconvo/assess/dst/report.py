"""The tracker's figures as plain-text tables (for the terminal and the README) and as one JSON document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from goalconvo.assess.dst.experiment import Run, ratios, slot_gap, summarise

#: Version of the JSON document ``assess dst`` writes.
RESULT_VERSION = 1


def _f(x: float | None, nd: int = 3) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def summary_table(summary: Sequence[Mapping[str, Any]]) -> str:
    lines = [f"{'trained on':16} {'size':>5} {'dialogues':>9} {'draws':>5}  {'JGA mean':>8} {'sd':>6} {'min':>6} {'max':>6}"
             f"  {'slot acc':>8} {'sd':>6}  {'s/run':>5}"]
    for r in summary:
        j, a = r["jga"], r["slot_accuracy"]
        lines.append(
            f"{r['condition']:16} {str(r['size']):>5} {r['dialogues']:>9} {r['draws']:>5}  {_f(j['mean']):>8} {_f(j['sd']):>6} "
            f"{_f(j['min']):>6} {_f(j['max']):>6}  {_f(a['mean']):>8} {_f(a['sd'], 4):>6}  {r['seconds']:>5.1f}")
    return "\n".join(lines)


def ratio_table(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return ""
    lines = [f"{'ratio of JGA':24} {'size':>5} {'draws':>5}  {'JGA':>6} {'over':>6}  {'ratio':>6} {'range':>13}"]
    for r in rows:
        span = f"{_f(r['ratio_min'], 2)}-{_f(r['ratio_max'], 2)}"
        lines.append(f"{r['what']:24} {str(r['size']):>5} {r['draws']:>5}  {_f(r['numerator']):>6} "
                     f"{_f(r['denominator']):>6}  {_f(r['ratio'], 2):>6} {span:>13}")
    return "\n".join(lines)


def _values(pairs: Sequence[Sequence[Any]], n: int = 3) -> str:
    return ", ".join(" -> ".join(str(x) for x in p[:-1]) + f" ({p[-1]})" for p in pairs[:n])


def gap_table(rows: Sequence[Mapping[str, Any]], limit: int = 15) -> str:
    """The slots where the generated-trained tracker loses most against the real-trained one."""
    if not rows:
        return ""
    lines = [f"{'slot':24} {'real':>6} {'gen':>6} {'gap':>6}  generated-trained: missed / wrong (gold -> said) / invented"]
    for r in rows[:limit]:
        lines.append(f"{r['slot']:24} {_f(r['real']):>6} {_f(r['generated']):>6} {_f(r['gap']):>6}  "
                     f"missed {_values(r['top_missed'])}; wrong {_values(r['top_wrong'], 2)}; invented {_values(r['top_invented'])}")
    return "\n".join(lines)


def agreement_table(rows: Sequence[Mapping[str, Any]], limit: int = 12) -> str:
    """Per slot, the final states of a goal's human and generated dialogues: agreement and the commonest splits."""
    if not rows:
        return ""
    ranked = sorted(rows, key=lambda r: (-(r["only_real"] + r["only_generated"] + r["different"]), r["slot"]))
    lines = [f"{'slot':24} {'same':>5} {'only human':>10} {'only gen':>8} {'differ':>6}  commonest (human | generated)"]
    for r in ranked[:limit]:
        lines.append(f"{r['slot']:24} {r['same']:>5} {r['only_real']:>10} {r['only_generated']:>8} {r['different']:>6}  "
                     + "; ".join(f"{p} ({n})" for p, n in r["top_disagreements"][:3]))
    return "\n".join(lines)


def result(runs: Sequence[Run], *, test: Mapping[str, Any], training: Mapping[str, Any],
           agreement: list[dict[str, Any]] | None = None, gap_size: int | str | None = None,
           seconds: float | None = None) -> dict[str, Any]:
    """Everything one ``assess dst`` invocation measured, as one JSON-ready document."""
    summary = summarise(runs)
    out: dict[str, Any] = {
        "version": RESULT_VERSION, "test": dict(test), "training": dict(training),
        "summary": summary, "ratios": ratios(runs), "runs": [r.as_dict() for r in runs], "seconds": seconds,
    }
    if gap_size is not None:
        out["slot_gap"] = {"size": gap_size, "slots": slot_gap(runs, gap_size)}
    if agreement is not None:
        out["label_agreement"] = agreement
    return out


__all__ = ["RESULT_VERSION", "agreement_table", "gap_table", "ratio_table", "result", "summary_table"]
