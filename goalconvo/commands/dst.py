"""``assess dst evaluate`` (a belief tracker trained on a set and on real dialogues, tested on real ones)
and ``assess dst ratio`` (the figure users want: generated against real, same goals, one command)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

import typer

from goalconvo.commands.common import DbOpt, ModeOpt, console, fail, make_settings, open_corpus, run_async

SizesOpt = typer.Option(
    "all", "--sizes", help="Training sizes, comma-separated: dialogues per draw, or 'all' (the whole pool), e.g. 100,300,all.")
DrawsOpt = typer.Option(3, "--draws", min=1, help="Draws per size (draw k samples and trains with seed --seed + k).")
SeedOpt = typer.Option(0, "--seed", help="Seed of the first draw.")
OutOpt = typer.Option(None, "--out", "-o", help="Write every figure (runs, per-slot reports, summary) to this JSON file.")
DetailsOpt = typer.Option(
    False, "--details", help="Also print where the set-trained tracker loses, slot by slot, and how the labels differ.")


def parse_sizes(spec: str) -> list[int | None]:
    """``100,300,all`` -> ``[100, 300, None]`` (None: the whole pool)."""
    out: list[int | None] = []
    for part in spec.split(","):
        part = part.strip().lower()
        if part == "all":
            out.append(None)
        elif part.isdigit() and int(part) > 0:
            out.append(int(part))
        else:
            raise ValueError(f"--sizes: {part!r} is neither a positive number nor 'all'")
    if not out:
        raise ValueError("--sizes is empty")
    return out


def _progress(quiet: bool):
    def show(i: int, n: int, run: Any) -> None:
        if not quiet:
            console.print(f"[{i}/{n}] {run.condition} size {run.size} draw {run.draw}: {run.dialogues} dialogues, "
                          f"JGA {run.jga:.3f}, slot accuracy {run.slot_accuracy:.3f} ({run.seconds:.1f} s)", soft_wrap=True)
    return show


def _load_generated(db: Path | None, set_name: str):
    from goalconvo.assess.dst.examples import load_set, reference_id
    from goalconvo.assess.dst.experiment import GENERATED, as_pool

    s = make_settings(db=db)
    store = open_corpus(s.db)
    try:
        got = load_set(store, set_name)
    finally:
        store.close()
    keys = {d: reference_id(g) or d for d, g in got.goal_ids.items()}
    return as_pool(GENERATED, got.dialogues, keys), got.skipped


def _report(doc: dict[str, Any], *, as_json: bool, out: Path | None, details: bool, header: str) -> None:
    from goalconvo.assess.dst import report

    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(doc, indent=1))
    if as_json:
        print(json.dumps({k: v for k, v in doc.items() if k != "runs"}))
        return
    print(header)
    print()
    print(report.summary_table(doc["summary"]))
    if doc["ratios"]:
        print()
        print(report.ratio_table(doc["ratios"]))
    if details and doc.get("slot_gap"):
        print(f"\nwhere the set-trained tracker loses (size {doc['slot_gap']['size']}; slot accuracy, mean of the draws):")
        print(report.gap_table(doc["slot_gap"]["slots"]))
    if details and doc.get("label_agreement"):
        print("\nfinal states of the same goal, human dialogue | generated one (slots that disagree most):")
        print(report.agreement_table(doc["label_agreement"]))
    if out is not None:
        console.print(f"figures written to {out}")


def _experiment(test: dict[str, Any], test_ids: list[str], generated: Any, real: Any, *, sizes: str, draws: int,
                seed: int, augment: Optional[int], pair: bool, quiet: bool) -> tuple[Any, list[Any], float]:
    from goalconvo.assess.dst.examples import examples
    from goalconvo.assess.dst.experiment import Experiment

    exp = Experiment(examples(test, test_ids), generated=generated, real=real, sizes=parse_sizes(sizes), draws=draws,
                     seed=seed, augment=augment, pair=pair)
    if not exp.test:
        raise ValueError("the test dialogues hold no user turn followed by a belief state")
    t0 = time.monotonic()
    runs = exp.run(_progress(quiet))
    return exp, runs, time.monotonic() - t0


def _documents(exp: Any, runs: list[Any], seconds: float, test_meta: dict[str, Any], train_meta: dict[str, Any]) -> dict[str, Any]:
    from goalconvo.assess.dst import report
    from goalconvo.assess.dst.experiment import ALL, GENERATED, REAL, label_agreement

    both = exp.generated is not None and exp.real is not None
    sizes = [r.size for r in runs if r.condition == GENERATED]
    gap = (ALL if ALL in sizes else max((s for s in sizes if s != ALL), default=None)) if both else None
    agreement = label_agreement(exp.generated, exp.real) if both and exp.paired_keys else None
    train_meta = {**train_meta, "paired_goals": len(exp.paired_keys), "sizes": sorted({str(r.size) for r in runs}),
                  "draws": exp.draws, "seed": exp.seed, "augment": exp.augment,
                  "generated_dialogues": len(exp.generated.dialogues) if exp.generated else None,
                  "real_dialogues": len(exp.real.dialogues) if exp.real else None}
    doc = report.result(runs, test=test_meta, training=train_meta, agreement=agreement,
                        gap_size=gap if gap is not None and any(r.condition == REAL and r.size == gap for r in runs) else None,
                        seconds=round(seconds, 1))
    return doc


def evaluate(
    test: Path = typer.Option(..., "--test", help="Real dialogues to test on, in MultiWOZ's layout (.json or .json.zip)."),
    set_name: Optional[str] = typer.Option(
        None, "--set", help="Dialogue set to train on: its accepted dialogues with their stored belief states (guided mode)."),
    real: Optional[Path] = typer.Option(
        None, "--real", help="Real dialogues to train on (MultiWOZ layout). The same file as --test is cut with --split."),
    split: Optional[int] = typer.Option(
        None, "--split", min=1,
        help="Cut --test after this many dialogues in sorted id order and test on the rest; the first part is the real "
        "training pool when --real is the same file (default then: half, 499 of MultiWOZ val's 999)."),
    sizes: str = SizesOpt,
    draws: int = DrawsOpt,
    seed: int = SeedOpt,
    augment: Optional[int] = typer.Option(
        None, "--augment", min=1, help="Also train on this many real dialogues plus the whole set, against those real ones alone."),
    pair: bool = typer.Option(
        True, "--pair/--no-pair",
        help="When the set's goals come from the real training dialogues, draw the same goals for both (default)."),
    details: bool = DetailsOpt,
    out: Optional[Path] = OutOpt,
    db: Optional[Path] = DbOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON (without the per-run reports)."),
) -> None:
    """Train a belief-state tracker on a set and/or real dialogues; report JGA and slot accuracy on real ones.

    The tracker is linear over n-grams and value mentions; the slots and values it tracks come from the
    training states. Each size is drawn --draws times; the mean and spread are printed, a table per
    condition (generated, real, real+generated) and the ratio of generated to real JGA. Needs no GPU:
    500 training dialogues train and test in seconds to a minute on 2 cores.
    """
    from goalconvo.assess.dst.examples import NoBeliefStates, load_file, split_sorted
    from goalconvo.assess.dst.experiment import REAL, as_pool

    if set_name is None and real is None:
        fail(ValueError("nothing to train on: give --set NAME (a generated set), --real FILE, or both"))
    if augment is not None and (set_name is None or real is None):
        fail(ValueError("--augment needs both --set and --real"))
    try:
        test_dialogues = load_file(test)
        same = real is not None and real.resolve() == test.resolve()
        if same and split is None:
            split = len(test_dialogues) // 2
        test_ids = sorted(test_dialogues)
        first: list[str] = []
        if split is not None:
            first, test_ids = split_sorted(test_dialogues, split)
        real_pool = None
        if real is not None:
            real_dialogues = {d: test_dialogues[d] for d in first} if same else load_file(real)
            real_pool = as_pool(REAL, real_dialogues)
        generated, skipped = _load_generated(db, set_name) if set_name else (None, 0)
        if generated is not None:
            paired = pair and real_pool is not None and bool(set(generated.keys.values()) & set(real_pool.keys.values()))
            leaked = sorted(set(generated.keys.values()) & set(test_ids))
            if leaked and not paired:
                console.print(f"[yellow]warning: {len(leaked)} of the set's dialogues were generated from goals of test "
                              f"dialogues (e.g. {leaked[0]}): the test is not blind to them[/yellow]")
            elif paired and not as_json:
                unpaired = sum(k not in real_pool.keys for k in generated.keys.values())
                if unpaired:
                    console.print(f"{unpaired} of the set's dialogues have no goal among the real training dialogues: "
                                  "paired draws leave them out")
            if skipped:
                console.print(f"[yellow]{skipped} accepted dialogues of {set_name} carry no belief state: left out[/yellow]")
        exp, runs, seconds = _experiment(test_dialogues, test_ids, generated, real_pool, sizes=sizes, draws=draws,
                                         seed=seed, augment=augment, pair=pair, quiet=as_json)
    except (NoBeliefStates, KeyError, ValueError, OSError) as exc:
        fail(ValueError(exc.args[0]) if isinstance(exc, KeyError) else exc)
    test_meta = {"file": str(test), "dialogues": len(test_ids), "turns": len(exp.test), "split": split,
                 "first_test_id": test_ids[0], "empty_state_jga": _empty_jga(exp.test)}
    train_meta = {"set": set_name, "real": str(real) if real else None}
    doc = _documents(exp, runs, seconds, test_meta, train_meta)
    header = (f"test: {len(test_ids)} dialogues ({len(exp.test)} turns) of {test}; always-empty state JGA "
              f"{test_meta['empty_state_jga']:.3f}; paired goals {len(exp.paired_keys)}; {seconds:.0f} s")
    _report(doc, as_json=as_json, out=out, details=details, header=header)


def _empty_jga(test: list[Any]) -> float:
    return sum(not ex.state for ex in test) / len(test) if test else 0.0


def ratio(
    reference: Path = typer.Argument(
        ..., help="Real dialogues in MultiWOZ's layout (MultiWOZ val): the first half's goals are generated and its "
        "human dialogues trained on; the second half is the test."),
    set_name: Optional[str] = typer.Option(
        None, "--set", help="A set already generated from the first half's goals (skips the generation)."),
    split: Optional[int] = typer.Option(None, "--split", min=1, help="Where to cut, by sorted id (default: half)."),
    sizes: str = typer.Option("100,300,all", "--sizes", help="Training sizes, as for evaluate."),
    draws: int = DrawsOpt,
    seed: int = SeedOpt,
    augment: Optional[int] = typer.Option(
        100, "--augment", min=1, help="Real dialogues trained on with the whole set, against them alone."),
    details: bool = DetailsOpt,
    out: Optional[Path] = OutOpt,
    db: Optional[Path] = DbOpt,
    llm: Optional[str] = typer.Option("scripted", "--llm", help="Backend of the generation (default scripted: planner and templates)."),
    model: Optional[str] = typer.Option(None, "--model", help="Model of the backend."),
    llm_urls: Optional[str] = typer.Option(None, "--llm-urls", help="vLLM servers, comma-separated."),
    mode: Optional[str] = ModeOpt,
    concurrency: Optional[int] = typer.Option(32, "--concurrency", help="Dialogues in flight while generating."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Give up the generation after this many seconds."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON (without the per-run reports)."),
) -> None:
    """The figure users want: JGA of a tracker trained on N generated dialogues over JGA trained on the N real ones
    of the same goals.

    Generates one dialogue for each goal of the reference's first half (sorted by id, each goal once) into
    --db (unless --set names a set made so), then trains trackers on N of them and on the same N goals'
    human dialogues (--sizes, --draws each), and on --augment human dialogues with and without the whole
    set; all are tested on the reference's second half. Prints the table and the ratios; --out keeps the JSON.
    """
    from goalconvo.assess.dst.examples import NoBeliefStates, load_file, split_sorted
    from goalconvo.assess.dst.experiment import REAL, as_pool
    from goalconvo.core.goals import multiwoz_goal

    t0 = time.monotonic()
    try:
        ref = load_file(reference)
        first, test_ids = split_sorted(ref, split if split is not None else len(ref) // 2)
        generation: dict[str, Any] | None = None
        if set_name is None:
            missing = [d for d in first if not isinstance(ref[d].get("goal"), dict)]
            if missing:
                raise ValueError(f"{reference}: dialogue {missing[0]} has no goal to generate from")
            goals = [multiwoz_goal(d, ref[d]["goal"]) for d in first]
            s = make_settings(db=db, llm=llm, model=model, llm_urls=llm_urls, mode=mode, concurrency=concurrency)
            generation = _generate(s, goals, timeout, quiet=as_json)
            set_name = generation["set"]
        generated, skipped = _load_generated(db, set_name)
        keys = set(generated.keys.values())
        if not keys & set(first):
            raise ValueError(f"set {set_name!r} was not generated from the goals of {reference}'s first {len(first)} "
                             "dialogues; run without --set to generate them")
        real_pool = as_pool(REAL, {d: ref[d] for d in first})
        exp, runs, seconds = _experiment(ref, test_ids, generated, real_pool, sizes=sizes, draws=draws, seed=seed,
                                         augment=augment, pair=True, quiet=as_json)
    except (NoBeliefStates, KeyError, ValueError, OSError) as exc:
        fail(ValueError(exc.args[0]) if isinstance(exc, KeyError) else exc)
    test_meta = {"file": str(reference), "dialogues": len(test_ids), "turns": len(exp.test), "split": len(first),
                 "first_test_id": test_ids[0], "empty_state_jga": _empty_jga(exp.test)}
    train_meta = {"set": set_name, "real": str(reference), "generation": generation, "skipped_without_states": skipped}
    doc = _documents(exp, runs, seconds, test_meta, train_meta)
    doc["seconds_total"] = round(time.monotonic() - t0, 1)
    gen_note = (f"generated {generation['accepted']} of {generation['goals']} goals accepted in {generation['seconds']:.0f} s; "
                if generation else "")
    header = (f"set {set_name}: {gen_note}{len(exp.paired_keys)} goals with both a generated and a human dialogue; "
              f"test: the last {len(test_ids)} of {reference} ({len(exp.test)} turns; always-empty state JGA "
              f"{test_meta['empty_state_jga']:.3f}); trackers {seconds:.0f} s")
    _report(doc, as_json=as_json, out=out, details=details, header=header)


def _generate(settings: Any, goals: list[Any], timeout: float | None, *, quiet: bool) -> dict[str, Any]:
    """One dialogue per goal, stored as a new set in the corpus; the run's summary."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from goalconvo.commands.runner import run_goals
    from goalconvo.streams.broker import BrokerError

    with Progress(TextColumn("[bold]generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=quiet or not console.is_terminal) as bar:
        task = bar.add_task("run", total=len(goals))

        def progress(c: dict[str, int]) -> None:
            bar.update(task, completed=c["accepted"] + c["rejected"] + c["dead_lettered"])

        try:
            summary = run_async(run_goals(settings, len(goals), goals=goals, progress=progress, timeout_s=timeout))
        except (BrokerError, OSError, RuntimeError) as exc:
            raise ValueError(f"the generation failed: {exc}") from None
    if not quiet:
        console.print(f"generated set {summary.run_id}: {summary.accepted} accepted, {summary.rejected} rejected, "
                      f"{summary.dead_lettered} dead-lettered of {summary.goals} goals in {summary.seconds:.0f} s "
                      f"({settings.llm}, {settings.mode})")
    if not summary.finished:
        raise ValueError(f"the generation of set {summary.run_id} ended before every goal was accounted for")
    return {"set": summary.run_id, "goals": summary.goals, "accepted": summary.accepted, "rejected": summary.rejected,
            "dead_lettered": summary.dead_lettered, "seconds": round(summary.seconds, 1), "llm": settings.llm,
            "model": summary.model, "mode": settings.mode, "db": summary.db}
