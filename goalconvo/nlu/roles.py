"""Role cues: what only the desk says, and what only a customer says.

A desk offers, recommends, reports what it found or booked, gives references and
tells the customer where to find things ("you can find it at ...", "I can get you
..."); a customer states their own needs and plans ("I would like to go ..."), asks
the desk to book or find, and thanks it for its help. Said by the other side, each is
a broken role. Each cue is ``(label, pattern)`` on a normalised sentence; the label
is what a reason quotes.

Calibrated on MultiWOZ val's crowd text (benchmarks/sense.py): every cue here is
rare or absent on the wrong side there, and the few hits are the crowd's own slips.
"""

from __future__ import annotations

import re

from goalconvo.nlu.lexicon import DOMAIN_NOUNS

_OPENER = r"^(?:(?:yes|yeah|ok|okay|sure|great|alright|well|so|and|perfect|certainly|absolutely|then|now),? )*"
_VENUE_NOUNS = "|".join(sorted({re.escape(w) for ws in DOMAIN_NOUNS.values() for w in ws}, key=len, reverse=True))
_COUNT = r"(?:a|an|\d+[a-z-]*|several|many|some|lots of|plenty of|a few|a number of|two|three|four|five|six|seven|eight|nine|ten|\d+)"


def _c(p: str) -> re.Pattern[str]:
    return re.compile(p)


#: Lines of the desk: a User saying one speaks like the desk.
DESK_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("recommends", _c(r"\bi (?:would |'d |can |might )?(?:recommend|suggest)\b|\bmay i (?:recommend|suggest)\b"
                      r"|\byou (?:might|may|would) (?:like|enjoy|love)\b")),
    ("offers to book", _c(r"\b(?:shall|should) i (?:book|reserve|make)\b|\bwould you like me to\b|\bdo you want me to\b"
                          r"|\bwant me to (?:book|reserve|find|look)\b|^(?:(?:ok|okay|sure|great),? )?would you like to (?:book|reserve|make a (?:booking|reservation))\b|(?<!that )(?<!if )(?<!where )(?<!which )(?<!so )\bi (?:can|could|will|'ll) (?:book|reserve) (?:it|that|one|this|them|you|a|the)\b"
                          r"(?!.*\b(?:myself|later|online)\b)|\b(?:book|reserve|find|look up|arrange|make)\b[^.?!]{0,40}\bfor you\b")),
    ("reports a booking", _c(r"\b(?:i|we)(?:'ve| have) (?:booked|reserved) (?:it|that|you|your|this|them)\b|\byour (?:reference|booking|reservation"
                             r"|table|room|ticket|tickets|taxi|train)(?: number)? (?:is|has been|was|are|will be)\b"
                             r"|\b(?:is|has been) (?:booked|reserved) for you\b|^(?:the )?(?:reference|confirmation) (?:number )?(?:is|:)")),
    ("offers more help", _c(r"\banything else (?:i|we) can\b|\bhow (?:can|may) i (?:help|assist)\b|\b(?:can|may) i (?:help|assist)\b"
                            r"|\bwhat else can i do\b|\bis there anything else you\b|\b(?:anything|everything|all) (?:else )?(?:the |of the )?"
                            r"(?:information |info |details |things )?you (?:need|require)\b"
                            r"|\bwill that be all\b|\bis that all you\b|\bglad i could help\b")),
    ("reports finding nothing", _c(_OPENER + r"(?:i|we) (?:can't|cannot|couldn't|could not) find (?:a|an|any)\b")),
    ("welcomes thanks", _c(r"\b(?:you're|you are) (?:very |most )?welcome\b|\bhappy to (?:help|assist)\b|\bmy pleasure\b")),
    ("reports what it found", _c(_OPENER + r"(?:there (?:is|are|'s)|there're|we have|we've got|i (?:see|found|have found|can see)) " + _COUNT
                                 + r"\b(?!.*\b(?:of us|people|persons|guests|in (?:my|our) (?:party|group))\b)(?!.*\?$)(?!.*\b(?:no|nothing)\b)"
                                 + r"[^.?!]*\b(?:" + _VENUE_NOUNS + r"|options|results|matches|choices|star|stars|cheap|expensive|moderate)\b")),
    ("tells the customer what they want", _c(_OPENER + r"(?:you(?:'re| are) (?:looking for|after|interested in|in need of)|you(?: want| need| would like|'d like| require)"
                                             r"|what you(?:'re| are) (?:after|looking for))\b")),
    ("asks the customer's preferences", _c(r"\b(?:what|which|how many|where|when)\b[^?.]*\b(?:do|would|will) you (?:prefer|like|want|need)\b(?! to know)"
                                           r"|\bare you looking for\b|\b(?:what|which)\b[^?.]*\byou(?:'re| are) (?:looking for|after)\b|\byour preferences?\b|\bdo you (?:have a|prefer)\b[^?.]*\b(?:preference|area|price range)\b")),
    ("offers to find", _c(_OPENER + r"i can (?:find|get|book|reserve|recommend|suggest|offer|arrange|look up|check)\b|" + _OPENER
                          + r"you (?:can|could) (?:find|try)\b|\byou (?:will|'ll|can) find (?:it|them) (?:at|on)\b|\byou can (?:call|reach|contact) them\b")),
    ("tells the customer what to expect", _c(r"\byou (?:can|could|will|'ll|should) expect\b")),
    ("asks what the customer needs", _c(r"\bdo you need (?:the|a|an|any|anything|me|help|more)\b(?!.* (?:me|i|my|us|we)\b)")),
    ("invites questions", _c(r"\blet me know if you (?:have|need|want)\b|\b(?:any|if you have) (?:other |more |further )?"
                             r"(?:questions|concerns)\b")),
    ("talks about the search it runs", _c(r"\bmy search\b")),
    ("says what the customer may be after", _c(r"\bif you(?:'re| are) looking for (?:one|it|them|something|that)\b")),
    ("thanks the customer for kind words", _c(r"\b(?:thank you|thanks) (?:so much |very much )?for (?:your|the|those) kind words\b")),
    ("reports what is available", _c(r"^(?:(?:sure|yes|ok|okay|great|well),? )?(?:a|an|the|there) (?:[a-z]+ ){0,5}(?:is|are) "
                                     r"(?:still )?available\b(?!.*\?)")),
)

