"""``packs new NAME``: a pack folder to fill in, every field explained where it is written.

The scaffold loads as it stands (one service, one searched and one booking intent, three
entity rows), so an author can change it a piece at a time and run ``packs validate`` after
each change.
"""

from __future__ import annotations

import json
from pathlib import Path

from goalconvo.packs.model import PackError

PACK_TOML = '''\
# The pack file: what SGD's schema.json does not say. `goalconvo packs validate {name}/`
# checks that every part fits and names the file, service and field of each fault.

[pack]
name = "{name}"
version = "0.1"                    # goals name pack and version; bump it when the pack changes
licence = "CC-BY-4.0"              # exports and the dataset card carry licence and attribution
attribution = "Written by <you>"
setting = "a <business>'s booking line"   # how prompts name the desk: "You work at <setting>"
description = "What users of this desk want."
# delivers = "venues, the facts asked about them, bookings made"   # what the LLM judge asks the desk to have given
# schema = "schema.json"           # SGD's layout: services, slots, intents

[locale]
# Regular expressions for values the desk says; the validator checks them.
phone = '0[0-9]{{3}} [0-9]{{3}} [0-9]{{4}}'
postcode = '[A-Z0-9 ]{{5,8}}'
price = '[0-9]+(\\.[0-9]{{2}})?'
date = '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}'
time = '[0-9]{{1,2}}:[0-9]{{2}}'
currency = "£"
clock = "24h"                      # how turns say a time: 24h ("15:30") or 12h ("3:30 pm"); values stay H:MM

[services.Venues]
# A searched service needs entity rows (CSV or JSON Lines; columns are the service's slots).
entities = "entities/venues.csv"
# per_call = true                  # results made per call (a balance), not looked up
# extra_columns = ["id"]           # entity columns that are no slot (a database's row ids)
# words = ["venue", "hall"]        # what people call the service, for reading their requests

[slots."Venues.people"]
format = "count"                   # text | count | time | date | weekday | phone | postcode | price | money | reference
min = 1
max = 20
# unit = "people"                  # what a count counts, as a refusal names it

[slots."Venues.time"]
format = "time"
compare = "at_or_after"            # equal | at_or_after ("after 17:00") | by ("by 17:00")

[slots."Venues.reference"]
format = "reference"
generated = true                   # the service makes it on a call

# [slots."Taxi.destination"]
# from = ["Venues.name"]           # filled from an entity an earlier service settled on

[[failures]]
# How an intent fails: no_match (nothing fits), refused (a booking refused), or
# notify_failure (SGD's: the call fails and the desk offers the alternative slots).
service = "Venues"
intent = "BookVenue"
kind = "notify_failure"
alternative = ["time"]
rate = 0.2                         # share of goals drawn with this failure

# [[user_state]]                   # per-user records a goal is drawn from and a dialogue changes
# service = "Accounts"
# table = "state/accounts.csv"     # one row per record, a `user` column and a key column
# key = "account_id"
# intents = ["CheckBalance", "MoveMoney"]
# amount_column = "balance"        # a transfer moves amount_slot from one row's column to another's
# amount_slot = "amount"

# [[diagnosis]]                    # facts -> next step, asked step by step until a row decides
# service = "Support"
# table = "diagnosis/faults.csv"   # columns: the asked slots, step, fixes (yes/no); empty cell = any
# asks = ["device", "symptom", "tried"]
# step_slot = "step"
# fallback_intent = "OpenTicket"   # run when no row fixes the fault

# [files]
# goals = "goals.jsonl"            # goals to run with `--goals-file`
# card = "card.toml"               # the training exports' card in your words: pretty_name, about,
#                                  # system_prompt, license_id, license_text, tags (each optional)
'''

SCHEMA = [{
    "service_name": "Venues",
    "description": "Find a venue and book it",
    "slots": [
        {"name": "district", "description": "Part of town", "is_categorical": True,
         "possible_values": ["north", "centre", "south"]},
        {"name": "name", "description": "The venue's name", "is_categorical": False, "possible_values": []},
        {"name": "phone", "description": "The venue's phone number", "is_categorical": False, "possible_values": []},
        {"name": "people", "description": "How many people", "is_categorical": False, "possible_values": []},
        {"name": "time", "description": "Time of the booking", "is_categorical": False, "possible_values": []},
        {"name": "reference", "description": "The booking's reference", "is_categorical": False, "possible_values": []},
    ],
    "intents": [
        {"name": "FindVenue", "description": "Find a venue in a district", "is_transactional": False,
         "required_slots": ["district"], "optional_slots": {}, "result_slots": ["name", "district", "phone"]},
        {"name": "BookVenue", "description": "Book a venue for some people at a time", "is_transactional": True,
         "required_slots": ["name", "people", "time"], "optional_slots": {},
         "result_slots": ["name", "people", "time", "reference"]},
    ],
}]

ENTITIES = """\
name,district,phone
The Example Room,centre,0123 456 7890
Northside Hall,north,0123 456 7891
South Yard,south,0123 456 7892
"""


def new_pack(folder: Path) -> Path:
    """Write a scaffold pack into ``folder`` (which must not exist yet); its name is the folder's."""
    if folder.exists():
        raise PackError([f"{folder}: already exists (packs new writes a new folder)"])
    name = folder.name
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise PackError([f"{name!r}: a pack name uses letters, digits, '-' and '_' only"])
    (folder / "entities").mkdir(parents=True)
    (folder / "pack.toml").write_text(PACK_TOML.format(name=name), encoding="utf-8")
    (folder / "schema.json").write_text(json.dumps(SCHEMA, indent=1) + "\n", encoding="utf-8")
    (folder / "entities" / "venues.csv").write_text(ENTITIES, encoding="utf-8")
    return folder
