"""The planner's act inventory: every (speaker, act key) the templates phrase, and the slots it may carry.

MultiWOZ's acts, less what its wizards rarely did; ``none`` means no slot. The table is the
default pack's (``acts.toml``). Tests render every entry and check the validator accepts the result.
"""

from __future__ import annotations

from goalconvo.packs.builtin import default_pack, pack_toml

_ACTS = pack_toml(default_pack(), "acts")

#: Every (speaker, act key) the templates phrase and the slots it may carry: the planner's
#: act inventory. ``none`` means no slot.
ACT_INVENTORY: dict[tuple[str, str], tuple[str, ...]] = {
    (speaker, key): tuple(slots) for speaker in ("user", "bot") for key, slots in _ACTS.get(speaker, {}).items()
}
