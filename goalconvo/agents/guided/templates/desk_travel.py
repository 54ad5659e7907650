"""The desk's sentences for trains and taxis (found, booked), and the small helpers the rest of the desk shares.

``templates.desk`` renders a turn and calls these for its train and taxi acts; split out so each
file keeps to one job.
"""

from __future__ import annotations

import random

from goalconvo.agents.guided.normalize import norm
from goalconvo.agents.guided.templates import phrases as P
from goalconvo.agents.guided.templates.context import TurnContext
from goalconvo.agents.guided.templates.nouns import Slots, facts, has, join, pick, route, silent, take
from goalconvo.agents.guided.templates.words import display
from goalconvo.core.roles import RIDE, TIMETABLE


def cap(s: str) -> str:
    """``s`` with its first letter upper-case (the rest as it is: names keep their case)."""
    return s[:1].upper() + s[1:] if s else s


def fmt(frame: str, **kw: str) -> str:
    """A frame filled in; ``{Name}`` and ``{Id}`` are the name and id capitalised (a sentence's start)."""
    if "name" in kw:
        kw["Name"] = cap(kw["name"])
    if "id" in kw:
        kw["Id"] = cap(kw["id"])
    return frame.format(**kw)


def new_count(domain: str, choice: str, ctx: TurnContext) -> bool:
    """Whether a count of matches is news: "There are 5 theatres." said again the next turn reads as a machine."""
    return ctx.own_choice(domain) != choice.lower()


def render_train(s: Slots, rng: random.Random, ctx: TurnContext, nooffer: Slots | None) -> list[str]:
    """A train found (or none on that route and time, ``nooffer``): how many fit, the one offered, its times."""
    out: list[str] = []
    choice = take(s, "Choice")
    if choice and not new_count(TIMETABLE, choice, ctx):
        choice = ""
    ids = [v for v in s.pop("Id", []) if not silent(v)]
    if nooffer is not None:
        r = route(TIMETABLE, nooffer, rng)
        r = f" {r}" if r else ""
        if ids:
            lead = pick(rng, P.BOT_TRAIN_NOOFFER_BUT).format(route=r)
        else:
            out.append(pick(rng, P.BOT_TRAIN_NOOFFER).format(route=r))
            lead = ""
    else:
        lead = ""
    if choice and not ids:
        r = route(TIMETABLE, s, rng)
        if norm(choice) in ("1", "one"):
            out.append("There is just one train" + (f" {r}" if r else "") + ".")
        else:
            out.append(pick(rng, P.BOT_TRAIN_CHOICE).format(n=choice, route=f" {r}" if r else ""))
    elif ids:
        if choice and norm(choice) not in ("1", "one"):
            out.append(pick(rng, ("There are {c} trains.", "I have {c} trains that fit.", "{c} trains would work.")).format(c=choice).capitalize())
        tid = join([display("Id", i) for i in ids], "or")
        leave, arrive = take(s, "Leave", "or"), take(s, "Arrive", "or")
        dep, dest = take(s, "Depart"), take(s, "Dest")
        if leave and arrive:
            frames = P.BOT_TRAIN if (dep or dest) else tuple(f for f in P.BOT_TRAIN if "{dep}" not in f)
            sentence = fmt(pick(rng, frames), id=tid, leave=leave, arrive=arrive,
                            dep=f" {dep}" if dep else "", dest=f" in {dest}" if dest else "")
            if (dep or dest) and "{dep}" not in sentence and (dep not in sentence or dest not in sentence):
                sentence = sentence.rstrip(".") + f", running {' '.join(x for x in (f'from {dep}' if dep else '', f'to {dest}' if dest else '') if x)}."
        else:
            bits = [f"leaving at {leave}" if leave else "", f"arriving at {arrive}" if arrive else "",
                    f"from {dep}" if dep else "", f"to {dest}" if dest else ""]
            rest = join([b for b in bits if b])
            sentence = (f"{cap(tid)}, {rest}." if rest else pick(rng, (f"That's {tid}.", f"The train is {tid}.")))
        if lead:
            sentence = f"{lead} {sentence[:1].lower() if sentence[:2] == 'Th' else sentence[:1]}{sentence[1:]}"
        out.append(sentence)
    elif lead:
        out.append(lead.rstrip(" but") + ".")
    return out + facts(TIMETABLE, s, rng, "its")


def render_taxi(s: Slots, rng: random.Random) -> list[str]:
    """A taxi booked: the car, its route, its contact number."""
    out = []
    car = take(s, "Car", "or")
    r = route(RIDE, s, rng)
    if car:
        out.append(pick(rng, P.BOT_TAXI).format(car=car, route=f" {r}" if r else ""))
    elif r:
        out.append(f"The taxi will take you {r}.")
    if has(s, "Phone"):
        out.append(pick(rng, P.BOT_TAXI_PHONE).format(v=take(s, "Phone", "or")))
    return out + facts(RIDE, s, rng, "its")


def render_train_booked(s: Slots, rng: random.Random, times: Slots | None = None) -> list[str]:
    """``times``: the Leave/Arrive of the same train when this turn both finds and books it, said in
    the booking sentence ("I've booked 2 tickets on TR0721, which leaves at 11:50 and gets in at 12:07")
    rather than offering a train already booked."""
    tid = take(s, "Id", "or")
    ref, total = take(s, "Ref"), take(s, "Ticket")
    n = take(s, "People")
    out = []
    if tid:
        frames = P.BOT_TRAIN_BOOKED_PEOPLE if n else P.BOT_TRAIN_BOOKED
        leave, arrive = take(times or {}, "Leave"), take(times or {}, "Arrive")
        when = join([b for b in (f"leaves at {leave}" if leave else "", f"gets in at {arrive}" if arrive else "") if b])
        if when:  # a frame that ends on the train, so "which" is the train's
            frames = tuple(f for f in frames if f.endswith("{id}.")) or frames
        sentence = pick(rng, frames).format(id=tid, n=n)
        out.append(sentence.rstrip(".") + f", which {when}." if when else sentence)
    elif n:
        out.append(f"I've booked {n} tickets.")
    else:
        out.append(pick(rng, ("Your tickets are booked.", "I've booked the tickets.")))
    if total:
        out.append(pick(rng, P.BOT_TOTAL).format(v=total))
    if ref:
        out.append(pick(rng, P.BOT_REF).format(v=ref))
    return out + facts(TIMETABLE, s, rng, "its")