#: Lines of a customer: the desk saying one speaks like a customer.
CUSTOMER_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("states its own travel plans", _c(r"\bi(?:'d| would|'m| am)? (?:like|want|need|wish|hope|plan|planning|hoping|going)(?: to)? "
                                       r"(?:go|travel|leave|depart|arrive|visit|eat|dine|stay|get to|book|take a|catch)\b"
                                       r"|\bi (?:need|want|would like|'d like|am looking for|'m looking for) (?:a|an|some) (?:" + _VENUE_NOUNS
                                       + r"|ticket|tickets|table|room)\b")),
    ("asks the desk to book or find", _c(r"\b(?:can|could|would|will) you (?:please )?(?:book|reserve) (?:me|us|it for me)\b"
                                         r"|\b(?:can|could|would) you (?:please )?(?:find|get|recommend|suggest) (?:me|us)\b|^please book (?:me|us|it)\b"
                                         r"|\b(?:can|could|would) you (?:please )?(?:find|search for|look for|look up|locate)\b")),
    ("thanks the desk for its help", _c(r"\bthanks? (?:you )?(?:so much |very much )?for (?:your|all your|all of your|the) (?:help|assistance)\b"
                                        r"|\banything else you can (?:help|do)\b|\b(?:glad|happy) you could help\b|\byou(?:'ve| have) been (?:very |so |really )?helpful\b")),
    ("credits the customer with its search", _c(_OPENER + r"you (?:have |'ve )?found\b")),
    ("asks the other side to phone", _c(r"\b(?:can|could|would) you (?:please )?(?:call|phone|ring|contact)\b")),
    ("asks for help", _c(r"\b(?:can|could) you help (?:me |us )?(?:with|find|book)\b(?! (?:that|this|it|narrow))")),
    ("asks for a venue's details", _c(r"\bwhat(?:'s| is) (?:the|their|its) (?:phone|address|postcode|post code|entrance fee)\b"
                                      r"|\b(?:can|could|may) i (?:have|get) (?:the|their|its) (?:phone|address|postcode|post code|entrance fee)\b")),
)

#: Lines that make no sense from either side: the speaker talking about its own help, the prompt.
SELF_TALK: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("talks about its own help", _c(r"\b(?:received|got|enjoyed|liked|appreciated|needed) my help\b|\bmy help (?:was|has been|helped)\b")),
    ("thanks the other side for being helped", _c(r"\b(?:glad|happy|pleased) you (?:were )?helped\b")),
    ("counts places inside a place", _c(r"\b(?:college|museum|church|gallery|theatre|pool|park|hotel|guesthouse|restaurant)\b[^.?!]{0,40}"
                                        r"\b(?:has|have|offers) \d+ (?:attractions|restaurants|hotels|guesthouses|places|options|colleges|museums)\b")),
    ("talks about its instructions", _c(r"\bmy goal (?:is|was)\b|\b(?:slight|mild) anxiety\b|\b(?:an|my) impatient\b|\bmy persona\b")),
    # A model stepping out of the dialogue (seen from the bundled 0.5B model phrasing a clinic's goodbye).
    ("speaks as a language model", _c(r"\bas an ai\b|\b(?:ai )?language model\b|\bmy primary function\b|\bi (?:cannot|can't) engage\b")),
)


def cues(sentence: str, table: tuple[tuple[str, re.Pattern[str]], ...]) -> list[tuple[str, str]]:
    """``(label, matched words)`` of each cue of ``table`` the sentence says."""
    out = []
    for label, rx in table:
        m = rx.search(sentence)
        if m:
            out.append((label, m.group(0).strip(" ,")))
    return out
