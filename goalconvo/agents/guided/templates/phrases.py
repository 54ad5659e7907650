"""The wordings: sentence frames per act and situation, written for GoalConvo.

Those that differ per service (booking a table, a room, tickets) are the default pack's
(``sentences.toml``); the rest are here.

No frame copies MultiWOZ: ``tests/test_templates.py`` renders every frame and whole
dialogues and checks that no 6-word sequence is shared with MultiWOZ val (our figures
are measured against it). Placeholders: ``{np}`` a noun phrase with its article,
``{nps}`` a plural one, ``{name}`` / ``{Name}`` a venue (capitalised at a sentence's
start), ``{clause}`` a booking clause ("for 4 people on Friday at 18:30"), ``{route}``
a journey, ``{v}`` a value, ``{list}`` attribute nouns joined, ``{their}`` "their"/"its".
"""

from __future__ import annotations

from typing import Any

from goalconvo.packs.builtin import default_pack, pack_toml

#: The default pack's sentences that differ per service (``[files] sentences`` of MultiWOZ's ``pack.toml``).
_SENTENCES: dict[str, Any] = pack_toml(default_pack(), "sentences")


def _setting(key: str) -> tuple[str, ...]:
    """Lines of ``sentences.toml``'s ``[setting]``: what is said of the desk's place (a visit to the town)."""
    return tuple(_SENTENCES["setting"][key])


def _per_service(table: str) -> dict[str, tuple[str, ...]]:
    """One table of ``sentences.toml``: service -> its wordings ("" for any other service)."""
    return {k: tuple(v) for k, v in _SENTENCES[table].items()}


# --- the User -----------------------------------------------------------------------

