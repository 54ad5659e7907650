"""Extrinsic evaluation: a dialogue-state tracker trained on a corpus's belief states, tested on real dialogues.

``normalize`` (labels and text), ``examples`` (user turns and the states after them, from a
MultiWOZ-layout file or a corpus set; sets without states refused), ``features`` (n-grams,
value mentions, context), ``model`` (the tracker), ``evaluate`` (JGA, slot accuracy, per-slot
reports), ``experiment`` (draws, pairing, ratios, label agreement), ``report`` (tables, JSON).
The commands are ``goalconvo assess dst evaluate`` and ``goalconvo assess dst ratio``.
"""
