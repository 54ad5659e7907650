"""A deterministic stand-in for a model, for pipeline tests and benchmarks only.

It follows the goal (User) and the database lookup (SupportBot) with fixed
templates, so a pipeline test can predict what is stored. Every dialogue it
makes carries the model name ``scripted`` — never mistake its output for
generation quality.

What it needs about the call comes in the call context the stages pass: the
goal or the dialogue state, the User's end tag (``end_tag``) and, for the
SupportBot, the tracker's knowledge (read by attribute: domains, venues,
booking_refs, taxi).
"""

from __future__ import annotations

import asyncio
from typing import Any

from goalconvo.core.records import DialogueState, Goal
from goalconvo.core.vocab import SLOT_WORDS
from goalconvo.llm.base import CallContext, ChatMessage, Completion, GenerationParams, LLMBackend
from goalconvo.core.roles import CAR_TYPE, DEPARTMENT, DESTINATION, ORIGIN, RIDE, TIMETABLE_ID


def _user_plan(goal: Goal, end_tag: str = "") -> list[str]:
    """What the scripted user says, in order: constraints, requests, bookings, goodbye."""
    lines = []
    for domain in goal.domain_names:
        g = goal.domains[domain]
        if g.fail_info:
            lines.append(f"I am looking for a {domain} with " + ", ".join(f"{k} {v}" for k, v in g.fail_info.items()) + ".")
        cons = ", ".join(f"{k} {v}" if k not in (ORIGIN, DESTINATION) else f"{k.replace(ORIGIN, 'from').replace(DESTINATION, 'to')} {v}" for k, v in g.info.items())
        lines.append(f"I need a {domain}" + (f" with {cons}." if cons else "."))
        if g.reqt:
            lines.append("Could you tell me the " + " and the ".join(SLOT_WORDS.get(r, r) for r in g.reqt) + "?")
        if g.book:
            lines.append("Please book it for " + ", ".join(f"{k} {v}" for k, v in g.book.items()) + ".")
    lines.append(f"Thank you, that is all I need. Goodbye. {end_tag}".rstrip())
    return lines


def _bot_reply(state: DialogueState, k: Any) -> str:
    """``k`` is the tracker's Knowledge, as the bot stage passes it."""
    last = next((t.text.lower() for t in reversed(state.turns) if t.speaker == "user"), "")
    if state.user_done or "goodbye" in last:
        return "You are welcome. Goodbye!"
    if k.booking_refs:
        d, ref = next(iter(k.booking_refs.items()))
        name = (k.venues.get(d) or [{}])[0].get("name") or (k.venues.get(d) or [{}])[0].get(TIMETABLE_ID, d)
        return f"I have booked {name} for you. Your reference number is {ref}."
    asked = [slot for slot, word in SLOT_WORDS.items() if word in last] if "?" in last else []
    domain = next((d for d in reversed(k.domains)), None)
    if domain == RIDE and k.taxi:
        return f"I have booked a {k.taxi[CAR_TYPE]} for you; the contact number is {k.taxi['phone']}."
    rows = k.venues.get(domain or "", [])
    if domain is None:
        return "How can I help you today?"
    if not rows:
        return f"I am sorry, there is no {domain} matching that. Could you change a constraint?"
    top = rows[0]
    label = top.get("name") or top.get(TIMETABLE_ID) or top.get(DEPARTMENT) or domain
    if asked:
        facts = [f"the {SLOT_WORDS[s]} is {top[s]}" for s in asked if s in top]
        if facts:
            return f"For {label}, " + " and ".join(facts) + "."
    return f"I found {label}. Would you like more information or a booking?"


class ScriptedBackend(LLMBackend):
    model_name = "scripted"

    def __init__(self, delay_s: float = 0.0):
        self.delay_s = delay_s
        self.calls = 0

    async def complete(
        self, messages: list[ChatMessage], params: GenerationParams, context: CallContext | None = None
    ) -> Completion:
        self.calls += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if context is None:
            return Completion("scripted reply", 1, 2, self.model_name)
        if context.task == "experience":
            text = _user_plan(context.data["goal"], context.data.get("end_tag", ""))[0]
        elif context.task == "user":
            state: DialogueState = context.data["state"]
            plan = _user_plan(state.goal, context.data.get("end_tag", ""))
            n_user = sum(1 for t in state.turns if t.speaker == "user")
            text = plan[min(n_user, len(plan) - 1)]
        elif context.task == "bot":
            text = _bot_reply(context.data["state"], context.data["knowledge"])
        elif context.task == "phrase":
            # Guided mode: echo the template draft; the realizer records a copied draft as a template.
            text = context.data["template"]
        else:
            text = '{"goal_relevance": 5, "coherence": 5, "fluency": 5, "task_completion": 5, "rationale": "scripted"}'
        prompt_tokens = sum(len(m.content.split()) for m in messages)
        return Completion(text, prompt_tokens, len(text.split()), self.model_name)