#: The first thing a User asks for, searching by constraints.
USER_OPEN = (
    "I'm looking for {np}.", "I'm searching for {np}.", "Can you find me {np}?", "I'd like {np}, please.",
    "I'm hoping to find {np}.", "Do you know of {np}?", "I want to find {np}.",
    "Please find me {np}.", "Can you suggest {np}?", "Is there {np} you'd suggest?", "I'd love to find {np}.",
)
#: Who the phrasing prompt says the desk's side is ("the clerk of a Cambridge travel desk"): the pack's words.
PHRASING_CLERK: str = _SENTENCES["setting"]["phrasing_clerk"]
#: What a visitor may say before the first need (it names the town where no train is asked for).
USER_TRIP = _setting("user_trip")
#: A second or third domain, later in the dialogue.
USER_NEXT = (
    "I also need {np}.", "Next, I need {np}.", "I also want {np}.", "I'm after {np} as well.",
    "I'd also like {np}.", "Besides that, I need {np}.", "I'm also after {np}.", "Now I need {np}.",
    "Next I'm hoping to find {np}.",
)
#: Trains and taxis are booked or caught, not found.
USER_OPEN_TRAVEL = (
    "I need {np}.", "I'm looking for {np}.", "I'd like {np}, please.", "Can you check {np} for me?",
    "I have to book {np}.", "Could you sort out {np}?",
)
USER_NEXT_TRAVEL = (
    "I also need {np}.", "I'll also need {np}.", "Next, I need {np}.", "Could you also sort out {np}?",
    "I'd also like {np}.", "I'm after {np} as well.",
)
#: Opening with a venue's name.
USER_NAME_OPEN = (
    "I'm looking for {name}.", "What do you know about {name}?", "I'd like some details on {name}.",
    "Do you have details for {name}?", "I'm trying to find {name}.", "Could you look up {name}?",
)
USER_NAME_NEXT = (
    "I'd also like details on {name}.", "Could you also look up {name}?", "I'm also interested in {name}.",
    "Next, can you find {name} for me?",
)
#: Adding a constraint to a search already going: ``{pred}`` is "be in the north", "have free parking".
USER_MORE = (
    "It should {pred}.", "I'd prefer it to {pred}.", "It needs to {pred}.", "Ideally it would {pred}.",
    "Oh, and it should {pred}.", "It has to {pred}.",
)
#: A constraint still unsaid when the desk names a place, asked of it: ``{question}`` is "is it expensive".
USER_CHECK_NAMED = (
    "{Question}? That matters to me.", "Before I decide, {question}?", "Just to check, {question}?",
    "Sounds promising, but {question}?", "{Question}? I should have said I need that.",
)
#: Right after a no-offer: what else would do.
USER_RELAX = (
    "Okay, how about {np} instead?", "What about {np}, then?", "Then could you look for {np}?",
    "In that case, {np} would be fine.", "Hmm, is there {np}?", "Alright, let's try {np}.",
)
USER_RELAX_MORE = (
    "Okay, then it should {pred}.", "In that case, it can {pred}.", "Fine, let's say it should {pred}.",
)
#: Answering "which day / how many people ...": short fragments, as people answer.
USER_FRAGMENT_END = ("", "", ", please", " please")
#: Booking after the desk offered to book (``{clause}`` starts with "for", "on" or "at").
USER_BOOK_YES = (
    "Yes, please. {Clause}.", "Yes please, {clause}.", "That would be great, {clause}.", "Sure, {clause}.",
    "Yes, book it {clause}.", "Please do, {clause}.",
)
#: Booking what was just recommended, per domain (``{clause}`` as above).
USER_BOOK: dict[str, tuple[str, ...]] = _per_service("user_book")
#: Booking a venue named in the same breath.
USER_BOOK_NAME: dict[str, tuple[str, ...]] = _per_service("user_book_name")
#: Trying again after a refused booking.
USER_BOOK_RETRY = (
    "Could you try {clause} instead?", "How about {clause}?", "Then {clause} would work too.",
    "Okay, what about {clause}?", "Let's try {clause}, then.",
)
#: Asking for attributes: ``{list}`` "phone number and postcode", ``{their}`` "their" or "the".
USER_ASK = (
    "What's {their} {list}?", "Could I have {their} {list}?", "And {their} {list}?", "Please tell me {their} {list}.",
    "What is {their} {list}, please?", "Do you have {their} {list}?", "I'll need {their} {list} as well.",
    "I'd like {their} {list} too.",
)
USER_ASK_YESNO: dict[str, tuple[str, ...]] = {
    "Internet": ("Do they have wifi?", "Is there free wifi there?", "Does it have internet?"),
    "Parking": ("Do they have parking?", "Is parking available there?", "Can I park there?"),
}
#: Whole questions for single train and taxi attributes, more natural than the list frame.
USER_ASK_ONE: dict[str, tuple[str, ...]] = {
    "Leave": ("When does it leave?", "What time does it depart?", "What time does that one leave?"),
    "Arrive": ("What time does it get in?", "When does it arrive?", "When would I get there?"),
    "Time": ("How long is the journey?", "How long does it take?", "How long is the trip?"),
    "Ticket": ("How much is a ticket?", "What does a ticket cost?", "How much will it cost?"),
    "Id": ("What's the train number?", "Which train is that?", "What is the train's ID?"),
    "Ref": ("What's the reference?", "What's the reference number?", "Can I get a reference for that?"),
    "Car": ("What kind of car will it be?", "What car should I look out for?", "Which car should I expect?"),
    "Fee": ("Is there a charge to get in?", "Is there an entrance fee?", "What's the admission charge?"),
}
#: Acknowledging what the desk just said before moving on.
USER_ACK_OFFER = ("Lovely.", "Great.", "Perfect.", "That one sounds nice.", "Sounds ideal.", "Okay, good.", "Nice.")
USER_ACK_DONE = ("Brilliant.", "Lovely, cheers.", "Great stuff.", "Perfect.", "Thanks!", "Wonderful.")
USER_NOT_BOOKING = ("Not right now, thanks.", "No booking for now.", "I'll hold off on booking.", "Not yet.")
USER_ACK_BAD = ("Oh, okay.", "That's a shame.", "Oh dear.", "Hmm, okay.")
USER_THANK = (
    "Thanks, that's really helpful.", "Great, thank you.", "Perfect, thanks so much.", "Thank you, that helps a lot.",
    "Brilliant, cheers.", "That's great, thanks.",
)
USER_THANK_BYE = (
    "That's everything, thanks so much. Bye!", "Great, that covers it. Thank you, goodbye.",
    "Thanks a lot, that's all for today. Bye.", "Perfect, thanks, you've been very helpful. Goodbye!",
    "Thank you, I think I'm all set. Bye!", "That's all I wanted, many thanks. Bye.",
    "Wonderful, thanks for your help today. Goodbye.", "Cheers, that sorts everything out. Bye!",
)
USER_BYE = ("Bye!", "Goodbye.", "Cheers, bye.", "Bye for now.", "Okay, goodbye.")
#: A closing put together from parts, so twenty dialogues do not end on the same few lines:
#: what is done, the thanks, the goodbye ("" for none). ``USER_CLOSE_NO`` answers "anything else?".
USER_CLOSE_DONE = (
    "That's everything.", "That covers it.", "That's all for today.", "That sorts me out.",
    "I've got what I needed.", "That's the lot.", "I'm sorted now.", "Nothing else for now.",
)
USER_CLOSE_NO = ("No, {done}", "No thanks, {done}", "Nope, {done}")
USER_CLOSE_THANKS = (
    "Thanks so much.", "Thank you.", "Many thanks.", "Cheers.", "Thanks for sorting that.",
    "You've been really helpful.", "I appreciate it.", "Thanks a lot.", "That's kind of you.",
    "Thanks, that was quick.",
)
USER_CLOSE_BYE = ("Bye!", "Goodbye.", "Bye for now.", "Enjoy your day.", "Take care.", "Bye then.", "", "")
USER_GREET = ("Hi", "Hello", "Morning", "Hiya")
USER_DONTCARE: dict[str, tuple[str, ...]] = {
    "Area": ("Any area is fine.", "The area doesn't matter.", "I don't mind which part of town."),
    "Price": ("The price doesn't matter.", "Any price range is fine.", "I'm not fussed about price."),
    "Food": ("Any type of food is fine.", "I don't mind what food.", "I'm open to any cuisine."),
    "Stars": ("The star rating doesn't matter.", "Any number of stars is fine."),
    "Internet": ("I don't mind about wifi.", "Wifi doesn't matter."),
    "Parking": ("I don't mind about parking.", "Parking doesn't matter."),
    "Type": ("Any type is fine.", "I don't mind what type."),
    "Name": ("I don't have a name in mind.", "No particular one."),
    "Leave": ("Any time is fine.", "I'm flexible on the time."),
    "Arrive": ("I'm flexible on when I get there.", "The arrival time doesn't matter."),
    "Day": ("Any day is fine.",),
    "": ("I don't mind.", "No preference.", "It doesn't matter."),
}

