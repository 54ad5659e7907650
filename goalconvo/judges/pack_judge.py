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

from goalconvo.core.records import CheckResult, Dialogue, PackTask
from goalconvo.nlu.roles import CUSTOMER_CUES, DESK_CUES, SELF_TALK, cues
from goalconvo.nlu.text import normalize, split_sentences
from goalconvo.packs.model import Pack
from goalconvo.packs.templates import load_templates, value_wordings

MAX_TURN_CHARS = 800


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


def _known_values(pack: Pack, service: str, slot: str) -> set[str]:
    out = {r[slot].lower() for r in pack.entities.get(service, ()) if r.get(slot)}
    out |= {r[slot].lower() for u in pack.user_states if u.service == service for r in u.rows if r.get(slot)}
    return out


def _act_values(dialogue: Dialogue, service: str, speaker: str | None = None) -> set[tuple[str, str]]:
    """(slot, value) pairs the turns' acts carry for a service (SGD's canonical values on real dialogues)."""
    out = set()
    for t in dialogue.turns:
        if speaker is not None and t.speaker != speaker:
            continue
        for key, pairs in t.acts.items():
            if key.startswith(f"{service}-"):
                out |= {(p[0], normalize(p[1])) for p in pairs if len(p) == 2}
    return out


def _task_done(dialogue: Dialogue, pack: Pack, task: PackTask, templates: dict) -> list[str]:
    """What the dialogue leaves undone of one task (empty when it is done).

    A value counts as said when the text says it (or the pack's own wording of it) or a turn's acts
    carry it: a person says "the 8th of March" for SGD's canonical ``2019-03-08``.
    """
    missing = []
    user_text = " ".join(normalize(t.text) for t in dialogue.turns if t.speaker == "user")
    desk = [t for t in dialogue.turns if t.speaker == "bot"]
    desk_text = " ".join(normalize(t.text) for t in desk)
    carried = _act_values(dialogue, task.service)
    desk_slots = {slot for slot, _ in _act_values(dialogue, task.service, "bot")}
    for slot, value in task.inform.items():
        forms = [normalize(value)] + [normalize(w).rstrip(".!?") for w in value_wordings(templates, task.service, slot, value)]
        said = any(f in user_text or f in desk_text for f in forms) or (slot, normalize(value)) in carried
        if value != "dontcare" and not said:
            missing.append(f"{task.intent}: {slot} {value!r} never said")
    for slot in task.request:
        known = _known_values(pack, task.service, slot)
        if not (any(v in desk_text for v in known) or slot in desk_slots):
            missing.append(f"{task.intent}: {slot} asked for, never answered")
    svc = pack.service(task.service)
    intent = svc.intent(task.intent) if svc else None
    if intent is not None and intent.is_transactional:
        acts = [key.rpartition("-")[2] for t in desk for key in t.acts if key.startswith(f"{task.service}-")]
        if task.outcome == "success" and "NOTIFY_SUCCESS" not in acts:
            missing.append(f"{task.intent}: never made")
        if task.outcome == "failure" and "NOTIFY_FAILURE" not in acts:
            missing.append(f"{task.intent}: the refusal never said")
    return missing


def check_pack_goal(dialogue: Dialogue, pack: Pack) -> CheckResult:
    tasks = dialogue.goal.tasks
    templates = load_templates(pack)
    undone = [_task_done(dialogue, pack, t, templates) for t in tasks]
    done = sum(1 for u in undone if not u)
    score = done / len(tasks) if tasks else 0.0
    reasons = [m for u in undone for m in u]
    return CheckResult(name="goal_check", passed=score >= 1.0, score=score,
                       reason="; ".join(reasons[:5]) or f"all {len(tasks)} task(s) done")
