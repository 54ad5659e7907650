"""What the phrasing check (``validator``) looks for: request words, role and booking cues, and the shapes
of values (phones, postcodes, train ids, references, clock times, prices) a line must not invent.

Data only; the checks that use them are ``validator``'s.
"""

from __future__ import annotations

import re
from goalconvo.packs.builtin import default_pack, pack_toml

#: The default pack's understanding words (its lexicon.toml).
_LEXICON = pack_toml(default_pack(), "lexicon")
#: How its locale writes phones, postcodes, timetable ids and prices (shapes.toml ``[phrasing_check]``).
_SHAPES: dict[str, str] = pack_toml(default_pack(), "shapes")["phrasing_check"]

#: Words that show a slot is being asked about (a request's value is ``?``).
REQUEST_WORDS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _LEXICON["act_request_words"].items()}
NEGATION = re.compile(
    r"\b(no|not|none|nothing|sorry|unfortunately|unable|cannot|can't|couldn't|don't|doesn't|isn't|aren't"
    r"|unavailable|fully booked|failed|afraid)\b"
)
#: Words an act with no slot must show (intent -> pattern).
INTENT_MARKERS: dict[str, re.Pattern[str]] = {
    "thank": re.compile(r"\b(thank|thanks|cheers|appreciate|grateful)\b"),
    "bye": re.compile(r"\b(bye|goodbye|farewell|take care|have a (nice|good|great|lovely|wonderful)|see you|good night"
                      r"|enjoy your (visit|stay|trip|day|time)|"
                      + "".join(f"enjoy {re.escape(p)}|" for p in _LEXICON["phrasing_check"]["bye_places"])
                      + r"safe travels)\b"),
    "welcome": re.compile(r"\b(welcome|pleasure|no problem|glad|happy to help|any ?time|not at all)\b"),
    "reqmore": re.compile(r"\b(anything else|something else|else|more|further|other)\b"),
    "OfferBook": re.compile(r"\b(book|reserve|reservation|booking|seats?|tickets?)\b"),
    "greet": re.compile(r"\b(hello|hi|hey|hiya|(good )?(morning|afternoon|evening)|good day|greetings|welcome)\b"),
}
BOOKED = re.compile(r"\b(booked|reserved|confirmed|booking|reservation|all set|done)\b")

