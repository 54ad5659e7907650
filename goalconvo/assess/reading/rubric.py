"""The rubric readers rate by, defined once: the sheet prints it, the HTML form asks it, the parser checks it."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from goalconvo.packs.builtin import default_pack, pack_toml

#: How the two speakers are shown, for both sources alike.
SPEAKERS = {"user": "Customer", "bot": "Desk"}


@dataclass(frozen=True)
class Question:
    name: str
    kind: str  #: score (1-5) | choice | turns | text
    choices: tuple[str, ...]
    text: str


QUESTIONS: tuple[Question, ...] = (
    Question("coherence", "score", ("1", "2", "3", "4", "5"),
             "Each turn follows from the one before, and the whole makes sense. "
             "1 = mostly does not follow, 3 = several turns do not follow, 5 = every turn follows."),
    Question("fluency", "score", ("1", "2", "3", "4", "5"),
             "Well-formed English, turn by turn. 1 = hard to read, 3 = clumsy in places, 5 = fluent throughout."),
    Question("natural", "score", ("1", "2", "3", "4", "5"),
             "Sounds like real people, not a machine filling slots (stiff, repetitive, facts stacked into one turn). "
             "1 = plainly mechanical, 3 = mixed, 5 = two real people."),
    Question("roles", "choice", ("ok", "broken"),
             "broken when the Customer speaks like the desk (offers, recommends, confirms a booking) or the Desk "
             "like the customer (asks for what it should provide, thanks for help)."),
    Question("roles_turns", "turns", (), "The turn numbers where a role is broken (none when roles is ok)."),
    Question("facts", "choice", ("ok", "broken"),
             "broken when a value contradicts an earlier one or the goal, or is nonsense (an address given as a "
             "postcode, a table booked at a hotel, a train that arrives before it leaves)."),
    Question("facts_turns", "turns", (), "The turn numbers where a fact is broken (none when facts is ok)."),
    Question("goal", "choice", ("yes", "no"),
             "yes when the Customer got everything the goal above the dialogue asks for (bookings made where asked)."),
    Question("keep", "choice", ("yes", "no"),
             "yes when you would put this dialogue, unedited, into a training set for a travel-desk assistant."),
    Question("why", "text", (), "A few words: what made you keep it or not, what is wrong."),
)

BY_NAME = {q.name: q for q in QUESTIONS}
SCORES = tuple(q.name for q in QUESTIONS if q.kind == "score")

#: The columns of the HTML form's CSV, in order (the parser reads any order by header).
CSV_COLUMNS = ("sheet", "reader", "item", *(q.name for q in QUESTIONS))

EXAMPLE = ('{"item": 7, "coherence": 4, "fluency": 5, "natural": 4, "roles": "ok", "roles_turns": [], '
           '"facts": "broken", "facts_turns": [6], "goal": "yes", "keep": "no", "why": "gives a postcode as the address"}')

#: How a sheet of MultiWOZ dialogues opens: the shipped pack's words (reading.toml ``[sheet]``).
INTRO: str = pack_toml(default_pack(), "reading")["sheet"]["intro"]


def intro_for(setting: str | None) -> str:
    """The sheet's opening: MultiWOZ's desk (its pack's words), or a domain pack's own setting."""
    if not setting:
        return INTRO
    return textwrap.fill(f"Read each dialogue between a Customer and the Desk of {setting}, with the goal the Customer "
                         "had, and rate it on the questions below. Rate each one on its own. Turns are numbered: "
                         "name turns by those numbers.", width=84)


def question_text(q: Question, setting: str | None) -> str:
    """A question as the sheet asks it: the keep question names the kind of assistant the data is for."""
    return q.text.replace("a travel-desk assistant", f"an assistant of {setting}") if setting else q.text


def rubric_text(setting: str | None = None) -> str:
    """The rubric and the ratings format, as the plain-text sheet prints them."""
    lines = [intro_for(setting), "", "QUESTIONS (one answer each, for every dialogue)", ""]
    for q in QUESTIONS:
        answer = {"score": "1-5", "choice": " | ".join(q.choices), "turns": "list of turn numbers",
                  "text": "free text"}[q.kind]
        lines.append(textwrap.fill(f"{q.name} ({answer}): {question_text(q, setting)}", width=96, initial_indent="  ",
                                   subsequent_indent="      "))
    lines += [
        "",
        "RATINGS FORMAT: one JSON object per line, one line per dialogue, in a text file, e.g.",
        "",
        "  " + EXAMPLE,
        "",
        "Optionally a first line naming you: {\"reader\": \"your name or initials\"}.",
        "Every field is required except why (give it anyway when keep is no); turn lists may be empty.",
    ]
    return "\n".join(lines)