# --- the SupportBot --------------------------------------------------------------------
BOT_CHOICE = ("There are {n} {nps}.", "I have {n} {nps}.", "I found {n} {nps}.", "I can see {n} {nps}.")
BOT_CHOICE_ONE = ("There is just one {np}.", "I found one {np}.", "There's only one {np}.")
BOT_RECOMMEND = (
    "How about {name}? It's {np}.", "I'd recommend {name}, {np}.", "{Name} would be a good choice. It's {np}.",
    "You might like {name}. It's {np}.", "I'd suggest {name}, {np}.", "There's {name}, {np}.",
    "{Name} is {np} I can recommend.", "Try {name}, {np}.",
)
BOT_RECOMMEND_BARE = (
    "How about {name}?", "I'd recommend {name}.", "{Name} would be a good choice.", "You might like {name}.",
    "I'd suggest {name}.",
)
BOT_NAME = ("{Name} is {np}.", "There's {name}, {np}.", "I found {name}, {np}.", "{Name} might suit you. It's {np}.")
BOT_NAME_BARE = ("I found {name}.", "There's {name}.", "{Name} is the one.", "That would be {name}.")
#: The place just named does not meet what the User added.
BOT_NAMED_FAILS = ("Not that one, I'm afraid.", "Sadly that one doesn't fit.", "I'm afraid that one doesn't fit.", "That one's out, sorry.")
BOT_CONFIRM = ("Yes, {name} {pred}.", "Yes, it {pred}.", "It does fit: it {pred}.", "Good news, it {pred}.")
BOT_NOOFFER = (
    "I'm sorry, there are no {nps}.", "Unfortunately I can't find any {nps}.", "I'm afraid there aren't any {nps}.",
    "Sorry, I have no {nps}.",
)
BOT_NOOFFER_NAME = ("Sorry, I have nothing called {name}.", "I'm sorry, I can't find {name} in my listings.")
BOT_NOOFFER_BARE = ("Sorry, nothing matches that.", "I'm afraid nothing fits that.", "Unfortunately there's no match.")
#: A desk question about one search slot.
BOT_ASK: dict[str, tuple[str, ...]] = {
    "Area": ("Which part of town suits you?", "Any part of town you'd prefer?", "Which area suits you?", "Any particular area?"),
    "Price": ("What's your price range?", "Any budget in mind?", "How much would you like to spend?"),
    "Food": ("Which cuisine would you like?", "Any particular cuisine?", "Is there a cuisine you fancy?"),
    "Type": ("What kind of place do you fancy?", "Any type in mind?", "What kind of place are you after?"),
    "Stars": ("Any star rating in mind?", "Do you want a particular star rating?"),
    "Internet": ("Do you need wifi?", "Will you need internet?"),
    "Parking": ("Do you need parking?", "Will you need somewhere to park?"),
    "Name": ("Do you have a name in mind?", "Is there one you have in mind?"),
    "Day": ("What day are you travelling?", "Which day would that be?", "On what day?"),
    "Depart": ("Where are you starting from?", "Where are you travelling from?", "What's your starting point?"),
    "Dest": ("Where are you heading?", "What's your destination?", "Where are you off to?"),
    "Leave": ("When would you like to set off?", "What time would you like to travel?", "Do you have a time in mind?"),
    "Arrive": ("Is there a time you have to be there by?", "What time would you like to travel?", "When do you have to be there?"),
    "People": ("How many tickets shall I book?", "How many people are travelling?", "For how many people?"),
    "Department": ("Which department are you looking for?", "What department do you need?"),
    "Time": ("What time would you like?", "At what time?"),
    "Stay": ("How many nights?", "How long will you stay?"),
}
BOT_ASK_TAXI: dict[str, tuple[str, ...]] = {
    "Leave": ("What time do you need the taxi?", "When would you like the taxi?", "What time should the taxi come?"),
    "Arrive": ("What time do you need the taxi?", "When would you like the taxi?"),
    "Depart": ("Where should the taxi pick you up?", "Where should the driver pick you up?"),
    "Dest": ("Where are you going?", "Where is the taxi taking you?"),
}
BOT_ASK_RESTAURANT_TYPE = ("Which cuisine would you like?",)
BOT_ASK_HOTEL_TYPE = ("Which type do you prefer, a hotel or a guesthouse?", "What type of place suits you: hotel or guesthouse?")
#: Asking for missing booking details: fragments joined ("For how many people, on which day and at what time?").
BOT_BOOK_ASK: dict[str, str] = {
    "People": "for how many people", "Day": "on which day", "Time": "at what time", "Stay": "for how many nights",
}
BOT_BOOK_ASK_LEAD = ("Sure.", "Certainly.", "Of course.", "Happy to.", "")
BOT_BOOK_ASK_ONE: dict[str, tuple[str, ...]] = {
    "People": ("How many people is it for?", "For how many people?", "How many will there be?"),
    "Day": ("What day would you like?", "Which day would suit you?", "For which day?"),
    "Time": ("What time would you like?", "What time works for you?", "At what time?"),
    "Stay": ("How many nights is the stay?", "For how many nights?", "How long is the stay?"),
}
#: Asking again after a no-offer: the slot the User could change.
BOT_ASK_OTHER: dict[str, tuple[str, ...]] = {
    "Area": ("Would another area be okay?", "Shall I look in a different area?"),
    "Price": ("Would a different price range work?", "Could you go for another price range?"),
    "Food": ("Would you like a different type of food?", "Is there another cuisine you'd like?"),
    "Type": ("Would another type of place do?", "Shall I look for another type?"),
    "Stars": ("Would a different star rating do?", "Could you go for another star rating?"),
    "Internet": ("Could you do without wifi?",),
    "Parking": ("Could you do without parking?",),
    "Day": ("Would another day work?", "Could you travel on a different day?"),
    "Time": ("Is another time possible?", "Would a different time work?"),
    "Stay": ("Would a shorter stay work?", "Could you stay fewer nights?"),
    "People": ("Could the party be smaller?",),
    "Leave": ("Would a different time work?",),
    "Arrive": ("Would a different time work?",),
    "Name": ("Is there another one you'd like?",),
    "Department": ("Is there another department you need?",),
}
#: Asking again after a no-offer with two or more constraints: either may change ("a different area or type of food").
BOT_ASK_OTHER_TWO = ("Would a different {a} or {b} work for you?", "Shall I try another {a} or {b}?", "Could you change the {a} or the {b}?")
#: Offering to book, per domain.
BOT_OFFER_BOOK: dict[str, tuple[str, ...]] = _per_service("bot_offer_book")
BOT_OFFER_BOOK_NAME: dict[str, tuple[str, ...]] = _per_service("bot_offer_book_name")
BOT_OFFER_BOOK_CLAUSE = ("Shall I book it {clause}?", "Should I go ahead and book it {clause}?")
BOT_BOOKED: dict[str, tuple[str, ...]] = _per_service("bot_booked")
BOT_BOOKED_BARE: dict[str, tuple[str, ...]] = _per_service("bot_booked_bare")
BOT_TRAIN_BOOKED = ("I've booked your tickets on {id}.", "You're booked on {id}.", "Done, your seats on {id} are booked.")
BOT_TRAIN_BOOKED_PEOPLE = ("I've booked {n} tickets on {id}.", "You now have {n} seats booked on {id}.", "Done, {n} tickets on {id} are booked.")
BOT_NOBOOK: dict[str, tuple[str, ...]] = _per_service("bot_nobook")
BOT_NOBOOK_BARE = ("Sorry, I couldn't make that booking{clause}.", "Unfortunately that booking isn't possible{clause}.")
BOT_REF = ("The reference number is {v}.", "Your reference is {v}.", "Your reference number is {v}.", "Reference: {v}.")
BOT_TOTAL = ("The total comes to {v}.", "It's {v} in total.", "That's {v} altogether.")
#: One sentence per attribute (answers to requests); ``{their}`` "their" or "its".
FACT: dict[str, tuple[str, ...]] = {
    "Addr": ("The address is {v}.", "They're at {v}.", "It's located at {v}.", "You'll find it at {v}."),
    "Phone": ("{Their} phone number is {v}.", "You can reach them on {v}.", "The number to call is {v}."),
    "Post": ("The postcode is {v}.", "{Their} postcode is {v}."),
    "Fee": ("The entrance fee is {v}.", "Entry costs {v}.", "Admission is {v}."),
    "Open": ("It's open {v}.", "Opening hours are {v}."),
    "Area": ("It's in the {v}.", "It's located in the {v}."),
    "Food": ("They serve {food}.", "It serves {food}."),
    "Type": ("It's {a_v}.",),
    "Stars": ("It has {v} stars.", "It's rated {v} stars."),
    "Price": ("It's in the {v} price range.", "Prices there are {v}."),
    "Ref": ("The reference number is {v}.", "Your reference is {v}."),
    "Ticket": ("A ticket costs {v}.", "Tickets are {v} each.", "The fare is {v}."),
    "Time": ("The journey takes {v}.", "It takes {v}.", "Travel time is {v}."),
    "Leave": ("It leaves at {v}.", "It departs at {v}."),
    "Arrive": ("It arrives at {v}.", "It gets in at {v}."),
    "Id": ("That's {v}.", "The train is {v}."),
    "Day": ("That's on {v}.",),
    "Depart": ("It leaves from {v}.",),
    "Dest": ("It goes to {v}.",),
    "People": ("That's for {v} people.",),
    "Stay": ("That's for {v} nights.",),
    "Car": ("It's a {v}.",),
    "Name": ("It's called {v}.", "The name is {v}."),
    "Department": ("That's the {v} department.",),
    "Choice": ("There are {v} options.",),
}
FACT_FREE = ("It's free to get in.", "Entrance is free.", "It's free of charge.")
FACT_UNKNOWN = ("I'm afraid I don't know the {noun}.", "Sadly my listing has no {noun} for it.", "I'm sorry, the {noun} isn't listed.")
FACT_YESNO: dict[tuple[str, bool], tuple[str, ...]] = {
    ("Internet", True): ("They have free wifi.", "Wifi is included.", "There's free internet."),
    ("Internet", False): ("They don't offer internet.", "There's no wifi there."),
    ("Parking", True): ("They have free parking.", "Parking is free there.", "There's parking available."),
    ("Parking", False): ("There's no parking there.", "They don't have parking."),
}
#: Trains.
BOT_TRAIN = (
    "{Id} leaves{dep} at {leave} and arrives{dest} at {arrive}.", "There's {id}, leaving at {leave} and arriving by {arrive}.",
    "{Id} departs at {leave} and gets in at {arrive}.", "The {leave} train, {id}, gets in at {arrive}.",
)
BOT_TRAIN_CHOICE = ("There are {n} trains{route}.", "I have {n} trains{route}.", "I can see {n} trains{route}.")
BOT_TRAIN_NOOFFER = ("I'm sorry, there's no train{route}.", "Unfortunately no train runs{route}.", "There are no trains{route}, I'm afraid.")
BOT_TRAIN_NOOFFER_BUT = ("There's nothing{route}, but", "No train runs{route}, but")
#: Taxis.
BOT_TAXI = (
    "I've booked you a {car}{route}.", "Your taxi is booked: look out for a {car}{route}.", "A {car} will pick you up{route}.",
    "Done, a {car} is on its way{route}.",
)
BOT_TAXI_PHONE = ("The driver's number is {v}.", "You can reach the driver on {v}.", "The driver can be reached on {v}.")
#: Hospital and police.
BOT_HOSPITAL = ("Addenbrookes Hospital has {a_dept}.", "Yes, there's {a_dept} at the hospital.", "You want the {dept} at Addenbrookes Hospital.")
BOT_POLICE = ("The nearest police station is {name}.", "That would be {name}.", "You want {name}.")
#: Closings.
BOT_WELCOME = ("You're welcome.", "My pleasure.", "Glad to help.", "No problem.", "Happy to help.", "Any time.")
BOT_REQMORE = (
    "Anything else today?", "Need anything more?", "Can I help further?", "Any other questions?",
    "Is there more I can help with?", "Anything further I can do?",
    "Anything else on your list?", "How else can I help?",
)
BOT_REQMORE_AFTER_OFFER = ("Would you like more details?", "Want to know more about it?", "Shall I give you more details?")
BOT_BYE = ("Have a lovely day!", "Enjoy your visit!", "Take care!", "Goodbye!", "Safe travels!")
BOT_WELCOME_BYE = _setting("welcome_bye")
#: The desk's goodbye from parts, as the User's: welcome, a wish, a goodbye ("" for none).
BOT_CLOSE_WELCOME = (
    "You're welcome.", "My pleasure.", "Glad to help.", "No problem.", "Happy to help.", "Any time.",
    "Not at all.", "Glad it helped.",
)
BOT_CLOSE_WISH = _setting("close_wish")
BOT_CLOSE_BYE = ("Goodbye!", "Bye!", "Bye for now.", "Take care.", "", "")
BOT_GREET = ("Hello!", "Hi there.", "Good day!")
BOT_FALLBACK = ("Okay.",)
USER_FALLBACK = ("Alright.",)
