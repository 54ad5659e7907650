"""Pack dialogue acts said in English: the pack's own phrasings where it has them, plain ones else.

A pack may ship ``templates.toml`` (``[files] templates`` in pack.toml) with phrasings per slot
and per intent, each a list of variants (``{value}`` is the slot's value; ``{count}`` a count):

    [slots."Clinicians.speciality"]
    user = ["It's for {value}.", "I need someone for {value}."]   # the User gives the value
    open = ["I'm after someone in {value}."]                      # ... with its request, in the opening turn
    "open.BookVisit" = ["It's {value} I'd like."]                 # ... per intent, where one wording fits one only
    ask = ["What would you like to be seen for?"]                  # the desk asks for it
    tell = ["That's {value}."]                                    # the desk says it
    request = ["Which surgery is that?"]                          # the User asks for it
    offer = ["How about {value}?"]                                # the desk offers an entity

    [intents."Clinicians.BookVisit"]
    user = ["Can I book a visit?"]          # the User asks for it
    offer = ["Shall I book a visit?"]       # the desk offers it
    done = ["That's booked."]               # NOTIFY_SUCCESS
    failed = ["That time has gone."]        # NOTIFY_FAILURE
    confirm = ["So that's {values}. Shall I go ahead?"]

Anything a pack leaves out is said plainly from the slot's name ("appointment time"), so an
imported SGD pack reads without templates. Variants are picked by a seeded choice per turn.
"""

from __future__ import annotations

import dataclasses
import random
import re
from dataclasses import dataclass

from goalconvo.agents.pack import acts as A
from goalconvo.agents.pack.acts import Act
from goalconvo.packs.model import Pack
from goalconvo.packs.templates import load_templates, value_wordings
from goalconvo.packs.values import date_wordings, time_wordings


_GREETING = re.compile(r"^(?:hi|hello|hey|morning|afternoon|evening|good (?:morning|afternoon|evening))(?: there)?[,.!]?\s+",
                       re.IGNORECASE)
_CALLING = re.compile(r"^I'm calling to\b")
_DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")
_USERS = re.compile(r"\b(?:a|the) user's\b", re.IGNORECASE)
_CUT_WORDS = {"based", "with", "for", "by", "on", "at", "in", "from", "to", "using", "given", "and", "that", "which"}


def _head(sentence: str) -> tuple[str, ...]:
    return tuple(sentence.lower().split()[:2])


def slot_words(slot: str) -> str:
    return slot.replace("_", " ").strip()


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def intent_words(pack: Pack, service: str, intent: str) -> str:
    """"book an appointment with a specific doctor" from the intent's description, else its name."""
    svc = pack.service(service)
    it = svc.intent(intent) if svc else None
    if it and it.description:
        # The description's head: "find a medical service provider" of "... based on their location".
        # Said by the User, "a user's" is "my": "check the amount of money in my bank account", whose
        # "of" and "in my" are kept ("check the amount" was read blind as a transfer's amount).
        text = _USERS.sub("my", it.description.strip().rstrip("."))
        words = text.split()
        cut = next((i for i, w in enumerate(words) if i >= 3 and w.lower() in _CUT_WORDS
                    and not (i + 1 < len(words) and words[i + 1].lower() == "my")), len(words))
        d = " ".join(words[:cut])
        return d[:1].lower() + d[1:]
    return _name_words(intent)


def identifier_words(name: str) -> list[str]:
    """An identifier's words, lower-cased: "FindProvider", "find_train" and "book-visit" alike."""
    spaced = "".join(" " + c.lower() if c.isupper() else c for c in name)
    return spaced.replace("_", " ").replace("-", " ").split()


def _name_words(intent: str) -> str:
    """"FindProvider" -> "find a provider"; "find_train" -> "find a train"; "TransferMoney" -> "transfer money".

    Said in place of the description's head in some turns (and always where there is none): it
    must not put an identifier in a sentence, as "I'm calling to find_train" did in a MultiWOZ
    copy run as a pack. Mass nouns take no article ("transfer money", "get advice").
    """
    words = identifier_words(intent)
    if len(words) == 2 and words[1] not in ("money", "information", "help", "advice", "support"):
        return f"{words[0]} a {words[1]}" if words[1][0] not in "aeiou" else f"{words[0]} an {words[1]}"
    return " ".join(words)


