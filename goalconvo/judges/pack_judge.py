"""The judge's checks for a dialogue of a domain pack: form, roles, and the goal read against the pack.

- ``rules``: turns alternate from the User, none empty or over ``MAX_TURN_CHARS``, no turn said
  twice in a row by the same side, at least two exchanges, the desk has the last word;
- ``sense``: the role cues (``nlu.roles``: what only a desk or only a customer says), which
  are domain-general; the fact and coherence checks need MultiWOZ's venues and stay off here;
- ``goal_check``: each task's values said (in the text, in the pack's own wording, or in a turn's
  acts: a person says "the 8th of March" for SGD's canonical ``2019-03-08``), each requested slot
  answered by the desk, and each task's outcome (a booking made, a refusal where the goal says it
  fails) as the desk's turns report it (their acts).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from goalconvo.core.records import CheckResult, Dialogue, PackTask, Turn
from goalconvo.nlu.roles import CUSTOMER_CUES, DESK_CUES, SELF_TALK, cues
from goalconvo.nlu.text import normalize, split_sentences
from goalconvo.packs.model import Pack
from goalconvo.packs.templates import load_templates, value_wordings

MAX_TURN_CHARS = 800


#: A phrasing model repeating its prompt ("The customer said: ...", "The clerk line in other words").
PROMPT_ECHO = re.compile(r"\b(the (customer|clerk)('s)? (said|says|is|line)|(customer|clerk) line|rewrite this|in other words)\b", re.I)


def check_pack_form(dialogue: Dialogue) -> CheckResult:
    turns = dialogue.turns
    problems = []
    for i, t in enumerate(turns):
        if t.speaker != ("user" if i % 2 == 0 else "bot"):
            problems.append(f"turn {i}: {t.speaker} speaks out of turn")
        if not t.text.strip():
            problems.append(f"turn {i}: empty")
        if len(t.text) > MAX_TURN_CHARS:
            problems.append(f"turn {i}: {len(t.text)} characters (at most {MAX_TURN_CHARS})")
        if i >= 2 and normalize(t.text) == normalize(turns[i - 2].text):
            problems.append(f"turn {i}: says turn {i - 2} again")
        echo = PROMPT_ECHO.search(t.text)
        if echo:
            problems.append(f"turn {i}: repeats the phrasing prompt ({echo.group()!r})")
    if sum(1 for t in turns if t.speaker == "bot") < 2:
        problems.append("fewer than two exchanges")
    if turns and turns[-1].speaker != "bot":
        problems.append("the User has the last word")
    return CheckResult(name="rules", passed=not problems, reason="; ".join(problems) or "form ok")


def check_pack_roles(dialogue: Dialogue) -> CheckResult:
    faults = []
    for i, t in enumerate(dialogue.turns):
        for s in split_sentences(normalize(t.text)):
            wrong = cues(s.text, DESK_CUES if t.speaker == "user" else CUSTOMER_CUES) + cues(s.text, SELF_TALK)
            who = "User" if t.speaker == "user" else "desk"
            faults += [f"turn {i} ({who}, role): {label} ({words!r})" for label, words in wrong]
    return CheckResult(name="sense", passed=not faults, score=float(len(faults)),
                       reason="; ".join(faults[:5]) or "no turn out of role")


def says(text: str, value: str) -> bool:
    """Whether normalised ``text`` says ``value`` as a whole: "9:15" is not said by "19:15", "$60" not by "$600"."""
    value = value.strip()
    if not value:
        return False
    return re.search(rf"(?<![\w:.,]){re.escape(value)}(?![\w:]|[.,][0-9])", text) is not None


def _task_rows(pack: Pack, task: PackTask) -> list[dict[str, str]]:
    """The entity rows (or the user's records) a task is about: those fitting every value it names of their
    columns; every row where none fits (a dialogue about an entity the pack lacks)."""
    rows = [*pack.entities.get(task.service, ()), *(r for u in pack.user_states if u.service == task.service for r in u.rows)]
    fitting = [r for r in rows if any(k in r for k in task.inform)
               and all(r[k].lower() == v.lower() for k, v in task.inform.items() if k in r and v != "dontcare")]
    return fitting or rows


_TOLD = ("INFORM", "OFFER")


def _act_pairs(turn: Turn, service: str, acts: tuple[str, ...] | None = None) -> set[tuple[str, str]]:
    """(slot, value) pairs a turn's acts carry for a service (only ``acts`` of them, when given)."""
    out = set()
    for key, pairs in turn.acts.items():
        svc, _, act = key.rpartition("-")
        if svc == service and (acts is None or act in acts):
            out |= {(p[0], normalize(p[1])) for p in pairs if len(p) == 2 and p[1] not in ("", "none")}
    return out


def _act_names(turn: Turn, service: str) -> set[str]:
    return {key.rpartition("-")[2] for key in turn.acts if key.rpartition("-")[0] == service}


def _opens(turn: Turn, task: PackTask) -> bool:
    """The turn where a task begins: the User says its intent, or the desk offers it."""
    return any(key.rpartition("-")[0] == task.service and key.rpartition("-")[2] in ("INFORM_INTENT", "OFFER_INTENT")
               and any(len(p) == 2 and p[1] == task.intent for p in pairs) for key, pairs in turn.acts.items())


def task_spans(dialogue: Dialogue, tasks: Sequence[PackTask]) -> list[tuple[int, int]]:
    """Each task's turns, in goal order: from the turn that opens it to the one opening the next task.

    A task no turn opens (a dialogue without acts, or a user who never names the intent) runs from
    the previous task's start, so a goal is never judged stricter than its turns can show.
    """
    turns = dialogue.turns
    starts: list[int] = []
    at = 0
    for task in tasks:
        found = next((i for i in range(at, len(turns)) if _opens(turns[i], task)), None)
        starts.append(found if found is not None else (starts[-1] if starts else 0))
        if found is not None:
            at = found + 1
    ends = [next((s for s in starts[k + 1:] if s > starts[k]), len(turns)) for k in range(len(starts))]
    return list(zip(starts, ends))


def _task_done(dialogue: Dialogue, pack: Pack, task: PackTask, templates: dict, span: tuple[int, int]) -> list[str]:
    """What the dialogue leaves undone of one task (empty when it is done).

    A value counts as said when the text says it whole (or the pack's own wording of it) or a turn's
    acts carry it: a person says "the 8th of March" for SGD's canonical ``2019-03-08``. A request is
    answered when the desk tells the slot (its INFORM or OFFER acts, never its own question), or its
    text says the value of the entity the task is about; an outcome counts only in the task's turns.
    """
    missing = []
    turns = dialogue.turns
    user_text = " ".join(normalize(t.text) for t in turns if t.speaker == "user")
    desk = [t for t in turns if t.speaker == "bot"]
    desk_text = " ".join(normalize(t.text) for t in desk)
    carried = set().union(*(_act_pairs(t, task.service) for t in turns))
    for slot, value in task.inform.items():
        forms = [normalize(value)] + [normalize(w).rstrip(".!?") for w in value_wordings(templates, task.service, slot, value)]
        said = any(says(user_text, f) or says(desk_text, f) for f in forms) or (slot, normalize(value)) in carried
        if value != "dontcare" and not said:
            missing.append(f"{task.intent}: {slot} {value!r} never said")
    told = {slot for t in desk for slot, _ in _act_pairs(t, task.service, _TOLD)}
    rows = _task_rows(pack, task)
    for slot in task.request:
        known = {normalize(r[slot]) for r in rows if r.get(slot)}
        if not (slot in told or any(says(desk_text, v) for v in known)):
            missing.append(f"{task.intent}: {slot} asked for, never answered")
    svc = pack.service(task.service)
    intent = svc.intent(task.intent) if svc else None
    if intent is not None and intent.is_transactional:
        acts = set().union(*(_act_names(t, task.service) for t in turns[span[0]:span[1]] if t.speaker == "bot"))
        if task.outcome == "success" and "NOTIFY_SUCCESS" not in acts:
            missing.append(f"{task.intent}: never made")
        missing += _read_back_otherwise(task, turns[span[0]:span[1]])
        if task.outcome == "failure" and "NOTIFY_FAILURE" not in acts:
            missing.append(f"{task.intent}: the refusal never said")
    return missing


def _read_back_otherwise(task: PackTask, turns: Sequence[Turn]) -> list[str]:
    """A transaction the desk read back with another value than the goal's, where nothing offered it instead.

    Read blind: the User named the goal's doctor at the booking and the desk read back, and booked,
    the one it had offered during the search; every value was "said" somewhere, so the check passed.
    The desk's last read-back of each slot counts (a User may correct one); a value the desk offered
    in the task's turns (an alternative time after a refusal) may replace the goal's.
    """
    confirmed: dict[str, str] = {}
    offered: set[str] = set()
    for t in turns:
        if t.speaker != "bot":
            continue
        confirmed.update(dict(_act_pairs(t, task.service, ("CONFIRM",))))
        offered |= {slot for slot, _ in _act_pairs(t, task.service, ("OFFER",))}
    return [f"{task.intent}: {slot} read back as {confirmed[slot]!r}, the goal's is {value!r}"
            for slot, value in task.inform.items()
            if value != "dontcare" and slot in confirmed and slot not in offered and confirmed[slot] != normalize(value)]


def check_pack_goal(dialogue: Dialogue, pack: Pack) -> CheckResult:
    tasks = dialogue.goal.tasks
    templates = load_templates(pack)
    spans = task_spans(dialogue, tasks)
    undone = [_task_done(dialogue, pack, t, templates, span) for t, span in zip(tasks, spans)]
    done = sum(1 for u in undone if not u)
    score = done / len(tasks) if tasks else 0.0
    reasons = [m for u in undone for m in u]
    return CheckResult(name="goal_check", passed=score >= 1.0, score=score,
                       reason="; ".join(reasons[:5]) or f"all {len(tasks)} task(s) done")
