"""The ``goalconvo`` command line, the top layer: it parses, then calls the packages below.

The command tree is assembled here; each command lives in a small module
(``run``, ``broker``, ``goals``, ``corpus``, ``judging``, ``ops``, ``sets``, ``reading``, ``packs``), shared options and helpers
in ``common``. ``runner`` starts broker, worker and sink together;
``corpus_ops`` holds the corpus operations that need a judge.
"""

from __future__ import annotations

import typer

from goalconvo.commands import broker, corpus, goals, judging, dst, ops, packs, reading, run, sets

app = typer.Typer(
    help="GoalConvo: grow a corpus of synthetic goal-oriented dialogues (Kafka + Faust + DuckDB).",
    no_args_is_help=True,
    add_completion=False,
)
goals_app = typer.Typer(help="Publish user goals to the goals topic.", no_args_is_help=True)
app.add_typer(goals_app, name="goals")
import_app = typer.Typer(help="Import real dialogue corpora as dialogue sets.", no_args_is_help=True)
app.add_typer(import_app, name="import")
backfill_app = typer.Typer(help="Fill the stream from a file, or the corpus from the stream.", no_args_is_help=True)
app.add_typer(backfill_app, name="backfill")
sets_app = typer.Typer(help="Dialogue sets (runs and imports): list them, delete one.", no_args_is_help=True)
app.add_typer(sets_app, name="sets")
assess_app = typer.Typer(
    help="Measure what users measure: blind reading sheets scored by people, and a belief tracker trained on a set.",
    no_args_is_help=True,
)
app.add_typer(assess_app, name="assess")
dst_app = typer.Typer(
    help="A belief-state tracker trained on a set and on real dialogues, tested on real ones (JGA, slot accuracy).",
    no_args_is_help=True,
)
assess_app.add_typer(dst_app, name="dst")
packs_app = typer.Typer(
    help="Domain packs (SGD's schema.json + entity rows + pack.toml): list, show, validate, scaffold, import from SGD.",
    no_args_is_help=True,
)
app.add_typer(packs_app, name="packs")

app.command()(run.run)
app.command()(run.worker)
app.command()(broker.broker)
goals_app.command("produce")(goals.goals_produce)
app.command()(corpus.query)
app.command()(corpus.metrics)
import_app.command("multiwoz")(judging.import_multiwoz)
import_app.command("sgd")(judging.import_sgd)
app.command()(judging.rejudge)
app.command()(judging.similarity)
app.command()(corpus.export)
app.command()(corpus.dashboard)
app.command()(ops.replay)
backfill_app.command("goals")(goals.backfill_goals)
backfill_app.command("sink")(ops.backfill_sink)
sets_app.command("list")(sets.sets_list)
sets_app.command("delete")(sets.sets_delete)
assess_app.command("sheet")(reading.assess_sheet)
assess_app.command("score")(reading.assess_score)
dst_app.command("evaluate")(dst.evaluate)
dst_app.command("ratio")(dst.ratio)
packs_app.command("list")(packs.packs_list)
packs_app.command("show")(packs.packs_show)
packs_app.command("validate")(packs.packs_validate)
packs_app.command("new")(packs.packs_new)
packs_app.command("import-sgd")(packs.packs_import_sgd)

__all__ = ["app"]