@dataclass
class PackPhrases:
    """The pack's templates (if any) and the plain fallbacks, for one pack."""

    pack: Pack
    slots: dict[str, dict[str, list[str]]]
    intents: dict[str, dict[str, list[str]]]

    @classmethod
    def for_pack(cls, pack: Pack) -> "PackPhrases":
        raw = load_templates(pack)
        return cls(pack, raw.get("slots", {}), raw.get("intents", {}))

    def _own(self, table: dict[str, dict[str, list[str]]], key: str, role: str) -> list[str]:
        v = table.get(key, {}).get(role)
        return [v] if isinstance(v, str) else list(v or [])

    def _pick(self, rng: random.Random, own: list[str], plain: list[str], **fields: str) -> str:
        """A variant, filled in; a pack's variant naming a field this act lacks falls back to a plain one."""
        value = fields.get("value", "")
        fields.setdefault("lower", value[:1].lower() + value[1:])
        choice = rng.choice(own or plain)
        try:
            return choice.format(**fields)
        except (KeyError, IndexError, ValueError):
            return rng.choice(plain).format(**fields)

    # -- one act ----------------------------------------------------------------------------------
    def slot(self, rng: random.Random, role: str, service: str, slot: str, value: str = "", intent: str = "") -> str:
        w = slot_words(slot)
        plain = {
            "user": [f"The {w} is {value}.", f"{value}, please.", f"Make it {value}.", f"I'd like {value}.",
                     f"Let's go with {value}.", f"{value} would be good.", f"I'm thinking {value}.",
                     f"Put down {value} for the {w}.", f"It should be {value}.", f"{value} works for me.",
                     f"Go with {value}.", f"My {w} is {value}.", f"Use {value}.", f"{value}, if that's possible.",
                     f"I'd say {value}.", f"Ideally {value}.", f"Let's do {value}.", f"Can we say {value}?",
                     f"{value} is what I want.", f"For the {w}, {value}."],
            "open": [f"The {w} is {value}.", f"For the {w}, {value}.", f"My {w} is {value}.", f"It should be {value} for the {w}.",
                     f"I'd like {value} for the {w}.", f"The {w} would be {value}.", f"I want the {w} to be {value}.",
                     f"Please use {value} as the {w}.", f"{value} for the {w}, please.", f"I'd like the {w} to be {value}.",
                     f"Put {value} down as the {w}.", f"The {w} should be {value}.", f"It's {value} for the {w}.",
                     f"Let's make the {w} {value}.", f"I have {value} in mind for the {w}.", f"Go with {value} for the {w}."],
            "dontcare": [f"Any {w} is fine.", f"I don't mind about the {w}.", "Whatever you have is fine.",
                         f"The {w} doesn't matter to me."],
            "ask": [f"What {w} would you like?", f"Which {w} do you have in mind?", f"Could you give me the {w}?",
                    f"And what's the {w}?", f"What {w} should I put down?", f"Tell me the {w}, please.",
                    f"I'll need the {w} as well.", f"What would you like for the {w}?"],
            "tell": [f"The {w} is {value}.", f"It's {value}.", f"The {w}: {value}.", f"I have {value} here.",
                     f"That's {value}.", f"Its {w} is {value}.", f"It shows {value}.", f"We have {value}.",
                     f"{value} is the {w}.", f"According to our records, {value}.", f"It says {value}."],
            # Told unasked (beside an offer, or after a request for another slot): the sentence names
            # the slot, or a reader is left with "We have 08715501010." and no idea what it is.
            "volunteer": [f"The {w} is {value}.", f"The {w}: {value}.", f"Its {w} is {value}.", f"{value} is the {w}.",
                          f"According to our records, the {w} is {value}.", f"It shows {value} for the {w}.",
                          f"I have {value} as the {w}.", f"Our records show the {w} as {value}.",
                          f"The {w} we have is {value}.", f"For the {w}, I have {value}.", f"The {w} comes up as {value}."],
            "request": [f"What is the {w}?", f"Can you tell me the {w}?", f"Could I have the {w}?",
                        f"And the {w}?", f"What's their {w}?", f"Do you know the {w}?", f"I'd also like the {w}."],
            "offer": [f"How about {value}?", f"I have {value}.", f"There's {value}.", f"{value} is one option.",
                      f"Would {value} suit you?", f"I can suggest {value}.", f"One match is {value}."],
        }[role]
        # A pack may word a slot per intent ("open.MoveMoney": "It's from my savings account"), else per role.
        # A pack's own "tell" wordings serve a value told unasked too (the pack's author chose them).
        own_role = "tell" if role == "volunteer" else role
        own = (self._own(self.slots, f"{service}.{slot}", f"{own_role}.{intent}") if intent else []) \
            or self._own(self.slots, f"{service}.{slot}", own_role)
        if role == "open" and not own:
            # A pack without opening variants: its answer variants that name the slot's value in a sentence.
            own = [v for v in self._own(self.slots, f"{service}.{slot}", "user") if len(v.split()) >= 4]
        # A pack may say one value its own way (``[slots."S.tried".values] nothing = [...]``): the User's words.
        wordings = value_wordings({"slots": self.slots}, service, slot, value)
        if role in ("user", "dontcare") and wordings:
            own = wordings
        elif role == "open" and wordings:
            own = [w for w in wordings if len(w.split()) >= 4] or wordings
        return self._pick(rng, own, plain, value=value)

    def intent(self, rng: random.Random, role: str, service: str, intent: str, values: str = "", bare: str = "",
               slots: dict[str, str] | None = None) -> str:
        # The intent said from its description's head or from its name ("check balance"), by turns.
        w = intent_words(self.pack, service, intent) if rng.random() < 0.6 else _name_words(intent)
        plain = {
            "user": [f"Hi, I'd like to {w}.", f"Hello. Could you help me {w}?", f"I want to {w}, please.",
                     f"Hi there, I need to {w}.", f"Can you help me {w}?", f"I'm hoping to {w}.",
                     f"Good morning. I'd like to {w}.", f"I was wondering if I could {w}.", f"Could I {w}?",
                     f"Hello, I'm calling to {w}."],
            "offer": [f"Would you like me to {w}?", f"Shall I {w} for you?", f"Do you want to {w} now?",
                      f"Would you like to {w}?", f"I can {w} now if you like."],
            "done": ["That's done.", "All done, that went through.", "Done: it's all set.", "That went through fine.",
                     "It's all sorted.", "That's been taken care of.", "Success, it's done.", "Okay, that's complete.",
                     "Finished, no problems.", "Right, that's gone through.", "Excellent, it worked."],
            "failed": ["Sorry, that didn't go through.", "I'm sorry, I couldn't do that.", "Unfortunately that failed.",
                       "I'm afraid that didn't work.", "That couldn't be done, sorry."],
            "confirm": [f"Please confirm: {values}. Is that right?", f"Let me check: {values}. Shall I go ahead?",
                        f"Just to be sure: {values}. Correct?",
                        f"Reading it back: {bare}. Does that sound right?", f"That's {bare}, yes?",
                        f"To sum up, {bare}. Shall I do it?", f"{bare}: have I got that right?",
                        f"So, {bare}. Okay to go ahead?", f"I've got {bare}. Is that it?", f"Right: {bare}. Confirm?",
                        f"We're looking at {bare}. All good?", f"Okay, {bare}. Should I proceed?"],
            "nothing": ["Sorry, I couldn't find anything that fits.", "I'm afraid nothing matches that.",
                        "There's nothing that fits, sorry.", "I found no match for that."],
        }[role]
        own = self._own(self.intents, f"{service}.{intent}", role)
        return self._pick(rng, own, plain, values=values, bare=bare or values, **(slots or {}))

    def _told(self, rng: random.Random, speaker: str, acts: list[Act], intent_of: dict[str, str]) -> str:
        informs = A.named(acts, A.INFORM)
        if speaker != "bot" or not informs or not all(a.value for a in informs):
            return ""
        service = informs[0].service
        own = self._own(self.intents, f"{service}.{intent_of.get(service, '')}", "told")
        fields = {a.slot: a.value for a in informs}
        for variant in rng.sample(own, len(own)):
            try:
                return variant.format(**fields)
            except (KeyError, IndexError, ValueError):
                continue
        return ""

    # -- a turn -----------------------------------------------------------------------------------
    def say(self, speaker: str, acts: list[Act], seed: str, intent_of: dict[str, str], first: bool = False,
            after: list[Act] | None = None) -> str:
        """The turn's text: each act in order, one sentence or two; ``intent_of`` names each service's current intent.

        ``after`` is the other side's turn this one answers: "No, I'm all set" answers "Anything else?"
        and nothing else; "That one sounds good" follows an offer, not a phone number.
        """
        rng = random.Random(seed)
        after = after or []
        # A weekday is said as a name ("Thursday"); the act keeps the pack's value ("thursday").
        acts = [dataclasses.replace(a, value=a.value[:1].upper() + a.value[1:])
                if a.value and self.pack.rule(a.service, a.slot).format == "weekday" else a for a in acts]
        # An ISO date is said in words ("March 8th"); the act keeps the canonical value. The wording is
        # drawn apart from the turn's own choices, so a turn without a date reads as it did.
        acts = [dataclasses.replace(a, value=random.Random(f"{seed}|{a.slot}").choice(date_wordings(a.value)))
                if a.value and self.pack.rule(a.service, a.slot).format == "date" and date_wordings(a.value) else a
                for a in acts]
        # So is a time on a pack's 12-hour clock ("3:30 pm" for 15:30).
        acts = [dataclasses.replace(a, value=random.Random(f"{seed}|{a.slot}").choice(time_wordings(a.value, self.pack.locale.clock)))
                if a.value and self.pack.rule(a.service, a.slot).format == "time" and time_wordings(a.value, self.pack.locale.clock)
                else a for a in acts]
        opening = A.has(acts, A.INFORM_INTENT)
        parts: list[str] = []
        confirms = A.named(acts, A.CONFIRM)
        told = self._told(rng, speaker, acts, intent_of)
        if told:
            # The call's results in one sentence of the pack's (``told``), in place of a sentence per slot.
            parts.append(told)
            acts = [a for a in acts if a.act != A.INFORM]
        skip: set[int] = set()
        for a in acts:
            if id(a) in skip:
                continue
            intent = intent_of.get(a.service, "")
            if a.act == A.INFORM_INTENT:
                said = self.intent(rng, "user", a.service, a.value)
                # A greeting opens the call, not each new request in it.
                # Nor is a new request in it said as why one called ("I'm calling to ..." mid-call).
                parts.append(said if first else _CALLING.sub("I'd also like to", _GREETING.sub("", said)))
            elif a.act == A.INFORM and speaker == "user":
                # Said with the request itself, a value needs a sentence of its own, not an answer's fragment.
                # So is one the desk did not ask for, said beside an answer ("Nothing so far." answers no question).
                unasked = A.has(after, A.REQUEST) and a.slot not in {x.slot for x in A.named(after, A.REQUEST)}
                role = "dontcare" if a.value == "dontcare" else "open" if opening or unasked else "user"
                asked = next((x.value for x in acts if x.act == A.INFORM_INTENT and x.service == a.service), intent)
                echoed = any(x.slot == a.slot and x.value.lower() == a.value.lower() for x in after if x.act in (A.OFFER, A.INFORM))
                # Another than the one just offered: asked for by name, not told as if the desk had asked.
                instead = any(x.act == A.OFFER and x.slot == a.slot and x.value.lower() != a.value.lower() for x in after)
                if instead and not echoed:
                    parts.append(rng.choice((f"Do you have {a.value}?", f"What about {a.value}?",
                                             f"I was hoping for {a.value}, actually.", f"Is {a.value} one of them?")))
                    continue
                for _ in range(4):
                    # Two sentences of one turn never open alike ("The problem is ... The problem is ...").
                    # A value the desk has just told is agreed to, not asked for as if new.
                    said = (rng.choice((f"{a.value} suits me.", f"Good, {a.value} is what I wanted.", f"{a.value} is fine by me."))
                            if echoed else self.slot(rng, role, a.service, a.slot, a.value, asked))
                    if not any(_head(said) == _head(p) for p in parts):
                        break
                parts.append(said)
            elif a.act == A.INFORM and not a.value:
                w = slot_words(a.slot)
                parts.append(rng.choice((f"I'm sorry, I don't have the {w} for that.", f"I'm afraid the {w} isn't on my records.",
                                         f"Sorry, I can't see a {w} for that one.")))
            elif a.act == A.INFORM:
                asked = (a.service, a.slot) in {(x.service, x.slot) for x in A.named(after, A.REQUEST)}
                parts.append(self.slot(rng, "tell" if asked else "volunteer", a.service, a.slot, a.value))
            elif a.act == A.REQUEST:
                parts.append(self.slot(rng, "request" if speaker == "user" else "ask", a.service, a.slot))
            elif a.act == A.INFORM_COUNT and a.value == "1":
                offered = next((x.value for x in acts if x.act == A.OFFER), "")
                parts.append(rng.choice((f"I'm afraid {offered} is the only one that fits.", f"{offered} is the only match I have.",
                                         f"There's only {offered}, I'm afraid.")) if offered else "That's the only one that fits.")
                skip |= {id(x) for x in acts if x.act == A.OFFER}
            elif a.act == A.INFORM_COUNT:
                parts.append(rng.choice((f"I found {a.value} that fit.", f"There are {a.value} options.",
                                         f"I have {a.value} matches.", f"{a.value} came up.", f"I see {a.value} of them.")))
            elif a.act == A.OFFER and a is A.named(acts, A.OFFER)[0]:
                named = any(x.act == A.INFORM and x.slot == a.slot and x.value.lower() == a.value.lower() for x in after)
                # The one the User just asked for by name: a yes, not a suggestion ("How about X?" to "Do you have X?").
                parts.append(rng.choice((f"Yes, {a.value} is one of them.", f"Yes, there's {a.value}.",
                                         f"Yes, I have {a.value}.")) if named
                             else self.slot(rng, "offer", a.service, a.slot, a.value))
            elif a.act == A.OFFER:
                parts.append(self.slot(rng, "volunteer", a.service, a.slot, a.value))
            elif a.act == A.CONFIRM and a is confirms[0]:
                values = ", ".join(f"{slot_words(c.slot)} {c.value}" for c in confirms)
                bare = ", ".join(c.value for c in confirms[:-1]) + (" and " if len(confirms) > 1 else "") + confirms[-1].value
                parts.append(self.intent(rng, "confirm", a.service, intent, values, bare, {c.slot: c.value for c in confirms}))
            elif a.act == A.NOTIFY_SUCCESS:
                parts.append(self.intent(rng, "done", a.service, intent))
            elif a.act == A.NOTIFY_FAILURE:
                parts.append(self.intent(rng, "nothing" if not a.slot else "failed", a.service, intent))
            elif a.act == A.OFFER_INTENT:
                if not A.has(acts, A.NOTIFY_SUCCESS):
                    parts.append(self.intent(rng, "offer", a.service, a.value))
                intent_of = {**intent_of, a.service: a.value}
            elif a.act == A.REQUEST_ALTS:
                parts.append(rng.choice(("Is there anything else?", "Do you have another option?", "Any others?",
                                         "What else is there?", "Could you find me a different one?"))
                             if speaker == "user" else rng.choice(("Would you like to change anything?",
                                                                   "Is there something else I can search for?")))
            elif a.act == A.SELECT and a.value and not A.has(after, A.OFFER):
                parts.append(rng.choice((f"Thanks. I'll go with {a.value}, then.", f"Okay, {a.value} it is.",
                                         f"Good, let's go with {a.value}.")))
            elif a.act == A.SELECT:
                parts.append(rng.choice(("That one sounds good.", "Great, that works for me.", "Perfect, thanks.",
                                         "That'll do nicely.", "Okay, that one is fine.", "Good, I'll take that one.")))
            elif a.act == A.AFFIRM_INTENT:
                parts.append(rng.choice(("Yes, please.", "Yes, please do.", "That would be great.", "Yes, let's do that.",
                                         "Please do.")))
            elif a.act == A.AFFIRM:
                # "That's correct" answers "Is that right?", not "Could you make 17:00 instead?" (read in a clinic run).
                confirming = A.has(after, A.CONFIRM)
                parts.append(rng.choice(("Yes, please.", "Yes, that's right.", "Yes, go ahead.", "That's correct.",
                                         "Yes, do it.", "Right, please go on.", "Sure, sounds good.") if confirming else
                                        ("Yes, please.", "Yes, that works.", "Yes, go ahead.", "That's fine.",
                                         "Yes, do it.", "Sure, that's fine.", "Sure, sounds good.")) if a.slot != "fixed"
                             else rng.choice(("That worked!", "Great, it's working now.", "Oh, that fixed it.",
                                              "Yes, it's back now.")))
            elif a.act in (A.NEGATE, A.NEGATE_INTENT):
                parts.append(rng.choice(("No, thank you.", "No, that's fine.", "Not right now.", "No, I'll leave it.")) if a.slot != "fixed"
                             else rng.choice(("I tried that, but it still doesn't work.", "No luck, it's still the same.",
                                              "Done that, and nothing has changed.")))
            elif a.act == A.REQ_MORE:
                parts.append(rng.choice(("Is there anything else I can help with?", "Can I help with anything else?",
                                         "Anything else today?", "What else can I do for you?", "Do you need anything more?",
                                         "Anything further?", "Is there anything more I can do?", "Can I do anything more for you?",
                                         "Something else I can sort out?")))
            elif a.act == A.THANK_YOU:
                plain = ["That's all, thank you.", "Thanks, that's everything.", "Thank you, that's all I needed.",
                         "That covers it, thank you.", "Okay, that's me done, thanks.", "Thank you for your help."]
                # Only an "anything else?" is answered with a no; only a turn's first words greet what was done.
                answering = ["No, I'm all set. Thanks.", "Nothing else, thanks a lot.", "No, that's everything, thanks."]
                # Each thanks: the desk's "You're welcome" answers it (read: "Brilliant, nothing more." -> "My pleasure.").
                glad = ["Great, that's it for today, thanks.", "Brilliant, nothing more, thanks.", "Lovely, cheers.",
                        "Wonderful, I appreciate it.", "Perfect, no more questions. Thank you."]
                parts.append(rng.choice(plain + (answering if A.has(after, A.REQ_MORE) and not parts else [])
                                        + (glad if not parts else [])))
            elif a.act == A.GOODBYE and speaker == "user":
                if not A.has(acts, A.THANK_YOU):
                    parts.append(rng.choice(("Thanks, bye.", "Goodbye.")))
                else:
                    parts[-1] = parts[-1].rstrip(".") + rng.choice((". Bye!", ". Goodbye."))
            elif a.act == A.GOODBYE:
                # "You're welcome" answers a thanks, never a bare goodbye.
                parts.append(rng.choice(("You're welcome. Goodbye!", "Glad I could help. Have a good day!", "Take care, goodbye.",
                                         "My pleasure. Bye now.", "Have a lovely day.", "Thanks for calling. Goodbye.")
                                        if A.has(after, A.THANK_YOU) else
                                        ("Glad I could help. Have a good day!", "Take care, goodbye.", "Have a lovely day.",
                                         "Thanks for calling. Goodbye.")))
        # A value that ends a sentence with its own full stop ("Aaron Tward, M.D.") takes no second one.
        return _DOUBLE_STOP.sub(".", " ".join(_sentence(p) for p in parts if p))