DESK_LINES = re.compile(
    r"(how (can|may) i (help|assist)|your reference( number)? is|i('ve| have) (booked|reserved)"
    r"|(anything|something) else i can (help|do)|booking (was|is) (successful|confirmed)"
    r"|you're welcome|you are welcome|welcome to|i found \d|there are \d+ (hotels|restaurants|trains|attractions)"
    r"|(sorry|afraid),? (i|we) (couldn't|could not|can't|cannot) find|(shall|should) i (book|reserve)"
    r"|would you like me to|can i help you|i can (find|give|offer|recommend|book) you|let me (find|book)"
    r"|i can make (a|the|your) (booking|reservation)|(i'd|i would) recommend"
    r"|(i'd|i'll|i will|i would) be (happy|glad) to (help|book|find|assist))",
    re.I,
)
CUSTOMER_LINES = re.compile(
    r"((^|[.!?]\s)(i am|i'm) looking for (a|an) |can you help me find|i need (a|an) (hotel|restaurant|train|taxi|place)"
    r"|(i'd|i would) like to (book|reserve)|(could|can) you (please )?(book|reserve)|thanks? (you )?for your help"
    r"|my (goal|budget) is|(can|could) you (please )?(give|tell|send) me (the|their|its|your) (address|phone|postcode|post code"
    r"|reference|entrance fee))",
    re.I,
)
TAGS = re.compile(
    r"(^|\n|[.!?]\s+)\s*(user|customer|assistant|desk|bot|support ?bot|system|agent|clerk|speaker|traveller)\s*:", re.I
)
LEAKS = re.compile(
    r"(\[end\]|dialogue acts?|\bacts?\s*:|\binform\s*\(|request\s*\(|\b(restaurant|hotel|attraction|train|taxi|hospital|police|booking|general)-(inform|request|recommend|nooffer|offerbook"
    r"|offerbooked|book|nobook|select|reqmore|welcome|greet|bye|thank)\b|\{|\}|\[\[|=|persona|previous (line|utterance)"
    r"|\bdraft\b|as an ai|language model|\brewrit|in other words|reply with|the new line|\bhere is\b|\bhere's a\b|\bline:"
    r"|travel desk clerk|keep (all|every)|the same thing|\b(customer|clerk|this) line\b|\bthe (customer|clerk)\b)",
    re.I,
)
TRUNCATED_END = re.compile(r"([,:;(\-]|\b(the|a|an|and|or|to|of|for|with|at|in|on|my|your|is|are))\s*$", re.I)
PHONE = re.compile(_SHAPES["phone"])
POSTCODE = re.compile(_SHAPES["postcode"])
TRAIN_ID = re.compile(_SHAPES["timetable_id"])
REF_TOKEN = re.compile(r"\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{8}\b|\b[A-Z]{8}\b")
REF_AFTER_WORD = re.compile(r"\b(reference|ref|confirmation)\b[^.?!]{0,30}?\b([A-Za-z0-9]{8})\b", re.I)
#: A made-up code: letters and digits mixed, 5+ characters (references, ids), not a postcode.
CODE = re.compile(r"\b(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{5,}\b")
CLOCK = re.compile(r"(?<![\d.])(\d{1,2})[:.](\d{2})(?![\d.])(?: ?(am|pm|a m|p m)\b)?")
PRICE = re.compile(_SHAPES["price"])
#: Venue names that are everyday phrases: too ambiguous to count as naming a venue.
AMBIGUOUS_NAMES = frozenset(_LEXICON["phrasing_check"]["ambiguous_names"])
WORD = re.compile(r"[a-z0-9']+")
ALNUM = re.compile(r"[a-z0-9]+")
AMENITY = {"Internet": re.compile(r"\b(internet|wifi|wi fi)\b"), "Parking": re.compile(r"\b(parking)\b")}
#: Informable values every database shares: said without an act carrying them, they are invented.
CLOSED_VALUES: dict[str, str] = (
    dict.fromkeys(("north", "south", "east", "west", "centre"), "Area")
    | dict.fromkeys(("cheap", "moderate", "moderately", "expensive"), "Price")
    | dict.fromkeys(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"), "Day")
)
#: A phone number written in groups ("01223 351 241"); the phone rule checks it whole.
SPACED_PHONE = re.compile(_SHAPES["spaced_phone"])
#: A code-shaped token that is not an invented code (matched whole).
NOT_A_CODE = re.compile(_SHAPES["not_a_code"])
BARE_CLOCK = re.compile(r"(?<![\d:.])(\d{1,2}) ?(am|pm|a m|p m)\b")
NUMBER = re.compile(r"(?<![a-z0-9.:])\d+(?:\.\d+)?(?![a-z0-9]|[.:]\d)")
ASKING = re.compile(
    r"\?|\b(could you|can you|can i|may i|tell me|give me|send me|let me know|i need|i'd like|i would like|i want"
    r"|i'll need|i will need|please|what|where|which|when|how|do they|does it|is there|are there)\b"
)
#: A capitalised word inside a sentence: after a lower-case word, or after one and a comma.
MIDSENTENCE_CAPITAL = re.compile(r"(?:(?<=[a-z'] )|(?<=[a-z'], )|(?<=[A-Z][a-z] )|(?<=[A-Z][a-z]\. ))([A-Z][a-z]+)\b")
#: Words a line may capitalise mid-sentence without naming anyone.
CAPITALISED_OK = frozenset(_LEXICON["capitalised_ok"]["words"])
SENTENCE_END = re.compile(r"[.!?]['\")\u201d]*$|[\U0001F300-\U0001FAFF]$")
