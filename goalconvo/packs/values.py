"""Does a value fit its slot's format and bounds? One function, used by pack checks and the validator.

Formats: ``count`` (a whole number within the rule's bounds), ``time`` (H:MM or HH:MM,
0:00-24:59), ``weekday``, and the locale's own patterns for ``date``, ``phone``,
``postcode``, ``price``/``money``. ``text`` and ``reference`` take any short text.
"""

from __future__ import annotations

import re
from datetime import date

from goalconvo.packs.model import Locale, SlotRule

WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: The longest text any slot value may be (venue names run to about 40 characters).
MAX_VALUE_CHARS = 200
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_COUNT = re.compile(r"-?[0-9]{1,9}")
_NUMBER = re.compile(r"-?[0-9][0-9,]*(?:\.[0-9]+)?")


def is_clock_time(text: str) -> bool:
    """H:MM or HH:MM, 0:00-24:59 (MultiWOZ's timetable writes a train past midnight as 24:07)."""
    m = _CLOCK.fullmatch(text)
    return m is not None and int(m.group(1)) <= 24 and int(m.group(2)) <= 59


_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def date_wordings(value: str) -> list[str]:
    """How a person says an ISO date ("2019-03-08"): "March 8th", "Friday, March 8th", "the 8th of March".

    SGD's service calls carry canonical dates while its people say them in words; a pack imported
    from SGD keeps the canonical value in goals and acts, and its turns say one of these. Empty
    for a value that is not an ISO date (a weekday, "tomorrow"): that is said as it is.
    """
    m = _ISO_DATE.fullmatch(value.strip())
    if m is None:
        return []
    try:
        day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return []
    month, nth = _MONTHS[day.month - 1], _ordinal(day.day)
    return [f"{month} {nth}", f"{WEEKDAYS[day.weekday()].capitalize()}, {month} {nth}", f"the {nth} of {month}"]


def time_wordings(value: str, clock: str) -> list[str]:
    """How a desk on a ``12h`` clock says an H:MM time: "3:30 pm", "3 pm" for 15:00, "12 pm" for noon.

    Empty on a ``24h`` clock or for a value that is not H:MM: that is said as it is.
    """
    m = _CLOCK.fullmatch(value.strip())
    if clock != "12h" or m is None or not is_clock_time(value.strip()):
        return []
    hour, minute = int(m.group(1)) % 24, m.group(2)
    half = "am" if hour < 12 else "pm"
    twelve = hour % 12 or 12
    return [f"{twelve} {half}", f"{twelve}:{minute} {half}"] if minute == "00" else [f"{twelve}:{minute} {half}"]


def value_problem(rule: SlotRule, locale: Locale, value: str) -> str | None:
    """Why ``value`` does not fit ``rule`` (a short sentence), or None when it does."""
    text = value.strip()
    if len(text) > MAX_VALUE_CHARS:
        return f"a value of {len(text)} characters (at most {MAX_VALUE_CHARS})"
    fmt = rule.format
    if fmt == "count":
        if _COUNT.fullmatch(text) is None:
            return f"{value!r} is not a whole number"
        n = int(text)
        if (rule.minimum is not None and n < rule.minimum) or (rule.maximum is not None and n > rule.maximum):
            return f"{value!r} is outside {rule.minimum}-{rule.maximum}"
    elif fmt == "time":
        if not is_clock_time(text):
            return f"{value!r} is not a time of day (H:MM or HH:MM)"
    elif fmt == "weekday":
        if text.lower() not in WEEKDAYS:
            return f"{value!r} is not a day of the week"
    elif fmt in ("date", "phone", "postcode", "price", "money"):
        pattern = getattr(locale, "price" if fmt == "money" else fmt)
        try:
            if re.fullmatch(pattern, text) is None:
                return f"{value!r} does not match the pack's {fmt} format {pattern!r}"
        except re.error:
            return None  # the pattern itself is reported once by the pack check
    return None


def amount_of(text: str) -> float | None:
    """The number in a money value ("$1,630", "£86.20", "400"), or None."""
    m = _NUMBER.search(text or "")
    return float(m.group(0).replace(",", "")) if m else None


def money_text(value: float, like: str) -> str:
    """``value`` written as ``like`` is: its currency sign, thousands commas, pence when it has them."""
    sign = like[: len(like) - len(like.lstrip("$£€¥ "))].strip()
    body = f"{value:,.2f}" if "." in like else f"{int(round(value)):,}"
    if "," not in like:
        # Written as ``like`` is: "1240" gives "1870", "£1,240" gives "£1,870".
        body = body.replace(",", "")
    return f"{sign}{body}"
