"""The sense check: does each turn make sense from its speaker, in itself and after the turn before?

Reads only ``turn.speaker`` and ``turn.text`` of the dialogue: never ``model``,
``prompt_version``, ``phrased_by``, the set, or the acts and belief the planner
stored, so free-mode dialogues and imported sets are judged the same way. The
understanding is ``goalconvo.nlu`` (rules over the text and the venue database;
nothing learned). Faults, each naming its turn:

- role: the User speaks like the desk, the desk like a customer, either about its
  own help or instructions;
- fact: a value of the wrong type for what it is said to be, booking words that do
  not fit the domain, a value contradicting an earlier one (a train from another
  station, a booking for another day or party size, a second reference), a fact
  stacked twice or a re-offer of what was booked, a word doubled;
- coherence: the desk does not answer what was asked, the User's reply does not fit
  the desk's question or asks it back, the first turn asks about something never named.

Reads ``Settings.sense_check`` (off: the check is not run) and
``Settings.sense_max_faults``; adds the check ``sense`` with the faults as its
reason and their number as its score.
"""

from __future__ import annotations

from goalconvo.core.records import CheckResult, Dialogue
from goalconvo.core.settings import Settings
from goalconvo.core.venues import VenueDB
from goalconvo.nlu import dialogue_faults, lexicon_for

#: Most faults quoted in a reason (the score counts them all).
MAX_QUOTED = 6


def check_sense(d: Dialogue, s: Settings, db: VenueDB) -> CheckResult:
    turns = [(t.speaker, t.text) for t in d.turns]
    faults = dialogue_faults(turns, lexicon_for(db), garble=s.sense_garble)
    ok = len(faults) <= s.sense_max_faults
    quoted = [f"turn {f.turn} ({'User' if turns[f.turn][0] == 'user' else 'desk'}, {f.category}): {f.message}"
              for f in faults[:MAX_QUOTED]]
    if len(faults) > MAX_QUOTED:
        quoted.append(f"{len(faults) - MAX_QUOTED} more")
    return CheckResult(name="sense", passed=ok, reason="" if not faults else "; ".join(quoted), score=float(len(faults)))
