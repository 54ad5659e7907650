"""``goalconvo packs``: list, show, validate and scaffold domain packs; import one from SGD's files.

A pack is a folder (``goalconvo.packs``): SGD's ``schema.json``, entity rows, and ``pack.toml``.
Every command here reads or writes folders only; none needs a broker or a corpus.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from goalconvo.commands.common import console, print_result, shown
from goalconvo.packs import PackError, find_pack, load_pack, shipped_names
from goalconvo.packs.builtin import DEFAULT_PACK, pack_toml
from goalconvo.packs.guided_keys import guided_problems
from goalconvo.packs.model import Pack
from goalconvo.packs.scaffold import new_pack
from goalconvo.packs.sgd_import import import_sgd


def _refuse(e: PackError) -> None:
    """Every problem on its own line (an author fixes them all in one go), exit status 1."""
    console.print(f"[red]error:[/red] the pack is refused ({len(e.problems)} problem(s)):")
    for p in e.problems:
        console.print(f"  {shown(p)}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _summary(p: Pack) -> dict:
    return {
        "name": p.meta.name, "version": p.meta.version, "ref": p.ref, "licence": p.meta.licence,
        "attribution": p.meta.attribution, "setting": p.meta.setting, "description": p.meta.description,
        "delivers": p.meta.delivered, "delivers_is_default": not p.meta.delivers,
        "root": p.root,
        "services": [{
            "name": s.name, "description": s.description,
            "slots": [x.name for x in s.slots],
            "intents": [{"name": i.name, "transactional": i.is_transactional, "required": list(i.required_slots),
                         "optional": i.optional_slots, "results": list(i.result_slots)} for i in s.intents],
            "entities": len(p.entities.get(s.name, ())), "per_call": s.name in p.per_call,
        } for s in p.services],
        "failures": [{"service": f.service, "intent": f.intent, "kind": f.kind, "rate": f.rate} for f in p.failures],
        "user_state": [{"service": u.service, "records": len(u.rows), "key": u.key} for u in p.user_states],
        "diagnosis": [{"service": d.service, "asks": list(d.asks), "rows": len(d.rows)} for d in p.diagnoses],
        "files": p.extras,
    }


def packs_list(as_json: bool = typer.Option(False, "--json", help="Packs as JSON.")) -> None:
    """The packs shipped with goalconvo: name, version, services, licence. Any folder works too (a path)."""
    rows = []
    for name in shipped_names():
        try:
            p = find_pack(name)
            rows.append([p.meta.name, p.meta.version, ", ".join(s.name for s in p.services), p.meta.licence,
                         p.meta.setting])
        except PackError as e:  # a shipped pack that does not load is a bug: say so, list the rest
            rows.append([name, "?", f"refused: {e.problems[0]}", "", ""])
    print_result(["name", "version", "services", "licence", "setting"], rows, as_json)


def packs_show(
    pack: str = typer.Argument(..., help="A shipped pack's name or a pack folder's path."),
    as_json: bool = typer.Option(False, "--json", help="The pack as JSON."),
) -> None:
    """A pack's services, slots and intents, entity counts, failures, per-user state and diagnosis tables."""
    try:
        p = find_pack(pack)
    except PackError as e:
        _refuse(e)
    info = _summary(p)
    if as_json:
        print(json.dumps(info))
        return
    print(f"{p.ref}  ({p.meta.licence}; {p.meta.attribution})\n  setting: {p.meta.setting}\n  delivers: {p.meta.delivered}{'' if p.meta.delivers else ' (default: the pack has no [pack] delivers)'}\n  {p.meta.description}")
    for s in info["services"]:
        made = "per call" if s["per_call"] else f"{s['entities']} entities"
        print(f"\nservice {s['name']} ({made}): {s['description']}\n  slots: {', '.join(s['slots'])}")
        for i in s["intents"]:
            kind = "transactional" if i["transactional"] else "search"
            print(f"  intent {i['name']} ({kind}): needs {', '.join(i['required']) or 'nothing'}"
                  + (f"; optional {', '.join(f'{k}={v}' for k, v in i['optional'].items())}" if i["optional"] else "")
                  + f"; returns {', '.join(i['results']) or 'nothing'}")
    for f in info["failures"]:
        print(f"failure: {f['service']}.{f['intent']} {f['kind']} in {f['rate']:.0%} of goals")
    for u in info["user_state"]:
        print(f"per-user state: {u['service']}, {u['records']} records keyed by {u['key']}")
    for d in info["diagnosis"]:
        print(f"diagnosis: {d['service']} asks {', '.join(d['asks'])}; {d['rows']} rows")


def packs_validate(path: Path = typer.Argument(..., help="The pack folder (or its pack.toml) to check.")) -> None:
    """Check a pack: every fault named with its file, service and field (and line, for tables); exit 1 if any."""
    try:
        p = load_pack(path)
        if p.meta.name == DEFAULT_PACK:  # the guided engine runs it: the keys it reads, of their kinds
            problems = guided_problems(p, pack_toml)
            if problems:
                raise PackError(problems)
    except PackError as e:
        _refuse(e)
    rows = sum(len(v) for v in p.entities.values())
    print(f"ok: {p.ref}: {len(p.services)} service(s), {rows} entity row(s)")


def packs_new(
    name: str = typer.Argument(..., help="The new pack's name (letters, digits, '-', '_'); also its folder."),
    into: Path = typer.Option(Path("."), "--into", help="Folder to create the pack in."),
) -> None:
    """Write a scaffold pack (one service, two intents, three entity rows), commented field by field."""
    try:
        folder = new_pack(into / name)
        load_pack(folder)
    except PackError as e:
        _refuse(e)
    print(f"wrote {folder}/ (pack.toml, schema.json, entities/venues.csv); "
          f"edit them, then `goalconvo packs validate {folder}`")


def packs_import_sgd(
    source: Path = typer.Argument(..., help="A folder with SGD's schema.json and dialogues*.json files."),
    out: Path = typer.Option(..., "--out", help="Folder to write the pack to."),
    name: Optional[str] = typer.Option(None, "--name", help="The pack's name (default: the out folder's name)."),
    services: Optional[list[str]] = typer.Option(None, "--service", help="Import only this service (repeatable)."),
) -> None:
    """Build a pack from SGD's files: entity rows from service_results, goals from the user states.

    The pack keeps SGD's licence (CC BY-SA 4.0) and says where it came from.
    """
    if out.exists() and any(out.iterdir()):
        console.print(f"[red]error:[/red] {shown(out)} is not empty; give a new folder to --out")
        raise typer.Exit(1)
    try:
        report = import_sgd(source, out, name or out.name, services or None)
        p = load_pack(out)
    except PackError as e:
        _refuse(e)
    made = ", ".join([f"{s}: {n} entity rows" for s, n in report.entity_rows.items()]
                     + [f"{s}: results made per call" for s in report.per_call])
    print(f"wrote {p.ref} to {out}: {report.goals} goals from {report.dialogues} dialogues"
          + (f" ({report.skipped} used none of the services)" if report.skipped else "")
          + (f" ({report.merged} pursued a goal another dialogue had: written once)" if report.merged else "") + f"; {made}")
