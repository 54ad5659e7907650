"""Value matching for the validator: is an act's value said in an utterance?

People and models write a value in many ways: ``17:15`` as "5:15 pm", ``3`` as
"three", ``10.10 pounds`` as "£10.10", ``cb21ab`` as "CB2 1AB", ``guesthouse`` as
"guest house". Everything here works on :func:`norm` text (lower case, punctuation
dropped except inside numbers) so the validator compares like with like.
"""

from __future__ import annotations

import functools
import re

from goalconvo.packs.builtin import default_pack, pack_toml

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy", 8: "eighty", 9: "ninety"}
WORD_NUMBERS: dict[str, int] = {w: i for i, w in enumerate(_UNITS)} | {"a couple of": 2, "single": 1}

_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
#: A value that is a postcode, as the default pack's locale writes one (shapes.toml).
_POSTCODE_VALUE = re.compile(pack_toml(default_pack(), "shapes")["phrasing_check"]["postcode_value"])
#: Amounts of money as the default pack's locale writes them (shapes.toml [normaliser]).
_MONEY: dict[str, str] = pack_toml(default_pack(), "shapes")["normaliser"]
_PRICE = re.compile(_MONEY["price"])
_PRICE_IN_WORDS = {word: re.compile(_MONEY["price_in_words"].replace("{word}", word)) for word in WORD_NUMBERS}
#: Values that stand for "no value said": don't care, unknown, not applicable.
SILENT_VALUES = frozenset({"", "?", "none", "dontcare", "dont care", "don't care", "not mentioned", "any"})


def number_word(n: int) -> str:
    """``21`` -> ``"twenty one"`` (hyphens become spaces in :func:`norm`)."""
    if n < 20:
        return _UNITS[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        return _TENS[tens] + ("" if unit == 0 else " " + _UNITS[unit])
    return str(n)


def norm(text: str) -> str:
    """Lower case; ``'s``, ``&``, curly quotes unified; punctuation dropped except in numbers and ``£``."""
    t = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("&", " and ")
    t = re.sub(r"\s+'s\b", "'s", t)  # MultiWOZ tokenises "christ 's college"
    t = re.sub(r"(?<!\d)[.:]|[.:](?!\d)", " ", t)  # keep 17:15 and 10.50, drop sentence dots
    t = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", t)  # keep don't / christ's, drop quotes
    t = re.sub(r"[^a-z0-9:.'£ ]+", " ", t)
    t = re.sub(r"\bcenter\b", "centre", t)
    return re.sub(r"\s+", " ", t).strip()


def compact(text: str) -> str:
    """Letters and digits only: ``"CB2 1AB"`` -> ``"cb21ab"``."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _phrase(p: str) -> re.Pattern[str]:
    """A normalised phrase at word boundaries; a word may take a plural or ``-ly`` ending."""
    return re.compile(r"(?<![a-z0-9])" + re.escape(p) + r"(?:s|es|ly)?(?![a-z0-9])")


@functools.lru_cache(maxsize=4096)
def _spaced(c: str) -> re.Pattern[str]:
    """``"cb21ab"`` as a whole word that may be split by spaces: matches "cb2 1ab", not "xcb21abc"."""
    return re.compile(r"(?<![a-z0-9])" + r" ?".join(map(re.escape, c)) + r"(?:s|es)?(?![a-z0-9])")


def minutes_of_day(value: str) -> int | None:
    """``"17:15"`` / ``"5:15"`` -> minutes after midnight, else None."""
    m = _TIME.match(value.strip())
    if not m:
        return None
    h, mi = int(m.group(1)), int(m.group(2))
    return h * 60 + mi if h < 24 and mi < 60 else None


def time_forms(value: str) -> list[str]:
    """Every normalised way to say a clock time: ``17:15`` -> 17:15, 17.15, 5:15 pm, 5:15pm, ..."""
    mins = minutes_of_day(value)
    if mins is None:
        return []
    h, mi = divmod(mins, 60)
    h12 = h % 12 or 12
    suffix = "pm" if h >= 12 else "am"
    forms = [f"{h:02d}:{mi:02d}", f"{h}:{mi:02d}", f"{h:02d}.{mi:02d}", f"{h}.{mi:02d}"]
    for sep in (":", "."):
        for gap in (" ", ""):
            forms.append(f"{h12}{sep}{mi:02d}{gap}{suffix}")
        forms.append(f"{h12}{sep}{mi:02d} {suffix[0]} m")  # "p.m." after norm
    if mi == 0:
        forms += [f"{h12} {suffix}", f"{h12}{suffix}", f"{h12} o'clock", f"{h12} {suffix[0]} m"]
    if mins == 12 * 60:
        forms += ["noon", "midday"]
    if h < 12:
        forms.append(f"{h12}:{mi:02d}")  # a morning time needs no am
    return forms


def prices_in(ntext: str) -> set[float]:
    """Amounts of money said in normalised text (``£10.10``, ``10.10 pounds``, ``ten pounds``)."""
    out: set[float] = set()
    for m in _PRICE.finditer(ntext):
        out.add(round(float(m.group(1) or m.group(2)), 2))
    for word, n in WORD_NUMBERS.items():
        if _PRICE_IN_WORDS[word].search(ntext):
            out.add(float(n))
    return out


def value_forms(slot: str, value: str) -> list[str]:
    """Normalised phrases any one of which says ``value`` (empty when nothing must be said)."""
    v = norm(value)
    if v in SILENT_VALUES:
        return []
    forms = [v]
    if v.startswith("the "):
        forms.append(v[4:])
    if v.isdigit():
        forms.append(number_word(int(v)))
        if slot == "Stars":
            forms.append(f"{v} star")
    elif v in WORD_NUMBERS:
        forms.append(str(WORD_NUMBERS[v]))
    forms += time_forms(v)
    if v in ("centre", "center"):
        forms += ["centre", "center", "central"]
    if v == "moderate":
        forms += ["moderately priced", "mid range", "mid priced", "reasonably priced"]
    if v == "cheap":
        forms += ["inexpensive", "low cost", "low priced", "budget friendly"]
    return list(dict.fromkeys(forms))


def value_said(slot: str, value: str, ntext: str) -> bool:
    """Whether ``ntext`` (already :func:`norm`) says ``value`` of ``slot``."""
    forms = value_forms(slot, value)
    if not forms:
        return True
    if any(_phrase(f).search(ntext) for f in forms):
        return True
    v = forms[0]
    # Postcodes, phone numbers, references, train ids, "guest house" for "guesthouse".
    if len(compact(v)) >= 5 and _spaced(compact(v)).search(ntext):
        return True
    if slot in ("Ticket", "Fee", "Price") and _NUMBER.search(v):
        amount = round(float(_NUMBER.search(v).group()), 2)  # type: ignore[union-attr]
        if amount in prices_in(ntext) or any(round(float(n), 2) == amount for n in _NUMBER.findall(ntext)):
            return True
    if slot in ("Addr", "Open", "Depart", "Dest") and len(v.split()) >= 3:
        # A long address may lose a comma word ("Regent Street, City Centre"); most words must stay.
        words = [w for w in v.split() if len(w) > 2]
        said = sum(bool(re.search(rf"\b{re.escape(w)}\b", ntext)) for w in words)
        return bool(words) and said / len(words) >= 0.75
    return False


def is_postcode(value: str) -> bool:
    return bool(_POSTCODE_VALUE.match(norm(value)))
