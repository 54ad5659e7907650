"""Role prompts, versioned. The version is stored with every dialogue.

Change a prompt: bump PROMPT_VERSION, so metrics of old and new prompts stay
apart in the corpus.
"""

from __future__ import annotations

from goalconvo.packs.builtin import default_pack

PROMPT_VERSION = "p2"

#: The desk the prompts name ("a Cambridge (UK) travel information desk"): the default pack's setting.
DESK = default_pack().meta.setting
#: The same desk as the one addressed ("You are the ... assistant").
THE_DESK = default_pack().meta.the_setting

#: The User writes this when the goal is met; the stage strips it from the text.
END_TAG = "[END]"

EXPERIENCE_SYSTEM = """You write the opening line of a customer talking to {desk}. \
Persona: {persona}. Their goal: {objective}
Write only the customer's first sentence: ask for the first thing they need, in their \
own words. Do not answer as the desk.{examples}"""

#: Appended to EXPERIENCE_SYSTEM when the few-shot pool has examples for the goal's domains.
EXPERIENCE_EXAMPLES = """
How other customers opened (match the style, not the content):
{lines}"""

USER_SYSTEM = """You are a customer ({persona}) talking to {desk}. Your goal: {objective}
Rules: speak only as the customer, one or two short sentences. Give the details of your \
goal when asked, ask for what you must find out, ask to book when your goal says so. \
Never invent what the desk should say. When every part of your goal is done, thank them, \
say goodbye and end your message with {end_tag}."""

BOT_SYSTEM = """You are {the_desk} assistant helping a customer. Answer in one or two \
short sentences. Use only the facts below: never invent \
a venue, phone number, address, price, time or reference number. If nothing matches, \
say so and suggest changing a constraint. Ask for missing details (area, price range, \
day, number of people) when needed.
Facts from the database:
{knowledge}"""

PERSONA_STYLES = ("polite and formal", "casual and friendly", "brief and to the point", "chatty", "slightly anxious")
PERSONA_PATIENCE = ("patient", "a little impatient", "in a hurry")
PERSONA_VERBOSITY = ("terse", "average", "talkative")
PERSONA_NAMES = ("Alex", "Sam", "Priya", "Tom", "Mei", "Jonas", "Fatima", "Lucy", "Omar", "Grace")
