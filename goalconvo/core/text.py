"""Control characters: refused in ids, escaped wherever stored text reaches a terminal.

An id (goal, run, dialogue) names a record; it needs no line breaks, escapes or invisible
formatting, and one that holds them can rewrite a terminal line or pass for another id.
Text (turns, goal messages) keeps its format characters (bidi marks: right-to-left languages
need them); only its control characters are escaped when printed.
"""

from __future__ import annotations

import unicodedata

#: Categories refused in ids: controls (C0, DEL, C1), format characters (bidi controls, zero
#: widths), line and paragraph separators, lone surrogates.
ID_REFUSED = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})

#: Controls printed as they are: a line break and a tab lay text out, they rewrite nothing.
_KEPT = frozenset("\n\t")


def id_problem(value: str) -> str | None:
    """Why ``value`` cannot be an id (the first character refused and where), or None."""
    for i, ch in enumerate(value):
        if unicodedata.category(ch) in ID_REFUSED:
            return f"holds the control character U+{ord(ch):04X} at position {i}"
    return None


def has_controls(value: str) -> bool:
    """Whether ``value`` holds a C0/C1 control other than a line break or a tab."""
    return any(unicodedata.category(ch) == "Cc" and ch not in _KEPT for ch in value)


def escape_controls(value: str) -> str:
    """``value`` with every control character but line breaks and tabs shown as ``\\xNN`` / ``\\uNNNN``.

    ESC, NUL, a carriage return or a backspace in stored text would otherwise act on the terminal
    that prints it (colour, cursor moves, a line overwritten). Format characters (bidi marks) stay.
    """
    if not has_controls(value):
        return value
    out = []
    for ch in value:
        if unicodedata.category(ch) == "Cc" and ch not in _KEPT:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
