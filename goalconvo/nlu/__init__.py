"""Understanding turns from their text and speaker alone (rules; nothing learned, nothing fetched).

A layer just above ``core`` (it imports ``goalconvo.core`` only); ``agents`` and
``judges`` use it. Every domain-specific word it knows is in
:mod:`goalconvo.nlu.lexicon` (a domain pack replaces that module's lists), plus the
values of the venue database in use (:func:`lexicon_for`).

Reading one utterance::

    lex = lexicon_for(VenueDB.load())
    u = understand("The postcode is cb21ad. Anything else?", "bot", lex)
    u.acts       # [Act('inform', None, ('postcode',)), Act('reqmore'), ...]: intents, domain, slots
    u.values     # [Value(type='postcode', text='cb21ad', ...)]: phone, postcode, address, price, time, day,
                 #   people, nights, reference, train_id, venue (with its domains), station, area, ...
    u.requests   # what it asks for, as slots ('phone', 'day', 'people', ...)
    u.desk_cues, u.customer_cues   # lines only a desk / only a customer says
    utterance_faults(u, lex)       # what is wrong with it read alone

Judging a whole dialogue (the judge's ``sense`` check, ``judges/sense.py``)::

    dialogue_faults([("user", "..."), ("bot", "..."), ...], lex)   # [Fault(category, message, turn)]

Categories: ``role`` (the User speaks like the desk or the desk like a customer),
``fact`` (a value of the wrong type, a table at a hotel, a contradiction of an
earlier value, a fact stacked twice, a re-offer of what was booked),
``coherence`` (the turn does not follow from the one before).

**At generation time** (for the guided realizer; the same understanding, so a
phrasing refused here is one the judge would reject)::

    problems = check_phrasing(candidate, "bot", previous_utterance, lexicon=lex,
                              planned_acts=turn.acts, history=[(t.speaker, t.text) for t in state.turns])
    if problems: ...  # try another candidate, else use the template

``check_phrasing(text, speaker, previous=None, *, lexicon, planned_acts=None,
history=())`` returns ``[]`` when the phrasing may be used, else problems as
strings prefixed ``role:``, ``fact:``, ``coherence:`` or ``acts:``: it leaves its
role; garbles a fact or contradicts an earlier one (with ``history``); does not follow
from ``previous`` (the desk ignores the User's question, the User answers the desk's
question with the same question); drops a planned act (a request, offer, booking,
no-offer, goodbye...) or adds one the plan does not make (a booking, an offer to
book, a no-offer, a question, a goodbye, another domain). It costs about a
millisecond a call.
"""

from goalconvo.nlu.dialogue import dialogue_faults, read_dialogue
from goalconvo.nlu.lexicon import Lexicon, lexicon_for
from goalconvo.nlu.phrasing import act_problems, check_phrasing
from goalconvo.nlu.understand import Fault, Understanding, understand, utterance_faults

__all__ = [
    "Fault", "Lexicon", "Understanding", "act_problems", "check_phrasing", "dialogue_faults", "lexicon_for",
    "read_dialogue", "understand", "utterance_faults",
]
